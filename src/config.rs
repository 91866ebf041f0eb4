//! The workspace configuration, `config/sextant.yaml`: where data comes from, where
//! outputs go, and the defaults for time zone and locale.
//!
//! `${VAR}` anywhere in the file is replaced by the environment variable `VAR` before the
//! YAML is read (`$${` writes a literal `${`), so secrets never appear as literals.
//! `--data-root`/`SEXTANT_DATA_ROOT` and `--out`/`SEXTANT_OUTPUT_ROOT` override the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diag::{Diagnostic, Place, SourceText, did_you_mean};

/// Where the config file lives, relative to the workspace root.
pub const CONFIG_FILE: &str = "config/sextant.yaml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    data_root: Option<String>,
    #[serde(default)]
    output_root: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    public_url: Option<String>,
    #[serde(default)]
    engine: Option<RawEngine>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEngine {
    /// e.g. `2GB`, `512MiB`.
    #[serde(default)]
    memory_limit: Option<String>,
    #[serde(default)]
    spill_dir: Option<String>,
    #[serde(default)]
    target_partitions: Option<usize>,
    /// A folder, or `off`.
    #[serde(default)]
    csv_cache: Option<String>,
}

/// How DataFusion may use the machine: `engine:` in the workspace config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineSettings {
    /// Bytes the query engine may hold; operators that can spill (sorts, aggregations,
    /// joins) write to `spill_dir` beyond it. `None`: no limit.
    pub memory_limit: Option<u64>,
    /// Where spill files go; the OS temporary folder when `None`.
    pub spill_dir: Option<PathBuf>,
    /// Parallelism of a query; the number of cores when `None`.
    pub target_partitions: Option<usize>,
    /// Where Parquet copies of CSV inputs go (`engine.csv_cache`, by default
    /// `.sextant/csv-cache` in the workspace); `None` when turned `off`.
    pub csv_cache: Option<PathBuf>,
}

/// Parses `2GB`, `1.5GiB`, `512MB`, `800M`, `1073741824` into bytes (powers of 1024).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => return None,
    };
    (number > 0.0).then_some((number * factor as f64) as u64)
}

/// A storage root: a local directory or an object-store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    Local(PathBuf),
    Url(url::Url),
}

impl Root {
    /// Parses `text`; relative local paths resolve against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Root, String> {
        if text.contains("://") {
            let url = url::Url::parse(text).map_err(|e| format!("`{text}` is not a valid URL: {e}"))?;
            if url.scheme() == "file" {
                return url.to_file_path().map(Root::Local).map_err(|()| format!("`{text}` is not a local path"));
            }
            Ok(Root::Url(url))
        } else {
            let p = Path::new(text);
            Ok(Root::Local(if p.is_absolute() { p.to_path_buf() } else { base.join(p) }))
        }
    }
}

impl std::fmt::Display for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Root::Local(p) => write!(f, "{}", p.display()),
            Root::Url(u) => write!(f, "{u}"),
        }
    }
}

/// The checked workspace configuration.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The directory holding `config/` and `pipelines/`; relative paths resolve against it.
    pub root: PathBuf,
    pub data_root: Root,
    pub output_root: Root,
    /// IANA time zone for schedules and "today"; `UTC` by default.
    pub timezone: String,
    /// `en` or `zh-CN`.
    pub locale: String,
    /// Memory limit, spill folder and parallelism of the query engine.
    pub engine: EngineSettings,
    /// The base URL under which the output root is served (`https://reports.example.com/sextant`),
    /// for links to the reports in emails and webhooks; without it, links are the output
    /// store's own locations (`file://…`, `s3://…`), which only people with access can open.
    pub public_url: Option<url::Url>,
}

/// Overrides from flags or environment, applied over the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_root: Option<String>,
    pub output_root: Option<String>,
}

impl Workspace {
    /// Finds the workspace: the nearest directory at or above `start` that holds
    /// `config/sextant.yaml`; without one, `start` with the defaults.
    ///
    /// # Errors
    /// Diagnostics for an unreadable or invalid config file, or a `${VAR}` that is not set.
    pub fn discover(start: &Path, overrides: &Overrides) -> Result<Workspace, Vec<Diagnostic>> {
        let root = start.ancestors().find(|d| d.join(CONFIG_FILE).is_file()).unwrap_or(start).to_path_buf();
        let file = if root == start { PathBuf::from(CONFIG_FILE) } else { root.join(CONFIG_FILE) };
        if root.join(CONFIG_FILE).is_file() {
            let text = std::fs::read_to_string(root.join(CONFIG_FILE)).map_err(|e| {
                vec![Diagnostic::new("config::unreadable", format!("cannot read {}: {e}", file.display()))]
            })?;
            Self::from_str(&root, &file, &text, overrides, &|k| std::env::var(k).ok())
        } else {
            Self::from_str(&root, &file, "", overrides, &|k| std::env::var(k).ok())
        }
    }

    /// Builds the workspace from config `text` (read from `file`), looking variables up with `env`.
    ///
    /// # Errors
    /// As [`Workspace::discover`].
    pub fn from_str(
        root: &Path,
        file: &Path,
        text: &str,
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Workspace, Vec<Diagnostic>> {
        let source = SourceText::new(file.display().to_string(), text);
        let expanded = interpolate(&source, env)?;
        let raw: RawConfig = if expanded.trim().is_empty() {
            RawConfig {
                data_root: None,
                output_root: None,
                timezone: None,
                locale: None,
                public_url: None,
                engine: None,
            }
        } else {
            serde_saphyr::from_str(&expanded).map_err(|e| {
                let e = e.without_snippet();
                let mut d = match e {
                    serde_saphyr::Error::SerdeUnknownField { field, expected, .. } => {
                        let hint = did_you_mean(field, expected.iter().copied()).map_or_else(
                            || format!("allowed keys: {}", expected.join(", ")),
                            |b| format!("did you mean `{b}`?"),
                        );
                        Diagnostic::new("config::unknown-key", format!("unknown key `{field}`")).with_hint(hint)
                    }
                    other => Diagnostic::new("config::yaml", other.to_string()),
                };
                if let Some(loc) = e.location().filter(|l| l.line() > 0) {
                    d = d.at(&source, Place { line: loc.line() as usize, column: loc.column() as usize, len: 1 });
                }
                vec![d]
            })?
        };
        let mut problems = Vec::new();
        let mut root_of = |what: &str, value: Option<String>, default: &str| {
            let text = value.unwrap_or_else(|| default.to_string());
            Root::parse(&text, root).unwrap_or_else(|e| {
                problems.push(Diagnostic::new("config::root", format!("{what}: {e}")));
                Root::Local(root.join(default))
            })
        };
        let data_root = root_of("data_root", overrides.data_root.clone().or(raw.data_root), "data");
        let output_root = root_of("output_root", overrides.output_root.clone().or(raw.output_root), "out");
        let locale = raw.locale.unwrap_or_else(|| "en".into());
        if !matches!(locale.as_str(), "en" | "zh-CN") {
            problems.push(
                Diagnostic::new("config::locale", format!("unknown locale `{locale}`"))
                    .with_hint("use `en` or `zh-CN`"),
            );
        }
        let raw_engine = raw.engine.unwrap_or_default();
        let memory_limit = raw_engine.memory_limit.as_deref().and_then(|m| {
            let bytes = parse_bytes(m);
            if bytes.is_none() {
                problems.push(
                    Diagnostic::new("config::memory-limit", format!("engine.memory_limit `{m}` is not a size"))
                        .with_hint("write it as e.g. `2GB` or `512MB`"),
                );
            }
            bytes
        });
        let engine = EngineSettings {
            memory_limit,
            spill_dir: raw_engine.spill_dir.map(|d| {
                let p = PathBuf::from(d);
                if p.is_absolute() { p } else { root.join(p) }
            }),
            target_partitions: raw_engine.target_partitions.filter(|n| *n > 0),
            csv_cache: match raw_engine.csv_cache.as_deref().map(str::trim) {
                Some("off" | "false" | "") => None,
                Some(d) => {
                    let p = PathBuf::from(d);
                    Some(if p.is_absolute() { p } else { root.join(p) })
                }
                None => Some(root.join(".sextant/csv-cache")),
            },
        };
        let timezone = raw.timezone.unwrap_or_else(|| "UTC".into());
        let public_url = raw.public_url.and_then(|text| match url::Url::parse(&text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
            _ => {
                problems.push(
                    Diagnostic::new("config::public-url", format!("public_url `{text}` is not an http(s) URL"))
                        .with_hint(
                            "write the address the output root is served at, e.g. https://reports.example.com/sextant",
                        ),
                );
                None
            }
        });
        if problems.is_empty() {
            Ok(Workspace { root: root.to_path_buf(), data_root, output_root, timezone, locale, public_url, engine })
        } else {
            Err(problems)
        }
    }

    /// Resolves a pipeline argument: a path to a YAML file, or a name in `pipelines/`.
    pub fn pipeline_path(&self, arg: &str) -> PathBuf {
        let p = Path::new(arg);
        if p.extension().is_some() || p.components().count() > 1 {
            return p.to_path_buf();
        }
        self.root.join("pipelines").join(format!("{arg}.yaml"))
    }

    /// Every `*.yaml` in `pipelines/`, sorted.
    pub fn all_pipelines(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(self.root.join("pipelines"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        found.sort();
        found
    }
}

/// Replaces `${VAR}` with the variable's value; `$${` stays a literal `${`.
///
/// # Errors
/// One diagnostic per unset variable, pointing at its place in the file.
pub fn interpolate(source: &SourceText, env: &dyn Fn(&str) -> Option<String>) -> Result<String, Vec<Diagnostic>> {
    let mut out = String::with_capacity(source.text().len());
    let mut problems = Vec::new();
    for (i, full_line) in source.text().split_inclusive('\n').enumerate() {
        // Comments are copied as they are: a `${VAR}` in a comment is documentation.
        let (line, comment) = full_line.split_at(comment_start(full_line));
        let (expanded, unset) = substitute_vars(line, env);
        out.push_str(&expanded);
        for (offset, name) in unset {
            let column = line[..offset].chars().count() + 1;
            problems.push(
                Diagnostic::new("config::unset-variable", format!("environment variable `{name}` is not set"))
                    .at(source, Place { line: i + 1, column, len: name.len() + 3 })
                    .with_label("needs a value")
                    .with_hint(format!("export {name}=... before running sextant")),
            );
        }
        out.push_str(comment);
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

/// Replaces `${VAR}` in `text` by `env(VAR)`; `$${` is a literal `${`. Returns the text and
/// the variables `env` has no value for, with the byte offset of their `${`.
pub fn substitute_vars(text: &str, env: &dyn Fn(&str) -> Option<String>) -> (String, Vec<(usize, String)>) {
    let mut out = String::with_capacity(text.len());
    let mut unset = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find("${") {
        if rest[..pos].ends_with('$') {
            out.push_str(&rest[..pos - 1]);
            out.push_str("${");
            rest = &rest[pos + 2..];
            continue;
        }
        out.push_str(&rest[..pos]);
        let Some(end) = rest[pos..].find('}') else { break };
        let name = &rest[pos + 2..pos + end];
        match env(name) {
            Some(v) => out.push_str(&v),
            None => unset.push((text.len() - rest.len() + pos, name.to_string())),
        }
        rest = &rest[pos + end + 1..];
    }
    out.push_str(rest);
    (out, unset)
}

/// Byte offset of the YAML comment on `line` (a `#` at the start or after a blank,
/// outside quotes), or the line's length.
fn comment_start(line: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return i,
            _ => {}
        }
        prev = c;
    }
    line.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        (k == "BUCKET").then(|| "acme-reports".to_string())
    }

    #[test]
    fn interpolates_and_overrides() {
        let text = "data_root: data/sample\noutput_root: s3://${BUCKET}/sextant\nlocale: zh-CN\n";
        let ws = Workspace::from_str(
            Path::new("/w"),
            Path::new("/w/config/sextant.yaml"),
            text,
            &Overrides::default(),
            &env,
        )
        .unwrap();
        assert_eq!(ws.data_root, Root::Local(PathBuf::from("/w/data/sample")));
        assert_eq!(ws.output_root, Root::Url(url::Url::parse("s3://acme-reports/sextant").unwrap()));
        let o = Overrides { data_root: Some("/tmp/d".into()), output_root: None };
        let ws = Workspace::from_str(Path::new("/w"), Path::new("c.yaml"), text, &o, &env).unwrap();
        assert_eq!(ws.data_root, Root::Local(PathBuf::from("/tmp/d")));
    }

    #[test]
    fn public_url_is_an_http_address() {
        let o = Overrides::default();
        let ws = Workspace::from_str(
            Path::new("/w"),
            Path::new("c.yaml"),
            "public_url: https://r.example.com/s/\n",
            &o,
            &env,
        )
        .unwrap();
        assert_eq!(ws.public_url.map(|u| u.to_string()).as_deref(), Some("https://r.example.com/s/"));
        let errs =
            Workspace::from_str(Path::new("/w"), Path::new("c.yaml"), "public_url: reports/\n", &o, &env).unwrap_err();
        assert_eq!(errs[0].message, "public_url `reports/` is not an http(s) URL");
    }

    #[test]
    fn engine_settings_and_the_csv_cache_folder() {
        let ws = |text: &str| {
            Workspace::from_str(Path::new("/w"), Path::new("c.yaml"), text, &Overrides::default(), &env).unwrap().engine
        };
        let default = ws("");
        assert_eq!(default.csv_cache, Some(PathBuf::from("/w/.sextant/csv-cache")));
        assert_eq!(default.memory_limit, None);
        let set = ws("engine:\n  memory_limit: 1.5GB\n  spill_dir: spill\n  csv_cache: /var/cache/csv\n");
        assert_eq!(set.memory_limit, Some(3 << 29));
        assert_eq!(set.spill_dir, Some(PathBuf::from("/w/spill")));
        assert_eq!(set.csv_cache, Some(PathBuf::from("/var/cache/csv")));
        assert_eq!(ws("engine:\n  csv_cache: off\n").csv_cache, None);
        assert_eq!(ws("engine:\n  csv_cache: cache\n").csv_cache, Some(PathBuf::from("/w/cache")));
    }

    #[test]
    fn unset_variable_points_at_its_place() {
        let text = "data_root: data\noutput_root: s3://${NOPE}/x\n";
        let errs =
            Workspace::from_str(Path::new("/w"), Path::new("c.yaml"), text, &Overrides::default(), &env).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].place, Some(Place { line: 2, column: 19, len: 7 }));
        assert_eq!(interpolate(&SourceText::new("x", "a: $${KEEP}"), &env).unwrap(), "a: ${KEEP}");
        let commented = "# use ${NOPE} here\na: '#${BUCKET}' # ${NOPE}\n";
        assert_eq!(
            interpolate(&SourceText::new("x", commented), &env).unwrap(),
            "# use ${NOPE} here\na: '#acme-reports' # ${NOPE}\n"
        );
    }
}

//! Reading a pipeline file: YAML → raw layer, reporting every unknown key at once.
//!
//! serde stops at the first error. To report *all* unknown keys in one go, an unknown key
//! is recorded, its entry is blanked out of a working copy of the text (keeping every line
//! number), and the file is parsed again. Any other YAML error ends the parse.

use serde_saphyr::Location;

use crate::diag::{Diagnostic, Place, SourceText, did_you_mean};

/// Limit on re-parses, so that a pathological file cannot loop for long.
const MAX_RECOVERIES: usize = 64;

/// Parses `source` into the raw layer, with every diagnostic found. The raw pipeline is
/// `Some` when the file could be read once its unknown keys were set aside, so that later
/// stages can still look for problems of their own.
pub(crate) fn parse_raw<T: serde::de::DeserializeOwned>(source: &SourceText) -> (Option<T>, Vec<Diagnostic>) {
    let mut working = source.text().to_string();
    let mut diagnostics = Vec::new();
    for _ in 0..MAX_RECOVERIES {
        match serde_saphyr::from_str::<T>(&working) {
            Ok(raw) => return (Some(raw), diagnostics),
            Err(err) => {
                let err = err.without_snippet();
                let location = err.location().filter(|l| l.line() > 0);
                match err {
                    serde_saphyr::Error::SerdeUnknownField { field, expected, .. } => {
                        diagnostics.push(unknown_key(source, location, field, expected));
                        match location.and_then(|l| blank_entry(&working, l)) {
                            Some(next) => working = next,
                            None => return (None, diagnostics),
                        }
                    }
                    other => {
                        diagnostics.push(yaml_error(source, location, other));
                        return (None, diagnostics);
                    }
                }
            }
        }
    }
    (None, diagnostics)
}

fn place_of(location: Location, len: usize) -> Place {
    Place { line: location.line() as usize, column: location.column() as usize, len }
}

fn unknown_key(source: &SourceText, location: Option<Location>, field: &str, expected: &[&str]) -> Diagnostic {
    let mut d = Diagnostic::new("spec::unknown-key", format!("unknown key `{field}`"));
    if let Some(loc) = location {
        d = d.at(source, place_of(loc, field.chars().count())).with_label("not a key here");
    }
    let hint = match did_you_mean(field, expected.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None if expected.is_empty() => "remove this key".to_string(),
        None => format!(
            "the keys allowed here are {}",
            expected.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ),
    };
    d.with_hint(hint)
}

fn yaml_error(source: &SourceText, location: Option<Location>, err: &serde_saphyr::Error) -> Diagnostic {
    let (code, hint) = match err {
        serde_saphyr::Error::SerdeMissingField { field, .. } => {
            ("spec::missing-key", format!("add `{field}:` here; see pipelines/README in the docs for every key"))
        }
        serde_saphyr::Error::SerdeUnknownVariant { expected, .. } => (
            "spec::unknown-kind",
            format!("use one of {}", expected.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")),
        ),
        _ => ("spec::yaml", "check the indentation and the `key: value` shape around this place".to_string()),
    };
    let mut message = strip_location_suffix(&err.to_string());
    let mut hint = hint;
    if message.starts_with("cannot deserialize null") {
        message = "a value is missing here".to_string();
        let line = location.and_then(|l| source.line(l.line() as usize)).unwrap_or("");
        if line.contains('{') && line.contains("decimal(") {
            // `{ amount: decimal(18,2) }`: in a flow mapping the comma ends the entry.
            hint = "inside `{ }` a comma separates entries: quote the type, `\"decimal(18,2)\"`, or write one column per line".to_string();
        }
    }
    let mut d = Diagnostic::new(code, message).with_hint(hint);
    if let Some(loc) = location {
        d = d.at(source, place_of(loc, 1));
    }
    d
}

/// serde-saphyr appends ` at line X column Y` to its messages; the diagnostic shows the
/// place itself.
fn strip_location_suffix(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

/// Blanks out the mapping entry whose key starts at `location`: the key's line from the key
/// on, and every following line indented deeper than the key. `None` when the key does not
/// start a block-style entry (e.g. inside a `{flow: mapping}`), where blanking is not safe.
fn blank_entry(text: &str, location: Location) -> Option<String> {
    let key_line = location.line() as usize;
    let key_col = location.column() as usize; // 1-based, characters
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let line = lines.get(key_line - 1)?;
    let before: String = line.chars().take(key_col - 1).collect();
    // Only spaces and sequence dashes may stand before a block key.
    if !before.chars().all(|c| c == ' ' || c == '-') {
        return None;
    }
    lines[key_line - 1] = before.chars().map(|c| if c == '-' { '-' } else { ' ' }).collect();
    for line in lines.iter_mut().skip(key_line) {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && indent < key_col {
            break;
        }
        line.clear();
    }
    Some(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanking_keeps_line_numbers_and_siblings() {
        let text = "a: 1\nbogus:\n  - x\n  - y\nb: 2\n";
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            a: u32,
            b: u32,
        }
        let err = serde_saphyr::from_str::<T>(text).unwrap_err();
        let loc = err.without_snippet().location().unwrap();
        assert_eq!((loc.line(), loc.column()), (2, 1));
        let blanked = blank_entry(text, loc).unwrap();
        assert_eq!(blanked, "a: 1\n\n\n\nb: 2\n");
        let t: T = serde_saphyr::from_str(&blanked).unwrap();
        assert_eq!((t.a, t.b), (1, 2));
    }
}

//! Pipeline specifications: the first stage of the data's path.
//!
//! A pipeline file (`pipelines/*.yaml`) is read into the raw layer ([`raw`]), a mirror of
//! the YAML, and compiled ([`compile`]) into a checked [`Pipeline`]. Nothing downstream
//! ever sees an unchecked spec. Every problem is reported at once as a
//! [`Diagnostic`](crate::diag::Diagnostic) that points at the file, line and column.

mod compile;
mod load;
pub mod raw;
pub mod report;
pub mod schedule;
mod types;

use std::path::{Path, PathBuf};

pub use compile::compile;
pub use types::parse_data_type;

use datafusion::arrow::datatypes::DataType;

use crate::diag::{Diagnostic, Place, SourceText};
use crate::period::{FiscalYearStart, Grain};

/// The schema version this sextant reads.
pub const SPEC_VERSION: u32 = 1;

/// A checked pipeline, ready for the engine.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    pub description: Option<String>,
    /// The pipeline file, for diagnostics raised later (SQL errors, check failures).
    pub file: SourceText,
    pub path: PathBuf,
    pub grain: Grain,
    pub fiscal_year_start: FiscalYearStart,
    pub sources: Vec<SourceSpec>,
    pub steps: Vec<StepSpec>,
    pub checks: Vec<CheckSpec>,
    pub kpis: Vec<KpiSpec>,
    pub exports: Vec<ExportSpec>,
    pub reports: Vec<report::ReportSpec>,
    /// Who gets the failure notice.
    pub owners: Vec<String>,
    pub schedule: Option<schedule::ScheduleSpec>,
    pub deliver: schedule::DeliverSpec,
}

/// Which way a KPI should move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Higher,
    Lower,
    /// Watched, not judged: no status even with a target.
    None,
}

/// What a KPI's value measures, for formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Currency,
    Count,
    Ratio,
    Days,
    Score,
}

impl Unit {
    pub const NAMES: [&'static str; 5] = ["currency", "count", "ratio", "days", "score"];

    pub fn from_name(name: &str) -> Option<Unit> {
        Some(match name {
            "currency" => Unit::Currency,
            "count" => Unit::Count,
            "ratio" => Unit::Ratio,
            "days" => Unit::Days,
            "score" => Unit::Score,
            _ => return None,
        })
    }
}

/// Where a KPI's target comes from.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    Value(f64),
    /// Rows of the `targets` table; a quarter's or year's target is the sum of its months,
    /// and none at all unless every month has one (domain.md §2).
    Table {
        metric: String,
        dimension: String,
        dimension_value: String,
    },
    /// A query returning `period` and `target`.
    Sql(SqlText),
}

/// A checked KPI definition.
#[derive(Debug, Clone)]
pub struct KpiSpec {
    pub id: String,
    pub file: SourceText,
    pub label_en: String,
    pub label_zh: String,
    pub unit: Unit,
    pub direction: Direction,
    pub tolerance: f64,
    pub description: Option<String>,
    pub sql: SqlText,
    pub target: Option<TargetSpec>,
    pub place: Place,
}

impl Pipeline {
    /// The source or step that defines table `name`.
    pub fn defines(&self, name: &str) -> bool {
        self.sources.iter().any(|s| s.name == name) || self.steps.iter().any(|s| s.name == name)
    }

    /// Every table name the pipeline defines, sources first.
    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.sources.iter().map(|s| s.name.as_str()).chain(self.steps.iter().map(|s| s.name.as_str()))
    }
}

/// Where a source's data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceLocation {
    /// A path relative to the workspace's data root. Without an extension, the first of
    /// `.parquet`, `.csv`, `.ndjson`, `.json` that exists is used.
    Relative(String),
    /// A `file://`, `s3://`, `gs://`, `az://` or `http(s)://` URL.
    Url(url::Url),
}

/// File formats sextant reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataFormat {
    Csv,
    Parquet,
    Json,
    Ndjson,
}

impl DataFormat {
    pub const ALL: [DataFormat; 4] = [DataFormat::Parquet, DataFormat::Csv, DataFormat::Ndjson, DataFormat::Json];

    pub fn as_str(self) -> &'static str {
        match self {
            DataFormat::Csv => "csv",
            DataFormat::Parquet => "parquet",
            DataFormat::Json => "json",
            DataFormat::Ndjson => "ndjson",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The format a file name's extension implies (`.jsonl` counts as ndjson).
    pub fn from_extension(path: &str) -> Option<Self> {
        let ext = Path::new(path).extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" => Some(DataFormat::Ndjson),
            other => Self::from_name(other),
        }
    }
}

/// A declared column type.
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub name: String,
    pub data_type: DataType,
    pub place: Place,
}

/// How to read a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvSpec {
    pub delimiter: u8,
    pub header: bool,
    /// Cell texts that mean null; the empty cell always does.
    pub null_values: Vec<String>,
    /// A chrono format (`%d/%m/%Y`) for `date` columns written other than ISO.
    pub date_format: Option<String>,
}

impl Default for CsvSpec {
    fn default() -> Self {
        CsvSpec { delimiter: b',', header: true, null_values: Vec::new(), date_format: None }
    }
}

/// An input table.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub name: String,
    /// The file that defines it (the pipeline, or a fragment it includes).
    pub file: SourceText,
    pub location: SourceLocation,
    /// `None` when the location has no extension to infer it from: decided when the file is found.
    pub format: Option<DataFormat>,
    pub columns: Vec<ColumnSpec>,
    pub csv: CsvSpec,
    pub place: Place,
}

/// SQL written in a pipeline, with the means to point at a place inside it.
#[derive(Debug, Clone)]
pub struct SqlText {
    pub text: String,
    /// The YAML file the SQL is written in.
    pub file: SourceText,
    origin: SqlOrigin,
}

#[derive(Debug, Clone, Copy)]
enum SqlOrigin {
    /// A block scalar (`sql: |`): SQL line `k` is YAML line `first_line + k - 1`, indented by `indent`.
    Block { first_line: usize, indent: usize },
    /// A scalar on the key's line: SQL column `c` is YAML column `column + c - 1`.
    Inline { line: usize, column: usize },
}

impl SqlText {
    /// The place in the YAML file of 1-based `line` and `column` of the SQL text.
    pub fn place(&self, line: usize, column: usize, len: usize) -> Place {
        match self.origin {
            SqlOrigin::Block { first_line, indent } => {
                Place { line: first_line + line.max(1) - 1, column: indent + column.max(1), len }
            }
            SqlOrigin::Inline { line: l, column: c } if line <= 1 => {
                Place { line: l, column: c + column.max(1) - 1, len }
            }
            SqlOrigin::Inline { line: l, column: c } => Place { line: l, column: c, len: 1 },
        }
    }

    /// The place of the first occurrence of `needle` (case-insensitive) in the SQL, or of
    /// the SQL's start when it does not occur.
    pub fn place_of(&self, needle: &str) -> Place {
        let hay = self.text.to_lowercase();
        let needle_l = needle.to_lowercase();
        match (!needle.is_empty()).then(|| find_word(&hay, &needle_l)).flatten() {
            Some(byte) => {
                let before = &self.text[..byte];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                self.place(line, col, needle.chars().count())
            }
            None => self.place(1, 1, 1),
        }
    }
}

/// Byte offset of `needle` in `hay` as a whole word (not inside a longer identifier).
fn find_word(hay: &str, needle: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = hay[from..].find(needle) {
        let start = from + i;
        let end = start + needle.len();
        let ok_before = hay[..start].chars().next_back().is_none_or(|c| !is_ident(c));
        let ok_after = hay[end..].chars().next().is_none_or(|c| !is_ident(c));
        if ok_before && ok_after {
            return Some(start);
        }
        from = start + needle.len().max(1);
    }
    None
}

/// A named SQL query that becomes a table.
#[derive(Debug, Clone)]
pub struct StepSpec {
    pub name: String,
    pub file: SourceText,
    pub sql: SqlText,
    pub description: Option<String>,
    pub place: Place,
}

/// What a failed check does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops the run before anything is published.
    Error,
    /// Recorded; the run goes on.
    Warn,
}

/// A data-quality gate on a source or a step.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    pub kind: CheckKind,
    pub file: SourceText,
    pub severity: Severity,
    pub place: Place,
}

#[derive(Debug, Clone)]
pub enum CheckKind {
    NotNull { table: String, columns: Vec<String> },
    Unique { table: String, columns: Vec<String> },
    AcceptedValues { table: String, column: String, values: Vec<String> },
    RowCountMin { table: String, min: u64 },
    Relationship { table: String, column: String, to_table: String, to_column: String },
    Sql { name: String, query: SqlText },
}

impl CheckKind {
    /// The kind's name as written in YAML.
    pub fn kind_name(&self) -> &'static str {
        match self {
            CheckKind::NotNull { .. } => "not_null",
            CheckKind::Unique { .. } => "unique",
            CheckKind::AcceptedValues { .. } => "accepted_values",
            CheckKind::RowCountMin { .. } => "row_count_min",
            CheckKind::Relationship { .. } => "relationship",
            CheckKind::Sql { .. } => "sql",
        }
    }

    /// The table the check is about (`None` for a SQL check, which may read several).
    pub fn table(&self) -> Option<&str> {
        match self {
            CheckKind::NotNull { table, .. }
            | CheckKind::Unique { table, .. }
            | CheckKind::AcceptedValues { table, .. }
            | CheckKind::RowCountMin { table, .. }
            | CheckKind::Relationship { table, .. } => Some(table),
            CheckKind::Sql { .. } => None,
        }
    }
}

/// Formats tables are exported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Parquet,
    Json,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Parquet => "parquet",
            ExportFormat::Json => "json",
        }
    }
}

/// A table written to `tables/` of the run's output.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    pub table: String,
    /// `tables/<file_name>.<extension>`.
    pub file_name: String,
    pub file: SourceText,
    pub format: ExportFormat,
    pub place: Place,
}

impl ExportSpec {
    /// Where the export goes in a run's folder: `tables/<file_name>.<extension>`.
    pub fn path(&self) -> String {
        format!("tables/{}.{}", self.file_name, self.format.extension())
    }
}

/// Reads and compiles the pipeline file at `path`.
///
/// # Errors
/// Every problem found: unreadable file, YAML errors, unknown keys, invalid values.
pub fn load(path: &Path) -> Result<Pipeline, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![unreadable(path, e)])?;
    load_str(path, &text)
}

/// Compiles pipeline YAML `text`, as if read from `path`.
///
/// # Errors
/// As [`load`].
pub fn load_str(path: &Path, text: &str) -> Result<Pipeline, Vec<Diagnostic>> {
    match load_lenient_str(path, text) {
        (Some(p), d) if d.is_empty() => Ok(p),
        (_, d) => Err(d),
    }
}

/// Like [`load`], but also returns the pipeline when the only problems are unknown keys
/// (which are set aside), so that `validate` can go on to plan its SQL and report
/// everything at once. A pipeline returned with diagnostics must not be run.
pub fn load_lenient(path: &Path) -> (Option<Pipeline>, Vec<Diagnostic>) {
    match std::fs::read_to_string(path) {
        Ok(text) => load_lenient_str(path, &text),
        Err(e) => (None, vec![unreadable(path, e)]),
    }
}

fn unreadable(path: &Path, e: std::io::Error) -> Diagnostic {
    Diagnostic::new("spec::unreadable", format!("cannot read pipeline file {}: {e}", path.display()))
        .with_hint("check the path; a pipeline in pipelines/ can also be named without `.yaml`")
}

fn load_lenient_str(path: &Path, text: &str) -> (Option<Pipeline>, Vec<Diagnostic>) {
    let source = SourceText::new(path.display().to_string(), text);
    let (raw, mut diagnostics) = load::parse_raw::<raw::RawPipeline>(&source);
    let Some(raw) = raw else { return (None, diagnostics) };
    let mut fragments = Vec::new();
    for inc in &raw.include {
        let inc_path = path.parent().unwrap_or(Path::new("")).join(&inc.value);
        match std::fs::read_to_string(&inc_path) {
            Ok(text) => {
                let inc_source = SourceText::new(inc_path.display().to_string(), text);
                let (fragment, mut d) = load::parse_raw::<raw::RawFragment>(&inc_source);
                diagnostics.append(&mut d);
                fragments.push((fragment.unwrap_or_default(), inc_source));
            }
            Err(e) => diagnostics.push(
                Diagnostic::new("spec::include", format!("cannot read included file {}: {e}", inc_path.display()))
                    .at(
                        &source,
                        Place {
                            line: inc.referenced.line() as usize,
                            column: inc.referenced.column() as usize,
                            len: inc.value.chars().count(),
                        },
                    )
                    .with_hint("include paths are relative to the including pipeline file"),
            ),
        }
    }
    if diagnostics.iter().any(|d| d.code != "spec::unknown-key") {
        return (None, diagnostics);
    }
    match compile(raw, fragments, source, path) {
        Ok(p) => (Some(p), diagnostics),
        Err(mut d) => {
            diagnostics.append(&mut d);
            (None, diagnostics)
        }
    }
}

//! Data-quality checks: each kind is a query for the violating rows, built with the
//! DataFrame API (no SQL text is pasted together), counted, and sampled.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, JoinType};
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{Expr, cast, col, lit, not};
use datafusion::prelude::DataFrame;
use serde::Serialize;

use super::{Engine, sql};
use crate::diag::Diagnostic;
use crate::spec::{CheckKind, CheckSpec, Severity};

/// Violating rows shown per failed check.
pub const SAMPLE_ROWS: usize = 5;

/// A check's outcome, as recorded in `run.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct CheckResult {
    /// The kind: `not_null`, `unique`, …
    pub check: String,
    /// A readable name: `unique(orders: order_id, product_id)`.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    pub columns: Vec<String>,
    pub severity: String,
    pub passed: bool,
    /// Offending rows (for `unique`: keys that occur more than once).
    pub violations: u64,
    /// Up to [`SAMPLE_ROWS`] offending rows.
    pub sample: Vec<serde_json::Map<String, serde_json::Value>>,
    pub message: String,
    /// Line of the check in the pipeline file.
    pub line: usize,
}

impl CheckResult {
    /// Whether this result stops the run.
    pub fn blocks(&self) -> bool {
        !self.passed && self.severity == "error"
    }
}

fn column(name: &str) -> Expr {
    col(Column::new_unqualified(name))
}

fn describe(kind: &CheckKind) -> (String, Vec<String>) {
    match kind {
        CheckKind::NotNull { table, columns } => {
            (format!("not_null({table}: {})", columns.join(", ")), columns.clone())
        }
        CheckKind::Unique { table, columns } => (format!("unique({table}: {})", columns.join(", ")), columns.clone()),
        CheckKind::AcceptedValues { table, column, .. } => {
            (format!("accepted_values({table}.{column})"), vec![column.clone()])
        }
        CheckKind::RowCountMin { table, min } => (format!("row_count_min({table} ≥ {min})"), vec![]),
        CheckKind::Relationship { table, column, to_table, to_column } => {
            (format!("relationship({table}.{column} → {to_table}.{to_column})"), vec![column.clone()])
        }
        CheckKind::Sql { name, .. } => (format!("sql({name})"), vec![]),
    }
}

/// The query for the violating rows of `check` (for `row_count_min`, the whole table).
///
/// # Errors
/// A diagnostic at the check when a table or column does not exist or the SQL is wrong.
pub async fn plan(engine: &Engine, check: &CheckSpec) -> Result<DataFrame, Diagnostic> {
    let ctx = engine.context();
    let (name, _) = describe(&check.kind);
    let at = |e: datafusion::error::DataFusionError| {
        let message = sql::clean_message(&e);
        Diagnostic::new("check::plan", format!("check {name}: {message}"))
            .at(&check.file, check.place)
            .with_hint("check the table and column names of this check")
    };
    let df = match &check.kind {
        CheckKind::NotNull { table, columns } => {
            let any_null = columns.iter().map(|c| column(c).is_null()).reduce(Expr::or).unwrap_or(lit(false));
            ctx.table(table.as_str()).await.map_err(at)?.filter(any_null).map_err(at)?
        }
        CheckKind::Unique { table, columns } => {
            // Keys with a null part are not compared, as in SQL's UNIQUE.
            let all_set = columns.iter().map(|c| column(c).is_not_null()).reduce(Expr::and).unwrap_or(lit(true));
            ctx.table(table.as_str())
                .await
                .map_err(at)?
                .filter(all_set)
                .map_err(at)?
                .aggregate(columns.iter().map(|c| column(c)).collect(), vec![count(lit(1)).alias("rows")])
                .map_err(at)?
                .filter(column("rows").gt(lit(1_i64)))
                .map_err(at)?
        }
        CheckKind::AcceptedValues { table, column: c, values } => {
            let list = values.iter().map(|v| lit(v.clone())).collect();
            let unexpected = column(c).is_not_null().and(not(cast(column(c), DataType::Utf8).in_list(list, false)));
            ctx.table(table.as_str()).await.map_err(at)?.filter(unexpected).map_err(at)?
        }
        CheckKind::RowCountMin { table, .. } => ctx.table(table.as_str()).await.map_err(at)?,
        CheckKind::Relationship { table, column: c, to_table, to_column } => {
            let keys = ctx
                .table(to_table.as_str())
                .await
                .map_err(at)?
                .select(vec![column(to_column).alias("__sextant_key")])
                .map_err(at)?
                .distinct()
                .map_err(at)?;
            ctx.table(table.as_str())
                .await
                .map_err(at)?
                .filter(column(c).is_not_null())
                .map_err(at)?
                .join_on(keys, JoinType::LeftAnti, vec![column(c).eq(column("__sextant_key"))])
                .map_err(at)?
        }
        CheckKind::Sql { name: check_name, query } => {
            let state = ctx.state();
            let what = format!("check `{check_name}`");
            let stmt = sql::parse(&state, query, &what)?;
            let plan = sql::plan(&state, query, &what, stmt, engine.params()).await?;
            DataFrame::new(state, plan)
        }
    };
    Ok(df)
}

fn rows_to_json(batches: &[RecordBatch]) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let mut writer = datafusion::arrow::json::ArrayWriter::new(Vec::new());
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    if writer.write_batches(&refs).is_err() || writer.finish().is_err() {
        return Vec::new();
    }
    serde_json::from_slice(&writer.into_inner()).unwrap_or_default()
}

/// Runs `check` and records its result.
///
/// # Errors
/// When the check's query cannot be planned or run.
pub async fn run(engine: &Engine, check: &CheckSpec) -> Result<CheckResult, Diagnostic> {
    let (name, columns) = describe(&check.kind);
    let df = plan(engine, check).await?;
    let failed_to_run = |e: datafusion::error::DataFusionError| {
        Diagnostic::new("check::run", format!("check {name} could not run: {}", sql::clean_message(&e)))
            .at(&check.file, check.place)
    };
    let count = df.clone().count().await.map_err(failed_to_run)? as u64;
    let (passed, violations, sample, message) = match &check.kind {
        CheckKind::RowCountMin { table, min } => {
            let ok = count >= *min;
            (ok, if ok { 0 } else { 1 }, Vec::new(), format!("`{table}` has {count} rows; at least {min} expected"))
        }
        kind => {
            let sample = if count > 0 {
                rows_to_json(
                    &df.limit(0, Some(SAMPLE_ROWS)).map_err(failed_to_run)?.collect().await.map_err(failed_to_run)?,
                )
            } else {
                Vec::new()
            };
            let what = match kind {
                CheckKind::NotNull { table, columns } => {
                    format!("rows of `{table}` have a null in {}", columns.join(" or "))
                }
                CheckKind::Unique { table, columns } => {
                    format!("keys ({}) occur more than once in `{table}`", columns.join(", "))
                }
                CheckKind::AcceptedValues { table, column, values } => {
                    format!("rows of `{table}` have a `{column}` outside {}", values.join(", "))
                }
                CheckKind::Relationship { table, column, to_table, to_column } => {
                    format!("rows of `{table}` have a `{column}` not found in `{to_table}.{to_column}`")
                }
                _ => "rows returned by the check query".to_string(),
            };
            (count == 0, count, sample, format!("{count} {what}"))
        }
    };
    Ok(CheckResult {
        check: check.kind.kind_name().to_string(),
        name,
        table: check.kind.table().map(str::to_string),
        columns,
        severity: match check.severity {
            Severity::Error => "error",
            Severity::Warn => "warn",
        }
        .to_string(),
        passed,
        violations,
        sample,
        message,
        line: check.place.line,
    })
}

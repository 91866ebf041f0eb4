//! A pipeline's SQL as one script, with the period bound: for reading it, or running the
//! same work elsewhere (the benchmark runs it in DuckDB, `benches/monthly_review.py`).
//! Written by `sextant sql`.

use serde::Serialize;

use super::{Engine, sources::ResolvedSource};
use crate::spec::{CheckKind, TargetSpec};

/// One named query.
#[derive(Debug, Serialize)]
pub struct Query {
    pub name: String,
    pub sql: String,
}

/// A row of the built-in `periods` table.
#[derive(Debug, Serialize)]
pub struct PeriodRow {
    pub pi: i64,
    pub period: String,
    pub period_start: String,
    pub period_end: String,
    pub as_of: String,
}

/// Everything a run executes as SQL.
#[derive(Debug, Serialize)]
pub struct Script {
    pub pipeline: String,
    pub period: String,
    pub grain: &'static str,
    pub fiscal_year_start: u32,
    /// Source name → (file URL, format).
    pub sources: Vec<(String, String, &'static str)>,
    /// `$name` → SQL literal.
    pub params: Vec<(String, String)>,
    pub periods: Vec<PeriodRow>,
    /// In the file's order (a step reads sources and earlier or independent steps).
    pub steps: Vec<Query>,
    /// The data-quality checks, as queries for their violating rows.
    pub checks: Vec<Query>,
    /// KPI value queries (and SQL targets).
    pub kpis: Vec<Query>,
}

fn quote(id: &str) -> String {
    format!("\"{}\"", id.replace('"', "\"\""))
}

fn text(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// The query for the violating rows of a check, as SQL (the engine builds the same with
/// DataFrame expressions in `checks::plan`).
pub fn check_sql(kind: &CheckKind) -> String {
    match kind {
        CheckKind::NotNull { table, columns } => {
            let any = columns.iter().map(|c| format!("{} IS NULL", quote(c))).collect::<Vec<_>>().join(" OR ");
            format!("SELECT * FROM {} WHERE {any}", quote(table))
        }
        CheckKind::Unique { table, columns } => {
            let cols = columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
            let set = columns.iter().map(|c| format!("{} IS NOT NULL", quote(c))).collect::<Vec<_>>().join(" AND ");
            format!(
                "SELECT {cols}, COUNT(1) AS rows FROM {} WHERE {set} GROUP BY {cols} HAVING COUNT(1) > 1",
                quote(table)
            )
        }
        CheckKind::AcceptedValues { table, column, values } => {
            let list = values.iter().map(|v| text(v)).collect::<Vec<_>>().join(", ");
            let c = quote(column);
            format!("SELECT * FROM {} WHERE {c} IS NOT NULL AND CAST({c} AS VARCHAR) NOT IN ({list})", quote(table))
        }
        CheckKind::RowCountMin { table, .. } => format!("SELECT COUNT(1) AS rows FROM {}", quote(table)),
        CheckKind::Relationship { table, column, to_table, to_column } => format!(
            "SELECT * FROM {t} WHERE {c} IS NOT NULL AND {c} NOT IN (SELECT DISTINCT {k} FROM {to} WHERE {k} IS NOT NULL)",
            t = quote(table),
            c = quote(column),
            k = quote(to_column),
            to = quote(to_table)
        ),
        CheckKind::Sql { query, .. } => query.text.clone(),
    }
}

impl Engine {
    /// The run's SQL for `sources` (as registered), with the parameters as literals.
    pub fn script(&self, sources: &[ResolvedSource]) -> Script {
        let p = self.pipeline();
        let period = self.period();
        let params = match self.params() {
            datafusion::common::ParamValues::Map(map) => {
                let mut list: Vec<(String, String)> = map
                    .iter()
                    .map(|(k, v)| {
                        let literal = match &v.value {
                            datafusion::scalar::ScalarValue::Date32(_) => format!("DATE '{}'", v.value),
                            other => other.to_string(),
                        };
                        (k.clone(), literal)
                    })
                    .collect();
                list.sort();
                list
            }
            datafusion::common::ParamValues::List(_) => Vec::new(),
        };
        let series = super::series_length(period.grain());
        let periods = (-series..=0)
            .map(|k| {
                let q = period.shift(k);
                PeriodRow {
                    pi: super::udf::period_index(q.start(), q.grain(), p.fiscal_year_start),
                    period: q.to_string(),
                    period_start: q.start().to_string(),
                    period_end: q.end().to_string(),
                    as_of: q.as_of().to_string(),
                }
            })
            .collect();
        let kpis = p
            .kpis
            .iter()
            .flat_map(|k| {
                let mut q = vec![Query { name: k.id.clone(), sql: k.sql.text.clone() }];
                if let Some(TargetSpec::Sql(t)) = &k.target {
                    q.push(Query { name: format!("{}_target", k.id), sql: t.text.clone() });
                }
                q
            })
            .collect();
        Script {
            pipeline: p.name.clone(),
            period: period.to_string(),
            grain: period.grain().as_str(),
            fiscal_year_start: p.fiscal_year_start.month(),
            sources: sources.iter().map(|s| (s.spec.name.clone(), s.url.to_string(), s.format.as_str())).collect(),
            params,
            periods,
            steps: p.steps.iter().map(|s| Query { name: s.name.clone(), sql: s.sql.text.clone() }).collect(),
            checks: p
                .checks
                .iter()
                .enumerate()
                .map(|(i, c)| Query { name: format!("check_{i}_{}", c.kind.kind_name()), sql: check_sql(&c.kind) })
                .collect(),
            kpis,
        }
    }
}

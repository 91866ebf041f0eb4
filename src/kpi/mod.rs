//! KPI evaluation (domain.md §2-§3): a KPI's query returns its value for every period of
//! the trailing series in one pass (`GROUP BY period_of(...)`); this module adds the
//! target, attainment and status, and the previous and year-ago comparisons.

pub mod findings;

use std::collections::HashMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::execution::FunctionRegistry;
use datafusion::functions_aggregate::expr_fn::{count_distinct, sum};
use datafusion::logical_expr::{cast as cast_expr, col, lit};
use datafusion::prelude::DataFrame;
use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;
use crate::engine::{Engine, series_length, sql};
use crate::period::Period;
use crate::spec::{Direction, KpiSpec, TargetSpec};

/// A KPI's status against its target (domain.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    OnTrack,
    AtRisk,
    OffTrack,
    /// No target for the period (or a target that is only partly set).
    NoTarget,
    /// A target but no value (its denominator was zero).
    NoData,
    /// The KPI is watched, not judged (`direction: none`).
    Watch,
}

/// The status of `value` against `target` with tolerance `t` (domain.md §3): higher is
/// better: on track when `value ≥ target`, at risk when `value ≥ target × (1 − t)`;
/// lower is better: the mirror.
pub fn status(value: Option<f64>, target: Option<f64>, direction: Direction, tolerance: f64) -> Status {
    match (direction, value, target) {
        (Direction::None, _, _) => Status::Watch,
        (_, _, None) => Status::NoTarget,
        (_, None, Some(_)) => Status::NoData,
        (Direction::Higher, Some(v), Some(t)) => {
            if v >= t {
                Status::OnTrack
            } else if v >= t * (1.0 - tolerance) {
                Status::AtRisk
            } else {
                Status::OffTrack
            }
        }
        (Direction::Lower, Some(v), Some(t)) => {
            if v <= t {
                Status::OnTrack
            } else if v <= t * (1.0 + tolerance) {
                Status::AtRisk
            } else {
                Status::OffTrack
            }
        }
    }
}

/// `numerator / denominator`, or `None` ("no data") when the denominator is zero.
pub fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d != 0.0 => Some(n / d),
        _ => None,
    }
}

/// The value of another period, with the change to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub period: String,
    pub value: Option<f64>,
    pub change_abs: Option<f64>,
    /// `change_abs / |value|`; `None` when the other value is zero or missing.
    pub change_rel: Option<f64>,
}

/// One point of the trailing series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub period: String,
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
}

/// Labels in every report language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    pub en: String,
    #[serde(rename = "zh-CN")]
    pub zh_cn: String,
}

/// A KPI evaluated for a period: the `kpis` entries of `kpis.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiResult {
    pub id: String,
    /// The label in the workspace's locale.
    pub label: String,
    pub labels: Labels,
    pub unit: crate::spec::Unit,
    pub direction: Direction,
    pub value: Option<f64>,
    pub target: Option<f64>,
    /// `value / target`, whatever the direction; `None` without a (non-zero) target.
    pub attainment: Option<f64>,
    pub status: Status,
    pub previous: Comparison,
    pub year_ago: Comparison,
    pub series: Vec<SeriesPoint>,
}

impl KpiResult {
    /// How far the value falls short of the target, as a share of the target (positive is
    /// worse, whichever the direction); `None` without a value or a non-zero target.
    pub fn shortfall(&self) -> Option<f64> {
        let (v, t) = (self.value?, self.target?);
        if t == 0.0 {
            return None;
        }
        Some(match self.direction {
            Direction::Lower => (v - t) / t,
            _ => (t - v) / t,
        })
    }
}

/// `kpis.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiReport {
    pub pipeline: String,
    pub period: String,
    pub grain: String,
    pub as_of: String,
    pub kpis: Vec<KpiResult>,
}

impl Direction {
    fn serde_name(self) -> &'static str {
        match self {
            Direction::Higher => "higher",
            Direction::Lower => "lower",
            Direction::None => "none",
        }
    }
}

impl<'de> Deserialize<'de> for Direction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "higher" => Ok(Direction::Higher),
            "lower" => Ok(Direction::Lower),
            "none" => Ok(Direction::None),
            other => Err(serde::de::Error::custom(format!("unknown direction {other}"))),
        }
    }
}

impl<'de> Deserialize<'de> for crate::spec::Unit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        crate::spec::Unit::from_name(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown unit {name}")))
    }
}

fn kpi_error(kpi: &KpiSpec, message: String) -> Diagnostic {
    Diagnostic::new("kpi::shape", format!("KPI `{}`: {message}", kpi.id)).at(&kpi.file, kpi.place).with_hint(
        "the query must return a text column `period` (use `period_of(date)`) and a numeric column named as expected",
    )
}

/// Reads `(period, <column>)` rows into a map; values become `f64`, NaN counts as missing.
fn period_values(batches: &[RecordBatch], column: &str) -> Result<HashMap<String, Option<f64>>, String> {
    let mut out = HashMap::new();
    for b in batches {
        let schema = b.schema();
        let p = schema.index_of("period").map_err(|_| "no column `period`".to_string())?;
        let v = schema.index_of(column).map_err(|_| format!("no column `{column}`"))?;
        let periods = cast(b.column(p), &DataType::Utf8).map_err(|e| e.to_string())?;
        let values = cast(b.column(v), &DataType::Float64).map_err(|e| format!("`{column}` is not numeric: {e}"))?;
        let (periods, values) = (periods.as_string::<i32>(), values.as_primitive::<Float64Type>());
        for i in 0..b.num_rows() {
            if periods.is_null(i) {
                continue;
            }
            let value = (!values.is_null(i)).then(|| values.value(i)).filter(|x| x.is_finite());
            if out.insert(periods.value(i).to_string(), value).is_some() {
                return Err(format!("period {} appears twice; group by period", periods.value(i)));
            }
        }
    }
    Ok(out)
}

/// The DataFrame of a KPI's values per period, planned (not run).
///
/// # Errors
/// A diagnostic pointing into the KPI's SQL.
pub async fn plan_value(engine: &Engine, kpi: &KpiSpec) -> Result<DataFrame, Diagnostic> {
    let state = engine.context().state();
    let what = format!("KPI `{}`", kpi.id);
    let stmt = sql::parse(&state, &kpi.sql, &what)?;
    let plan = sql::plan(&state, &kpi.sql, &what, stmt, engine.params()).await?;
    Ok(DataFrame::new(state, plan))
}

/// Targets per period label, for a table or SQL target.
async fn target_values(
    engine: &Engine,
    kpi: &KpiSpec,
    period: &Period,
) -> Result<HashMap<String, Option<f64>>, Diagnostic> {
    let fail = |e: datafusion::error::DataFusionError| {
        Diagnostic::new(
            "kpi::target",
            format!("KPI `{}`: its target cannot be computed: {}", kpi.id, sql::clean_message(&e)),
        )
        .at(&kpi.file, kpi.place)
        .with_hint("a `metric:` target reads the `targets` source (month, metric, dimension, dimension_value, target)")
    };
    let batches =
        match &kpi.target {
            None | Some(TargetSpec::Value(_)) => return Ok(HashMap::new()),
            Some(TargetSpec::Sql(query)) => {
                let state = engine.context().state();
                let what = format!("the target of KPI `{}`", kpi.id);
                let stmt = sql::parse(&state, query, &what)?;
                let plan = sql::plan(&state, query, &what, stmt, engine.params()).await?;
                DataFrame::new(state, plan).collect().await.map_err(fail)?
            }
            Some(TargetSpec::Table { metric, dimension, dimension_value }) => {
                // A period's target is the sum of its months' targets, and none unless every
                // month has one (domain.md §2): count the months that do.
                let month_start = datafusion::functions::expr_fn::to_date(vec![
                    datafusion::functions::expr_fn::concat(vec![col("month"), lit("-01")]),
                ]);
                let period_of = engine.context().udf("period_of").map_err(fail)?;
                let df = engine
                    .context()
                    .table("targets")
                    .await
                    .map_err(fail)?
                    .filter(
                        col("metric")
                            .eq(lit(metric.clone()))
                            .and(col("dimension").eq(lit(dimension.clone())))
                            .and(col("dimension_value").eq(lit(dimension_value.clone()))),
                    )
                    .map_err(fail)?
                    .aggregate(
                        vec![period_of.call(vec![month_start]).alias("period")],
                        vec![
                            sum(cast_expr(col("target"), DataType::Float64)).alias("target"),
                            count_distinct(col("month")).alias("months"),
                        ],
                    )
                    .map_err(fail)?
                    .filter(col("months").eq(lit(period.grain().months() as i64)))
                    .map_err(fail)?;
                df.collect().await.map_err(fail)?
            }
        };
    period_values(&batches, "target").map_err(|m| kpi_error(kpi, m))
}

fn compare(current: Option<f64>, other_period: &Period, values: &HashMap<String, Option<f64>>) -> Comparison {
    let label = other_period.to_string();
    let value = values.get(&label).copied().flatten();
    let change_abs = match (current, value) {
        (Some(c), Some(o)) => Some(c - o),
        _ => None,
    };
    Comparison { period: label, value, change_abs, change_rel: ratio(change_abs, value.map(f64::abs)) }
}

/// Evaluates `kpi` for `period`: one query for the whole series, one for the targets.
///
/// # Errors
/// A diagnostic when a query fails or returns the wrong shape.
pub async fn evaluate(engine: &Engine, kpi: &KpiSpec, period: &Period, locale: &str) -> Result<KpiResult, Diagnostic> {
    let df = plan_value(engine, kpi).await?;
    let batches = df.collect().await.map_err(|e| sql::sql_diagnostic(&kpi.sql, &format!("KPI `{}`", kpi.id), &e))?;
    let values = period_values(&batches, "value").map_err(|m| kpi_error(kpi, m))?;
    let targets = target_values(engine, kpi, period).await?;
    let target_of = |label: &str| match &kpi.target {
        Some(TargetSpec::Value(v)) => Some(*v),
        _ => targets.get(label).copied().flatten(),
    };
    let label = period.to_string();
    let value = values.get(&label).copied().flatten();
    let target = target_of(&label);
    let n = series_length(period.grain());
    let series = (1 - n..=0)
        .map(|k| {
            let p = period.shift(k).to_string();
            SeriesPoint { value: values.get(&p).copied().flatten(), target: target_of(&p), period: p }
        })
        .collect();
    Ok(KpiResult {
        id: kpi.id.clone(),
        label: if locale == "zh-CN" { kpi.label_zh.clone() } else { kpi.label_en.clone() },
        labels: Labels { en: kpi.label_en.clone(), zh_cn: kpi.label_zh.clone() },
        unit: kpi.unit,
        direction: kpi.direction,
        value,
        target,
        attainment: ratio(value, target),
        status: status(value, target, kpi.direction, kpi.tolerance),
        previous: compare(value, &period.previous(), &values),
        year_ago: compare(value, &period.year_ago(), &values),
        series,
    })
}

/// Evaluates every KPI of the pipeline.
///
/// # Errors
/// The problems of every KPI that failed.
pub async fn evaluate_all(engine: &Engine, period: &Period, locale: &str) -> Result<Vec<KpiResult>, Vec<Diagnostic>> {
    let results =
        futures::future::join_all(engine.pipeline().kpis.iter().map(|k| evaluate(engine, k, period, locale))).await;
    let (ok, errs): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    if errs.is_empty() {
        Ok(ok.into_iter().flatten().collect())
    } else {
        Err(errs.into_iter().filter_map(Result::err).collect())
    }
}

impl Serialize for Direction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.serde_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_domain_rules() {
        let h = Direction::Higher;
        assert_eq!(status(Some(100.0), Some(100.0), h, 0.1), Status::OnTrack);
        assert_eq!(status(Some(90.0), Some(100.0), h, 0.1), Status::AtRisk);
        assert_eq!(status(Some(89.99), Some(100.0), h, 0.1), Status::OffTrack);
        let l = Direction::Lower;
        assert_eq!(status(Some(30.0), Some(30.0), l, 0.1), Status::OnTrack);
        assert_eq!(status(Some(33.0), Some(30.0), l, 0.1), Status::AtRisk);
        assert_eq!(status(Some(33.1), Some(30.0), l, 0.1), Status::OffTrack);
        assert_eq!(status(Some(1.0), None, h, 0.1), Status::NoTarget);
        assert_eq!(status(None, Some(1.0), h, 0.1), Status::NoData);
        assert_eq!(status(Some(1.0), Some(1.0), Direction::None, 0.1), Status::Watch);
    }

    #[test]
    fn zero_denominators_are_no_data() {
        assert_eq!(ratio(Some(1.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(2.0)), None);
        assert_eq!(ratio(Some(1.0), Some(4.0)), Some(0.25));
    }
}

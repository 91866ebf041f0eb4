//! The standard pipelines against an independent implementation of domain.md's formulas
//! (`tests/reference/sextant_ref.py`, plain Python written from the definitions, not from
//! the SQL), on the bundled sample, for a month, a quarter and a year.

use std::path::Path;
use std::process::Command;

use crate::common::repo;
use crate::compare::{diff_kpi, diff_tables, kpi_fields};
use crate::kpi_cases::run_standard;

const TABLES: &[&str] = &[
    "attainment_by_region",
    "attainment_by_channel",
    "channel_roi",
    "funnel",
    "rfm",
    "lifecycle",
    "warnings",
    "market_share",
    "competitor_scores",
    "price_index",
    "lost_deals",
];

async fn compare(pipeline: &str, period: &str) -> Vec<String> {
    let out = tempfile::tempdir().unwrap();
    let data = repo().join("data/sample");
    let run_dir = run_standard(pipeline, &data, period, None, out.path()).await.expect("sextant run");
    let reference = out.path().join("reference");
    let status = Command::new("python3")
        .arg(repo().join("tests/reference/sextant_ref.py"))
        .args(["--data", data.to_str().unwrap(), "--period", period, "--out", reference.to_str().unwrap()])
        .status()
        .expect("python3 must be installed for the reference comparison");
    assert!(status.success(), "the reference implementation failed");

    let read_json =
        |p: &Path| -> serde_json::Value { serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    let ours = read_json(&run_dir.join("kpis.json"));
    let theirs = read_json(&reference.join("kpis.json"));
    let mut problems = Vec::new();
    assert_eq!(theirs["kpis"].as_array().map(Vec::len), Some(17), "the reference computes every KPI");
    for expected in theirs["kpis"].as_array().unwrap() {
        let id = expected["id"].as_str().unwrap();
        let fields = kpi_fields(expected).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        match ours["kpis"].as_array().unwrap().iter().find(|k| k["id"] == id) {
            Some(actual) => problems.extend(diff_kpi(id, &fields, actual)),
            None => problems.push(format!("no KPI `{id}`")),
        }
    }
    for table in TABLES {
        let expected = std::fs::read_to_string(reference.join("tables").join(format!("{table}.csv"))).unwrap();
        let actual = std::fs::read_to_string(run_dir.join("tables").join(format!("{table}.csv"))).unwrap();
        problems.extend(diff_tables(table, &expected, &actual, &["detail"]));
    }
    problems.into_iter().map(|p| format!("[{pipeline} {period}] {p}")).collect()
}

#[tokio::test]
async fn monthly_quarterly_and_annual_figures_equal_the_reference() {
    let mut problems = Vec::new();
    problems.extend(compare("monthly_review", "2026-10").await);
    problems.extend(compare("quarterly_retro", "2026-Q3").await);
    problems.extend(compare("annual_review", "2025").await);
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
}

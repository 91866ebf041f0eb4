//! Every figure against answers computed by hand: each folder of `tests/fixtures/kpi/` holds
//! tiny data and a `case.yaml` with the expected KPIs and tables (and how they were
//! computed). Adding a case is adding a folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sextant::config::{Overrides, Workspace};
use sextant::period::{FiscalYearStart, Period};
use sextant::run::{RunOutcome, run_pipeline};

use crate::common::{clock, render, repo};
use crate::compare::{diff_kpi, diff_tables};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    #[allow(dead_code)]
    computation: String,
    pipeline: String,
    period: String,
    #[serde(default)]
    fiscal_year_start: Option<u32>,
    #[serde(default)]
    kpis: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    tables: BTreeMap<String, String>,
}

/// Runs `pipeline` on `data` for `period`; returns the folder of the published run.
pub async fn run_standard(
    pipeline: &str,
    data: &Path,
    period: &str,
    fys: Option<u32>,
    out: &Path,
) -> Result<PathBuf, String> {
    let overrides =
        Overrides { data_root: Some(data.display().to_string()), output_root: Some(out.display().to_string()) };
    let ws = Workspace::from_str(&repo(), &repo().join("config/sextant.yaml"), "", &overrides, &|_| None)
        .map_err(|d| render(&d))?;
    let mut p =
        sextant::spec::load(&repo().join("pipelines").join(format!("{pipeline}.yaml"))).map_err(|d| render(&d))?;
    if let Some(m) = fys {
        p.fiscal_year_start = FiscalYearStart::new(m).ok_or("bad fiscal_year_start")?;
    }
    let period =
        Period::parse(period, p.grain, p.fiscal_year_start, clock().today("UTC")).map_err(|e| e.to_string())?;
    let name = p.name.clone();
    match run_pipeline(&ws, Arc::new(p), period, &clock(), &|_| {}).await.map_err(|e| e.to_string())? {
        RunOutcome::Succeeded(_) => Ok(out.join(&name).join(period.to_string())),
        RunOutcome::Failed(_, d) => Err(render(&d)),
    }
}

#[tokio::test]
async fn every_hand_computed_case_matches() {
    let root = repo().join("tests/fixtures/kpi");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.join("case.yaml").is_file()).collect())
        .unwrap_or_default();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", root.display());
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let case: Case = match serde_saphyr::from_str(&std::fs::read_to_string(dir.join("case.yaml")).unwrap()) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("[{name}] case.yaml: {e}"));
                continue;
            }
        };
        let out = tempfile::tempdir().unwrap();
        let run_dir =
            match run_standard(&case.pipeline, &dir.join("data"), &case.period, case.fiscal_year_start, out.path())
                .await
            {
                Ok(d) => d,
                Err(e) => {
                    failures.push(format!("[{name}] {}: the run failed:\n{e}", case.description));
                    continue;
                }
            };
        let mut problems = Vec::new();
        if !case.kpis.is_empty() {
            let report: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(run_dir.join("kpis.json")).unwrap()).unwrap();
            for (id, expected) in &case.kpis {
                match report["kpis"].as_array().and_then(|ks| ks.iter().find(|k| k["id"] == id.as_str())) {
                    Some(actual) => problems.extend(diff_kpi(id, expected, actual)),
                    None => problems.push(format!("no KPI `{id}`")),
                }
            }
        }
        for (table, expected) in &case.tables {
            match std::fs::read_to_string(run_dir.join("tables").join(format!("{table}.csv"))) {
                Ok(actual) => problems.extend(diff_tables(table, expected, &actual, &["detail"])),
                Err(e) => problems.push(format!("{table}.csv: {e}")),
            }
        }
        for p in problems {
            failures.push(format!("[{name}] {p}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

//! `run`: figures on hand-made fixtures, and what is (not) published when a run fails.

use std::path::Path;
use std::sync::Arc;

use sextant::period::{FiscalYearStart, Grain, Period};
use sextant::run::{RunOutcome, run_pipeline};
use sextant::store::manifest::{RunManifest, RunStatus};

use crate::common::{clock, render, workspace};

async fn run(data: &str, out: &Path, period: &str) -> RunOutcome {
    let ws = workspace(data, out);
    let pipeline = sextant::spec::load(Path::new("pipelines/sales_overview.yaml")).unwrap();
    let period = Period::parse(period, Grain::Month, FiscalYearStart::CALENDAR, clock().today("UTC")).unwrap();
    run_pipeline(&ws, Arc::new(pipeline), period, &clock(), &|_| {}).await.unwrap()
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

#[tokio::test]
async fn month_figures_match_the_hand_computed_answers() {
    let out = tempfile::tempdir().unwrap();
    let RunOutcome::Succeeded(m) = run("data", out.path(), "2026-10").await else { panic!("run failed") };
    let dir = out.path().join("sales_overview/2026-10");
    // East: O2 (100.00 + 20.10) + O4 (0.10) = 120.20 against 200.00 → 0.601.
    // North: O3 300.00 against 400.00 → 0.75. O1 (September) and O5 (November) are outside.
    assert_eq!(
        read(dir.join("tables/revenue_by_region.csv")),
        "region,revenue,orders,customers,target,attainment\n\
         North,300.00,1,1,400.00,0.75\n\
         East,120.20,2,2,200.00,0.601\n"
    );
    // 13 months ending 2026-10 start 2025-10; only September and October have orders.
    assert_eq!(
        read(dir.join("tables/revenue_trend.csv")),
        "month,revenue,orders,active_customers\n2026-09,100.00,1,1\n2026-10,420.20,3,3\n"
    );
    assert_eq!(
        read(dir.join("tables/top_customers.csv")),
        "customer_id,name,industry,region,revenue,orders\n\
         C2,Birch,finance,North,300.00,1\n\
         C1,Acme,retail,East,120.10,1\n\
         C3,Cobalt,retail,East,0.10,1\n"
    );
    let json: serde_json::Value = serde_json::from_str(&read(dir.join("tables/top_customers.json"))).unwrap();
    assert_eq!(json[0]["customer_id"], "C2");

    // run.json is the published manifest, with inputs, steps and checks.
    let manifest: RunManifest = serde_json::from_str(&read(dir.join("run.json"))).unwrap();
    assert_eq!(manifest, m);
    assert_eq!(manifest.status, RunStatus::Succeeded);
    assert_eq!((manifest.period_start.as_str(), manifest.period_end.as_str(), manifest.as_of.as_str()), ("2026-10-01", "2026-11-01", "2026-10-31"));
    let orders = manifest.inputs.iter().find(|i| i.table == "orders").unwrap();
    assert_eq!((orders.rows, orders.bytes), (Some(6), std::fs::metadata("tests/fixtures/data/orders.csv").unwrap().len()));
    assert_eq!(orders.sha256.len(), 64);
    let steps: Vec<_> = manifest.steps.iter().map(|s| (s.name.as_str(), s.rows)).collect();
    assert_eq!(steps, vec![("period_orders", 4), ("revenue_by_region", 2), ("revenue_trend", 2), ("top_customers", 3)]);
    assert!(manifest.checks.iter().all(|c| c.passed), "{:?}", manifest.checks);
    assert_eq!(manifest.checks.len(), 8);
    let outputs: Vec<_> = manifest.outputs.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(outputs, vec!["tables/revenue_by_region.csv", "tables/revenue_trend.csv", "tables/top_customers.csv", "tables/top_customers.json"]);
    // Staging is cleaned up; the attempt is in the ledger.
    assert!(!out.path().join("sales_overview/.staging").read_dir().map(|mut d| d.next().is_some()).unwrap_or(false));
    assert!(out.path().join(format!("sales_overview/.runs/2026-10/{}.json", m.run_id)).is_file());
}

#[tokio::test]
async fn a_quarter_with_a_missing_month_target_has_no_target() {
    let out = tempfile::tempdir().unwrap();
    let RunOutcome::Succeeded(_) = run("data", out.path(), "2026-Q4").await else { panic!("run failed") };
    // Only October has region targets, so Q4 has none (domain.md §2): no partial attainment.
    // North: O3 300.00 + O5 100.00 (2026-11-01 is in Q4).
    assert_eq!(
        read(out.path().join("sales_overview/2026-Q4/tables/revenue_by_region.csv")),
        "region,revenue,orders,customers,target,attainment\nNorth,400.00,2,1,,\nEast,120.20,2,2,,\n"
    );
}

#[tokio::test]
async fn an_empty_period_publishes_empty_tables_and_warns() {
    let out = tempfile::tempdir().unwrap();
    let RunOutcome::Succeeded(m) = run("data", out.path(), "2025-01").await else { panic!("run failed") };
    let dir = out.path().join("sales_overview/2025-01/tables");
    assert_eq!(read(dir.join("revenue_by_region.csv")), "region,revenue,orders,customers,target,attainment\n");
    let warn = m.checks.iter().find(|c| c.check == "row_count_min").unwrap();
    assert!(!warn.passed && !warn.blocks(), "{warn:?}");
}

#[tokio::test]
async fn dirty_csv_rows_are_reported_and_nothing_is_published() {
    let out = tempfile::tempdir().unwrap();
    let RunOutcome::Failed(m, problems) = run("dirty", out.path(), "2026-10").await else { panic!("run should fail") };
    assert_eq!(m.status, RunStatus::Failed);
    let found: Vec<_> = problems.iter().map(|d| (d.code, d.place.map(|p| (p.line, p.column)))).collect();
    assert_eq!(
        found,
        vec![
            ("csv::bad-value", Some((3, 48))),
            ("csv::field-count", Some((4, 1))),
            ("csv::bad-value", Some((5, 42))),
            ("csv::dirty-file", None),
        ]
    );
    let rendered = render(&problems).replace(&crate::common::repo().display().to_string(), "<repo>");
    insta::assert_snapshot!(rendered);
    assert!(!out.path().join("sales_overview/2026-10").exists(), "a failed run must publish nothing");
    let ledger: Vec<_> = std::fs::read_dir(out.path().join("sales_overview/.runs/2026-10")).unwrap().collect();
    assert_eq!(ledger.len(), 1);
}

#[tokio::test]
async fn a_failing_error_check_stops_the_run_and_keeps_the_last_good_one() {
    let out = tempfile::tempdir().unwrap();
    let RunOutcome::Succeeded(good) = run("data", out.path(), "2026-10").await else { panic!("good run failed") };
    let before = read(out.path().join("sales_overview/2026-10/tables/revenue_by_region.csv"));

    let RunOutcome::Failed(m, problems) = run("orphan", out.path(), "2026-10").await else { panic!("run should fail") };
    let failed: Vec<_> = m.checks.iter().filter(|c| !c.passed).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].check, "relationship");
    assert_eq!(failed[0].violations, 2);
    let ids: Vec<_> = failed[0].sample.iter().map(|r| r["customer_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"C9") && ids.contains(&"C8"));
    // No step ran on data that failed a source check.
    assert!(m.steps.is_empty());
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].code, "check::failed");

    // The published period is still the good run, untouched.
    let manifest: RunManifest = serde_json::from_str(&read(out.path().join("sales_overview/2026-10/run.json"))).unwrap();
    assert_eq!(manifest.run_id, good.run_id);
    assert_eq!(read(out.path().join("sales_overview/2026-10/tables/revenue_by_region.csv")), before);
}

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
    assert_eq!(
        (manifest.period_start.as_str(), manifest.period_end.as_str(), manifest.as_of.as_str()),
        ("2026-10-01", "2026-11-01", "2026-10-31")
    );
    let orders = manifest.inputs.iter().find(|i| i.table == "orders").unwrap();
    assert_eq!(
        (orders.rows, orders.bytes),
        (Some(6), std::fs::metadata("tests/fixtures/data/orders.csv").unwrap().len())
    );
    assert_eq!(orders.sha256.len(), 64);
    let steps: Vec<_> = manifest.steps.iter().map(|s| (s.name.as_str(), s.rows)).collect();
    assert_eq!(steps, vec![("period_orders", 4), ("revenue_by_region", 2), ("revenue_trend", 2), ("top_customers", 3)]);
    assert!(manifest.checks.iter().all(|c| c.passed), "{:?}", manifest.checks);
    assert_eq!(manifest.checks.len(), 8);
    let outputs: Vec<_> = manifest.outputs.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(
        outputs,
        vec![
            "tables/revenue_by_region.csv",
            "tables/revenue_trend.csv",
            "tables/top_customers.csv",
            "tables/top_customers.json"
        ]
    );
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
    let manifest: RunManifest =
        serde_json::from_str(&read(out.path().join("sales_overview/2026-10/run.json"))).unwrap();
    assert_eq!(manifest.run_id, good.run_id);
    assert_eq!(read(out.path().join("sales_overview/2026-10/tables/revenue_by_region.csv")), before);
}

async fn run_file(pipeline: &str, ws: &sextant::config::Workspace, period: &str) -> RunOutcome {
    let pipeline = sextant::spec::load(Path::new(pipeline)).unwrap();
    let period = Period::parse(period, pipeline.grain, pipeline.fiscal_year_start, clock().today("UTC")).unwrap();
    run_pipeline(ws, Arc::new(pipeline), period, &clock(), &|_| {}).await.unwrap()
}

#[tokio::test]
async fn every_check_kind_counts_and_samples_its_violations() {
    let out = tempfile::tempdir().unwrap();
    let ws = workspace("checks", out.path());
    let RunOutcome::Succeeded(m) = run_file("tests/fixtures/pipelines/checks.yaml", &ws, "2026-10").await else {
        panic!("warn checks must not stop the run")
    };
    let results: Vec<_> = m.checks.iter().map(|c| (c.check.as_str(), c.passed, c.violations)).collect();
    assert_eq!(
        results,
        vec![
            ("unique", false, 1),          // (O1, P01) twice
            ("not_null", false, 1),        // O2 has no customer
            ("accepted_values", false, 1), // "Online " with a trailing blank
            ("relationship", false, 1),    // C9; the null customer is not_null's business
            ("row_count_min", false, 1),   // by_channel has 4 rows, 10 expected
            ("sql", false, 1),             // O3's -10.00
        ]
    );
    let unique = &m.checks[0];
    assert_eq!(
        serde_json::Value::Object(unique.sample[0].clone()),
        serde_json::json!({"order_id": "O1", "product_id": "P01", "rows": 2})
    );
    assert_eq!(m.checks[2].sample[0]["channel"], "Online ");
    assert_eq!(m.checks[3].sample[0]["customer_id"], "C9");
    assert_eq!(m.checks[5].sample[0]["order_id"], "O3");
    assert_eq!(m.checks[4].message, "`by_channel` has 4 rows; at least 10 expected");

    // Parquet and JSON exports read back with the same rows.
    let dir = out.path().join("checks_fixture/2026-10/tables");
    let ctx = datafusion::prelude::SessionContext::new();
    let df = ctx.read_parquet(dir.join("by_channel.parquet").to_str().unwrap(), Default::default()).await.unwrap();
    let batches = df.collect().await.unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
    assert_eq!(
        text,
        "+---------+---------+-------+\n\
         | channel | revenue | lines |\n\
         +---------+---------+-------+\n\
         | Online  | 100.00  | 1     |\n\
         | direct  | 200.00  | 2     |\n\
         | events  | 20.00   | 1     |\n\
         | online  | -10.00  | 1     |\n\
         +---------+---------+-------+"
    );
    let json: serde_json::Value = serde_json::from_str(&read(dir.join("by_channel.json"))).unwrap();
    assert_eq!(json.as_array().map(Vec::len), Some(4));
}

const EURO_MONTH: &str = "order_id,order_date,customer_id,amount\nO1,2026-10-31,C1,10.50\nO2,2026-10-01,,4.50\n";
const EURO_SUMMARY: &str = "lines,with_customer,revenue,last_date,as_of,prev_start,yoy_end\n2,1,15.00,2026-10-31,2026-10-31,2026-09-01,2025-11-01\n";

#[tokio::test]
async fn csv_options_and_period_parameters() {
    let out = tempfile::tempdir().unwrap();
    let ws = workspace("euro", out.path());
    let outcome = run_file("tests/fixtures/pipelines/euro.yaml", &ws, "2026-10").await;
    let RunOutcome::Succeeded(_) = outcome else { panic!("run failed: {outcome:?}") };
    let dir = out.path().join("euro_fixture/2026-10/tables");
    // `;` separates, `NA` is null, dates are day-first; the period's parameters are typed dates.
    assert_eq!(read(dir.join("month_orders.csv")), EURO_MONTH);
    assert_eq!(read(dir.join("summary.csv")), EURO_SUMMARY);
}

/// A static file server on 127.0.0.1 (Python's http.server), stopped when dropped.
struct HttpServer(std::process::Child);

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path) -> (HttpServer, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = std::process::Command::new("python3")
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 must be installed for the HTTP source test");
    let server = HttpServer(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (server, port);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("http.server did not start on port {port}");
}

#[tokio::test]
async fn sources_are_read_through_object_store_urls() {
    let (_server, port) = serve(&crate::common::repo().join("tests/fixtures/euro"));
    let out = tempfile::tempdir().unwrap();
    let mut ws = workspace("euro", out.path());
    ws.data_root = sextant::config::Root::Url(url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap());
    let outcome = run_file("tests/fixtures/pipelines/euro.yaml", &ws, "2026-10").await;
    let RunOutcome::Succeeded(m) = outcome else { panic!("run over HTTP failed: {outcome:?}") };
    assert_eq!(m.inputs[0].location, format!("http://127.0.0.1:{port}/orders.csv"));
    assert_eq!(m.inputs[0].bytes, std::fs::metadata("tests/fixtures/euro/orders.csv").unwrap().len());
    let dir = out.path().join("euro_fixture/2026-10/tables");
    assert_eq!(read(dir.join("month_orders.csv")), EURO_MONTH);
    assert_eq!(read(dir.join("summary.csv")), EURO_SUMMARY);
}

#[tokio::test]
async fn findings_of_the_sample_month_read_as_golden() {
    let out = tempfile::tempdir().unwrap();
    let dir = crate::kpi_cases::run_standard(
        "monthly_review",
        &crate::common::repo().join("data/sample"),
        "2026-10",
        None,
        out.path(),
    )
    .await
    .unwrap();
    let findings: serde_json::Value = serde_json::from_str(&read(dir.join("findings.json"))).unwrap();
    insta::assert_json_snapshot!(findings);
}

/// Runs the euro fixture pipeline on `data` with its CSV copies in `cache`; returns the
/// outcome and the phases it went through.
async fn run_cached(data: &Path, cache: &Path, out: &Path) -> (RunOutcome, Vec<String>) {
    let mut ws = workspace("euro", out);
    ws.data_root = sextant::config::Root::Local(data.to_path_buf());
    ws.engine.csv_cache = Some(cache.to_path_buf());
    let pipeline = sextant::spec::load(Path::new("tests/fixtures/pipelines/euro.yaml")).unwrap();
    let period = Period::parse("2026-10", Grain::Month, FiscalYearStart::CALENDAR, clock().today("UTC")).unwrap();
    let phases = std::sync::Mutex::new(Vec::new());
    let on_event = |e: sextant::run::RunEvent<'_>| {
        if let sextant::run::RunEvent::Phase(p) = e {
            phases.lock().unwrap().push(p.to_string());
        }
    };
    let outcome = run_pipeline(&ws, Arc::new(pipeline), period, &clock(), &on_event).await.unwrap();
    (outcome, phases.into_inner().unwrap())
}

fn copies(cache: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cache)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// engine.csv_cache: a clean CSV is parsed once into a Parquet copy keyed by its checksum;
/// the next run reads the copy and gives the same figures; a changed file gets a new copy
/// (the old one goes); a dirty file gets none.
#[tokio::test]
async fn a_csv_input_is_parsed_once_into_a_parquet_copy_keyed_by_its_checksum() {
    const WRITING: &str = "writing Parquet copies of CSV inputs";
    let data = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let orders = data.path().join("orders.csv");
    std::fs::copy(crate::common::repo().join("tests/fixtures/euro/orders.csv"), &orders).unwrap();

    let out1 = tempfile::tempdir().unwrap();
    let (outcome, phases) = run_cached(data.path(), cache.path(), out1.path()).await;
    let RunOutcome::Succeeded(first) = outcome else { panic!("first run failed: {outcome:?}") };
    assert!(phases.iter().any(|p| p == WRITING), "{phases:?}");
    let made = copies(cache.path());
    assert_eq!(made.len(), 1, "{made:?}");
    let sha = &first.inputs[0].sha256;
    assert!(made[0].contains(&format!("-orders-{}-", &sha[..16])) && made[0].ends_with(".parquet"), "{made:?}");
    let table = |out: &Path| read(out.join("euro_fixture/2026-10/tables/month_orders.csv"));
    assert_eq!(table(out1.path()), EURO_MONTH);

    let out2 = tempfile::tempdir().unwrap();
    let (outcome, phases) = run_cached(data.path(), cache.path(), out2.path()).await;
    let RunOutcome::Succeeded(second) = outcome else { panic!("second run failed: {outcome:?}") };
    assert!(!phases.iter().any(|p| p == WRITING), "the copy was made again: {phases:?}");
    assert_eq!(copies(cache.path()), made);
    assert_eq!(table(out2.path()), EURO_MONTH);
    assert_eq!(read(out2.path().join("euro_fixture/2026-10/tables/summary.csv")), EURO_SUMMARY);
    assert_eq!(second.inputs, first.inputs, "same checksum, size and row count");

    // A copy made less than an hour ago may still be read by a run in progress: it stays.
    std::fs::write(&orders, format!("{}O5;20/10/2026;C3;2.25\n", read(&orders))).unwrap();
    let out_young = tempfile::tempdir().unwrap();
    let (outcome, _) = run_cached(data.path(), cache.path(), out_young.path()).await;
    assert!(matches!(outcome, RunOutcome::Succeeded(_)), "{outcome:?}");
    assert_eq!(copies(cache.path()).len(), 2, "{:?}", copies(cache.path()));
    std::fs::remove_file(cache.path().join(copies(cache.path()).into_iter().find(|c| !made.contains(c)).unwrap()))
        .unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(cache.path().join(&made[0]))
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let out3 = tempfile::tempdir().unwrap();
    let (outcome, phases) = run_cached(data.path(), cache.path(), out3.path()).await;
    let RunOutcome::Succeeded(third) = outcome else { panic!("third run failed: {outcome:?}") };
    assert!(phases.iter().any(|p| p == WRITING));
    let remade = copies(cache.path());
    assert_eq!(remade.len(), 1, "the old copy, two hours old, is deleted: {remade:?}");
    assert_ne!(remade, made);
    assert_eq!(third.inputs[0].rows, Some(5));
    assert!(table(out3.path()).contains("O5,2026-10-20,C3,2.25"), "{}", table(out3.path()));

    std::fs::write(&orders, format!("{}O6;not a date;C3;1.00\n", read(&orders))).unwrap();
    let out4 = tempfile::tempdir().unwrap();
    let (outcome, _) = run_cached(data.path(), cache.path(), out4.path()).await;
    assert!(matches!(outcome, RunOutcome::Failed(..)), "{outcome:?}");
    assert_eq!(copies(cache.path()), remade, "no copy of a dirty file");
}

//! The binary as a user runs it: output and exit codes.

use std::process::Command;

fn sextant() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sextant"));
    c.current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1").env("SEXTANT_NOW", "2026-11-05T08:00:00Z");
    c.env_remove("SEXTANT_DATA_ROOT").env_remove("SEXTANT_OUTPUT_ROOT").env_remove("RUST_LOG");
    c
}

#[test]
fn validate_reports_all_three_problems_and_exits_2() {
    let out = sextant()
        .args([
            "validate",
            "tests/fixtures/pipelines/broken.yaml",
            "--data-root",
            "tests/fixtures/data",
            "--color",
            "never",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    insta::assert_snapshot!(stderr);
}

#[test]
fn run_writes_exports_and_run_json_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = sextant()
        .args(["run", "sales_overview", "--period", "2026-10", "--data-root", "tests/fixtures/data", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("sales_overview/2026-10/run.json").is_file());
    assert!(dir.path().join("sales_overview/2026-10/tables/revenue_trend.csv").is_file());
}

#[test]
fn run_on_dirty_data_exits_1_and_a_bad_period_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = sextant()
        .args(["run", "sales_overview", "--period", "2026-10", "--data-root", "tests/fixtures/dirty", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("nothing was published"), "{stderr}");
    let out = sextant().args(["run", "sales_overview", "--period", "2026-13"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("out of range"));
}

#[test]
fn help_explains_the_commands() {
    let out = sextant().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for word in ["run", "validate", "sample", "Exit codes"] {
        assert!(text.contains(word), "{text}");
    }
}

#[test]
fn backfill_resumes_and_history_lists_every_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let backfill = |extra: &[&str]| {
        let mut c = sextant();
        c.args([
            "backfill",
            "sales_overview",
            "--from",
            "2026-09",
            "--to",
            "2026-10",
            "--data-root",
            "tests/fixtures/data",
            "--out",
        ])
        .arg(dir.path())
        .args(extra);
        c.output().unwrap()
    };
    let first = backfill(&[]);
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(String::from_utf8_lossy(&first.stdout).contains("2 periods: 2 run, 0 skipped, 0 failed"));
    // A second backfill finds both periods published and runs nothing: it resumes.
    let second = backfill(&[]);
    assert!(String::from_utf8_lossy(&second.stdout).contains("2 periods: 0 run, 2 skipped, 0 failed"));
    let forced = backfill(&["--force"]);
    assert!(String::from_utf8_lossy(&forced.stdout).contains("2 periods: 2 run, 0 skipped, 0 failed"));

    // A failed run is recorded too.
    let failed = sextant()
        .args(["run", "sales_overview", "--period", "2026-10", "--data-root", "tests/fixtures/orphan", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let out = sextant().args(["history", "--json", "--out"]).arg(dir.path()).output().unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<(&str, &str)> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["period"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses.len(), 5);
    assert_eq!(statuses.iter().filter(|s| s.1 == "succeeded").count(), 4);
    assert!(statuses.contains(&("2026-10", "failed")));
    let table = sextant().args(["history", "sales_overview", "--out"]).arg(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("PIPELINE") && text.lines().count() == 6, "{text}");
    assert_eq!(text.matches(" backfill ").count(), 4, "backfill runs say so: {text}");
    assert!(String::from_utf8_lossy(&first.stderr).contains("[1/2] sales_overview 2026-09: running…"));
}

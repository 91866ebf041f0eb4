//! `sextant schedule` and `sextant next` as a user runs them: fire times across DST, catch-up
//! after an outage, a run killed with `kill -9`, SIGTERM, timeouts, and two daemons sharing
//! an S3 output store (moto).
//!
//! The clock is set with `SEXTANT_NOW` and `--once` wherever the test is about *which* runs
//! happen; the live daemon (real clock, one-shot fire a few seconds ahead) where it is about
//! processes being killed or stopped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Timelike, Utc};
use sextant::config::Root;
use sextant::store::OutputStore;
use sextant::store::manifest::{RunManifest, RunStatus, Trigger};

use crate::common::repo;

fn sextant() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sextant"));
    c.current_dir(repo()).env("NO_COLOR", "1");
    c.env_remove("SEXTANT_NOW").env_remove("SEXTANT_DATA_ROOT").env_remove("SEXTANT_OUTPUT_ROOT");
    c.env_remove("RUST_LOG");
    c
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A copy of a standard pipeline with a `schedule:` block, in `dir/pipelines/`, with the
/// shared fragments linked beside it.
fn scheduled(dir: &Path, base: &str, schedule: &str) -> PathBuf {
    scheduled_with(dir, &format!("pipelines/{base}.yaml"), schedule, "")
}

/// A copy of the pipeline `source` (relative to the repo) with a `schedule:` block and
/// `extra` top-level YAML, in `dir/pipelines/`.
fn scheduled_with(dir: &Path, source: &str, schedule: &str, extra: &str) -> PathBuf {
    let pipelines = dir.join("pipelines");
    std::fs::create_dir_all(&pipelines).unwrap();
    let common = pipelines.join("common");
    if !common.exists() {
        std::os::unix::fs::symlink(repo().join("pipelines/common"), &common).unwrap();
    }
    // The copy's own `schedule:` goes, and whatever top-level block `extra` replaces.
    let mut replaced = vec!["schedule"];
    replaced.extend(["deliver", "owners"].into_iter().filter(|k| extra.contains(&format!("{k}:"))));
    let mut yaml = without_blocks(&std::fs::read_to_string(repo().join(source)).unwrap(), &replaced);
    yaml.push_str("\nschedule:\n");
    for line in schedule.lines() {
        yaml.push_str(&format!("  {line}\n"));
    }
    yaml.push_str(extra);
    let path = pipelines.join(Path::new(source).file_name().unwrap());
    std::fs::write(&path, yaml).unwrap();
    path
}

/// `yaml` without the top-level blocks `keys` (the test writes its own).
fn without_blocks(yaml: &str, keys: &[&str]) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in yaml.lines() {
        let top_level = !line.starts_with([' ', '#']) && !line.is_empty();
        if top_level {
            skipping = keys.iter().any(|k| line.starts_with(&format!("{k}:")));
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

async fn ledger(out: &Path, pipeline: &str) -> Vec<RunManifest> {
    let store = OutputStore::open(&Root::Local(out.to_path_buf())).unwrap();
    let mut runs = sextant::store::ledger::attempts(&store, Some(pipeline)).await.unwrap();
    runs.sort_by(|a, b| a.period.cmp(&b.period).then(a.started_at.cmp(&b.started_at)));
    runs
}

fn summary(runs: &[RunManifest]) -> Vec<String> {
    runs.iter().map(|m| format!("{} {} {:?}", m.period, m.status.as_str(), m.trigger)).collect()
}

/// `sextant schedule --once` at `now`, on the fixture data.
fn once(pipeline: &Path, out: &Path, now: &str, data: &str) -> Output {
    sextant()
        .env("SEXTANT_NOW", now)
        .args(["schedule", "--once", "--no-deliver"])
        .arg(pipeline)
        .args(["--data-root", data, "--out"])
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn next_lists_fire_times_and_periods_across_a_dst_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = scheduled(dir.path(), "sales_overview", "cron: \"30 2 * * *\"\ntimezone: Europe/Berlin");
    let out =
        sextant().env("SEXTANT_NOW", "2026-03-27T12:00:00Z").arg("next").arg(&path).args(["-n", "4"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // 2026-03-29 02:30 does not exist in Berlin: it fires once, when the clocks jump to 03:00.
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn next_without_any_schedule_says_how_to_add_one() {
    let out = sextant().args(["next", "sales_overview"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no pipeline has a `schedule:` block"), "{}", text(&out));
}

/// Stopped on 15 August, restarted on 22 November: the fires of 1 September, 1 October and
/// 1 November (07:00 Shanghai, for August, September and October) were missed.
async fn after_three_missed_fires(catch_up: &str) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let schedule = format!("cron: \"0 7 1 * *\"\ncatch_up: {catch_up}");
    let path = scheduled(dir.path(), "sales_overview", &schedule);
    let first = once(&path, &out, "2026-08-15T00:00:00Z", "tests/fixtures/data");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(text(&first).contains("first start"), "{}", text(&first));
    assert!(ledger(&out, "sales_overview").await.is_empty(), "a first start runs nothing");
    let second = once(&path, &out, "2026-11-22T09:00:00Z", "tests/fixtures/data");
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let runs = summary(&ledger(&out, "sales_overview").await);
    // Started again at the same instant, nothing is due: the ledger does not change.
    let third = once(&path, &out, "2026-11-22T09:00:05Z", "tests/fixtures/data");
    assert_eq!(third.status.code(), Some(0), "{}", text(&third));
    assert_eq!(summary(&ledger(&out, "sales_overview").await), runs);
    (runs, text(&second))
}

#[tokio::test]
async fn catch_up_all_runs_every_missed_period() {
    let (runs, _) = after_three_missed_fires("all").await;
    assert_eq!(runs, ["2026-08 succeeded CatchUp", "2026-09 succeeded CatchUp", "2026-10 succeeded CatchUp"]);
}

#[tokio::test]
async fn catch_up_latest_runs_the_newest_and_records_the_others_as_skipped() {
    let (runs, log) = after_three_missed_fires("latest").await;
    assert_eq!(runs, ["2026-08 skipped Schedule", "2026-09 skipped Schedule", "2026-10 succeeded CatchUp"]);
    assert!(log.contains("catch_up: latest runs only the most recent fire"), "{log}");
}

#[tokio::test]
async fn catch_up_none_runs_nothing_and_says_so() {
    let (runs, _) = after_three_missed_fires("none").await;
    assert_eq!(runs, ["2026-08 skipped Schedule", "2026-09 skipped Schedule", "2026-10 skipped Schedule"]);
}

#[tokio::test]
async fn a_run_over_its_timeout_fails_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = scheduled(dir.path(), "monthly_review", "cron: \"0 7 1 * *\"\ntimeout: 1s\nretries: 0");
    assert_eq!(once(&path, &out, "2026-10-31T22:00:00Z", "data/sample").status.code(), Some(0));
    // 20 s after the fire of 1 November 07:00 Shanghai: on time.
    let run = once(&path, &out, "2026-10-31T23:00:20Z", "data/sample");
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    assert!(text(&run).contains("timed out after 1s"), "{}", text(&run));
    let runs = ledger(&out, "monthly_review").await;
    assert_eq!(summary(&runs), ["2026-10 failed Schedule"]);
    assert!(runs[0].errors.iter().any(|e| e == "timed out after 1s"), "{:?}", runs[0].errors);
    assert!(!out.join("monthly_review/2026-10/run.json").exists());
}

/// A live daemon whose only fire is a few seconds from now (UTC), and the period it reports.
struct Live {
    child: Child,
    log: PathBuf,
    period: String,
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Live {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn start_live(dir: &Path, out: &Path, extra: &[&str]) -> Live {
    let fire: DateTime<Utc> = Utc::now() + chrono::Duration::seconds(4);
    let cron = format!("{} {} {} {} {} *", fire.second(), fire.minute(), fire.hour(), fire.day(), fire.month());
    let path = scheduled(dir, "monthly_review", &format!("cron: \"{cron}\"\ntimezone: UTC"));
    let period = sextant::period::Period::containing(
        fire.date_naive(),
        sextant::period::Grain::Month,
        sextant::period::FiscalYearStart::CALENDAR,
    )
    .previous()
    .to_string();
    let log = dir.join(format!("daemon-{}.log", Utc::now().timestamp_nanos_opt().unwrap_or(0)));
    // The first start records the state (fires from now on) before the fire comes.
    let child = sextant()
        .args(["schedule", "--no-deliver"])
        .arg(&path)
        .args(extra)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Live { child, log, period }
}

/// Waits until a run of monthly_review has staged at least one file.
fn wait_for_staged_files(out: &Path, live: &Live) {
    let staging = out.join("monthly_review/.staging");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(90) {
        let staged = std::fs::read_dir(&staging)
            .into_iter()
            .flatten()
            .flatten()
            .any(|run| std::fs::read_dir(run.path()).map(|mut d| d.next().is_some()).unwrap_or(false));
        if staged {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no run started within 90 s; daemon log:\n{}", live.log());
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

fn wait_exit(live: &mut Live, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = live.child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the daemon did not stop within {limit:?}; log:\n{}", live.log());
}

#[tokio::test]
async fn kill_9_mid_run_publishes_nothing_and_the_next_start_completes_the_period() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut live = start_live(dir.path(), &out, &[]);
    wait_for_staged_files(&out, &live);
    signal(&live.child, "KILL");
    let _ = live.child.wait();
    let period = live.period.clone();
    assert!(!out.join(format!("monthly_review/{period}/run.json")).exists(), "a killed run published a report");
    assert!(!out.join(format!("monthly_review/{period}")).exists(), "a killed run left files in the period");
    assert_eq!(summary(&ledger(&out, "monthly_review").await), [format!("{period} running Schedule")]);

    // The next start finds the attempt still `running`, its process gone: it records it as
    // interrupted and runs the period again.
    let again = sextant()
        .args(["schedule", "--once", "--no-deliver"])
        .arg(dir.path().join("pipelines/monthly_review.yaml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("was interrupted; running it again"), "{}", text(&again));
    let runs = ledger(&out, "monthly_review").await;
    assert_eq!(summary(&runs), [format!("{period} interrupted Schedule"), format!("{period} succeeded Recovery")]);
    let published: RunManifest =
        serde_json::from_slice(&std::fs::read(out.join(format!("monthly_review/{period}/run.json"))).unwrap()).unwrap();
    assert_eq!(published.run_id, runs[1].run_id);
    assert_eq!(published.trigger, Trigger::Recovery);
    for o in &published.outputs {
        assert!(out.join(format!("monthly_review/{period}/{}", o.path)).is_file(), "{} missing", o.path);
    }
}

#[tokio::test]
async fn sigterm_lets_the_run_in_progress_finish_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut live = start_live(dir.path(), &out, &["--grace", "2m"]);
    wait_for_staged_files(&out, &live);
    signal(&live.child, "TERM");
    assert_eq!(wait_exit(&mut live, Duration::from_secs(120)), Some(0), "{}", live.log());
    let period = live.period.clone();
    assert!(out.join(format!("monthly_review/{period}/run.json")).is_file(), "{}", live.log());
    assert_eq!(summary(&ledger(&out, "monthly_review").await), [format!("{period} succeeded Schedule")]);
    assert!(live.log().contains("stopping: waiting up to 2m for 1 run(s) in progress"), "{}", live.log());
}

#[tokio::test]
async fn sigterm_after_the_grace_period_records_the_run_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut live = start_live(dir.path(), &out, &["--grace", "0s"]);
    wait_for_staged_files(&out, &live);
    signal(&live.child, "TERM");
    assert_eq!(wait_exit(&mut live, Duration::from_secs(30)), Some(1), "{}", live.log());
    let period = live.period.clone();
    assert!(!out.join(format!("monthly_review/{period}/run.json")).exists());
    let runs = ledger(&out, "monthly_review").await;
    assert_eq!(summary(&runs), [format!("{period} interrupted Schedule")]);
    assert!(runs[0].errors[0].contains("did not finish within the 0s grace period"), "{:?}", runs[0].errors);
    // The lease was given back: the next start need not wait for it to expire.
    let store = OutputStore::open(&Root::Local(out.clone())).unwrap();
    let host = sextant::schedule::lease::Holder::this_process(Utc::now()).host;
    let lease = sextant::schedule::lease::current(&store, "monthly_review", &period, Utc::now(), &host).await.unwrap();
    assert!(lease.is_none(), "{lease:?}");
}

/// Runs Python with boto3 (installed with moto) against the moto endpoint.
fn boto3(port: u16, script: &str) -> String {
    let prelude = format!(
        "import boto3, json\ns3 = boto3.client('s3', endpoint_url='http://127.0.0.1:{port}', \
         aws_access_key_id='testing', aws_secret_access_key='testing', region_name='us-east-1')\n"
    );
    let out = Command::new("python3").arg("-c").arg(format!("{prelude}{script}")).output().unwrap();
    assert!(out.status.success(), "boto3 script failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn s3_env(c: &mut Command, port: u16) -> &mut Command {
    c.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("AWS_ALLOW_HTTP", "true")
}

#[test]
fn two_daemons_on_one_s3_store_run_a_fire_once_and_publish_it_whole() {
    let s3 = crate::servers::s3();
    boto3(s3.port, "s3.create_bucket(Bucket='reports')");
    let dir = tempfile::tempdir().unwrap();
    let path = scheduled(dir.path(), "monthly_review", "cron: \"0 7 1 * *\"");
    let daemon = |now: &str| {
        let mut c = sextant();
        s3_env(&mut c, s3.port)
            .env("SEXTANT_NOW", now)
            .args(["schedule", "--once", "--no-deliver"])
            .arg(&path)
            .args(["--out", "s3://reports/sextant"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    let first = daemon("2026-10-31T22:00:00Z").output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    // Both start 10 s after the fire of 1 November 07:00 Shanghai.
    let a = daemon("2026-10-31T23:00:10Z").spawn().unwrap();
    let b = daemon("2026-10-31T23:00:10Z").spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_eq!((a.status.code(), b.status.code()), (Some(0), Some(0)), "{}\n---\n{}", text(&a), text(&b));

    let mut history = sextant();
    let history = s3_env(&mut history, s3.port)
        .args(["history", "monthly_review", "--json", "--out", "s3://reports/sextant"])
        .output()
        .unwrap();
    let runs: Vec<RunManifest> = serde_json::from_slice(&history.stdout).expect("history --json");
    let succeeded: Vec<&RunManifest> = runs.iter().filter(|m| m.status == RunStatus::Succeeded).collect();
    assert_eq!(succeeded.len(), 1, "the fire ran {} times: {}\n---\n{}", succeeded.len(), text(&a), text(&b));
    assert!(
        runs.iter().all(|m| m.status == RunStatus::Succeeded || m.status == RunStatus::Skipped),
        "{:?}",
        summary(&runs)
    );
    // What is published is exactly run.json and the outputs it lists, and nothing is staged.
    let keys = boto3(
        s3.port,
        "print('\\n'.join(o['Key'] for o in s3.list_objects_v2(Bucket='reports', Prefix='sextant/monthly_review/')['Contents']))",
    );
    let mut published: Vec<&str> =
        keys.lines().filter_map(|k| k.strip_prefix("sextant/monthly_review/2026-10/")).collect();
    published.sort_unstable();
    let mut expected: Vec<&str> = succeeded[0].outputs.iter().map(|o| o.path.as_str()).collect();
    expected.push("run.json");
    expected.sort_unstable();
    assert_eq!(published, expected);
    assert!(!keys.contains("/.staging/"), "{keys}");
}

/// Acceptance 1: a pipeline due every minute is run by the daemon, published, and emailed.
#[tokio::test]
async fn a_pipeline_due_every_minute_is_run_published_and_emailed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let maildir = dir.path().join("mail");
    let smtp = crate::servers::smtp(&maildir);
    let deliver = "owners: [sales-ops@example.test]\n\
                   deliver:\n  email:\n    to: [leadership@example.test]\n    reports: [monthly_review]\n";
    let path =
        scheduled_with(dir.path(), "pipelines/monthly_review.yaml", "cron: \"* * * * *\"\ntimezone: UTC", deliver);
    let log = dir.path().join("daemon.log");
    let child = sextant()
        .arg("schedule")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .envs(crate::deliver::smtp_env(smtp.port))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut live = Live { child, log, period: String::new() };
    let started = Instant::now();
    let got = loop {
        let got = crate::deliver::mails(&maildir);
        if !got.is_empty() {
            break got;
        }
        assert!(started.elapsed() < Duration::from_secs(150), "no email within 150 s; log:\n{}", live.log());
        std::thread::sleep(Duration::from_millis(200));
    };
    signal(&live.child, "TERM");
    assert_eq!(wait_exit(&mut live, Duration::from_secs(120)), Some(0), "{}", live.log());
    let runs = ledger(&out, "monthly_review").await;
    let run = runs.iter().find(|m| m.status == RunStatus::Succeeded).expect("a published run");
    let period = &run.period;
    assert!(got[0].subject.starts_with("Monthly KPI Review: "), "{}", got[0].subject);
    let pdf = out.join(format!("monthly_review/{period}/monthly_review.en.pdf"));
    let attached = &got[0].attachments;
    assert_eq!(attached.len(), 1, "{attached:?}");
    assert_eq!(attached[0].sha256, sha256_file(&pdf), "the attached PDF is the published one");
    assert!(run.deliveries.iter().any(|d| d.channel == "email" && d.recipient == "leadership@example.test"));
    // One email however many fires ran: the same report, period and recipient go out once.
    assert_eq!(crate::deliver::mails(&maildir).len(), 1, "{}", live.log());
}

fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// Acceptance 4: a failing `error` check sends no report; the owners get the failure notice.
#[tokio::test]
async fn a_failing_error_check_on_schedule_sends_the_owners_the_notice_and_no_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let maildir = dir.path().join("mail");
    let smtp = crate::servers::smtp(&maildir);
    let path = scheduled_with(dir.path(), "tests/fixtures/pipelines/deliver_gate.yaml", "cron: \"0 7 1 * *\"", "");
    let daemon = |now: &str| {
        sextant()
            .env("SEXTANT_NOW", now)
            .env("TEST_OWNER", "lead-analyst@example.test")
            .envs(crate::deliver::smtp_env(smtp.port))
            .args(["schedule", "--once"])
            .arg(&path)
            .args(["--data-root", "tests/fixtures/checks", "--out"])
            .arg(&out)
            .output()
            .unwrap()
    };
    assert_eq!(daemon("2026-10-31T22:00:00Z").status.code(), Some(0));
    let run = daemon("2026-10-31T23:00:05Z");
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    assert!(!out.join("deliver_gate/2026-10/run.json").exists());
    let got = crate::deliver::mails(&maildir);
    assert_eq!(got.len(), 1, "the notice only: {}", text(&run));
    assert_eq!(got[0].subject, "sextant: deliver_gate 2026-10 failed — report not sent");
    assert!(!got[0].rcpt.contains("leadership"), "{}", got[0].rcpt);
    let runs = ledger(&out, "deliver_gate").await;
    assert_eq!(summary(&runs), ["2026-10 failed Schedule"]);
    assert!(runs[0].deliveries.iter().all(|d| d.channel == "failure_notice"), "{:?}", runs[0].deliveries);
    assert_eq!(runs[0].deliveries.len(), 2);
}

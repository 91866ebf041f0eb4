//! `sextant deliver` and `sextant run --deliver`: the glue from the command line to
//! [`crate::deliver`].

use std::time::Duration;

use crate::clock::Clock;
use crate::config::Workspace;
use crate::deliver::{self, DeliverOptions};
use crate::diag::Diagnostic;
use crate::period::Period;
use crate::retry::RetryPolicy;
use crate::spec::Pipeline;
use crate::store::manifest::{DeliveryRecord, DeliveryStatus, RunManifest};
use crate::store::{OutputStore, ledger};

use super::{EXIT_DATA, EXIT_OK, EXIT_USAGE, Ui};

/// The retries of a delivery from the command line: the schedule's when the pipeline has
/// one, else three, 5 s apart and doubling (someone is waiting at the terminal).
fn retry_policy(pipeline: &Pipeline) -> RetryPolicy {
    match &pipeline.schedule {
        Some(s) => RetryPolicy { retries: s.retries, backoff: s.backoff, ..RetryPolicy::default() },
        None => RetryPolicy { retries: 3, backoff: Duration::from_secs(5), max_backoff: Duration::from_secs(60) },
    }
}

/// `sextant deliver <pipeline> --period P [--resend]`: delivers the published run.
pub(super) async fn command(ui: &Ui, ws: &Workspace, clock: &Clock, pipeline: &str, period: &str, resend: bool) -> u8 {
    let (pipelines, ok) = super::load_pipelines(ui, ws, &[pipeline.to_string()]);
    let Some(pipeline) = pipelines.into_iter().next().filter(|_| ok) else { return EXIT_USAGE };
    if pipeline.deliver.is_empty() {
        eprintln!(
            "error: {} has no `deliver:` block, so there is nothing to deliver; add `deliver: {{ email: {{ to: [...] }} }}`",
            pipeline.path.display()
        );
        return EXIT_USAGE;
    }
    let today = clock.today(&ws.timezone);
    let period = match Period::parse(period, pipeline.grain, pipeline.fiscal_year_start, today) {
        Ok(p) => p.to_string(),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let store = match OutputStore::open(&ws.output_root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let manifest = match ledger::published(&store, &pipeline.name, &period).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            eprintln!(
                "error: {} has no published run for {period} in {}; run `sextant run {} --period {period}` first",
                pipeline.name, ws.output_root, pipeline.name
            );
            return EXIT_DATA;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_DATA;
        }
    };
    eprintln!("▶ delivering {} {period} (run {})", pipeline.name, manifest.run_id);
    let options = DeliverOptions { resend, retry: retry_policy(&pipeline), clock: *clock };
    let records = deliver::deliver_run(ws, &pipeline, &store, &manifest, &options).await;
    record_and_print(&store, manifest, records).await
}

/// After `sextant run --deliver`: delivers the run just published (`problems` is `None`),
/// or sends the owners the failure notice (`problems` is the run's); records the deliveries
/// in the run's ledger record and prints them. Returns the exit code: 1 if any failed.
pub(super) async fn after_run(
    ws: &Workspace,
    clock: &Clock,
    pipeline: &Pipeline,
    manifest: RunManifest,
    problems: Option<&[Diagnostic]>,
    resend: bool,
) -> u8 {
    let store = match OutputStore::open(&ws.output_root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_DATA;
        }
    };
    let options = DeliverOptions { resend, retry: retry_policy(pipeline), clock: *clock };
    let records = match problems {
        Some(problems) => {
            eprintln!("  · quality gate: the report is not sent; notifying the owners");
            deliver::notify_failure(ws, pipeline, &manifest, problems, &options).await
        }
        None if pipeline.deliver.is_empty() => {
            eprintln!("  · nothing to deliver: {} has no `deliver:` block", pipeline.path.display());
            return EXIT_OK;
        }
        None => {
            eprintln!("  · delivering");
            deliver::deliver_run(ws, pipeline, &store, &manifest, &options).await
        }
    };
    record_and_print(&store, manifest, records).await
}

/// Adds `records` to the run's ledger record, prints one line each, and gives the exit
/// code: 1 if any delivery failed (or could not be recorded).
async fn record_and_print(store: &OutputStore, mut manifest: RunManifest, records: Vec<DeliveryRecord>) -> u8 {
    let failed = records.iter().any(|r| r.status == DeliveryStatus::Failed);
    for r in &records {
        println!("{}", line(r));
    }
    // `run.json` does not list deliveries made after publication; the ledger record does:
    // keep what earlier deliveries of this run recorded there.
    let key = ledger::attempt_key(&manifest.pipeline, &manifest.period, &manifest.run_id);
    if let Ok(Some(bytes)) = store.get(&key).await
        && let Ok(recorded) = serde_json::from_slice::<RunManifest>(&bytes)
        && recorded.deliveries.len() > manifest.deliveries.len()
    {
        manifest.deliveries = recorded.deliveries;
    }
    manifest.deliveries.extend(records);
    let mut code = if failed { EXIT_DATA } else { EXIT_OK };
    if let Err(e) = ledger::save(store, &manifest).await {
        eprintln!("error: the deliveries could not be recorded in the run ledger: {e}");
        code = EXIT_DATA;
    }
    code
}

/// `✔ email      leadership@example.com  monthly_review  sent`
fn line(r: &DeliveryRecord) -> String {
    let tries = |n: u32| if n <= 1 { String::new() } else { format!(" after {n} attempts") };
    let (mark, outcome) = match r.status {
        DeliveryStatus::Sent => ("✔", format!("sent{}", tries(r.attempts))),
        DeliveryStatus::AlreadySent => ("·", "already sent for this period (--resend sends it again)".to_string()),
        DeliveryStatus::Failed => ("✘", format!("FAILED{}", tries(r.attempts))),
    };
    let mut text = format!("{mark} {:<14} {:<32} {:<16} {outcome}", r.channel, r.recipient, r.report);
    if let Some(e) = &r.error {
        text.push_str(": ");
        text.push_str(e);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_what_happened() {
        let mut r = DeliveryRecord {
            channel: "email".into(),
            recipient: "leadership@example.com".into(),
            report: "monthly_review".into(),
            status: DeliveryStatus::Sent,
            attempts: 1,
            at: "2026-11-05T08:00:00Z".into(),
            error: None,
        };
        assert_eq!(line(&r), "✔ email          leadership@example.com           monthly_review   sent");
        r.status = DeliveryStatus::Failed;
        r.attempts = 4;
        r.error = Some("SMTP server h:587: Connection error: refused".into());
        assert!(line(&r).ends_with("FAILED after 4 attempts: SMTP server h:587: Connection error: refused"));
    }
}

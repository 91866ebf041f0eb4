//! `run.json`: the record of one run, written last when a run is published, and kept for
//! every attempt under `.runs/`.

use serde::{Deserialize, Serialize};

use crate::engine::checks::CheckResult;
use crate::engine::{InputRecord, StepRecord};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Started and not finished: still going, or killed (the ledger then shows it as such
    /// until the period is run again).
    Running,
    Succeeded,
    Failed,
    /// Stopped before it ended: the daemon was told to stop and its grace period ran out,
    /// or the process died (found by the next start, which then runs the period again).
    Interrupted,
    /// A scheduled fire that was not run, by the `catch_up` rule or because the same
    /// period was already running elsewhere; the error says why.
    Skipped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Skipped => "skipped",
        }
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `sextant run`.
    #[default]
    Manual,
    /// A fire time of the pipeline's `schedule:`.
    Schedule,
    /// A fire time missed while the daemon was down, run by the `catch_up` rule.
    CatchUp,
    /// The daemon re-running a period whose last attempt was interrupted.
    Recovery,
    /// `sextant backfill`.
    Backfill,
}

/// How one delivery (one report, period and recipient) went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    /// Delivered by an earlier run; not sent again (use `--resend`).
    AlreadySent,
    Failed,
}

/// One delivery attempt, recorded in the run's ledger record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// `email`, `burst`, `webhook` or `failure_notice`.
    pub channel: String,
    /// An email address, or a webhook's host (never its token).
    pub recipient: String,
    /// The report (or `warnings`, `failure`) delivered.
    pub report: String,
    pub status: DeliveryStatus,
    /// Tries made, retries of transient failures included.
    pub attempts: u32,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A file the run published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// Path relative to the run's folder, e.g. `tables/revenue_by_month.csv`.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// Everything a reader needs to trust (or distrust) a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub run_id: String,
    pub pipeline: String,
    pub period: String,
    pub grain: String,
    pub period_start: String,
    pub period_end: String,
    pub as_of: String,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: String,
    pub sextant_version: String,
    pub pipeline_file: String,
    pub pipeline_sha256: String,
    pub data_root: String,
    pub inputs: Vec<InputRecord>,
    pub steps: Vec<StepRecord>,
    pub checks: Vec<CheckResult>,
    pub outputs: Vec<OutputRecord>,
    /// Why the run failed, one line per problem.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(default)]
    pub trigger: Trigger,
    /// The schedule's fire time this run is for (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<DeliveryRecord>,
}

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
}

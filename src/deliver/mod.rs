//! Delivery of published runs: email (SMTP, lettre), webhooks (JSON, DingTalk, Feishu,
//! WeCom), per-owner bursting of lifecycle warnings, and the failure notice to `owners`.
//!
//! Only complete runs are delivered: everything is read back from the published folder,
//! whose `run.json` is written last. A delivery (report, period, recipient) is recorded in
//! the output store once sent, so that it is not sent again unless `resend` is set.

use crate::clock::Clock;
use crate::config::Workspace;
use crate::diag::Diagnostic;
use crate::retry::RetryPolicy;
use crate::spec::Pipeline;
use crate::store::OutputStore;
use crate::store::manifest::{DeliveryRecord, RunManifest};

/// How deliveries are made.
#[derive(Debug, Clone, Copy)]
pub struct DeliverOptions {
    /// Send again what was already delivered.
    pub resend: bool,
    /// Retries of transient failures (connection refused, SMTP 4xx, HTTP 5xx).
    pub retry: RetryPolicy,
    pub clock: Clock,
}

/// Delivers the published run `manifest` of `pipeline` as its `deliver:` block says.
/// Every attempt is returned as a record, failed ones too; nothing here panics or stops
/// at the first failure.
pub async fn deliver_run(
    _ws: &Workspace,
    _pipeline: &Pipeline,
    _store: &OutputStore,
    _manifest: &RunManifest,
    _options: &DeliverOptions,
) -> Vec<DeliveryRecord> {
    Vec::new()
}

/// Sends the pipeline's `owners` the notice that the run `manifest` failed, with its failed
/// checks and errors, instead of the report.
pub async fn notify_failure(
    _ws: &Workspace,
    _pipeline: &Pipeline,
    _manifest: &RunManifest,
    _problems: &[Diagnostic],
    _options: &DeliverOptions,
) -> Vec<DeliveryRecord> {
    Vec::new()
}

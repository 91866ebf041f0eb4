//! Delivery of published runs: email (SMTP, lettre), webhooks (JSON, DingTalk, Feishu,
//! WeCom), per-owner bursting of lifecycle warnings, and the failure notice to `owners`.
//!
//! Only complete runs are delivered: everything is read back from the published folder,
//! whose `run.json` is written last, and each file is checked against the checksum the run
//! recorded. A delivery (channel, report, period, recipient) is recorded in the output
//! store once sent, at `<pipeline>/.deliveries/<period>/<hash>.json`, so that it is not
//! sent again unless `resend` is set. The record is written after the send: a process
//! that dies in between sends twice rather than never.
//!
//! Nothing here stops at the first failure or panics: every attempt, failed ones too,
//! comes back as a [`DeliveryRecord`] for the run's ledger record.
//!
//! SMTP comes from the environment: `SEXTANT_SMTP_HOST`, `SEXTANT_SMTP_TLS` (`starttls`,
//! the default, `tls` or `none`), `SEXTANT_SMTP_PORT` (587, 465 or 25 by the TLS mode),
//! `SEXTANT_SMTP_USERNAME` and `SEXTANT_SMTP_PASSWORD` (optional) and `SEXTANT_SMTP_FROM`.
//! `${VAR}` in addresses, webhook URLs and secrets is resolved when delivering. Links point
//! under the workspace's `public_url` when it is set, else at the output store itself.
//!
//! ```yaml
//! owners: [sales-ops@example.com]          # get the failure notice instead of the report
//! deliver:
//!   email: { to: [leadership@example.com], cc: [], subject: { en: "{{title}}: {{period}}", zh-CN: … },
//!            locale: en, reports: [monthly_review] }
//!   webhooks:
//!     - { url: "${DINGTALK_URL}", format: dingtalk, secret: "${DINGTALK_SECRET}" }  # json | dingtalk | feishu | wecom
//!   burst: { table: warnings, owner_column: account_manager, recipients: { am01: li.na@example.com }, locale: zh-CN }
//! ```

mod body;
mod burst;
mod email;
mod published;
mod webhook;

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::config::Workspace;
use crate::diag::Diagnostic;
use crate::report::model::Locale;
use crate::retry::RetryPolicy;
use crate::spec::Pipeline;
use crate::store::manifest::{DeliveryRecord, DeliveryStatus, RunManifest, RunStatus};
use crate::store::{OutputStore, StoreError};

pub use webhook::{dingtalk_sign, feishu_sign};

/// How deliveries are made.
#[derive(Debug, Clone, Copy)]
pub struct DeliverOptions {
    /// Send again what was already delivered.
    pub resend: bool,
    /// Retries of transient failures (connection refused, SMTP 4xx, HTTP 5xx).
    pub retry: RetryPolicy,
    pub clock: Clock,
}

/// Where `${VAR}` in addresses, webhook URLs and secrets, and the `SEXTANT_SMTP_*`
/// settings, are looked up: the process environment ([`deliver_run`]), or a map in tests.
/// Empty values count as unset.
pub type Env<'a> = &'a (dyn Fn(&str) -> Option<String> + Send + Sync);

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Why one delivery failed. The message is what the ledger records and the CLI prints, so
/// each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("environment variable `{name}` is not set (used in {used_in}); export it before delivering")]
    UnsetVariable { name: String, used_in: String },
    #[error("{message}; set {variable}")]
    SmtpSetting { variable: &'static str, message: String },
    #[error("`{address}` ({used_in}) is not an email address")]
    BadAddress { address: String, used_in: String },
    #[error("SMTP server {server}: {message}")]
    Smtp { server: String, message: String, transient: bool },
    #[error("webhook {host}: {message}")]
    Webhook { host: String, message: String, transient: bool },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("published run: {message}")]
    Published { message: String },
    #[error("email template {template}: {message}")]
    Template { template: String, message: String },
    #[error("no address for {what} {owner}; add it to deliver.burst.recipients")]
    NoAddress { what: String, owner: String },
    #[error("pipeline `{pipeline}` has no `owners:` to send the failure notice to; add `owners: [you@example.com]`")]
    NoOwners { pipeline: String },
}

impl DeliverError {
    /// Whether trying again later may succeed: connection failures, timeouts, SMTP 4xx,
    /// HTTP 5xx and 429, and store hiccups. Bad addresses, SMTP 5xx, HTTP 4xx, robot error
    /// codes and missing settings are permanent.
    pub fn is_transient(&self) -> bool {
        match self {
            DeliverError::Smtp { transient, .. } | DeliverError::Webhook { transient, .. } => *transient,
            _ => false,
        }
    }
}

/// Replaces `${VAR}` in `text` by the variable's value (`$${` is a literal `${`).
///
/// # Errors
/// [`DeliverError::UnsetVariable`] naming the first variable that is not set.
pub fn resolve(text: &str, env: Env<'_>, used_in: &str) -> Result<String, DeliverError> {
    // An empty value is as good as none: it would make an address or URL that fails later.
    let (out, unset) = crate::config::substitute_vars(text, &|name| env(name).filter(|v| !v.is_empty()));
    match unset.into_iter().next() {
        Some((_, name)) => Err(DeliverError::UnsetVariable { name, used_in: used_in.to_string() }),
        None => Ok(out),
    }
}

/// What the store keeps of a delivery that was made.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Marker {
    channel: String,
    report: String,
    /// An address or a webhook's host, never a token.
    recipient: String,
    pipeline: String,
    period: String,
    run_id: String,
    sent_at: String,
}

/// One delivery to make: which channel, report and recipient it is, and what identifies
/// it for idempotency (for a webhook, its full URL, hashed, so that two robots on one host
/// are two recipients while the record shows only the host).
#[derive(Debug, Clone)]
struct Delivery {
    channel: &'static str,
    report: String,
    recipient: String,
    identity: String,
}

impl Delivery {
    fn marker_key(&self, manifest: &RunManifest) -> String {
        let digest = Sha256::digest(format!("{}|{}|{}", self.channel, self.report, self.identity).as_bytes());
        format!("{}/.deliveries/{}/{}.json", manifest.pipeline, manifest.period, hex::encode(digest))
    }

    fn record(&self, status: DeliveryStatus, attempts: u32, error: Option<String>, clock: &Clock) -> DeliveryRecord {
        DeliveryRecord {
            channel: self.channel.to_string(),
            recipient: self.recipient.clone(),
            report: self.report.clone(),
            status,
            attempts,
            at: now(clock),
            error,
        }
    }

    fn failed(&self, error: &DeliverError, attempts: u32, clock: &Clock) -> DeliveryRecord {
        self.record(DeliveryStatus::Failed, attempts, Some(error.to_string()), clock)
    }
}

fn now(clock: &Clock) -> String {
    clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The idempotency records of one run's period.
struct Markers<'a> {
    store: &'a OutputStore,
    manifest: &'a RunManifest,
    options: &'a DeliverOptions,
}

impl Markers<'_> {
    /// Whether `d` was delivered before (and `resend` is off).
    async fn already_sent(&self, d: &Delivery) -> Result<bool, StoreError> {
        if self.options.resend {
            return Ok(false);
        }
        Ok(self.store.get(&d.marker_key(self.manifest)).await?.is_some())
    }

    /// Records that `d` was sent: a conditional create, so that the first record of a
    /// delivery stays; a resend replaces it.
    async fn mark(&self, d: &Delivery) -> Result<(), StoreError> {
        let marker = Marker {
            channel: d.channel.to_string(),
            report: d.report.clone(),
            recipient: d.recipient.clone(),
            pipeline: self.manifest.pipeline.clone(),
            period: self.manifest.period.clone(),
            run_id: self.manifest.run_id.clone(),
            sent_at: now(&self.options.clock),
        };
        let bytes = Bytes::from(serde_json::to_vec_pretty(&marker).unwrap_or_default());
        let key = d.marker_key(self.manifest);
        if !self.store.create(&key, bytes.clone()).await? {
            if self.options.resend {
                self.store.put(&key, bytes).await?;
            } else {
                tracing::warn!(%key, "delivery recorded meanwhile by another process; it may have been sent twice");
            }
        }
        Ok(())
    }

    /// The record of a send that went through, once its marker is written.
    async fn sent(&self, d: &Delivery, attempts: u32) -> DeliveryRecord {
        let error = self
            .mark(d)
            .await
            .err()
            .map(|e| format!("sent, but recording it failed ({e}); a later delivery may send it again"));
        d.record(DeliveryStatus::Sent, attempts, error, &self.options.clock)
    }
}

/// The locale of a channel: its own, else the workspace's.
fn locale_of(own: Option<&str>, ws: &Workspace) -> Locale {
    own.and_then(Locale::from_code).or_else(|| Locale::from_code(&ws.locale)).unwrap_or(Locale::En)
}

/// Runs `op` under `policy`, logging each retry; returns its result and the attempts made.
async fn with_retry<T, F, Fut>(policy: RetryPolicy, what: &str, op: F) -> (Result<T, DeliverError>, u32)
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, DeliverError>>,
{
    crate::retry::retry(policy, op, DeliverError::is_transient, |attempt, e: &DeliverError, wait: Duration| {
        tracing::warn!("{what}: attempt {attempt} failed ({e}); retrying in {wait:?}");
    })
    .await
}

/// Delivers the published run `manifest` of `pipeline` as its `deliver:` block says.
/// Every attempt is returned as a record, failed ones too; nothing here panics or stops
/// at the first failure.
pub async fn deliver_run(
    ws: &Workspace,
    pipeline: &Pipeline,
    store: &OutputStore,
    manifest: &RunManifest,
    options: &DeliverOptions,
) -> Vec<DeliveryRecord> {
    deliver_run_with(ws, pipeline, store, manifest, options, &process_env).await
}

/// [`deliver_run`] with the environment looked up in `env`.
pub async fn deliver_run_with(
    ws: &Workspace,
    pipeline: &Pipeline,
    store: &OutputStore,
    manifest: &RunManifest,
    options: &DeliverOptions,
    env: Env<'_>,
) -> Vec<DeliveryRecord> {
    let spec = &pipeline.deliver;
    if manifest.status != RunStatus::Succeeded {
        let d = Delivery {
            channel: "email",
            report: pipeline.name.clone(),
            recipient: "-".into(),
            identity: String::new(),
        };
        let e = DeliverError::Published {
            message: format!("run {} did not succeed; only published runs are delivered", manifest.run_id),
        };
        return vec![d.failed(&e, 0, &options.clock)];
    }
    let markers = Markers { store, manifest, options };
    let run = published::PublishedRun::load(ws, pipeline, store, manifest, &options.clock).await;
    // One SMTP transport (and connection pool) for the report email and every burst email.
    let mailer = email::Mailer::from_env(env);
    let mut records = Vec::new();
    if let Some(email_spec) = &spec.email {
        records.extend(email::deliver_report(ws, pipeline, &run, email_spec, &mailer, &markers, env).await);
    }
    for (i, hook) in spec.webhooks.iter().enumerate() {
        records.push(webhook::deliver(ws, pipeline, &run, hook, i, &markers, env).await);
    }
    if let Some(burst_spec) = &spec.burst {
        records.extend(burst::deliver(ws, pipeline, &run, burst_spec, &mailer, &markers, env).await);
    }
    records
}

/// Sends the pipeline's `owners` the notice that the run `manifest` failed, with its failed
/// checks and errors, instead of the report.
pub async fn notify_failure(
    ws: &Workspace,
    pipeline: &Pipeline,
    manifest: &RunManifest,
    problems: &[Diagnostic],
    options: &DeliverOptions,
) -> Vec<DeliveryRecord> {
    notify_failure_with(ws, pipeline, manifest, problems, options, &process_env).await
}

/// [`notify_failure`] with the environment looked up in `env`.
pub async fn notify_failure_with(
    ws: &Workspace,
    pipeline: &Pipeline,
    manifest: &RunManifest,
    problems: &[Diagnostic],
    options: &DeliverOptions,
    env: Env<'_>,
) -> Vec<DeliveryRecord> {
    email::notify_failure(ws, pipeline, manifest, problems, options, env).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon delivers on spawned tasks, so the futures must be `Send` (checked when
    /// this compiles).
    #[allow(dead_code)]
    fn deliveries_are_send(ws: &Workspace, p: &Pipeline, s: &OutputStore, m: &RunManifest, o: &DeliverOptions) {
        fn send<T: Send>(_: T) {}
        send(deliver_run(ws, p, s, m, o));
        send(notify_failure(ws, p, m, &[], o));
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "ROBOT" => Some("https://oapi.dingtalk.com/robot/send?access_token=abc".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn variables_resolve_or_name_what_is_missing() {
        assert_eq!(resolve("${ROBOT}", &env, "url").unwrap(), "https://oapi.dingtalk.com/robot/send?access_token=abc");
        assert_eq!(resolve("a $${B} c", &env, "x").unwrap(), "a ${B} c");
        assert_eq!(resolve("plain@example.com", &env, "x").unwrap(), "plain@example.com");
        let e = resolve("${SALES_CHIEF}@example.com", &env, "deliver.email.to").unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable `SALES_CHIEF` is not set (used in deliver.email.to); export it before delivering"
        );
        assert!(matches!(resolve("${EMPTY}", &env, "x"), Err(DeliverError::UnsetVariable { .. })));
    }
}

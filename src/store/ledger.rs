//! The run ledger: one record per pipeline, period and attempt, kept in the output store at
//! `<pipeline>/.runs/<period>/<run_id>.json` (the same `RunManifest` as `run.json`), so it
//! survives restarts and is shared by every process that writes to the same store.

use super::manifest::{RunManifest, RunStatus};
use super::{OutputStore, StoreError};

/// Where the record of one attempt lives.
pub fn attempt_key(pipeline: &str, period: &str, run_id: &str) -> String {
    format!("{pipeline}/.runs/{period}/{run_id}.json")
}

/// Writes (or rewrites) the ledger record of `manifest`'s attempt.
///
/// # Errors
/// When the store fails.
pub async fn save(store: &OutputStore, manifest: &RunManifest) -> Result<(), StoreError> {
    let key = attempt_key(&manifest.pipeline, &manifest.period, &manifest.run_id);
    store.put(&key, bytes::Bytes::from(serde_json::to_vec_pretty(manifest).unwrap_or_default())).await
}

/// Every recorded attempt, of one pipeline or of all, newest first. Records that cannot be
/// read are skipped with a warning in the log (a half-written record of a killed process).
///
/// # Errors
/// When the store cannot be listed or read.
pub async fn attempts(store: &OutputStore, pipeline: Option<&str>) -> Result<Vec<RunManifest>, StoreError> {
    let prefix = pipeline.unwrap_or("");
    let mut runs = Vec::new();
    for key in store.list(prefix).await? {
        if !key.contains("/.runs/") || !key.ends_with(".json") {
            continue;
        }
        if let Some(bytes) = store.get(&key).await? {
            match serde_json::from_slice::<RunManifest>(&bytes) {
                Ok(m) => runs.push(m),
                Err(e) => tracing::warn!(%key, "unreadable ledger record: {e}"),
            }
        }
    }
    runs.sort_by(|a, b| b.started_at.cmp(&a.started_at).then_with(|| b.run_id.cmp(&a.run_id)));
    Ok(runs)
}

/// The published run of `pipeline` for `period`, if there is a complete one.
///
/// # Errors
/// When the store fails.
pub async fn published(store: &OutputStore, pipeline: &str, period: &str) -> Result<Option<RunManifest>, StoreError> {
    Ok(store
        .get(&format!("{pipeline}/{period}/run.json"))
        .await?
        .and_then(|b| serde_json::from_slice::<RunManifest>(&b).ok())
        .filter(|m| m.status == RunStatus::Succeeded))
}

/// Marks every attempt of `pipeline` for `period` that is still `running` as `status`, with
/// `reason`: for runs stopped by a timeout, a lost lease or a process that died. Returns the
/// updated records, newest first.
///
/// # Errors
/// When the store fails.
pub async fn finish_running(
    store: &OutputStore,
    pipeline: &str,
    period: &str,
    status: RunStatus,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<RunManifest>, StoreError> {
    let mut done = Vec::new();
    for mut m in attempts(store, Some(pipeline)).await? {
        if m.period == period && m.status == RunStatus::Running {
            m.status = status;
            m.errors.push(reason.to_string());
            m.finished_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            save(store, &m).await?;
            done.push(m);
        }
    }
    Ok(done)
}

//! The daemon's memory in the output store: up to when each pipeline's fires were handled.
//! Kept at `<pipeline>/.schedule/state.json`, so that a restart (on this machine or another
//! that writes to the same store) knows which fires it missed.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{OutputStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// Every fire up to this instant has been run or recorded as skipped.
    pub handled_until: DateTime<Utc>,
    /// The daemon that wrote it.
    pub by: String,
}

fn key(pipeline: &str) -> String {
    format!("{pipeline}/.schedule/state.json")
}

/// The state of `pipeline`, if a daemon ever ran it.
///
/// # Errors
/// When the store fails.
pub async fn load(store: &OutputStore, pipeline: &str) -> Result<Option<ScheduleState>, StoreError> {
    Ok(store.get(&key(pipeline)).await?.and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Records that every fire of `pipeline` up to `until` was handled (never moves backwards).
///
/// # Errors
/// When the store fails.
pub async fn save(store: &OutputStore, pipeline: &str, until: DateTime<Utc>, by: &str) -> Result<(), StoreError> {
    if let Some(old) = load(store, pipeline).await?
        && old.handled_until >= until
    {
        return Ok(());
    }
    let state = ScheduleState { handled_until: until, by: by.to_string() };
    store.put(&key(pipeline), Bytes::from(serde_json::to_vec_pretty(&state).unwrap_or_default())).await
}

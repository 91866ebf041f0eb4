//! Leases: at most one run of a pipeline and period at a time, across every daemon that
//! writes to the same output store.
//!
//! A lease is an object `<pipeline>/.leases/<period>/<epoch>.json`. The holder is whoever
//! created the highest epoch, by a conditional create (`PutMode::Create`): of two daemons
//! that try the same epoch, exactly one succeeds. A lease is live until it is released or
//! its expiry passes (the holder renews it while it runs), or, on the same host, until its
//! process is gone. Taking over a dead lease means creating the next epoch, so a holder
//! that lost its lease sees a higher epoch and publishes nothing ([`Lease::still_held`]).

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{OutputStore, StoreError};

/// Who holds a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Unique per daemon process: `<host>:<pid>:<start>`.
    pub id: String,
    pub host: String,
    pub pid: u32,
}

impl Holder {
    /// This process.
    pub fn this_process(started: DateTime<Utc>) -> Holder {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "localhost".into());
        let pid = std::process::id();
        Holder { id: format!("{host}:{pid}:{}", started.format("%Y%m%dT%H%M%S%.3fZ")), host, pid }
    }
}

/// The lease object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub holder: Holder,
    pub epoch: u64,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub released: bool,
}

impl LeaseRecord {
    /// Whether the lease still stands at `now`.
    pub fn is_live(&self, now: DateTime<Utc>, this_host: &str) -> bool {
        !self.released && self.expires_at > now && (self.holder.host != this_host || process_alive(self.holder.pid))
    }
}

/// Whether process `pid` exists on this host (Linux: `/proc/<pid>`).
fn process_alive(pid: u32) -> bool {
    if !std::path::Path::new("/proc/self").exists() {
        return true; // cannot tell: rely on expiry
    }
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The result of asking for a lease.
#[derive(Debug)]
pub enum Acquired {
    Held(Lease),
    /// Someone else holds it.
    Busy(LeaseRecord),
}

/// A lease this process holds.
#[derive(Debug)]
pub struct Lease {
    store: OutputStore,
    dir: String,
    record: tokio::sync::Mutex<LeaseRecord>,
    ttl: Duration,
}

fn epoch_key(dir: &str, epoch: u64) -> String {
    format!("{dir}/{epoch:012}.json")
}

fn to_bytes(r: &LeaseRecord) -> Bytes {
    Bytes::from(serde_json::to_vec_pretty(r).unwrap_or_default())
}

async fn epochs(store: &OutputStore, dir: &str) -> Result<Vec<u64>, StoreError> {
    let mut found: Vec<u64> = store
        .list(dir)
        .await?
        .iter()
        .filter_map(|k| k.rsplit('/').next()?.strip_suffix(".json")?.parse().ok())
        .collect();
    found.sort_unstable();
    Ok(found)
}

async fn read(store: &OutputStore, dir: &str, epoch: u64) -> Result<Option<LeaseRecord>, StoreError> {
    Ok(store.get(&epoch_key(dir, epoch)).await?.and_then(|b| serde_json::from_slice(&b).ok()))
}

/// The folder of the leases of `pipeline` and `period`.
pub fn lease_dir(pipeline: &str, period: &str) -> String {
    format!("{pipeline}/.leases/{period}")
}

/// The lease currently standing on `pipeline` and `period`, if any.
///
/// # Errors
/// When the store fails.
pub async fn current(
    store: &OutputStore,
    pipeline: &str,
    period: &str,
    now: DateTime<Utc>,
    this_host: &str,
) -> Result<Option<LeaseRecord>, StoreError> {
    let dir = lease_dir(pipeline, period);
    let Some(&top) = epochs(store, &dir).await?.last() else { return Ok(None) };
    Ok(read(store, &dir, top).await?.filter(|r| r.is_live(now, this_host)))
}

/// Takes the lease on `pipeline` and `period` for `holder`, for `ttl`, unless someone holds it.
///
/// # Errors
/// When the store fails or cannot do conditional creates.
pub async fn acquire(
    store: &OutputStore,
    pipeline: &str,
    period: &str,
    holder: &Holder,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Acquired, StoreError> {
    let dir = lease_dir(pipeline, period);
    let known = epochs(store, &dir).await?;
    let top = known.last().copied().unwrap_or(0);
    if top > 0
        && let Some(r) = read(store, &dir, top).await?
        && r.is_live(now, &holder.host)
    {
        return Ok(Acquired::Busy(r));
    }
    let record = LeaseRecord {
        holder: holder.clone(),
        epoch: top + 1,
        acquired_at: now,
        expires_at: now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(5)),
        released: false,
    };
    if !store.create(&epoch_key(&dir, record.epoch), to_bytes(&record)).await? {
        // Another process created the same epoch first.
        let winner = read(store, &dir, record.epoch).await?.unwrap_or(record);
        return Ok(Acquired::Busy(winner));
    }
    // Older epochs are history nobody reads again.
    for old in known {
        store.delete(&epoch_key(&dir, old)).await?;
    }
    Ok(Acquired::Held(Lease { store: store.clone(), dir, record: tokio::sync::Mutex::new(record), ttl }))
}

impl Lease {
    pub async fn record(&self) -> LeaseRecord {
        self.record.lock().await.clone()
    }

    /// Whether no one has taken the lease over (no higher epoch, not expired and released).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn still_held(&self) -> Result<bool, StoreError> {
        let mine = self.record.lock().await.epoch;
        Ok(epochs(&self.store, &self.dir).await?.last() == Some(&mine))
    }

    /// Pushes the expiry to `now + ttl`. `false` when the lease was lost meanwhile.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn renew(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        if !self.still_held().await? {
            return Ok(false);
        }
        let mut r = self.record.lock().await;
        r.expires_at = now + chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::minutes(5));
        self.store.put(&epoch_key(&self.dir, r.epoch), to_bytes(&r)).await?;
        Ok(true)
    }

    /// Gives the lease up, so that the next run need not wait for its expiry.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn release(&self) -> Result<(), StoreError> {
        if !self.still_held().await? {
            return Ok(());
        }
        let mut r = self.record.lock().await;
        r.released = true;
        self.store.put(&epoch_key(&self.dir, r.epoch), to_bytes(&r)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Root;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn holder(id: &str, pid: u32) -> Holder {
        Holder { id: id.into(), host: "elsewhere".into(), pid }
    }

    #[tokio::test]
    async fn one_holder_at_a_time_then_expiry_then_takeover() {
        let dir = tempfile::tempdir().unwrap();
        let store = OutputStore::open(&Root::Local(dir.path().to_path_buf())).unwrap();
        let ttl = Duration::from_secs(60);
        let now = t("2026-11-01T06:00:00Z");
        let Acquired::Held(a) = acquire(&store, "p", "2026-10", &holder("a", 1), ttl, now).await.unwrap() else {
            panic!("first acquire must hold")
        };
        let Acquired::Busy(r) = acquire(&store, "p", "2026-10", &holder("b", 2), ttl, now).await.unwrap() else {
            panic!("second acquire must be busy")
        };
        assert_eq!(r.holder.id, "a");
        // Another period is independent.
        assert!(matches!(acquire(&store, "p", "2026-09", &holder("b", 2), ttl, now).await.unwrap(), Acquired::Held(_)));
        // Renewed at +50 s, it is still busy at +100 s; not renewed, it expires at +110 s.
        assert!(a.renew(t("2026-11-01T06:00:50Z")).await.unwrap());
        assert!(matches!(
            acquire(&store, "p", "2026-10", &holder("b", 2), ttl, t("2026-11-01T06:01:40Z")).await.unwrap(),
            Acquired::Busy(_)
        ));
        let Acquired::Held(b) =
            acquire(&store, "p", "2026-10", &holder("b", 2), ttl, t("2026-11-01T06:01:51Z")).await.unwrap()
        else {
            panic!("an expired lease is taken over")
        };
        assert_eq!(b.record().await.epoch, 2);
        // The old holder has lost it: it cannot renew, and its release changes nothing.
        assert!(!a.still_held().await.unwrap());
        assert!(!a.renew(t("2026-11-01T06:01:52Z")).await.unwrap());
        a.release().await.unwrap();
        assert!(b.still_held().await.unwrap());
        b.release().await.unwrap();
        assert!(matches!(
            acquire(&store, "p", "2026-10", &holder("c", 3), ttl, t("2026-11-01T06:01:53Z")).await.unwrap(),
            Acquired::Held(_)
        ));
    }

    #[tokio::test]
    async fn a_dead_process_on_this_host_holds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = OutputStore::open(&Root::Local(dir.path().to_path_buf())).unwrap();
        let now = t("2026-11-01T06:00:00Z");
        let me = Holder::this_process(now);
        // pid 0x7fff_fff0 does not exist.
        let dead = Holder { id: "dead".into(), host: me.host.clone(), pid: 0x7fff_fff0 };
        let ttl = Duration::from_secs(3600);
        assert!(matches!(acquire(&store, "p", "q", &dead, ttl, now).await.unwrap(), Acquired::Held(_)));
        assert!(matches!(acquire(&store, "p", "q", &me, ttl, now).await.unwrap(), Acquired::Held(_)));
        assert!(matches!(acquire(&store, "p", "q", &dead, ttl, now).await.unwrap(), Acquired::Busy(_)));
    }
}

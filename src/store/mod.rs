//! The output store: where runs are written, staged and published.
//!
//! Layout under the output root (a local directory or an object-store URL):
//! - `<pipeline>/<period>/run.json` and `tables/…`: the published, complete run;
//! - `<pipeline>/.staging/<run_id>/…`: a run being written;
//! - `<pipeline>/.runs/<period>/<run_id>.json`: one record per attempt, failed ones too.
//!
//! Publication: everything is written to staging first. Only when the run succeeded is
//! the old `run.json` removed, the staged files moved into place, stale files removed, and
//! the new `run.json` written **last**. A reader that finds `run.json` therefore always
//! sees a complete run; a crash part-way leaves a period without `run.json`, which no
//! reader takes for complete and the next run replaces.

pub mod export;
pub mod ledger;
pub mod manifest;

use std::sync::Arc;

use bytes::Bytes;
use datafusion::object_store::path::Path as ObjectPath;
use datafusion::object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use futures::TryStreamExt;

use crate::config::Root;
use crate::engine::objects::store_for;

/// Why the output store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create output directory {path}: {source}")]
    CreateDir { path: String, source: std::io::Error },
    #[error("cannot open output store {root}: {message}")]
    Open { root: String, message: String },
    #[error("writing {key} to {root} failed: {source}")]
    Io { root: String, key: String, source: datafusion::object_store::Error },
}

/// An output root, local or remote, addressed by `/`-separated keys.
#[derive(Clone)]
pub struct OutputStore {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    root: String,
    local_dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for OutputStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputStore").field("root", &self.root).finish()
    }
}

impl OutputStore {
    /// Opens `root`, creating a local directory if needed.
    ///
    /// # Errors
    /// When the directory cannot be created or the object store configured.
    pub fn open(root: &Root) -> Result<OutputStore, StoreError> {
        match root {
            Root::Local(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|source| StoreError::CreateDir { path: dir.display().to_string(), source })?;
                let store = datafusion::object_store::local::LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| StoreError::Open { root: dir.display().to_string(), message: e.to_string() })?;
                Ok(OutputStore {
                    store: Arc::new(store),
                    prefix: ObjectPath::default(),
                    root: dir.display().to_string(),
                    local_dir: Some(dir.clone()),
                })
            }
            Root::Url(url) => {
                let store =
                    store_for(url).map_err(|e| StoreError::Open { root: url.to_string(), message: e.to_string() })?;
                let prefix = ObjectPath::from(url.path().trim_matches('/'));
                Ok(OutputStore { store, prefix, root: url.to_string(), local_dir: None })
            }
        }
    }

    /// The root as the user configured it, for messages.
    pub fn root(&self) -> &str {
        &self.root
    }

    fn path(&self, key: &str) -> ObjectPath {
        let mut p = self.prefix.clone();
        for part in key.split('/').filter(|s| !s.is_empty()) {
            p = p.join(part);
        }
        p
    }

    fn io(&self, key: &str) -> impl FnOnce(datafusion::object_store::Error) -> StoreError + '_ {
        let key = key.to_string();
        move |source| StoreError::Io { root: self.root.clone(), key, source }
    }

    /// Writes `bytes` at `key`, replacing what was there.
    ///
    /// # Errors
    /// When the store rejects the write.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StoreError> {
        self.store.put(&self.path(key), PutPayload::from_bytes(bytes)).await.map(|_| ()).map_err(self.io(key))
    }

    /// Writes `bytes` at `key` only if nothing is there yet: a conditional create
    /// (`If-None-Match: *` on S3, a hard link on a local disk). `false` when the key exists.
    ///
    /// # Errors
    /// When the store fails, or cannot do conditional creates.
    pub async fn create(&self, key: &str, bytes: Bytes) -> Result<bool, StoreError> {
        let opts = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
        match self.store.put_opts(&self.path(key), PutPayload::from_bytes(bytes), opts).await {
            Ok(_) => Ok(true),
            Err(datafusion::object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.io(key)(e)),
        }
    }

    /// The object at `key`, or `None` when there is none.
    ///
    /// # Errors
    /// When the store fails for another reason than absence.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        match self.store.get(&self.path(key)).await {
            Ok(r) => r.bytes().await.map(Some).map_err(self.io(key)),
            Err(datafusion::object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.io(key)(e)),
        }
    }

    /// Keys (relative to the root) of every object under `prefix`, sorted.
    ///
    /// # Errors
    /// When listing fails.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let base = self.path(prefix);
        let strip = if self.prefix.as_ref().is_empty() { 0 } else { self.prefix.as_ref().len() + 1 };
        let mut keys: Vec<String> = self
            .store
            .list(Some(&base))
            .map_ok(|m| m.location.as_ref()[strip..].to_string())
            .try_collect()
            .await
            .map_err(self.io(prefix))?;
        keys.sort();
        Ok(keys)
    }

    /// Removes `key`; absent keys are fine.
    ///
    /// # Errors
    /// When the store fails for another reason than absence.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(datafusion::object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.io(key)(e)),
        }
    }

    /// Moves `from` to `to`, replacing `to`.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.store.rename(&self.path(from), &self.path(to)).await.map_err(self.io(to))
    }

    /// Publishes the run staged under `staging` as `final_dir`, with `run_json` written last.
    ///
    /// # Errors
    /// When any store operation fails; the period is then left without `run.json`.
    pub async fn publish(&self, staging: &str, final_dir: &str, run_json: Bytes) -> Result<(), StoreError> {
        let manifest_key = format!("{final_dir}/run.json");
        self.delete(&manifest_key).await?;
        let staged = self.list(staging).await?;
        let mut published = Vec::with_capacity(staged.len());
        for key in &staged {
            let rel = &key[staging.len() + 1..];
            let target = format!("{final_dir}/{rel}");
            self.rename(key, &target).await?;
            published.push(target);
        }
        for key in self.list(final_dir).await? {
            if !published.contains(&key) && key != manifest_key {
                self.delete(&key).await?;
            }
        }
        self.put(&manifest_key, run_json).await?;
        Ok(())
    }

    /// Removes everything under `prefix` (and, on a local disk, the emptied folders).
    ///
    /// # Errors
    /// When listing or deleting fails.
    pub async fn delete_all(&self, prefix: &str) -> Result<(), StoreError> {
        for key in self.list(prefix).await? {
            self.delete(&key).await?;
        }
        if let Some(dir) = &self.local_dir {
            // Object stores have no folders; a local disk keeps empty ones unless told.
            let _ = std::fs::remove_dir_all(dir.join(prefix));
        }
        Ok(())
    }
}

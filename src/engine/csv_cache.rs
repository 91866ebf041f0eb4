//! Parquet copies of CSV inputs, keyed by the file's checksum (`engine.csv_cache`).
//!
//! Parsing CSV is most of a large run's reading: at 10M order lines the CSV inputs took
//! 15 s to check and the steps parsed them again, where the same data as Parquet is read
//! in a fraction of that. So a CSV that passed its row checks is written once, with the
//! declared types, to `<csv_cache>/<location>-<table>-<checksum>-<spec>.parquet`, and the
//! source is read from that copy. The next run that finds the same checksum (and the same
//! declared types and CSV options, and sextant version) reads only the checksum and then the
//! copy. A changed file gets a new copy; the copy of its earlier version is deleted then,
//! once it is an hour old. The folder can be deleted at any time.

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::sources::ResolvedSource;
use crate::diag::Diagnostic;

/// The folder the copies live in.
#[derive(Debug, Clone)]
pub struct CsvCache {
    dir: PathBuf,
}

/// The Parquet copy of one CSV input with one checksum.
#[derive(Debug, Clone)]
pub struct Copy {
    path: PathBuf,
    /// `<location>-<table>-`: the prefix every version of this input's copy shares.
    prefix: String,
    /// `-<spec>.parquet`: the end they share when read with the same declared types (another
    /// pipeline may declare other types for the same file; its copies are left alone).
    suffix: String,
    table: String,
    /// The copy's row count when it was looked up: `None` when it did not exist then.
    found: Option<u64>,
}

/// An earlier version's copy is deleted only once it is this old, so that a run still
/// reading it (the file changed while it ran) keeps it to the end.
const KEEP_EARLIER_VERSIONS: std::time::Duration = std::time::Duration::from_secs(3600);

fn short_hash(text: &str, len: usize) -> String {
    let mut h = hex::encode(Sha256::digest(text.as_bytes()));
    h.truncate(len);
    h
}

impl CsvCache {
    pub fn new(dir: PathBuf) -> CsvCache {
        CsvCache { dir }
    }

    /// Looks up the copy of `source` with content `sha256`: where it is (or goes), and
    /// whether it exists.
    pub fn find(&self, source: &ResolvedSource, sha256: &str) -> Copy {
        let location = short_hash(&source.display, 8);
        // The copy holds typed values: the declared types and CSV options are part of it.
        let spec =
            short_hash(&format!("{}|{:?}|{:?}", env!("CARGO_PKG_VERSION"), source.schema.fields(), source.spec.csv), 8);
        let prefix = format!("{location}-{}-", source.spec.name);
        let suffix = format!("-{spec}.parquet");
        let path = self.dir.join(format!("{prefix}{}{suffix}", &sha256[..sha256.len().min(16)]));
        let found = footer_rows(&path);
        Copy { path, prefix, suffix, table: source.spec.name.clone(), found }
    }
}

/// The row count of the Parquet file at `path`, when it exists and is a whole Parquet file.
fn footer_rows(path: &Path) -> Option<u64> {
    let reader = SerializedFileReader::new(File::open(path).ok()?).ok()?;
    u64::try_from(reader.metadata().file_metadata().num_rows()).ok()
}

impl Copy {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The copy's row count when it was looked up; `None`: it is still to be made.
    pub fn rows(&self) -> Option<u64> {
        self.found
    }

    /// Writes the copy from the source's table as registered in `ctx` (the CSV read with
    /// its declared types), under a temporary name renamed into place when complete, and
    /// deletes the copies of earlier versions of the file.
    ///
    /// # Errors
    /// When the folder or the file cannot be written; the run can go on from the CSV.
    pub async fn make(&self, ctx: &SessionContext) -> Result<u64, String> {
        let dir = self.path.parent().ok_or("the cache path has no folder")?;
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // Unique among this process's runs too (tests run pipelines side by side).
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".{}.{}-{n}.tmp", self.table, std::process::id()));
        let written = self.write(ctx, &tmp).await;
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, &self.path).map_err(|e| format!("cannot move the copy into place: {e}"))?;
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let earlier = name.starts_with(&self.prefix) && name.ends_with(&self.suffix) && e.path() != self.path;
                let age = e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
                if earlier && age.is_some_and(|a| a >= KEEP_EARLIER_VERSIONS) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        written
    }

    async fn write(&self, ctx: &SessionContext, tmp: &Path) -> Result<u64, String> {
        let df = ctx.table(self.table.as_str()).await.map_err(|e| e.to_string())?;
        let mut stream = df.execute_stream().await.map_err(|e| e.to_string())?;
        let file = File::create(tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let mut writer = ArrowWriter::try_new(file, stream.schema(), Some(props)).map_err(|e| e.to_string())?;
        let mut rows = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| e.to_string())?;
            rows += batch.num_rows() as u64;
            writer.write(&batch).map_err(|e| e.to_string())?;
        }
        writer.close().map_err(|e| e.to_string())?;
        Ok(rows)
    }

    /// Reads the source from the copy from now on.
    ///
    /// # Errors
    /// When the copy cannot be registered.
    pub async fn register(&self, ctx: &SessionContext) -> Result<(), Diagnostic> {
        let fail = |e: datafusion::error::DataFusionError| {
            Diagnostic::new(
                "source::csv-cache",
                format!("source `{}`: cannot read its Parquet copy {}: {e}", self.table, self.path.display()),
            )
            .with_hint("delete the file (or the whole engine.csv_cache folder) and run again")
        };
        let _ = ctx.deregister_table(self.table.as_str());
        let path = self.path.to_string_lossy();
        ctx.register_parquet(self.table.as_str(), path.as_ref(), ParquetReadOptions::default()).await.map_err(fail)
    }
}

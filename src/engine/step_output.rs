//! Where a step's result is kept until the run ends.
//!
//! Without `engine.memory_limit` every result stays in memory, as a one-partition table.
//! With a limit, step results may hold at most a quarter of it, reserved from the same memory
//! pool the spilling operators use. A result that would go over is streamed, in order, to
//! an Arrow IPC file in the spill folder and read back from there, one partition, so that a
//! step's `ORDER BY` still holds for what reads it.
//!
//! Either way the result is one partition in the order the step produced it. Whoever
//! reads a step for a person (exports, report tables) reads it through [`in_order`]:
//! with several partitions DataFusion splits a large in-memory table when it scans it, and
//! an export of 250,000 sorted rows came out shuffled after the first 32,768.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::catalog::TableProvider;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::SortExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{DataFrame, SessionContext, col};
use futures::StreamExt;

/// The share of step results in the memory budget: at most this many bytes are held.
#[derive(Debug)]
pub struct StepBudget {
    reservation: Mutex<MemoryReservation>,
    cap: usize,
}

impl StepBudget {
    /// At most `cap` bytes, reserved from `ctx`'s memory pool as results arrive.
    pub fn new(ctx: &SessionContext, cap: usize) -> StepBudget {
        let pool = &ctx.runtime_env().memory_pool;
        StepBudget { reservation: Mutex::new(MemoryConsumer::new("step results").register(pool)), cap }
    }

    /// Takes `bytes` from the budget, or says no (leaving it unchanged).
    fn try_hold(&self, bytes: usize) -> bool {
        let Ok(r) = self.reservation.lock() else { return false };
        r.size() + bytes <= self.cap && r.try_grow(bytes).is_ok()
    }

    fn release(&self, bytes: usize) {
        if let Ok(r) = self.reservation.lock() {
            r.shrink(bytes.min(r.size()));
        }
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.reservation.lock().map_or(0, |r| r.size())
    }
}

/// The memory a batch's arrays take, counting only the part of shared buffers it covers
/// (aggregations emit slices of one large batch).
fn batch_bytes(b: &RecordBatch) -> usize {
    b.columns().iter().map(|c| c.to_data().get_slice_memory_size().unwrap_or_else(|_| c.get_array_memory_size())).sum()
}

/// A step result that was kept.
pub struct Kept {
    pub table: Arc<dyn TableProvider>,
    pub rows: u64,
    /// True when the result went to disk.
    pub on_disk: bool,
}

/// `df` planned with one partition, so that a scan of a step result keeps its rows in the
/// order the step wrote them.
pub fn in_order(df: DataFrame) -> DataFrame {
    let (mut state, plan) = df.into_parts();
    state.config_mut().options_mut().execution.target_partitions = 1;
    DataFrame::new(state, plan)
}

/// The order `plan` produces its rows in, as sort expressions over its output columns
/// (empty when it promises none, sorts by something it does not output, or orders only
/// within each of several partitions), declared on the kept table for the steps that read
/// it.
pub fn declared_order(plan: &Arc<dyn ExecutionPlan>) -> Vec<SortExpr> {
    if plan.properties().output_partitioning().partition_count() != 1 {
        return Vec::new();
    }
    let Some(ordering) = plan.properties().output_ordering() else { return Vec::new() };
    let mut out = Vec::new();
    for e in ordering.iter() {
        let Some(c) = e.expr.downcast_ref::<Column>() else { break };
        out.push(SortExpr::new(col(c.name()), !e.options.descending, e.options.nulls_first));
    }
    out
}

/// A step result being written to the spill folder.
type Spilling = (Arc<dyn datafusion::execution::SpillFile>, FileWriter<BufWriter<File>>);

/// Drains `stream` into memory, or into a spill file once `budget` says no. The table
/// declares `order` (see [`declared_order`]).
pub async fn keep(
    ctx: &SessionContext,
    schema: SchemaRef,
    mut stream: SendableRecordBatchStream,
    order: Vec<SortExpr>,
    budget: Option<&StepBudget>,
) -> Result<Kept> {
    let mut held: Vec<RecordBatch> = Vec::new();
    let mut held_bytes = 0usize;
    let mut rows = 0u64;
    let mut writer: Option<Spilling> = None;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        if let Some((_, w)) = writer.as_mut() {
            w.write(&batch)?;
            continue;
        }
        let bytes = batch_bytes(&batch);
        match budget {
            Some(b) if !b.try_hold(bytes) => {
                let file = ctx.runtime_env().disk_manager.create_tmp_file("a step result over the memory budget")?;
                let path = file
                    .path()
                    .ok_or_else(|| DataFusionError::Execution("the spill folder must be a local folder".into()))?;
                let mut w = FileWriter::try_new(BufWriter::new(File::create(path)?), &schema)?;
                for h in held.drain(..) {
                    w.write(&h)?;
                }
                b.release(held_bytes);
                held_bytes = 0;
                w.write(&batch)?;
                writer = Some((file, w));
            }
            _ => {
                held_bytes += bytes;
                held.push(batch);
            }
        }
    }
    let on_disk = writer.is_some();
    let table: Arc<dyn TableProvider> = match writer {
        None => {
            let table = MemTable::try_new(schema, vec![held])?;
            Arc::new(if order.is_empty() { table } else { table.with_sort_order(vec![order]) })
        }
        Some((file, mut w)) => {
            w.finish()?;
            let partition = SpilledResult { schema: Arc::clone(&schema), file };
            Arc::new(StreamingTable::try_new(schema, vec![Arc::new(partition)])?.with_sort_order(order))
        }
    };
    Ok(Kept { table, rows, on_disk })
}

/// A step result in an Arrow IPC file, read back in the order it was written. The file is
/// deleted when the last table that reads it is dropped.
struct SpilledResult {
    schema: SchemaRef,
    file: Arc<dyn datafusion::execution::SpillFile>,
}

impl std::fmt::Debug for SpilledResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpilledResult").field("path", &self.file.path()).finish()
    }
}

impl PartitionStream for SpilledResult {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let opened = self
            .file
            .path()
            .ok_or_else(|| DataFusionError::Execution("a spilled step result has no local path".into()))
            .and_then(|p| Ok(FileReader::try_new(BufReader::new(File::open(p)?), None)?));
        let batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send> = match opened {
            Ok(reader) => Box::new(reader.map(|b| b.map_err(DataFusionError::from))),
            Err(e) => Box::new(std::iter::once(Err(e))),
        };
        Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&self.schema), futures::stream::iter(batches)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::execution::memory_pool::FairSpillPool;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::prelude::SessionConfig;

    fn ctx(limit: usize, spill: &std::path::Path) -> SessionContext {
        let config = SessionConfig::new().with_target_partitions(4);
        let rt = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(limit)))
            .with_disk_manager_builder(datafusion::execution::disk_manager::DiskManagerBuilder::default().with_mode(
                datafusion::execution::disk_manager::DiskManagerMode::Directories(vec![spill.to_path_buf()]),
            ))
            .build_arc()
            .unwrap();
        SessionContext::new_with_config_rt(config, rt)
    }

    fn descending() -> Vec<SortExpr> {
        vec![SortExpr::new(col("n"), false, true)]
    }

    /// 10 batches of 1,000 descending numbers (8,000 bytes each).
    fn stream() -> (SchemaRef, SendableRecordBatchStream) {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batches: Vec<Result<RecordBatch>> = (0..10)
            .map(|k| {
                let values: Vec<i64> = (0..1000).map(|i| 10_000 - (k * 1000 + i)).collect();
                Ok(RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(Int64Array::from(values))])?)
            })
            .collect();
        (Arc::clone(&schema), Box::pin(RecordBatchStreamAdapter::new(schema, futures::stream::iter(batches))))
    }

    async fn read_back(ctx: &SessionContext, kept: Kept) -> Vec<i64> {
        ctx.register_table("t", kept.table).unwrap();
        let batches = in_order(ctx.table("t").await.unwrap()).collect().await.unwrap();
        batches
            .iter()
            .flat_map(|b| {
                b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().values().iter().copied().collect::<Vec<_>>()
            })
            .collect()
    }

    #[tokio::test]
    async fn a_result_within_the_budget_stays_in_memory_and_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(1 << 20, dir.path());
        let budget = StepBudget::new(&ctx, 1 << 19);
        let (schema, s) = stream();
        let kept = keep(&ctx, schema, s, descending(), Some(&budget)).await.unwrap();
        assert!(!kept.on_disk);
        assert_eq!(kept.rows, 10_000);
        assert_eq!(budget.held(), 80_000);
        assert_eq!(ctx.runtime_env().memory_pool.reserved(), 80_000);
        let n = read_back(&ctx, kept).await;
        assert_eq!(n, (1..=10_000).rev().collect::<Vec<i64>>());
    }

    #[tokio::test]
    async fn a_result_over_the_budget_goes_to_the_spill_folder_in_order_and_frees_what_it_held() {
        let dir = tempfile::tempdir().unwrap();
        // Six of the ten 8,000-byte batches fit in 50,000 bytes, the seventh does not.
        let ctx = ctx(1 << 20, dir.path());
        let budget = StepBudget::new(&ctx, 50_000);
        let (schema, s) = stream();
        let kept = keep(&ctx, schema, s, descending(), Some(&budget)).await.unwrap();
        assert!(kept.on_disk);
        assert_eq!(kept.rows, 10_000);
        assert_eq!(budget.held(), 0, "the batches held before the switch are written out and released");
        let files: Vec<_> = walk(dir.path());
        assert_eq!(files.len(), 1, "{files:?}");
        let n = read_back(&ctx, kept).await;
        assert_eq!(n, (1..=10_000).rev().collect::<Vec<i64>>(), "read back in the order written");
        ctx.deregister_table("t").unwrap();
        assert!(walk(dir.path()).is_empty(), "the file is deleted with its table");
    }

    #[tokio::test]
    async fn without_a_budget_everything_stays_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(1000, dir.path());
        let (schema, s) = stream();
        let kept = keep(&ctx, schema, s, descending(), None).await.unwrap();
        assert!(!kept.on_disk);
        assert!(walk(dir.path()).is_empty());
    }

    /// The bug this order declaration fixed: 100,000 sorted rows in 13 batches, read back
    /// with four partitions, came out interleaved.
    #[tokio::test]
    async fn a_sorted_step_reads_back_in_its_order_from_memory_and_from_disk() {
        for cap in [1usize << 24, 100_000] {
            let dir = tempfile::tempdir().unwrap();
            let ctx = ctx(1 << 26, dir.path());
            let budget = StepBudget::new(&ctx, cap);
            let df = ctx.sql("SELECT value AS n FROM range(100000) ORDER BY value DESC").await.unwrap();
            let plan = df.create_physical_plan().await.unwrap();
            let order = declared_order(&plan);
            assert_eq!(order, descending());
            let stream = datafusion::physical_plan::execute_stream(Arc::clone(&plan), ctx.task_ctx()).unwrap();
            let kept = keep(&ctx, plan.schema(), stream, order, Some(&budget)).await.unwrap();
            assert_eq!(kept.on_disk, cap == 100_000);
            let n = read_back(&ctx, kept).await;
            assert!(n.len() == 100_000 && n.windows(2).all(|w| w[0] > w[1]), "cap {cap}: out of order");
        }
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }
}

//! One run of one pipeline for one period: sources → ingest → checks → steps → checks →
//! exports → publish. Drives the engine and the store; the CLI and (later) the scheduler
//! call [`run_pipeline`].

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::config::Workspace;
use crate::diag::Diagnostic;
use crate::engine::checks::{self, CheckResult};
use crate::engine::{Engine, InputRecord, StepRecord, sources};
use crate::period::Period;
use crate::spec::Pipeline;
use crate::store::export;
use crate::store::manifest::{OutputRecord, RunManifest, RunStatus, Trigger};
use crate::store::{OutputStore, StoreError};

/// What the CLI shows while a run goes on.
#[derive(Debug, Clone)]
pub enum RunEvent<'a> {
    Phase(&'a str),
    Step(&'a StepRecord),
    Check(&'a CheckResult),
    Export { path: &'a str, rows: u64 },
}

/// How a run ended.
#[derive(Debug)]
pub enum RunOutcome {
    /// Published; the manifest is the one written as `run.json`.
    Succeeded(RunManifest),
    /// Nothing published; the attempt is recorded under `.runs/`. The diagnostics say why.
    Failed(RunManifest, Vec<Diagnostic>),
}

/// Where the run's files go, relative to the output root.
pub fn run_dir(pipeline: &str, period: &Period) -> String {
    format!("{pipeline}/{period}")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Why and on whose authority a run happens; the defaults are those of `sextant run`.
#[derive(Clone, Default)]
pub struct RunOptions {
    pub trigger: Trigger,
    /// The schedule's fire time the run is for.
    pub scheduled_for: Option<chrono::DateTime<chrono::Utc>>,
    /// The daemon's lease on this pipeline and period: checked once more just before
    /// publishing, so that a run whose lease was taken over publishes nothing.
    pub lease: Option<Arc<crate::schedule::lease::Lease>>,
}

/// Runs `pipeline` for `period` and publishes it if every `error` check passes.
///
/// # Errors
/// Only when the output store itself fails; data problems are a [`RunOutcome::Failed`].
pub async fn run_pipeline(
    ws: &Workspace,
    pipeline: Arc<Pipeline>,
    period: Period,
    clock: &Clock,
    on_event: &(dyn Fn(RunEvent<'_>) + Sync),
) -> Result<RunOutcome, StoreError> {
    run_pipeline_with(ws, pipeline, period, clock, &RunOptions::default(), on_event).await
}

/// [`run_pipeline`] with the trigger, fire time and lease of a scheduled run.
///
/// # Errors
/// As [`run_pipeline`]; also when the lease was lost before publishing.
pub async fn run_pipeline_with(
    ws: &Workspace,
    pipeline: Arc<Pipeline>,
    period: Period,
    clock: &Clock,
    options: &RunOptions,
    on_event: &(dyn Fn(RunEvent<'_>) + Sync),
) -> Result<RunOutcome, StoreError> {
    let store = OutputStore::open(&ws.output_root)?;
    let started = clock.now();
    // The attempt number keeps run ids unique even when the clock is fixed (replays, tests),
    // while the first attempt of a replay still gets the same id, hence the same bytes.
    let attempt = store.list(&format!("{}/.runs/{period}", pipeline.name)).await?.len() + 1;
    let run_id = format!(
        "{}-{}",
        started.format("%Y%m%dT%H%M%SZ"),
        &sha256_hex(
            format!("{}/{period}/{}/{attempt}", pipeline.name, started.timestamp_nanos_opt().unwrap_or(0)).as_bytes()
        )[..8]
    );
    let mut manifest = RunManifest {
        run_id: run_id.clone(),
        pipeline: pipeline.name.clone(),
        period: period.to_string(),
        grain: period.grain().as_str().to_string(),
        period_start: period.start().to_string(),
        period_end: period.end().to_string(),
        as_of: period.as_of().to_string(),
        status: RunStatus::Failed,
        started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        finished_at: String::new(),
        sextant_version: env!("CARGO_PKG_VERSION").to_string(),
        pipeline_file: pipeline.path.display().to_string(),
        pipeline_sha256: sha256_hex(pipeline.file.text().as_bytes()),
        data_root: ws.data_root.to_string(),
        inputs: Vec::new(),
        steps: Vec::new(),
        checks: Vec::new(),
        outputs: Vec::new(),
        errors: Vec::new(),
        trigger: options.trigger,
        scheduled_for: options.scheduled_for.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        deliveries: Vec::new(),
    };
    let staging = format!("{}/.staging/{run_id}", pipeline.name);
    let ledger_key = crate::store::ledger::attempt_key(&pipeline.name, &period.to_string(), &run_id);
    // The attempt is in the ledger from its start: a run killed half-way shows as `running`.
    manifest.status = RunStatus::Running;
    store.put(&ledger_key, Bytes::from(serde_json::to_vec_pretty(&manifest).unwrap_or_default())).await?;
    manifest.status = RunStatus::Failed;
    let result = execute(ws, &pipeline, &period, &store, &staging, &mut manifest, on_event).await;
    manifest.finished_at = clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match result {
        Ok(()) => {
            if let Some(lease) = &options.lease
                && !lease.still_held().await?
            {
                store.delete_all(&staging).await?;
                manifest.errors =
                    vec![format!("the lease on {} {period} was taken over; nothing published", pipeline.name)];
                manifest.status = RunStatus::Interrupted;
                let json = Bytes::from(serde_json::to_vec_pretty(&manifest).unwrap_or_default());
                store.put(&ledger_key, json).await?;
                let d = Diagnostic::new("schedule::lease-lost", manifest.errors[0].clone());
                return Ok(RunOutcome::Failed(manifest, vec![d]));
            }
            manifest.status = RunStatus::Succeeded;
            let json = Bytes::from(serde_json::to_vec_pretty(&manifest).unwrap_or_default());
            on_event(RunEvent::Phase("publishing"));
            store.publish(&staging, &run_dir(&pipeline.name, &period), json.clone()).await?;
            store.delete_all(&staging).await?;
            store.put(&ledger_key, json).await?;
            Ok(RunOutcome::Succeeded(manifest))
        }
        Err(problems) => {
            store.delete_all(&staging).await?;
            manifest.errors = problems.iter().map(ToString::to_string).collect();
            let json = Bytes::from(serde_json::to_vec_pretty(&manifest).unwrap_or_default());
            store.put(&ledger_key, json).await?;
            Ok(RunOutcome::Failed(manifest, problems))
        }
    }
}

async fn execute(
    ws: &Workspace,
    pipeline: &Arc<Pipeline>,
    period: &Period,
    store: &OutputStore,
    staging: &str,
    manifest: &mut RunManifest,
    on_event: &(dyn Fn(RunEvent<'_>) + Sync),
) -> Result<(), Vec<Diagnostic>> {
    let engine = Arc::new(Engine::with_settings(Arc::clone(pipeline), period, &ws.engine));

    on_event(RunEvent::Phase("registering sources"));
    let resolved = engine.register_sources(&ws.data_root).await?;

    on_event(RunEvent::Phase("reading inputs (checksums, row checks)"));
    let cache = ws.engine.csv_cache.clone().map(crate::engine::csv_cache::CsvCache::new);
    let ingested = futures::future::join_all(resolved.iter().map(|r| sources::ingest(r, cache.as_ref()))).await;
    let mut problems = Vec::new();
    let mut copies = Vec::new();
    for r in ingested {
        match r {
            Ok((input, copy)) => {
                manifest.inputs.push(input);
                copies.extend(copy);
            }
            Err(mut p) => problems.append(&mut p),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // Clean CSV inputs are read from their Parquet copies (engine.csv_cache), made now
    // when missing; a copy that cannot be written leaves that input read as CSV.
    if copies.iter().any(|c| c.rows().is_none()) {
        on_event(RunEvent::Phase("writing Parquet copies of CSV inputs"));
    }
    let mut usable = Vec::new();
    for copy in copies {
        if copy.rows().is_none()
            && let Err(e) = copy.make(engine.context()).await
        {
            tracing::warn!("no Parquet copy of a CSV input ({}): {e}", copy.path().display());
            continue;
        }
        copy.register(engine.context()).await.map_err(|d| vec![d])?;
        usable.push(copy);
    }
    manifest.inputs.sort_by(|a: &InputRecord, b| a.table.cmp(&b.table));

    // Checks on sources gate the steps: no figure is computed from data that failed them.
    on_event(RunEvent::Phase("checking sources"));
    let is_source =
        |c: &crate::spec::CheckSpec| c.kind.table().is_some_and(|t| pipeline.sources.iter().any(|s| s.name == t));
    run_checks(&engine, pipeline.checks.iter().filter(|c| is_source(c)), manifest, on_event).await?;

    on_event(RunEvent::Phase("running steps"));
    manifest.steps = engine.run_steps(&|r| on_event(RunEvent::Step(r))).await?;

    on_event(RunEvent::Phase("checking results"));
    run_checks(&engine, pipeline.checks.iter().filter(|c| !is_source(c)), manifest, on_event).await?;

    let results = if pipeline.kpis.is_empty() {
        Vec::new()
    } else {
        on_event(RunEvent::Phase("evaluating KPIs"));
        crate::kpi::evaluate_all(&engine, period, &ws.locale).await?
    };
    // Findings read the KPIs and the standard tables; a pipeline with neither has none.
    let findings = if pipeline.kpis.is_empty() && pipeline.reports.is_empty() {
        Vec::new()
    } else {
        crate::kpi::findings::findings(&engine, &results).await
    };
    if !pipeline.kpis.is_empty() || !findings.is_empty() {
        let report = crate::kpi::findings::FindingsReport {
            pipeline: pipeline.name.clone(),
            period: period.to_string(),
            findings: findings.clone(),
        };
        write_json(store, staging, "findings.json", &report, report.findings.len() as u64, manifest, on_event).await?;
    }
    // A quarter's or year's report may show every KPI for each of its months: the steps
    // and KPIs run once more at month grain, for the period's last month, whose trailing
    // series covers the months of the period.
    let month_kpis = if period.grain() != crate::period::Grain::Month
        && !pipeline.kpis.is_empty()
        && pipeline.reports.iter().any(|r| r.needs_months())
    {
        on_event(RunEvent::Phase("evaluating KPIs per month"));
        let last_month =
            crate::period::Period::containing(period.as_of(), crate::period::Grain::Month, pipeline.fiscal_year_start);
        let monthly = Arc::new(Engine::with_settings(Arc::clone(pipeline), &last_month, &ws.engine));
        monthly.register_sources(&ws.data_root).await?;
        for copy in &usable {
            copy.register(monthly.context()).await.map_err(|d| vec![d])?;
        }
        monthly.run_steps(&|_| {}).await?;
        Some(crate::kpi::evaluate_all(&monthly, &last_month, &ws.locale).await?)
    } else {
        None
    };
    if !pipeline.reports.is_empty() {
        on_event(RunEvent::Phase("rendering reports"));
        let run = crate::report::build::RunResults {
            period,
            run_id: &manifest.run_id,
            started_at: &manifest.started_at,
            kpis: &results,
            findings: &findings,
            month_kpis: month_kpis.as_deref(),
        };
        let files = crate::report::render::render_reports(&engine, &pipeline.reports, &run, &|_| {}).await?;
        for f in files {
            let bytes = Bytes::from(f.bytes);
            on_event(RunEvent::Export { path: &f.path, rows: 0 });
            manifest.outputs.push(OutputRecord {
                path: f.path.clone(),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
                rows: None,
            });
            store
                .put(&format!("{staging}/{}", f.path), bytes)
                .await
                .map_err(|err| vec![Diagnostic::new("export::failed", format!("writing {} failed: {err}", f.path))])?;
        }
    }
    let kpis = (!pipeline.kpis.is_empty()).then(|| crate::kpi::KpiReport {
        pipeline: pipeline.name.clone(),
        period: period.to_string(),
        grain: period.grain().as_str().to_string(),
        as_of: period.as_of().to_string(),
        kpis: results,
    });

    on_event(RunEvent::Phase("writing exports"));
    for e in &pipeline.exports {
        let fail = |msg: String| vec![Diagnostic::new("export::failed", msg).at(&e.file, e.place)];
        let df = engine.read_table(e.table.as_str()).await.map_err(|err| fail(err.to_string()))?;
        let (bytes, rows) = export::encode(&e.table, df, e.format).await.map_err(|err| fail(err.to_string()))?;
        let path = e.path();
        on_event(RunEvent::Export { path: &path, rows });
        manifest.outputs.push(OutputRecord {
            path: path.clone(),
            bytes: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
            rows: Some(rows),
        });
        store.put(&format!("{staging}/{path}"), bytes).await.map_err(|err| fail(err.to_string()))?;
    }
    if let Some(report) = &kpis {
        write_json(store, staging, "kpis.json", report, report.kpis.len() as u64, manifest, on_event).await?;
    }
    Ok(())
}

/// Writes `value` as pretty JSON to `path` in the staging area and records it.
async fn write_json<T: serde::Serialize>(
    store: &OutputStore,
    staging: &str,
    path: &str,
    value: &T,
    rows: u64,
    manifest: &mut RunManifest,
    on_event: &(dyn Fn(RunEvent<'_>) + Sync),
) -> Result<(), Vec<Diagnostic>> {
    let bytes = Bytes::from(serde_json::to_vec_pretty(value).unwrap_or_default());
    on_event(RunEvent::Export { path, rows });
    manifest.outputs.push(OutputRecord {
        path: path.into(),
        bytes: bytes.len() as u64,
        sha256: sha256_hex(&bytes),
        rows: Some(rows),
    });
    store
        .put(&format!("{staging}/{path}"), bytes)
        .await
        .map_err(|err| vec![Diagnostic::new("export::failed", format!("writing {path} failed: {err}"))])
}

async fn run_checks<'a>(
    engine: &Engine,
    specs: impl Iterator<Item = &'a crate::spec::CheckSpec>,
    manifest: &mut RunManifest,
    on_event: &(dyn Fn(RunEvent<'_>) + Sync),
) -> Result<(), Vec<Diagnostic>> {
    let mut problems = Vec::new();
    for spec in specs {
        let started = Instant::now();
        match checks::run(engine, spec).await {
            Ok(result) => {
                tracing::debug!(check = %result.name, millis = started.elapsed().as_millis() as u64, "check done");
                on_event(RunEvent::Check(&result));
                if result.blocks() {
                    problems.push(check_failure(spec, &result));
                }
                manifest.checks.push(result);
            }
            Err(d) => problems.push(d),
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

fn check_failure(spec: &crate::spec::CheckSpec, result: &CheckResult) -> Diagnostic {
    let mut hint = String::new();
    if !result.sample.is_empty() {
        hint.push_str("offending rows:\n");
        for row in &result.sample {
            hint.push_str(&format!("  {}\n", serde_json::Value::Object(row.clone())));
        }
    }
    hint.push_str("fix the data, or set `severity: warn` on the check to record it without stopping the run");
    Diagnostic::new("check::failed", format!("check {} failed: {}", result.name, result.message))
        .at(&spec.file, spec.place)
        .with_label("this check")
        .with_hint(hint)
}

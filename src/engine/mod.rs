//! The engine: DataFusion runs the pipeline's sources, steps and checks.
//!
//! Data path: [`sources`] registers each input as a table (schema only) and reads it once
//! for its checksum and dirty rows; [`Engine::run_steps`] plans every step with the period
//! bound as typed parameters and runs independent steps concurrently; [`checks`] gates the
//! results. [`Engine::validate`] does the same planning without scanning any data.

pub mod cells;
pub mod checks;
pub mod csv_cache;
pub mod csv_check;
pub mod objects;
pub mod script;
pub mod sources;
pub mod sql;
pub mod step_output;
pub mod udf;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::datasource::empty::EmptyTable;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use serde::Serialize;

use crate::config::Root;
use crate::diag::{Diagnostic, did_you_mean};
use crate::period::Period;
use crate::spec::{Pipeline, StepSpec};
pub use sources::{InputRecord, ResolvedSource};

/// A step's outcome, as recorded in `run.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct StepRecord {
    pub name: String,
    pub rows: u64,
    pub millis: u64,
}

/// How many periods a KPI's trailing series covers: 13 months, 8 quarters or 5 years.
pub fn series_length(grain: crate::period::Grain) -> i32 {
    match grain {
        crate::period::Grain::Month => 13,
        crate::period::Grain::Quarter => 8,
        crate::period::Grain::Year => 5,
    }
}

/// The period parameters bound into every query (`$period_start` …): dates as `DATE`,
/// indexes and counts as `BIGINT`. The README lists them.
pub fn period_params(period: &Period, fys: crate::period::FiscalYearStart) -> ParamValues {
    let date = |d: NaiveDate| {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        ScalarValue::Date32(Some((d - epoch).num_days() as i32)).into()
    };
    let int = |v: i64| ScalarValue::Int64(Some(v)).into();
    let twelve_months_before = |d: NaiveDate| d.checked_sub_months(chrono::Months::new(12)).unwrap_or(d);
    let (prev, yoy) = (period.previous(), period.year_ago());
    let n = series_length(period.grain());
    let map: HashMap<String, _> = [
        ("series_start", date(period.shift(1 - n).start())),
        ("series_prev_start", date(period.shift(-n).start())),
        ("window_start", date(twelve_months_before(period.end()))),
        ("prev_window_start", date(twelve_months_before(prev.end()))),
        ("period_index", int(udf::period_index(period.start(), period.grain(), fys))),
        ("periods_per_year", int(12 / period.grain().months() as i64)),
        ("period_start", date(period.start())),
        ("period_end", date(period.end())),
        ("prev_start", date(prev.start())),
        ("prev_end", date(prev.end())),
        ("yoy_start", date(yoy.start())),
        ("yoy_end", date(yoy.end())),
        ("as_of", date(period.as_of())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    ParamValues::Map(map)
}

/// The built-in table of the run's periods: the trailing series and the one before it.
pub const PERIODS_TABLE: &str = "periods";

/// `periods(pi, period, period_start, period_end, as_of)`: one row per period of the
/// trailing series ending with `period`, plus the period just before it (so that
/// "previous period" figures exist for the whole series). A KPI query joins facts to it
/// to give empty periods a row.
fn periods_table(period: &Period, fys: crate::period::FiscalYearStart) -> datafusion::error::Result<MemTable> {
    use datafusion::arrow::array::{Date32Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let days = |d: NaiveDate| (d - epoch).num_days() as i32;
    let periods: Vec<Period> = (-series_length(period.grain())..=0).map(|k| period.shift(k)).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("pi", DataType::Int64, false),
        Field::new("period", DataType::Utf8, false),
        Field::new("period_start", DataType::Date32, false),
        Field::new("period_end", DataType::Date32, false),
        Field::new("as_of", DataType::Date32, false),
    ]));
    let batch = datafusion::arrow::array::RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(
                periods.iter().map(|p| udf::period_index(p.start(), p.grain(), fys)),
            )),
            Arc::new(StringArray::from_iter_values(periods.iter().map(ToString::to_string))),
            Arc::new(Date32Array::from_iter_values(periods.iter().map(|p| days(p.start())))),
            Arc::new(Date32Array::from_iter_values(periods.iter().map(|p| days(p.end())))),
            Arc::new(Date32Array::from_iter_values(periods.iter().map(|p| days(p.as_of())))),
        ],
    )?;
    MemTable::try_new(schema, vec![vec![batch]])
}

/// One pipeline's DataFusion session.
pub struct Engine {
    ctx: SessionContext,
    pipeline: Arc<Pipeline>,
    params: ParamValues,
    period: Period,
    /// With `engine.memory_limit`: the share step results may hold in memory. Steps then
    /// run one at a time, so that each query's sorts and joins get the whole budget to
    /// spill within; without a limit every ready step runs at once.
    step_budget: Option<step_output::StepBudget>,
}

impl Engine {
    /// A fresh session for `pipeline` evaluated for `period`.
    pub fn new(pipeline: Arc<Pipeline>, period: &Period) -> Engine {
        Self::with_settings(pipeline, period, &crate::config::EngineSettings::default())
    }

    /// An engine that keeps within `settings`: with a memory limit, operators that can
    /// spill (sorts, aggregations, joins) write to the spill folder instead of failing.
    pub fn with_settings(pipeline: Arc<Pipeline>, period: &Period, settings: &crate::config::EngineSettings) -> Engine {
        let mut config = SessionConfig::new().with_information_schema(false);
        if let Some(n) = settings.target_partitions {
            config = config.with_target_partitions(n);
        }
        let mut runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new();
        if let Some(limit) = settings.memory_limit {
            // Fair: each spilling operator gets its share, so one big sort cannot starve the rest.
            runtime = runtime.with_memory_pool(Arc::new(datafusion::execution::memory_pool::FairSpillPool::new(
                usize::try_from(limit).unwrap_or(usize::MAX),
            )));
        }
        if let Some(dir) = &settings.spill_dir {
            if let Err(e) = std::fs::create_dir_all(dir) {
                tracing::warn!("cannot create spill folder {}: {e}", dir.display());
            }
            runtime = runtime.with_disk_manager_builder(
                datafusion::execution::disk_manager::DiskManagerBuilder::default()
                    .with_mode(datafusion::execution::disk_manager::DiskManagerMode::Directories(vec![dir.clone()])),
            );
        }
        let ctx = match runtime.build_arc() {
            Ok(rt) => SessionContext::new_with_config_rt(config, rt),
            Err(e) => {
                tracing::warn!("engine settings not applied: {e}");
                SessionContext::new_with_config(config)
            }
        };
        for f in udf::period_functions(period.grain(), pipeline.fiscal_year_start) {
            ctx.register_udf(f);
        }
        let params = period_params(period, pipeline.fiscal_year_start);
        if let Ok(table) = periods_table(period, pipeline.fiscal_year_start) {
            // Registering into a fresh in-memory catalog cannot clash.
            let _ = ctx.register_table(PERIODS_TABLE, Arc::new(table));
        }
        let step_budget = settings
            .memory_limit
            .map(|limit| step_output::StepBudget::new(&ctx, usize::try_from(limit / 4).unwrap_or(usize::MAX)));
        Engine { ctx, pipeline, params, period: *period, step_budget }
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// `table` as a person reads it (an export, a report table): in the order its step
    /// wrote it.
    ///
    /// # Errors
    /// When no such table is registered.
    pub async fn read_table(&self, table: &str) -> datafusion::error::Result<DataFrame> {
        Ok(step_output::in_order(self.ctx.table(table).await?))
    }

    pub fn period(&self) -> &Period {
        &self.period
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    pub fn params(&self) -> &ParamValues {
        &self.params
    }

    /// Registers every source; reads schemas only.
    ///
    /// # Errors
    /// One diagnostic per source that cannot be registered.
    pub async fn register_sources(&self, data_root: &Root) -> Result<Vec<ResolvedSource>, Vec<Diagnostic>> {
        let registrations = self.pipeline.sources.iter().map(|s| sources::register(&self.ctx, s, data_root));
        let (ok, errs): (Vec<_>, Vec<_>) =
            futures::future::join_all(registrations).await.into_iter().partition(Result::is_ok);
        if errs.is_empty() {
            Ok(ok.into_iter().flatten().collect())
        } else {
            Err(errs.into_iter().filter_map(Result::err).collect())
        }
    }

    /// For each step, the earlier tables it reads; with the problems of steps that read
    /// an undefined table or a table defined only further down.
    fn step_dependencies(&self) -> (BTreeMap<String, Vec<String>>, Vec<Diagnostic>) {
        let state = self.ctx.state();
        let p = &self.pipeline;
        let mut deps = BTreeMap::new();
        let mut problems = Vec::new();
        let mut defined: HashSet<&str> = p.sources.iter().map(|s| s.name.as_str()).collect();
        defined.insert(PERIODS_TABLE);
        for (i, step) in p.steps.iter().enumerate() {
            let what = format!("step `{}`", step.name);
            match sql::parse(&state, &step.sql, &what) {
                Err(d) => problems.push(d),
                Ok(stmt) => {
                    let refs = sql::table_references(&state, &stmt);
                    let mut ok = true;
                    for r in &refs {
                        if defined.contains(r.as_str()) {
                            continue;
                        }
                        ok = false;
                        let later = p.steps[i + 1..].iter().find(|s| s.name == *r);
                        let (message, hint) = match later {
                            Some(_) => (
                                format!("{what} reads `{r}`, which is defined by a later step"),
                                format!("move step `{r}` above step `{}`", step.name),
                            ),
                            None => (
                                format!("{what} reads table `{r}`, which is not defined"),
                                match did_you_mean(r, defined.iter().copied()) {
                                    Some(b) => {
                                        format!("did you mean `{b}`? Tables available here: sources and earlier steps")
                                    }
                                    None => {
                                        format!("define a source or an earlier step named `{r}`; available here: {}", {
                                            let mut v: Vec<&str> = defined.iter().copied().collect();
                                            v.sort();
                                            v.join(", ")
                                        })
                                    }
                                },
                            ),
                        };
                        problems.push(
                            Diagnostic::new("sql::unknown-table", message)
                                .at(&step.file, step.sql.place_of(r))
                                .with_label("not defined")
                                .with_hint(hint),
                        );
                    }
                    if ok {
                        deps.insert(
                            step.name.clone(),
                            refs.into_iter().filter(|r| p.steps.iter().any(|s| s.name == *r)).collect(),
                        );
                    }
                }
            }
            defined.insert(step.name.as_str());
        }
        (deps, problems)
    }

    /// Plans every step and check against the registered sources' schemas, without
    /// scanning data: each step is registered as an empty table of its schema for the steps after it.
    ///
    /// Returns every problem found.
    pub async fn validate(&self) -> Vec<Diagnostic> {
        let (deps, mut problems) = self.step_dependencies();
        let mut broken: HashSet<String> = HashSet::new();
        for step in &self.pipeline.steps {
            let Some(step_deps) = deps.get(&step.name) else {
                broken.insert(step.name.clone());
                continue;
            };
            if step_deps.iter().any(|d| broken.contains(d)) {
                // Its input is already reported; planning it would only repeat that.
                broken.insert(step.name.clone());
                continue;
            }
            match self.plan_step(step).await {
                Ok(df) => {
                    let physical = df.clone().create_physical_plan().await;
                    match physical {
                        Err(e) => {
                            problems.push(sql::sql_diagnostic(&step.sql, &format!("step `{}`", step.name), &e));
                            broken.insert(step.name.clone());
                        }
                        Ok(plan) => {
                            // Later steps only need this step's schema: an empty table keeps
                            // their planning from re-planning everything upstream.
                            let table = EmptyTable::new(plan.schema());
                            if let Err(e) = self.ctx.register_table(step.name.as_str(), Arc::new(table)) {
                                problems.push(sql::sql_diagnostic(&step.sql, &format!("step `{}`", step.name), &e));
                            }
                        }
                    }
                }
                Err(d) => {
                    problems.push(d);
                    broken.insert(step.name.clone());
                }
            }
        }
        for check in &self.pipeline.checks {
            if check.kind.table().is_some_and(|t| broken.contains(t)) {
                continue;
            }
            if let Err(d) = checks::plan(self, check).await {
                problems.push(d);
            }
        }
        for kpi in &self.pipeline.kpis {
            let planned = match crate::kpi::plan_value(self, kpi).await {
                Ok(df) => df
                    .create_physical_plan()
                    .await
                    .map(|_| ())
                    .map_err(|e| sql::sql_diagnostic(&kpi.sql, &format!("KPI `{}`", kpi.id), &e)),
                Err(d) => Err(d),
            };
            if let Err(d) = planned {
                problems.push(d);
            }
        }
        // In file order, as a reader goes through the pipeline.
        problems.sort_by_key(|d| d.place.map_or(0, |p| p.line));
        problems
    }

    async fn plan_step(&self, step: &StepSpec) -> Result<DataFrame, Diagnostic> {
        let state = self.ctx.state();
        let what = format!("step `{}`", step.name);
        let stmt = sql::parse(&state, &step.sql, &what)?;
        let plan = sql::plan(&state, &step.sql, &what, stmt, &self.params).await?;
        Ok(DataFrame::new(state, plan))
    }

    /// Runs every step, each as soon as the steps it reads are done, and registers its
    /// result as a table. `on_step` is told of each finished step.
    ///
    /// # Errors
    /// The problems of the steps that failed (the others still running are awaited).
    pub async fn run_steps(
        self: &Arc<Self>,
        on_step: &(dyn Fn(&StepRecord) + Sync),
    ) -> Result<Vec<StepRecord>, Vec<Diagnostic>> {
        let (deps, problems) = self.step_dependencies();
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut done: HashSet<String> = HashSet::new();
        let mut started: HashSet<String> = HashSet::new();
        let mut records: Vec<StepRecord> = Vec::new();
        let mut failures = Vec::new();
        let mut running = tokio::task::JoinSet::new();
        let parallel = if self.step_budget.is_some() { 1 } else { usize::MAX };
        loop {
            if failures.is_empty() {
                for step in &self.pipeline.steps {
                    let ready = deps.get(&step.name).is_some_and(|d| d.iter().all(|x| done.contains(x)));
                    if ready && running.len() < parallel && started.insert(step.name.clone()) {
                        let engine = Arc::clone(self);
                        let step = step.clone();
                        running.spawn(async move { engine.run_step(&step).await });
                    }
                }
            }
            match running.join_next().await {
                None => break,
                Some(Ok(Ok(record))) => {
                    on_step(&record);
                    done.insert(record.name.clone());
                    records.push(record);
                }
                Some(Ok(Err(d))) => failures.push(d),
                Some(Err(join)) => {
                    failures.push(Diagnostic::new("engine::task", format!("a step task failed: {join}")))
                }
            }
        }
        if !failures.is_empty() {
            return Err(failures);
        }
        // Report in pipeline order, whatever order they finished in.
        records.sort_by_key(|r| self.pipeline.steps.iter().position(|s| s.name == r.name));
        Ok(records)
    }

    async fn run_step(&self, step: &StepSpec) -> Result<StepRecord, Diagnostic> {
        let started = Instant::now();
        let what = format!("step `{}`", step.name);
        let df = self.plan_step(step).await?;
        let fail = |e: datafusion::error::DataFusionError| sql::sql_diagnostic(&step.sql, &what, &e);
        // The physical plan's schema is the one the batches carry (nullability may differ from the logical one).
        let task = df.task_ctx();
        let plan = df.create_physical_plan().await.map_err(fail)?;
        let schema = plan.schema();
        let order = step_output::declared_order(&plan);
        let stream = datafusion::physical_plan::execute_stream(Arc::clone(&plan), Arc::new(task)).map_err(fail)?;
        let kept =
            step_output::keep(&self.ctx, schema, stream, order, self.step_budget.as_ref()).await.map_err(fail)?;
        // EXPLAIN ANALYZE of every step: RUST_LOG=sextant::plans=debug.
        tracing::debug!(
            target: "sextant::plans",
            "step `{}`, plan with metrics:\n{}",
            step.name,
            datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(plan.as_ref()).indent(true)
        );
        let rows = kept.rows;
        self.ctx.register_table(step.name.as_str(), kept.table).map_err(fail)?;
        tracing::debug!(step = %step.name, rows, on_disk = kept.on_disk, "step done");
        Ok(StepRecord { name: step.name.clone(), rows, millis: started.elapsed().as_millis() as u64 })
    }
}

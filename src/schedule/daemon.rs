//! `sextant schedule`: runs every scheduled pipeline at its fire times.
//!
//! - **Start-up.** For each pipeline, attempts left `running` by a process that is gone (and
//!   whose lease is dead) are marked `interrupted` and run again. Fires missed since the
//!   state's `handled_until` are planned by the `catch_up` rule ([`super::plan`]). A first
//!   start (no state) runs fires from now on.
//! - **Firing.** Each pipeline has a one-shot job in tokio-cron-scheduler at its next fire
//!   instant ([`super::fires`] computes it, DST rule included); when it fires, the due fires
//!   are planned and run, and the next one-shot is set.
//! - **One run per pipeline and period**, across daemons: a lease ([`super::lease`]) is taken
//!   before each run, renewed while it runs, and checked again before publishing.
//! - **Retries** of transient failures (object store) with exponential backoff, a timeout per
//!   run; a failed run sends `owners` the failure notice instead of the report.
//! - **Stopping.** On SIGTERM or Ctrl-C no new run starts; runs in progress get the grace
//!   period to finish, then are stopped and recorded as `interrupted`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_cron_scheduler::{Job, JobScheduler};

use super::fires::Timetable;
use super::lease::{self, Acquired, Holder, Lease};
use super::plan::{self, Action, Fire, Planned};
use super::state;
use crate::clock::Clock;
use crate::config::Workspace;
use crate::deliver::{self, DeliverOptions};
use crate::diag::Diagnostic;
use crate::period::Period;
use crate::retry::{self, RetryPolicy};
use crate::run::{RunOptions, RunOutcome, run_pipeline_with};
use crate::spec::Pipeline;
use crate::store::manifest::{RunManifest, RunStatus, Trigger};
use crate::store::{OutputStore, StoreError, ledger};

/// Diagnostics that mean the storage failed, not the data: worth another attempt.
const TRANSIENT_CODES: [&str; 2] = ["source::io", "export::failed"];

/// How the daemon behaves.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// How long a lease lasts without renewal (renewed every third of it).
    pub lease_ttl: Duration,
    /// How long runs in progress may take to finish after SIGTERM.
    pub grace: Duration,
    /// Deliver reports (and failure notices) after runs.
    pub deliver: bool,
    /// Handle what is due now (recoveries, missed and on-time fires), then exit.
    pub once: bool,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            lease_ttl: Duration::from_secs(600),
            grace: Duration::from_secs(300),
            deliver: true,
            once: false,
        }
    }
}

/// A scheduled pipeline.
struct Entry {
    pipeline: Arc<Pipeline>,
    timetable: Timetable,
    /// Fires up to here were planned.
    planned_until: tokio::sync::Mutex<DateTime<Utc>>,
    busy: AtomicBool,
}

/// A batch of runs in progress, for stopping it.
struct Active {
    pipeline: String,
    period: Arc<Mutex<Option<String>>>,
    lease: Arc<Mutex<Option<Arc<Lease>>>>,
    handle: Option<tokio::task::AbortHandle>,
}

/// What the daemon did, for its log.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// The daemon.
pub struct Daemon {
    ws: Workspace,
    store: OutputStore,
    clock: Clock,
    holder: Holder,
    options: DaemonOptions,
    entries: Vec<Entry>,
    stopping: AtomicBool,
    active: Mutex<HashMap<u64, Active>>,
    next_id: AtomicU64,
    /// Runs that failed (after their retries), for the exit code of `--once`.
    failures: AtomicUsize,
    log: Log,
}

/// Why a run did not succeed.
enum RunError {
    Data(Box<RunManifest>, Vec<Diagnostic>),
    Store(StoreError),
    Timeout(Duration),
}

impl RunError {
    fn is_transient(&self) -> bool {
        match self {
            RunError::Store(_) => true,
            RunError::Data(_, problems) => {
                !problems.is_empty() && problems.iter().all(|p| TRANSIENT_CODES.contains(&p.code))
            }
            RunError::Timeout(_) => false,
        }
    }

    fn summary(&self) -> String {
        match self {
            RunError::Data(_, problems) => {
                problems.first().map(|p| p.message.clone()).unwrap_or_else(|| "the run failed".into())
            }
            RunError::Store(e) => e.to_string(),
            RunError::Timeout(t) => format!("timed out after {}", humanize(*t)),
        }
    }
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Errors that stop the daemon from starting.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("no pipeline has a `schedule:` block; add one, e.g. `schedule: {{ cron: \"0 7 1 * *\" }}`")]
    NothingScheduled,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the job scheduler failed: {0}")]
    Scheduler(String),
}

/// How the daemon ended.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// Runs stopped by the end of the grace period, recorded as interrupted.
    pub interrupted: usize,
    /// Runs that failed.
    pub failed: usize,
}

impl Daemon {
    /// A daemon for the scheduled ones among `pipelines`.
    ///
    /// # Errors
    /// When none is scheduled or the output store cannot be opened.
    pub fn new(
        ws: Workspace,
        pipelines: Vec<Pipeline>,
        clock: Clock,
        options: DaemonOptions,
        log: Log,
    ) -> Result<Arc<Daemon>, DaemonError> {
        let store = OutputStore::open(&ws.output_root)?;
        let now = clock.now();
        let entries: Vec<Entry> = pipelines
            .into_iter()
            .filter_map(|p| {
                let timetable = Timetable::new(p.schedule.as_ref()?, &ws.timezone, p.grain, p.fiscal_year_start);
                Some(Entry {
                    pipeline: Arc::new(p),
                    timetable,
                    planned_until: tokio::sync::Mutex::new(now),
                    busy: AtomicBool::new(false),
                })
            })
            .collect();
        if entries.is_empty() {
            return Err(DaemonError::NothingScheduled);
        }
        Ok(Arc::new(Daemon {
            holder: Holder::this_process(now),
            ws,
            store,
            clock,
            options,
            entries,
            stopping: AtomicBool::new(false),
            active: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            failures: AtomicUsize::new(0),
            log,
        }))
    }

    fn say(&self, line: String) {
        (self.log)(&line);
    }

    /// Runs until SIGTERM or Ctrl-C (or, with `once`, until what is due now is done).
    ///
    /// # Errors
    /// When the store cannot be read at start-up or the job scheduler fails.
    pub async fn serve(self: &Arc<Self>) -> Result<Stopped, DaemonError> {
        self.say(format!(
            "sextant schedule: {} pipeline(s), output {}, daemon {}",
            self.entries.len(),
            self.store.root(),
            self.holder.id
        ));
        // Listen for SIGTERM from the start: a signal during a long catch-up is then a
        // graceful stop too, not the default (immediate) death.
        let stop = tokio::spawn(wait_for_stop_signal());
        for i in 0..self.entries.len() {
            self.start_up(i).await?;
        }
        if self.options.once {
            self.wait_idle(None).await;
            return Ok(Stopped { interrupted: 0, failed: self.failures.load(Ordering::SeqCst) });
        }
        let mut scheduler = JobScheduler::new().await.map_err(|e| DaemonError::Scheduler(e.to_string()))?;
        for i in 0..self.entries.len() {
            self.arm(&scheduler, i).await?;
        }
        scheduler.start().await.map_err(|e| DaemonError::Scheduler(e.to_string()))?;
        let _ = stop.await;
        self.stopping.store(true, Ordering::SeqCst);
        let _ = scheduler.shutdown().await;
        let busy = self.active.lock().map(|a| a.len()).unwrap_or(0);
        if busy > 0 {
            self.say(format!("stopping: waiting up to {} for {busy} run(s) in progress", humanize(self.options.grace)));
        } else {
            self.say("stopping: nothing in progress".into());
        }
        let mut stopped = self.stop(self.options.grace).await;
        stopped.failed = self.failures.load(Ordering::SeqCst);
        Ok(stopped)
    }

    /// Recovers interrupted runs and plans missed fires of entry `i`.
    async fn start_up(self: &Arc<Self>, i: usize) -> Result<(), DaemonError> {
        let entry = &self.entries[i];
        let name = entry.pipeline.name.clone();
        let now = self.clock.now();
        let attempts = ledger::attempts(&self.store, Some(&name)).await?;
        // The newest attempt of each period; one still `running` whose lease is dead belongs
        // to a process that stopped half-way.
        let mut newest: BTreeMap<&str, &RunManifest> = BTreeMap::new();
        for m in &attempts {
            newest.entry(m.period.as_str()).or_insert(m);
        }
        let mut recover = Vec::new();
        for (period, m) in newest {
            if m.status != RunStatus::Running
                || lease::current(&self.store, &name, period, now, &self.holder.host).await?.is_some()
            {
                continue;
            }
            let reason = format!(
                "the process running it stopped before it finished (found by the daemon started at {})",
                stamp(now)
            );
            ledger::finish_running(&self.store, &name, period, RunStatus::Interrupted, &reason, now).await?;
            match Period::parse(period, entry.pipeline.grain, entry.pipeline.fiscal_year_start, now.date_naive()) {
                Ok(p) => {
                    self.say(format!("{name} {period}: run {} was interrupted; running it again", m.run_id));
                    let at = m.scheduled_for.as_deref().and_then(|s| DateTime::parse_from_rfc3339(s).ok());
                    recover.push(Planned {
                        fire: Fire { at: at.map_or(now, |t| t.to_utc()), period: p },
                        action: Action::Run(Trigger::Recovery),
                    });
                }
                Err(e) => self.say(format!("{name} {period}: cannot run again: {e}")),
            }
        }
        let handled: Vec<String> = attempts.iter().filter_map(|m| m.scheduled_for.clone()).collect();
        let planned = match state::load(&self.store, &name).await? {
            None => {
                self.say(format!("{name}: first start; fires from now on ({})", entry.timetable.schedule.cron));
                state::save(&self.store, &name, now, &self.holder.id).await?;
                Vec::new()
            }
            Some(s) => {
                let (fires, cut) = entry.timetable.between(s.handled_until, now);
                if cut {
                    self.say(format!(
                        "{name}: more than {} fires since {}; only the newest are considered",
                        super::fires::MAX_FIRES,
                        stamp(s.handled_until)
                    ));
                }
                // Fires already in the ledger were handled by a run that stopped before it
                // could move the state on.
                let fires = fires
                    .into_iter()
                    .filter(|at| !handled.contains(&stamp(*at)))
                    .map(|at| Fire { at, period: entry.timetable.period(at) })
                    .collect();
                plan::plan(fires, now, entry.timetable.schedule.catch_up)
            }
        };
        *entry.planned_until.lock().await = now;
        let mut all = recover;
        all.extend(planned);
        if !all.is_empty() {
            entry.busy.store(true, Ordering::SeqCst);
            self.launch(i, all, now);
        }
        Ok(())
    }

    /// Sets entry `i`'s one-shot job at its next fire. (Boxed: the job re-arms itself.)
    fn arm<'a>(
        self: &'a Arc<Self>,
        scheduler: &'a JobScheduler,
        i: usize,
    ) -> futures::future::BoxFuture<'a, Result<(), DaemonError>> {
        Box::pin(async move {
            let entry = &self.entries[i];
            let from = *entry.planned_until.lock().await;
            let Some(next) = entry.timetable.next(from) else {
                self.say(format!("{}: the schedule has no further fire time", entry.pipeline.name));
                return Ok(());
            };
            // tokio-cron-scheduler counts whole seconds: round up, so that the job does not
            // fire just before the instant (it would find nothing due and set itself again).
            let millis = (next - self.clock.now()).num_milliseconds().max(0) as u64;
            let wait = Duration::from_secs(millis.div_ceil(1000));
            let this = Arc::clone(self);
            let sched = scheduler.clone();
            let job = Job::new_one_shot_async(wait, move |_, _| {
                let this = Arc::clone(&this);
                let sched = sched.clone();
                Box::pin(async move {
                    this.tick(i).await;
                    if !this.stopping.load(Ordering::SeqCst)
                        && let Err(e) = this.arm(&sched, i).await
                    {
                        this.say(format!("cannot set the next fire of {}: {e}", this.entries[i].pipeline.name));
                    }
                })
            })
            .map_err(|e| DaemonError::Scheduler(e.to_string()))?;
            scheduler.add(job).await.map_err(|e| DaemonError::Scheduler(e.to_string()))?;
            Ok(())
        })
    }

    /// Plans and starts what came due for entry `i`, unless it is busy (then the batch in
    /// progress picks the fires up when it ends).
    async fn tick(self: &Arc<Self>, i: usize) {
        let entry = &self.entries[i];
        if self.stopping.load(Ordering::SeqCst) || entry.busy.swap(true, Ordering::SeqCst) {
            return;
        }
        let now = self.clock.now();
        let mut until = entry.planned_until.lock().await;
        let (fires, _) = entry.timetable.between(*until, now);
        tracing::debug!(pipeline = %entry.pipeline.name, from = %*until, %now, fires = fires.len(), "tick");
        *until = now;
        drop(until);
        if fires.is_empty() {
            entry.busy.store(false, Ordering::SeqCst);
            return;
        }
        let fires = fires.into_iter().map(|at| Fire { at, period: entry.timetable.period(at) }).collect();
        let planned = plan::plan(fires, now, entry.timetable.schedule.catch_up);
        self.launch(i, planned, now);
    }

    /// Runs `planned` for entry `i` in a task of its own, then moves the state on and looks
    /// for fires that came due meanwhile.
    fn launch(self: &Arc<Self>, i: usize, planned: Vec<Planned>, planned_at: DateTime<Utc>) {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let period = Arc::new(Mutex::new(None));
        let held = Arc::new(Mutex::new(None));
        if let Ok(mut active) = self.active.lock() {
            active.insert(
                id,
                Active {
                    pipeline: self.entries[i].pipeline.name.clone(),
                    period: Arc::clone(&period),
                    lease: Arc::clone(&held),
                    handle: None,
                },
            );
        }
        let this = Arc::clone(self);
        let task = tokio::spawn(async move {
            let mut complete = true;
            for p in planned {
                if this.stopping.load(Ordering::SeqCst) {
                    // Left for the next start, which plans these fires again.
                    complete = false;
                    break;
                }
                if let Ok(mut slot) = period.lock() {
                    *slot = Some(p.fire.period.to_string());
                }
                if let Err(e) = this.handle(i, &p, &held).await {
                    this.say(format!("{} {}: {e}", this.entries[i].pipeline.name, p.fire.period));
                }
                if let Ok(mut slot) = held.lock() {
                    *slot = None;
                }
            }
            let name = &this.entries[i].pipeline.name;
            if complete && let Err(e) = state::save(&this.store, name, planned_at, &this.holder.id).await {
                this.say(format!("{name}: cannot record the schedule state: {e}"));
            }
            if let Ok(mut active) = this.active.lock() {
                active.remove(&id);
            }
            this.entries[i].busy.store(false, Ordering::SeqCst);
            if !this.options.once {
                let again = Arc::clone(&this);
                tokio::spawn(async move { again.tick(i).await });
            }
        });
        if let Ok(mut active) = self.active.lock()
            && let Some(a) = active.get_mut(&id)
        {
            a.handle = Some(task.abort_handle());
        }
    }

    /// One planned fire: a skipped record, or a run under a lease.
    async fn handle(
        self: &Arc<Self>,
        i: usize,
        p: &Planned,
        held: &Arc<Mutex<Option<Arc<Lease>>>>,
    ) -> Result<(), StoreError> {
        let entry = &self.entries[i];
        let name = &entry.pipeline.name;
        let period = &p.fire.period;
        let trigger = match &p.action {
            Action::Skip(reason) => {
                self.say(format!("{name} {period}: fire at {} skipped: {reason}", stamp(p.fire.at)));
                return self.record_skip(entry, p, reason).await;
            }
            Action::Run(t) => *t,
        };
        let now = self.clock.now();
        let lease =
            match lease::acquire(&self.store, name, &period.to_string(), &self.holder, self.options.lease_ttl, now)
                .await?
            {
                Acquired::Held(l) => Arc::new(l),
                Acquired::Busy(r) => {
                    let reason = format!("already running on {} (lease until {})", r.holder.id, stamp(r.expires_at));
                    self.say(format!("{name} {period}: {reason}; not started here"));
                    return self.record_skip(entry, p, &reason).await;
                }
            };
        // Another daemon may have run this very fire between our reading the ledger and
        // taking the lease: a fire runs once.
        if trigger != Trigger::Recovery {
            let fire = stamp(p.fire.at);
            let done = ledger::attempts(&self.store, Some(name)).await?.into_iter().find(|m| {
                m.period == period.to_string()
                    && m.scheduled_for.as_deref() == Some(fire.as_str())
                    && matches!(m.status, RunStatus::Succeeded | RunStatus::Failed)
            });
            if let Some(m) = done {
                self.say(format!("{name} {period}: the fire at {fire} was already run (run {})", m.run_id));
                return lease.release().await;
            }
        }
        if let Ok(mut slot) = held.lock() {
            *slot = Some(Arc::clone(&lease));
        }
        self.say(format!("{name} {period}: started ({})", trigger_word(trigger)));
        let renew = async {
            loop {
                tokio::time::sleep(self.options.lease_ttl / 3).await;
                match lease.renew(self.clock.now()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        self.say(format!("{name} {period}: the lease was taken over; this run will not publish"));
                        std::future::pending::<()>().await;
                    }
                    Err(e) => self.say(format!("{name} {period}: renewing the lease failed: {e}")),
                }
            }
        };
        let result = tokio::select! {
            r = self.run_with_retries(entry, period, p.fire.at, trigger, &lease) => r,
            () = renew => unreachable!("the renewal loop never ends"),
        };
        self.finish(entry, period, result).await;
        lease.release().await
    }

    async fn run_with_retries(
        &self,
        entry: &Entry,
        period: &Period,
        fire: DateTime<Utc>,
        trigger: Trigger,
        lease: &Arc<Lease>,
    ) -> Result<RunManifest, RunError> {
        let schedule = &entry.timetable.schedule;
        let policy = RetryPolicy { retries: schedule.retries, backoff: schedule.backoff, ..RetryPolicy::default() };
        let options = RunOptions { trigger, scheduled_for: Some(fire), lease: Some(Arc::clone(lease)) };
        let name = &entry.pipeline.name;
        let (result, _) = retry::retry(
            policy,
            |_| {
                let options = options.clone();
                async move {
                    let run = run_pipeline_with(
                        &self.ws,
                        Arc::clone(&entry.pipeline),
                        *period,
                        &self.clock,
                        &options,
                        &|_| {},
                    );
                    match tokio::time::timeout(schedule.timeout, run).await {
                        Ok(Ok(RunOutcome::Succeeded(m))) => Ok(m),
                        Ok(Ok(RunOutcome::Failed(m, problems))) => Err(RunError::Data(Box::new(m), problems)),
                        Ok(Err(e)) => Err(RunError::Store(e)),
                        Err(_) => Err(RunError::Timeout(schedule.timeout)),
                    }
                }
            },
            RunError::is_transient,
            |n, e, wait| {
                self.say(format!(
                    "{name} {period}: attempt {n} failed ({}); retrying in {}",
                    e.summary(),
                    humanize(wait)
                ))
            },
        )
        .await;
        result
    }

    /// Records the end of a run, and delivers: the reports after a success, the failure
    /// notice to the owners otherwise.
    async fn finish(&self, entry: &Entry, period: &Period, result: Result<RunManifest, RunError>) {
        let name = &entry.pipeline.name;
        let pipeline = &entry.pipeline;
        let options = DeliverOptions {
            resend: false,
            retry: RetryPolicy {
                retries: entry.timetable.schedule.retries,
                backoff: entry.timetable.schedule.backoff,
                ..RetryPolicy::default()
            },
            clock: self.clock,
        };
        let deliver = self.options.deliver;
        let (mut manifest, problems) = match result {
            Ok(m) => {
                self.say(format!("{name} {period}: published (run {})", m.run_id));
                if deliver && !pipeline.deliver.is_empty() {
                    let mut m = m;
                    m.deliveries = deliver::deliver_run(&self.ws, pipeline, &self.store, &m, &options).await;
                    self.report_deliveries(name, period, &m);
                    self.save(&m).await;
                }
                return;
            }
            Err(RunError::Data(m, problems)) => {
                self.failures.fetch_add(1, Ordering::SeqCst);
                let first = problems.first().map(|d| d.message.clone()).unwrap_or_default();
                self.say(format!("{name} {period}: FAILED (run {}): {first}; nothing published", m.run_id));
                (*m, problems)
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::SeqCst);
                let reason = e.summary();
                self.say(format!("{name} {period}: FAILED: {reason}; nothing published"));
                let marked = ledger::finish_running(
                    &self.store,
                    name,
                    &period.to_string(),
                    RunStatus::Failed,
                    &reason,
                    self.clock.now(),
                )
                .await
                .unwrap_or_default();
                let Some(m) = marked.into_iter().next() else { return };
                (m, vec![Diagnostic::new("schedule::run-failed", reason)])
            }
        };
        if deliver && !pipeline.owners.is_empty() {
            manifest.deliveries = deliver::notify_failure(&self.ws, pipeline, &manifest, &problems, &options).await;
            self.report_deliveries(name, period, &manifest);
            self.save(&manifest).await;
        }
    }

    fn report_deliveries(&self, name: &str, period: &Period, m: &RunManifest) {
        for d in &m.deliveries {
            let status = serde_json::to_value(d.status).ok().and_then(|v| v.as_str().map(str::to_string));
            self.say(format!(
                "{name} {period}: {} {} to {}: {}{}",
                d.channel,
                d.report,
                d.recipient,
                status.unwrap_or_default(),
                d.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
            ));
        }
    }

    async fn save(&self, m: &RunManifest) {
        if let Err(e) = ledger::save(&self.store, m).await {
            self.say(format!("{} {}: cannot update the ledger: {e}", m.pipeline, m.period));
        }
    }

    async fn record_skip(&self, entry: &Entry, p: &Planned, reason: &str) -> Result<(), StoreError> {
        let now = stamp(self.clock.now());
        let period = &p.fire.period;
        let m = RunManifest {
            run_id: format!("{}-skipped", p.fire.at.format("%Y%m%dT%H%M%SZ")),
            pipeline: entry.pipeline.name.clone(),
            period: period.to_string(),
            grain: period.grain().as_str().to_string(),
            period_start: period.start().to_string(),
            period_end: period.end().to_string(),
            as_of: period.as_of().to_string(),
            status: RunStatus::Skipped,
            started_at: now.clone(),
            finished_at: now,
            sextant_version: env!("CARGO_PKG_VERSION").to_string(),
            pipeline_file: entry.pipeline.path.display().to_string(),
            pipeline_sha256: String::new(),
            data_root: self.ws.data_root.to_string(),
            inputs: Vec::new(),
            steps: Vec::new(),
            checks: Vec::new(),
            outputs: Vec::new(),
            errors: vec![reason.to_string()],
            trigger: Trigger::Schedule,
            scheduled_for: Some(stamp(p.fire.at)),
            deliveries: Vec::new(),
        };
        ledger::save(&self.store, &m).await
    }

    /// Waits until no batch is in progress, or `limit` passed; `true` when idle.
    async fn wait_idle(&self, limit: Option<Duration>) -> bool {
        let started = tokio::time::Instant::now();
        loop {
            if self.active.lock().map(|a| a.is_empty()).unwrap_or(true) {
                return true;
            }
            if limit.is_some_and(|l| started.elapsed() >= l) {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Lets runs in progress finish within `grace`, then stops them and records them as
    /// interrupted, releasing their leases.
    pub async fn stop(&self, grace: Duration) -> Stopped {
        self.stopping.store(true, Ordering::SeqCst);
        if self.wait_idle(Some(grace)).await {
            return Stopped::default();
        }
        let stopped: Vec<Active> =
            self.active.lock().map(|mut a| a.drain().map(|(_, v)| v).collect()).unwrap_or_default();
        let now = self.clock.now();
        let reason =
            format!("sextant was stopped and the run did not finish within the {} grace period", humanize(grace));
        for a in &stopped {
            if let Some(h) = &a.handle {
                h.abort();
            }
            let period = a.period.lock().ok().and_then(|p| p.clone());
            let lease = a.lease.lock().ok().and_then(|l| l.clone());
            if let Some(period) = period {
                match ledger::finish_running(&self.store, &a.pipeline, &period, RunStatus::Interrupted, &reason, now)
                    .await
                {
                    Ok(marked) => {
                        for m in marked {
                            self.say(format!("{} {period}: run {} interrupted", a.pipeline, m.run_id));
                        }
                    }
                    Err(e) => self.say(format!("{} {period}: cannot record the interruption: {e}", a.pipeline)),
                }
                // Staged files of the stopped run are left for the next run of the period,
                // which replaces them; nothing was published.
            }
            if let Some(lease) = lease
                && let Err(e) = lease.release().await
            {
                self.say(format!("{}: cannot release the lease: {e}", a.pipeline));
            }
        }
        Stopped { interrupted: stopped.len(), failed: 0 }
    }
}

/// A fire time and the period it reports.
pub type FireAt = (DateTime<Utc>, Period);

/// The next `count` fires of `timetable` after `from`, with their periods.
pub fn upcoming(timetable: &Timetable, from: DateTime<Utc>, count: usize) -> Vec<FireAt> {
    let mut out = Vec::new();
    let mut t = from;
    while out.len() < count {
        let Some(next) = timetable.next(t) else { break };
        out.push((next, timetable.period(next)));
        t = next;
    }
    out
}

fn trigger_word(t: Trigger) -> &'static str {
    match t {
        Trigger::Manual => "manual",
        Trigger::Schedule => "on schedule",
        Trigger::CatchUp => "catching up a missed fire",
        Trigger::Recovery => "again after an interruption",
        Trigger::Backfill => "backfill",
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

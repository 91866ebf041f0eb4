//! The command line: flags, and the glue from each command to the library.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::clock::Clock;
use crate::config::{Overrides, Workspace};
use crate::diag::{Diagnostic, render_all};
use crate::engine::Engine;
use crate::period::Period;
use crate::run::{RunEvent, RunOutcome, run_pipeline};
use crate::sample::{SampleFormat, SampleOptions};
use crate::spec::{self, Pipeline};

mod deliver;

/// Exit codes: success, data or check failure, usage or configuration error.
pub const EXIT_OK: u8 = 0;
pub const EXIT_DATA: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "sextant",
    version,
    about = "YAML pipelines on DataFusion that turn sales and market-research data into KPI reviews",
    long_about = "sextant reads sales and market-research data (CSV, Parquet, JSON; local or object storage), \
runs the SQL steps of YAML pipelines on DataFusion, gates them with data-quality checks, and publishes \
the results under <output_root>/<pipeline>/<period>/.\n\n\
The workspace is the nearest folder holding config/sextant.yaml; pipelines are found in its pipelines/ folder.\n\n\
Exit codes: 0 success, 1 data or check failure, 2 usage or configuration error.\n\
Logs: set RUST_LOG=debug for details.",
    after_help = "Examples:\n  sextant run monthly_review --period 2026-10\n  sextant validate\n  sextant sample --out /tmp/sales --customers 5000 --months 36 --format parquet"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to colour diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Where data is read from and runs are written to.
#[derive(Debug, Args, Default)]
pub struct RootArgs {
    /// Folder (or object-store URL) holding the input tables; overrides `data_root` in config/sextant.yaml.
    #[arg(long, env = "SEXTANT_DATA_ROOT", value_name = "DIR|URL")]
    pub data_root: Option<String>,
    /// Folder (or object-store URL) the runs are written to; overrides `output_root`.
    #[arg(long = "out", env = "SEXTANT_OUTPUT_ROOT", value_name = "DIR|URL")]
    pub output_root: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run pipelines for a period and publish their outputs.
    ///
    /// Writes <output_root>/<pipeline>/<period>/tables/* and run.json. A run whose `error`
    /// checks fail, or whose inputs cannot be read, publishes nothing; the attempt is
    /// recorded under <output_root>/<pipeline>/.runs/.
    Run {
        /// Pipeline files, or names of pipelines in pipelines/ (without .yaml).
        #[arg(required = true, value_name = "PIPELINE")]
        pipelines: Vec<String>,
        /// The period: a month `2026-10`, a quarter `2026-Q3`, a (fiscal) year `2026`,
        /// or `latest`, the last closed period of the pipeline's grain.
        #[arg(long, short, default_value = "latest")]
        period: String,
        /// After publishing, deliver the reports as the pipeline's `deliver:` block says
        /// (a failed run sends its `owners` the failure notice instead).
        #[arg(long)]
        deliver: bool,
        /// With --deliver: send again what was already delivered for this period.
        #[arg(long, requires = "deliver")]
        resend: bool,
        /// Write the wall time of each phase of the run to this JSON file (for benchmarks).
        #[arg(long, value_name = "FILE")]
        timings: Option<PathBuf>,
        #[command(flatten)]
        roots: RootArgs,
    },
    /// Deliver an already published run: email, webhooks and per-owner warnings, as the
    /// pipeline's `deliver:` block says. What was delivered before is not sent again
    /// unless --resend.
    Deliver {
        #[arg(value_name = "PIPELINE")]
        pipeline: String,
        /// The published period, e.g. 2026-10, or `latest`.
        #[arg(long, short, default_value = "latest")]
        period: String,
        /// Send again to recipients who already got this report for this period.
        #[arg(long)]
        resend: bool,
        #[command(flatten)]
        roots: RootArgs,
    },
    /// Run the scheduled pipelines at their fire times until stopped (SIGTERM or Ctrl-C).
    ///
    /// Pipelines with a `schedule:` block run at the fire times of their cron expression in
    /// their time zone, for the previous (or current) period, and deliver their reports.
    /// On start it runs again what a stopped process left half-done, and applies each
    /// pipeline's `catch_up` rule to fires missed while it was down. Several daemons may
    /// share one output store: a lease keeps one run per pipeline and period at a time.
    /// On SIGTERM it starts nothing new and gives runs in progress --grace to finish.
    Schedule {
        /// Pipelines to schedule; every pipeline with a `schedule:` block when omitted.
        #[arg(value_name = "PIPELINE")]
        pipelines: Vec<String>,
        /// Handle what is due now (interrupted runs, missed and on-time fires), then exit.
        #[arg(long)]
        once: bool,
        /// How long runs in progress may take to finish after SIGTERM, e.g. 30s, 5m.
        #[arg(long, default_value = "5m", value_parser = parse_duration_arg)]
        grace: std::time::Duration,
        /// How long a run's lease lasts without renewal (renewed every third of it).
        #[arg(long, default_value = "10m", value_parser = parse_duration_arg)]
        lease_ttl: std::time::Duration,
        /// Run and publish, but deliver nothing.
        #[arg(long)]
        no_deliver: bool,
        #[command(flatten)]
        roots: RootArgs,
    },
    /// Show the next fire times of scheduled pipelines and the periods they will report on.
    Next {
        /// Only this pipeline.
        #[arg(value_name = "PIPELINE")]
        pipeline: Option<String>,
        /// How many fire times per pipeline.
        #[arg(long, short = 'n', default_value_t = 5)]
        count: usize,
        #[command(flatten)]
        roots: RootArgs,
    },
    /// Print the SQL a run executes, as JSON, with the period's parameters as literals: the
    /// sources, the steps in order, the checks and the KPI queries. For reading it, or for
    /// running the same work in another engine (benches/monthly_review.py runs it in DuckDB).
    Sql {
        #[arg(value_name = "PIPELINE")]
        pipeline: String,
        #[arg(long, short, default_value = "latest")]
        period: String,
        #[command(flatten)]
        roots: RootArgs,
    },
    /// Check pipelines without running them: parse the YAML, read the sources' schemas,
    /// and plan every SQL step and check. Reports every problem at once.
    Validate {
        /// Pipeline files or names; all of pipelines/ when omitted.
        #[arg(value_name = "PIPELINE")]
        pipelines: Vec<String>,
        #[command(flatten)]
        roots: RootArgs,
    },
    /// Generate a deterministic sample dataset of every table in the data contract.
    Sample(SampleArgs),
    /// Show recent runs from the run ledger: every attempt, failed ones too.
    History {
        /// Only this pipeline's runs.
        #[arg(value_name = "PIPELINE")]
        pipeline: Option<String>,
        /// At most this many runs, newest first.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print the ledger records as JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        roots: RootArgs,
    },
    /// Run a pipeline for every period in a range, oldest first.
    ///
    /// Periods that already have a published, successful run are skipped unless --force,
    /// so running the same backfill again resumes where it stopped.
    Backfill {
        #[arg(value_name = "PIPELINE")]
        pipeline: String,
        /// First period, e.g. 2025-01 (or 2025-Q1, 2025 by the pipeline's grain).
        #[arg(long)]
        from: String,
        /// Last period, included.
        #[arg(long)]
        to: String,
        /// Run periods that already succeeded again.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        roots: RootArgs,
    },
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Folder to write the tables into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seed of the generator: the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of customer accounts.
    #[arg(long, default_value_t = 300)]
    pub customers: usize,
    /// Months of history, ending with --end.
    #[arg(long, default_value_t = 24)]
    pub months: u32,
    /// Last month of history.
    #[arg(long, default_value = "2026-10", value_name = "YYYY-MM")]
    pub end: String,
    /// Inject the dirt real exports have (duplicates, unknown ids, text in number columns, a short row).
    #[arg(long)]
    pub dirty: bool,
    /// File format; Parquet for large benchmark data.
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    pub format: FormatArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Csv,
    Parquet,
}

struct Ui {
    color: bool,
}

impl Ui {
    fn problems(&self, diagnostics: &[Diagnostic]) {
        eprint!("{}", render_all(diagnostics, self.color));
    }
}

/// Runs the parsed command line; returns the process exit code.
pub async fn main(cli: Cli) -> ExitCode {
    let color = match cli.global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let ui = Ui { color };
    let clock = match Clock::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Command::Sample(args) = &cli.command {
        return ExitCode::from(sample(args));
    }
    let roots = match &cli.command {
        Command::Run { roots, .. }
        | Command::Deliver { roots, .. }
        | Command::Schedule { roots, .. }
        | Command::Next { roots, .. }
        | Command::Sql { roots, .. }
        | Command::Validate { roots, .. }
        | Command::History { roots, .. }
        | Command::Backfill { roots, .. } => roots,
        Command::Sample(_) => return ExitCode::from(EXIT_OK),
    };
    let overrides = Overrides { data_root: roots.data_root.clone(), output_root: roots.output_root.clone() };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let ws = match Workspace::discover(&cwd, &overrides) {
        Ok(ws) => ws,
        Err(d) => {
            ui.problems(&d);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let code = match &cli.command {
        Command::Run { pipelines, period, deliver, resend, timings, .. } => {
            run(&ui, &ws, &clock, pipelines, period, deliver.then_some(*resend), timings.as_deref()).await
        }
        Command::Sql { pipeline, period, .. } => sql_script(&ui, &ws, &clock, pipeline, period).await,
        Command::Schedule { pipelines, once, grace, lease_ttl, no_deliver, .. } => {
            let options = crate::schedule::daemon::DaemonOptions {
                lease_ttl: *lease_ttl,
                grace: *grace,
                deliver: !no_deliver,
                once: *once,
            };
            schedule(&ui, &ws, &clock, pipelines, options).await
        }
        Command::Next { pipeline, count, .. } => next(&ui, &ws, &clock, pipeline.as_deref(), *count),
        Command::Deliver { pipeline, period, resend, .. } => {
            deliver::command(&ui, &ws, &clock, pipeline, period, *resend).await
        }
        Command::Validate { pipelines, .. } => validate(&ui, &ws, &clock, pipelines).await,
        Command::History { pipeline, limit, json, .. } => history(&ws, pipeline.as_deref(), *limit, *json).await,
        Command::Backfill { pipeline, from, to, force, .. } => {
            backfill(&ui, &ws, &clock, pipeline, from, to, *force).await
        }
        Command::Sample(_) => EXIT_OK,
    };
    ExitCode::from(code)
}

fn pipeline_paths(ws: &Workspace, args: &[String]) -> Vec<PathBuf> {
    let paths: Vec<PathBuf> =
        if args.is_empty() { ws.all_pipelines() } else { args.iter().map(|a| ws.pipeline_path(a)).collect() };
    paths.iter().map(|p| display_path(ws, p)).collect()
}

fn load_pipelines(ui: &Ui, ws: &Workspace, args: &[String]) -> (Vec<Pipeline>, bool) {
    let paths = pipeline_paths(ws, args);
    if paths.is_empty() {
        eprintln!("error: no pipelines found in {}", ws.root.join("pipelines").display());
        return (Vec::new(), false);
    }
    let mut ok = true;
    let mut loaded = Vec::new();
    for path in paths {
        match spec::load(&path) {
            Ok(p) => loaded.push(p),
            Err(d) => {
                ui.problems(&d);
                ok = false;
            }
        }
    }
    (loaded, ok)
}

/// Paths inside the workspace are shown relative to it, as the user typed them.
fn display_path(ws: &Workspace, path: &Path) -> PathBuf {
    path.strip_prefix(&ws.root).map(Path::to_path_buf).unwrap_or_else(|_| path.to_path_buf())
}

/// `deliver`: `Some(resend)` to deliver after each run.
async fn run(
    ui: &Ui,
    ws: &Workspace,
    clock: &Clock,
    args: &[String],
    period_text: &str,
    deliver: Option<bool>,
    timings: Option<&Path>,
) -> u8 {
    let phases: std::sync::Mutex<Vec<(String, std::time::Instant)>> = std::sync::Mutex::new(Vec::new());
    let run_started = std::time::Instant::now();
    let (pipelines, ok) = load_pipelines(ui, ws, args);
    if !ok {
        return EXIT_USAGE;
    }
    let mut code = EXIT_OK;
    for pipeline in pipelines {
        let today = clock.today(&ws.timezone);
        let period = match Period::parse(period_text, pipeline.grain, pipeline.fiscal_year_start, today) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        };
        eprintln!(
            "▶ {} for {period} ({} to {}), data from {}",
            pipeline.name,
            period.start(),
            period.as_of(),
            ws.data_root
        );
        let name = pipeline.name.clone();
        let on_event = |e: RunEvent<'_>| match e {
            RunEvent::Phase(p) => {
                if let Ok(mut list) = phases.lock() {
                    list.push((format!("{name} {p}"), std::time::Instant::now()));
                }
                eprintln!("  · {p}")
            }
            RunEvent::Step(s) => eprintln!("    step  {:<32} {:>8} rows {:>6} ms", s.name, s.rows, s.millis),
            RunEvent::Check(c) => {
                let mark = if c.passed {
                    "ok"
                } else if c.blocks() {
                    "FAILED"
                } else {
                    "warn"
                };
                eprintln!(
                    "    check {:<48} {mark}{}",
                    c.name,
                    if c.passed { String::new() } else { format!(": {}", c.message) }
                );
            }
            RunEvent::Export { path, .. } if path.ends_with(".pdf") || path.ends_with(".html") => {
                eprintln!("    wrote {path}")
            }
            RunEvent::Export { path, rows } => eprintln!("    wrote {path} ({rows} rows)"),
        };
        let pipeline = Arc::new(pipeline);
        match run_pipeline(ws, Arc::clone(&pipeline), period, clock, &on_event).await {
            Ok(RunOutcome::Succeeded(m)) => {
                let dir = format!("{}/{}", ws.output_root, crate::run::run_dir(&name, &period));
                println!("✔ {name} {period}: published {} files to {dir}/ (run {})", m.outputs.len() + 1, m.run_id);
                if let Some(resend) = deliver {
                    code = code.max(deliver::after_run(ws, clock, &pipeline, m, None, resend).await);
                }
            }
            Ok(RunOutcome::Failed(m, problems)) => {
                ui.problems(&problems);
                if deliver.is_some() {
                    deliver::after_run(ws, clock, &pipeline, m.clone(), Some(&problems), false).await;
                }
                eprintln!(
                    "✘ {name} {period}: run {} failed; nothing was published (attempt recorded in {}/{name}/.runs/{period}/)",
                    m.run_id, ws.output_root
                );
                code = code.max(EXIT_DATA);
            }
            Err(e) => {
                eprintln!("✘ {name} {period}: {e}");
                code = code.max(EXIT_DATA);
            }
        }
    }
    if let Some(path) = timings {
        let done = std::time::Instant::now();
        let list = phases.lock().map(|l| l.clone()).unwrap_or_default();
        let rows: Vec<serde_json::Value> = list
            .iter()
            .enumerate()
            .map(|(i, (phase, at))| {
                let end = list.get(i + 1).map_or(done, |(_, next)| *next);
                serde_json::json!({ "phase": phase, "seconds": (end - *at).as_secs_f64() })
            })
            .collect();
        let json = serde_json::json!({ "phases": rows, "total_seconds": (done - run_started).as_secs_f64() });
        if let Err(e) = std::fs::write(path, serde_json::to_vec_pretty(&json).unwrap_or_default()) {
            eprintln!("error: cannot write {}: {e}", path.display());
        }
    }
    code
}

async fn sql_script(ui: &Ui, ws: &Workspace, clock: &Clock, name: &str, period_text: &str) -> u8 {
    let (pipelines, ok) = load_pipelines(ui, ws, &[name.to_string()]);
    let Some(pipeline) = pipelines.into_iter().next().filter(|_| ok) else { return EXIT_USAGE };
    let period = match Period::parse(period_text, pipeline.grain, pipeline.fiscal_year_start, clock.today(&ws.timezone))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let engine = Engine::with_settings(Arc::new(pipeline), &period, &ws.engine);
    match engine.register_sources(&ws.data_root).await {
        Ok(resolved) => {
            println!("{}", serde_json::to_string_pretty(&engine.script(&resolved)).unwrap_or_default());
            EXIT_OK
        }
        Err(problems) => {
            ui.problems(&problems);
            EXIT_DATA
        }
    }
}

fn parse_duration_arg(text: &str) -> Result<std::time::Duration, String> {
    crate::spec::schedule::parse_duration(text)
        .ok_or_else(|| format!("`{text}` is not a duration; write e.g. 45s, 5m, 1h30m"))
}

/// Loads the scheduled pipelines among `args` (all of pipelines/ when empty).
fn scheduled(ui: &Ui, ws: &Workspace, args: &[String]) -> Option<Vec<Pipeline>> {
    let (pipelines, ok) = load_pipelines(ui, ws, args);
    if !ok {
        return None;
    }
    let (with, without): (Vec<Pipeline>, Vec<Pipeline>) = pipelines.into_iter().partition(|p| p.schedule.is_some());
    for p in &without {
        if !args.is_empty() {
            eprintln!("warning: {} has no `schedule:` block; it is not scheduled", p.path.display());
        }
    }
    if with.is_empty() {
        eprintln!(
            "error: no pipeline has a `schedule:` block; add one, e.g.\n  schedule:\n    cron: \"0 7 1 * *\"   # 07:00 on the 1st of every month"
        );
        return None;
    }
    Some(with)
}

async fn schedule(
    ui: &Ui,
    ws: &Workspace,
    clock: &Clock,
    args: &[String],
    options: crate::schedule::daemon::DaemonOptions,
) -> u8 {
    let Some(pipelines) = scheduled(ui, ws, args) else { return EXIT_USAGE };
    if matches!(clock, Clock::Fixed(_)) && !options.once {
        eprintln!("error: SEXTANT_NOW fixes the clock, so no fire time would ever come; use --once with it");
        return EXIT_USAGE;
    }
    let log: crate::schedule::daemon::Log = Arc::new(|line: &str| {
        eprintln!("{} {line}", chrono::Local::now().format("%Y-%m-%d %H:%M:%S"));
    });
    let daemon = match crate::schedule::daemon::Daemon::new(ws.clone(), pipelines, *clock, options, log) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    match daemon.serve().await {
        Ok(stopped) if stopped.interrupted > 0 => {
            eprintln!("stopped; {} run(s) interrupted (they run again at the next start)", stopped.interrupted);
            EXIT_DATA
        }
        Ok(stopped) if stopped.failed > 0 => {
            eprintln!("{} run(s) failed; see `sextant history`", stopped.failed);
            EXIT_DATA
        }
        Ok(_) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_DATA
        }
    }
}

fn next(ui: &Ui, ws: &Workspace, clock: &Clock, pipeline: Option<&str>, count: usize) -> u8 {
    let args: Vec<String> = pipeline.map(str::to_string).into_iter().collect();
    let Some(pipelines) = scheduled(ui, ws, &args) else { return EXIT_USAGE };
    let now = clock.now();
    for p in &pipelines {
        let Some(spec) = &p.schedule else { continue };
        let table = crate::schedule::fires::Timetable::new(spec, &ws.timezone, p.grain, p.fiscal_year_start);
        let catch_up = serde_json::to_value(spec.catch_up).ok().and_then(|v| v.as_str().map(str::to_string));
        println!(
            "{}: cron \"{}\" in {}, reports the {} {}, catch_up: {}",
            p.name,
            spec.cron,
            table.tz.name(),
            match spec.period {
                crate::spec::schedule::PeriodChoice::Previous => "previous",
                crate::spec::schedule::PeriodChoice::Current => "current",
            },
            p.grain.as_str(),
            catch_up.unwrap_or_default()
        );
        for (at, period) in crate::schedule::daemon::upcoming(&table, now, count) {
            let local = at.with_timezone(&table.tz);
            println!(
                "  {}  ({} UTC)  → {period}",
                local.format("%a %Y-%m-%d %H:%M:%S %Z"),
                at.format("%Y-%m-%d %H:%M:%S")
            );
        }
    }
    EXIT_OK
}

async fn history(ws: &Workspace, pipeline: Option<&str>, limit: usize, json: bool) -> u8 {
    let store = match crate::store::OutputStore::open(&ws.output_root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let runs = match crate::store::ledger::attempts(&store, pipeline).await {
        Ok(r) => r.into_iter().take(limit).collect::<Vec<_>>(),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_DATA;
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&runs).unwrap_or_else(|_| "[]".into()));
        return EXIT_OK;
    }
    if runs.is_empty() {
        println!("no runs recorded in {}", ws.output_root);
        return EXIT_OK;
    }
    println!(
        "{:<22} {:<9} {:<11} {:<9} {:<20} {:>8}  {:<26} PROBLEM",
        "PIPELINE", "PERIOD", "STATUS", "TRIGGER", "STARTED (UTC)", "SECONDS", "RUN"
    );
    for m in &runs {
        let seconds = chrono::DateTime::parse_from_rfc3339(&m.finished_at)
            .ok()
            .zip(chrono::DateTime::parse_from_rfc3339(&m.started_at).ok())
            .map_or_else(|| "—".to_string(), |(end, start)| (end - start).num_seconds().to_string());
        let status =
            serde_json::to_value(m.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let problem = m.errors.first().map(|e| e.chars().take(60).collect::<String>()).unwrap_or_default();
        let trigger =
            serde_json::to_value(m.trigger).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        println!(
            "{:<22} {:<9} {:<11} {:<9} {:<20} {:>8}  {:<26} {}",
            m.pipeline,
            m.period,
            status,
            trigger,
            m.started_at.replace('T', " ").trim_end_matches('Z'),
            seconds,
            m.run_id,
            problem
        );
    }
    EXIT_OK
}

async fn backfill(ui: &Ui, ws: &Workspace, clock: &Clock, name: &str, from: &str, to: &str, force: bool) -> u8 {
    let (pipelines, ok) = load_pipelines(ui, ws, &[name.to_string()]);
    let Some(pipeline) = pipelines.into_iter().next().filter(|_| ok) else { return EXIT_USAGE };
    let today = clock.today(&ws.timezone);
    let parse = |t: &str| Period::parse(t, pipeline.grain, pipeline.fiscal_year_start, today);
    let (first, last) = match (parse(from), parse(to)) {
        (Ok(a), Ok(b)) if a.grain() == b.grain() && a.start() <= b.start() => (a, b),
        (Ok(_), Ok(_)) => {
            eprintln!("error: --from and --to must be periods of the same kind, --from first");
            return EXIT_USAGE;
        }
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let mut periods = vec![first];
    while let Some(p) = periods.last().map(Period::shift_one).filter(|p| p.start() <= last.start()) {
        periods.push(p);
    }
    let store = match crate::store::OutputStore::open(&ws.output_root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let pipeline = Arc::new(pipeline);
    let (total, mut failed, mut skipped) = (periods.len(), 0, 0);
    for (i, period) in periods.into_iter().enumerate() {
        let label = format!("[{}/{total}] {} {period}", i + 1, pipeline.name);
        if !force
            && matches!(crate::store::ledger::published(&store, &pipeline.name, &period.to_string()).await, Ok(Some(_)))
        {
            println!("{label}: already published, skipped (use --force to run it again)");
            skipped += 1;
            continue;
        }
        eprintln!("{label}: running…");
        let started = std::time::Instant::now();
        let options = crate::run::RunOptions {
            trigger: crate::store::manifest::Trigger::Backfill,
            ..crate::run::RunOptions::default()
        };
        let phase = |e: RunEvent<'_>| {
            if let RunEvent::Phase(p) = e {
                eprintln!("{label}:   · {p}");
            }
        };
        match crate::run::run_pipeline_with(ws, Arc::clone(&pipeline), period, clock, &options, &phase).await {
            Ok(RunOutcome::Succeeded(m)) => println!(
                "{label}: published ({} files, run {}, {:.1} s)",
                m.outputs.len() + 1,
                m.run_id,
                started.elapsed().as_secs_f64()
            ),
            Ok(RunOutcome::Failed(m, problems)) => {
                failed += 1;
                println!("{label}: FAILED (run {}), nothing published", m.run_id);
                ui.problems(&problems);
            }
            Err(e) => {
                failed += 1;
                println!("{label}: FAILED: {e}");
            }
        }
    }
    println!("{} periods: {} run, {skipped} skipped, {failed} failed", total, total - skipped - failed);
    if failed > 0 { EXIT_DATA } else { EXIT_OK }
}

async fn validate(ui: &Ui, ws: &Workspace, clock: &Clock, args: &[String]) -> u8 {
    let paths = pipeline_paths(ws, args);
    if paths.is_empty() {
        eprintln!("error: no pipelines found in {}", ws.root.join("pipelines").display());
        return EXIT_USAGE;
    }
    let mut ok = true;
    for path in paths {
        let (pipeline, mut problems) = spec::load_lenient(&path);
        let Some(pipeline) = pipeline else {
            ui.problems(&problems);
            ok = false;
            continue;
        };
        let period =
            Period::containing(clock.today(&ws.timezone), pipeline.grain, pipeline.fiscal_year_start).previous();
        let (name, path) = (pipeline.name.clone(), pipeline.path.display().to_string());
        let (sources, steps, checks) = (pipeline.sources.len(), pipeline.steps.len(), pipeline.checks.len());
        let engine = Engine::new(Arc::new(pipeline), &period);
        problems.extend(match engine.register_sources(&ws.data_root).await {
            Ok(_) => engine.validate().await,
            // Without the sources' schemas, the steps cannot be planned.
            Err(p) => p,
        });
        if problems.is_empty() {
            println!("✔ {path}: `{name}` is valid ({sources} sources, {steps} steps, {checks} checks)");
        } else {
            ui.problems(&problems);
            ok = false;
        }
    }
    if ok { EXIT_OK } else { EXIT_USAGE }
}

fn sample(args: &SampleArgs) -> u8 {
    let end_month = match chrono::NaiveDate::parse_from_str(&format!("{}-01", args.end), "%Y-%m-%d") {
        Ok(d) => d,
        Err(_) => {
            eprintln!("error: --end `{}` is not a month; write it as YYYY-MM, e.g. 2026-10", args.end);
            return EXIT_USAGE;
        }
    };
    let opts = SampleOptions {
        seed: args.seed,
        customers: args.customers,
        months: args.months,
        end_month,
        dirty: args.dirty,
        format: match args.format {
            FormatArg::Csv => SampleFormat::Csv,
            FormatArg::Parquet => SampleFormat::Parquet,
        },
    };
    let bar = indicatif::ProgressBar::new_spinner();
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let progress = |table: &str, rows: u64| bar.set_message(format!("{table}: {rows} rows"));
    let result = crate::sample::generate(&opts, &args.out, &progress);
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            for (table, rows, file) in &summary.tables {
                println!("{table:<20} {rows:>10} rows  {}", file.display());
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_DATA
        }
    }
}

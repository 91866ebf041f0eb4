//! Deterministic generator of the standard data contract (domain.md §1).
//!
//! [`generate`] writes one file per table (`orders.csv` or `orders.parquet`, …) for all twelve
//! tables, with exactly the contract's columns in its order. The same [`SampleOptions`] give
//! the same bytes on every platform: randomness comes from a seeded SplitMix64 of our own
//! (no floating-point maths that differs between platforms, no hash-map order), and each part
//! of the story draws from its own stream.
//!
//! # The story the data tells
//!
//! - **Regions** differ in size and trend: the South grows fast, the North declines. The plan
//!   splits revenue by the first year's shares, so the South beats its target and the North
//!   misses by more and more.
//! - **Channels** differ in revenue and cost: events are expensive, online is cheap, so
//!   channel ROI differs; the plan bet on online, which misses.
//! - **Seasonality**: a Q4 peak and a February dip (Chinese New Year) that is deeper than the
//!   plan assumed; mild growth over time. One month of the history (five months before the
//!   end month) has no company revenue target, so its quarter has `no_target`.
//! - **Orders**: most months a customer places its standing replenishment order (steady
//!   consumables and licences), now and then a lumpy project order; enterprise orders are
//!   larger, a few key accounts much larger (revenue concentrates); some customers order
//!   several times on one day.
//! - **Customers** arrive over time (registered weeks before their first order); some never
//!   order (lifecycle "potential"); some churn, and in their last months their usage falls by
//!   more than 30 % and their survey answers sour; a few large enterprise accounts decline over
//!   the last three months (`high_value_decline`). Churned customers do not renew contracts.
//! - **Competition**: Contoso (`C2`) wins the most lost deals, mostly on price, increasingly
//!   in the last quarter, as its price score rises and its prices fall.
//!
//! # Dirty mode
//!
//! With [`SampleOptions::dirty`], a handful of each kind of damage real exports have is
//! written on top of the clean data (the clean figures do not change):
//!
//! - `orders`: exact duplicate lines; an empty `customer_id`; a `customer_id` not in
//!   `customers`; a `channel` with the wrong case or a trailing space (`Online `, `DIRECT`,
//!   `Partner`);
//! - `orders`, CSV only: `n/a` in `amount`; a thousands separator in `unit_price`
//!   (`"1,200.00"`); one line with a field missing (too few columns);
//! - `surveys`: an `nps_score` of 11.
//!
//! Parquet output gets only the kinds its column types can hold.

mod accounts;
mod calendar;
mod dirt;
mod funnel;
mod market;
mod plan;
mod rng;
mod sales;
mod sink;
mod world;

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use self::calendar::Calendar;
use self::dirt::OrderDirtPlan;
use self::sink::{Column, TableSink};

/// The file format of the generated tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SampleFormat {
    /// One CSV file per table, header first (domain.md §1 spelling).
    #[default]
    Csv,
    /// One Parquet file per table: dates as Date32, money as Decimal128(18,2).
    Parquet,
}

/// What sample to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOptions {
    /// Seed of every random draw: the same seed gives the same files, byte for byte.
    pub seed: u64,
    /// Number of customer accounts (order lines grow in proportion).
    pub customers: usize,
    /// Number of months of history, ending with `end_month`.
    pub months: u32,
    /// The last month of history; any day of that month names it (normally the first).
    pub end_month: NaiveDate,
    /// Inject the dirt real exports have (see the module documentation).
    pub dirty: bool,
    /// Output file format.
    pub format: SampleFormat,
}

/// The default end month, 2026-10.
const DEFAULT_END_MONTH: NaiveDate = match NaiveDate::from_ymd_opt(2026, 10, 1) {
    Some(date) => date,
    None => panic!("2026-10-01 is a valid date"),
};

impl Default for SampleOptions {
    /// 300 customers, 24 months ending 2026-10, seed 42, clean CSV: about 1 MB in all.
    fn default() -> Self {
        Self {
            seed: 42,
            customers: 300,
            months: 24,
            end_month: DEFAULT_END_MONTH,
            dirty: false,
            format: SampleFormat::Csv,
        }
    }
}

/// What [`generate`] wrote: `(table, rows, file)` per table, in the order of domain.md §1.
/// Rows are data rows (without the CSV header), including any dirty ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSummary {
    /// `(table name, data rows, path of the file written)`.
    pub tables: Vec<(String, u64, PathBuf)>,
}

/// Why a sample could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// An option is out of range; `hint` says what to use instead.
    #[error("invalid sample option `{option}`: {problem}; {hint}")]
    InvalidOption { option: &'static str, problem: String, hint: &'static str },
    /// The output directory could not be created.
    #[error("cannot create the output directory {}: {source}", path.display())]
    CreateDir { path: PathBuf, source: std::io::Error },
    /// A file could not be created or written.
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    /// The Parquet writer failed (including I/O errors underneath it).
    #[error("cannot write the Parquet file {}: {source}", path.display())]
    Parquet { path: PathBuf, source: datafusion::parquet::errors::ParquetError },
    /// A record batch could not be assembled (a bug in the generator's schema).
    #[error("cannot build a record batch for {}: {source}", path.display())]
    Arrow { path: PathBuf, source: datafusion::arrow::error::ArrowError },
}

/// The tables of domain.md §1, in its order (the order of [`SampleSummary::tables`]).
pub const TABLES: [&str; 12] = [
    "orders",
    "customers",
    "targets",
    "opportunities",
    "contracts",
    "channel_spend",
    "surveys",
    "usage",
    "competitors",
    "competitor_scores",
    "competitor_prices",
    "market_size",
];

/// Upper bounds that keep day numbers and ids well inside their integer types.
const MAX_CUSTOMERS: usize = 50_000_000;
const MAX_MONTHS: u32 = 1_200;

fn validate(opts: &SampleOptions) -> Result<(), SampleError> {
    if opts.customers == 0 {
        return Err(SampleError::InvalidOption {
            option: "customers",
            problem: "is 0, so there would be no sales to report".to_owned(),
            hint: "ask for at least 1 customer (the default is 300)",
        });
    }
    if opts.customers > MAX_CUSTOMERS {
        return Err(SampleError::InvalidOption {
            option: "customers",
            problem: format!("is {}, more than the generator supports", opts.customers),
            hint: "ask for at most 50000000 customers",
        });
    }
    if opts.months == 0 {
        return Err(SampleError::InvalidOption {
            option: "months",
            problem: "is 0, so there would be no history".to_owned(),
            hint: "ask for at least 1 month (the default is 24; year-over-year figures need 13 or more)",
        });
    }
    if opts.months > MAX_MONTHS {
        return Err(SampleError::InvalidOption {
            option: "months",
            problem: format!("is {}, more than the generator supports", opts.months),
            hint: "ask for at most 1200 months (100 years)",
        });
    }
    let end_year = opts.end_month.year();
    let first_year = end_year - (opts.months as i32) / 12 - 4;
    if first_year < 1900 || end_year > 9997 {
        return Err(SampleError::InvalidOption {
            option: "end_month",
            problem: format!(
                "{} with {} months of history (and a plan for the year after) leaves the years 1900-9999",
                opts.end_month.format("%Y-%m"),
                opts.months
            ),
            hint: "choose an end month between 1900 and 9997 and a history that starts after 1900",
        });
    }
    Ok(())
}

/// Creates `<out_dir>/<table>.<ext>`, lets `body` fill it, and records it in `written`.
fn write_table<T>(
    out_dir: &Path,
    table: &'static str,
    columns: &'static [Column],
    opts: &SampleOptions,
    progress: &dyn Fn(&str, u64),
    written: &mut Vec<(String, u64, PathBuf)>,
    body: impl FnOnce(&mut TableSink<'_>) -> Result<T, SampleError>,
) -> Result<T, SampleError> {
    let mut sink = TableSink::create(out_dir, table, columns, opts.format, progress)?;
    let value = body(&mut sink)?;
    written.push(sink.finish()?);
    Ok(value)
}

/// Generates the sample data set described in the module documentation into `out_dir`
/// (created if missing; existing files of the same names are overwritten).
///
/// `progress(table, rows_written_so_far)` is called every 100 000 rows and once at the end
/// of each table; it should be cheap.
///
/// # Errors
/// - [`SampleError::InvalidOption`] for 0 customers or months, or out-of-range options;
/// - [`SampleError::CreateDir`] if `out_dir` cannot be created;
/// - [`SampleError::Write`] / [`SampleError::Parquet`] naming the file that could not be
///   written.
pub fn generate(
    opts: &SampleOptions,
    out_dir: &Path,
    progress: &dyn Fn(&str, u64),
) -> Result<SampleSummary, SampleError> {
    validate(opts)?;
    std::fs::create_dir_all(out_dir)
        .map_err(|source| SampleError::CreateDir { path: out_dir.to_path_buf(), source })?;
    let seed = opts.seed;
    let cal = Calendar::new(opts.end_month.year(), opts.end_month.month(), opts.months);
    let customers = world::customers(seed, &cal, opts.customers);
    let csv = opts.format == SampleFormat::Csv;
    tracing::debug!(customers = customers.len(), months = opts.months, "generating sample data");

    let mut written = Vec::with_capacity(TABLES.len());
    let w = &mut written;
    write_table(out_dir, "customers", &accounts::CUSTOMER_COLUMNS, opts, progress, w, |s| {
        accounts::write_customers(seed, &customers, s)
    })?;
    let mut order_dirt =
        if opts.dirty { OrderDirtPlan::new(seed, &cal, customers.len(), csv) } else { OrderDirtPlan::none() };
    // The orders come first among the sales tables: the plan, the spend and the market size
    // are calibrated against the revenue they actually produced.
    let ledger = write_table(out_dir, "orders", &sales::ORDER_COLUMNS, opts, progress, w, |s| {
        sales::write_orders(seed, &cal, &customers, &mut order_dirt, s)
    })?;
    write_table(out_dir, "targets", &plan::TARGET_COLUMNS, opts, progress, w, |s| {
        plan::write_targets(&cal, &customers, &ledger, s)
    })?;
    write_table(out_dir, "opportunities", &funnel::OPPORTUNITY_COLUMNS, opts, progress, w, |s| {
        funnel::write_opportunities(seed, &cal, &customers, s)
    })?;
    write_table(out_dir, "contracts", &accounts::CONTRACT_COLUMNS, opts, progress, w, |s| {
        accounts::write_contracts(seed, &cal, &customers, s)
    })?;
    write_table(out_dir, "channel_spend", &plan::SPEND_COLUMNS, opts, progress, w, |s| {
        plan::write_channel_spend(seed, &cal, &ledger, s)
    })?;
    let bad_nps_rows = if opts.dirty {
        let expected = accounts::surveys_per_month(customers.len()) * u64::from(opts.months);
        dirt::bad_nps_rows(seed, expected)
    } else {
        Vec::new()
    };
    write_table(out_dir, "surveys", &accounts::SURVEY_COLUMNS, opts, progress, w, |s| {
        accounts::write_surveys(seed, &cal, &customers, &bad_nps_rows, s)
    })?;
    write_table(out_dir, "usage", &accounts::USAGE_COLUMNS, opts, progress, w, |s| {
        accounts::write_usage(seed, &cal, &customers, s)
    })?;
    write_table(out_dir, "competitors", &market::COMPETITOR_COLUMNS, opts, progress, w, market::write_competitors)?;
    write_table(out_dir, "competitor_scores", &market::SCORE_COLUMNS, opts, progress, w, |s| {
        market::write_scores(seed, &cal, s)
    })?;
    write_table(out_dir, "competitor_prices", &market::PRICE_COLUMNS, opts, progress, w, |s| {
        market::write_prices(seed, &cal, s)
    })?;
    write_table(out_dir, "market_size", &market::MARKET_COLUMNS, opts, progress, w, |s| {
        market::write_market_size(seed, &cal, &ledger, s)
    })?;

    // Report in the contract's order, whatever order the tables had to be written in.
    written.sort_by_key(|(table, _, _)| TABLES.iter().position(|t| *t == table.as_str()));
    Ok(SampleSummary { tables: written })
}

#[cfg(test)]
mod tests;

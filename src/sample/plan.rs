//! The `targets` and `channel_spend` tables: the plan management set and what marketing
//! spent, both derived from the revenue ledger so that their scale fits the orders.
//!
//! The plan is smooth (a straight trend times a seasonality) while reality is noisy and has
//! a deeper February dip and a higher Q4 peak than the plan assumed; regions and channels are
//! planned at fixed shares although the South grows and the North shrinks, and the plan bet
//! on online. So some months and some regions or channels miss by more than 10 %, some by
//! less, and some beat the plan (domain.md §3 status rules).

use super::SampleError;
use super::calendar::Calendar;
use super::rng::Rng;
use super::sales::Ledger;
use super::sink::{Cell, Column, Kind, TableSink, col};
use super::world::{
    CHANNELS, Customer, Origin, REGIONS, REP_REGION, REVENUE_SEASONALITY, acquisition_weight, plan_season, rep_id,
    season, stream,
};

pub(crate) const TARGET_COLUMNS: [Column; 5] = [
    col("month", Kind::Month),
    col("metric", Kind::Text),
    col("dimension", Kind::Text),
    col("dimension_value", Kind::Text),
    col("target", Kind::Money),
];

pub(crate) const SPEND_COLUMNS: [Column; 3] =
    [col("month", Kind::Month), col("channel", Kind::Text), col("spend", Kind::Money)];

/// Months of next year's plan written after the end of the history.
pub(crate) const PLAN_AHEAD_MONTHS: i32 = 14;
/// Months before the end month whose company revenue target is missing, so that one quarter
/// has no complete target (domain.md §2 `no_target`).
const MISSING_TARGET_MONTHS_BEFORE_END: i32 = 5;

/// Rounds cents to a multiple of `step` cents: plans are round numbers.
fn round_to(cents: f64, step: i64) -> i64 {
    (cents / step as f64).round() as i64 * step
}

/// Shares of a set of revenue sums, equal shares when there is no revenue at all.
fn shares(sums: &[i64]) -> Vec<f64> {
    let total: i64 = sums.iter().sum();
    if total <= 0 {
        return vec![1.0 / sums.len() as f64; sums.len()];
    }
    sums.iter().map(|&s| s as f64 / total as f64).collect()
}

/// Writes the monthly targets for the history and the [`PLAN_AHEAD_MONTHS`] after it.
///
/// # Errors
/// Any write error of the sink.
pub(crate) fn write_targets(
    cal: &Calendar,
    customers: &[Customer],
    ledger: &Ledger,
    sink: &mut TableSink<'_>,
) -> Result<(), SampleError> {
    let len = cal.len();

    // The company trend: a least-squares line through the deseasonalised monthly revenue.
    let deseasonalised: Vec<f64> = (0..len)
        .map(|i| {
            let revenue_season = 1.0 + REVENUE_SEASONALITY * (season(cal, i) - 1.0);
            ledger.total(i as usize) as f64 / revenue_season
        })
        .collect();
    let n = f64::from(len);
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = deseasonalised.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in deseasonalised.iter().enumerate() {
        let dx = i as f64 - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let trend = |i: i32| (mean_y + slope * (f64::from(i) - mean_x)).max(0.2 * mean_y);

    // Regions are planned at their share of the first year: the plan does not foresee the
    // South's growth nor the North's decline.
    let first_year = len.min(12) as usize;
    let region_shares = shares(
        &(0..REGIONS.len()).map(|r| ledger.by_region[..first_year].iter().map(|m| m[r]).sum()).collect::<Vec<i64>>(),
    );
    let channel_shares = {
        let raw =
            shares(&(0..CHANNELS.len()).map(|c| ledger.by_channel.iter().map(|m| m[c]).sum()).collect::<Vec<i64>>());
        let biased: Vec<f64> = raw.iter().zip(&CHANNELS).map(|(s, c)| s * c.plan_bias).collect();
        let total: f64 = biased.iter().sum();
        biased.iter().map(|b| b / total).collect::<Vec<f64>>()
    };
    // Each rep's share of their region.
    let rep_totals: Vec<i64> = (0..REP_REGION.len()).map(|r| ledger.by_rep.iter().map(|m| m[r]).sum()).collect();
    let rep_shares: Vec<f64> = (0..REP_REGION.len())
        .map(|r| {
            let colleagues: Vec<usize> = (0..REP_REGION.len()).filter(|&o| REP_REGION[o] == REP_REGION[r]).collect();
            let region_total: i64 = colleagues.iter().map(|&o| rep_totals[o]).sum();
            if region_total > 0 { rep_totals[r] as f64 / region_total as f64 } else { 1.0 / colleagues.len() as f64 }
        })
        .collect();

    let acquired = customers.iter().filter(|c| c.origin == Origin::Acquired).count() as f64;
    let acquisition_total: f64 = (0..len).map(|i| acquisition_weight(cal, i)).sum();
    let rep_ids: Vec<String> = (0..REP_REGION.len()).map(rep_id).collect();

    for month in 0..len + PLAN_AHEAD_MONTHS {
        let m = Cell::Month(cal.abs(month));
        // A little stretch on this year, more on next year's plan.
        let ambition = if month < len { 1.01 } else { 1.08 };
        let company = trend(month) * plan_season(cal, month) * ambition;
        if month != len - 1 - MISSING_TARGET_MONTHS_BEFORE_END {
            let all = round_to(company, 100_000);
            sink.row(&[m, Cell::Text("revenue"), Cell::Text("all"), Cell::Text("*"), Cell::Money(all)])?;
        }
        for (r, region) in REGIONS.iter().enumerate() {
            let t = round_to(company * region_shares[r], 10_000);
            sink.row(&[m, Cell::Text("revenue"), Cell::Text("region"), Cell::Text(region.name), Cell::Money(t)])?;
        }
        for (c, channel) in CHANNELS.iter().enumerate() {
            let t = round_to(company * channel_shares[c], 10_000);
            sink.row(&[m, Cell::Text("revenue"), Cell::Text("channel"), Cell::Text(channel.name), Cell::Money(t)])?;
        }
        for (r, id) in rep_ids.iter().enumerate() {
            let t = round_to(company * region_shares[REP_REGION[r]] * rep_shares[r], 10_000);
            sink.row(&[m, Cell::Text("revenue"), Cell::Text("sales_rep"), Cell::Text(id), Cell::Money(t)])?;
        }
        // New customers: the acquisition curve the customers were drawn from, plus 10 %.
        let expected = acquired * acquisition_weight(cal, month) / acquisition_total * 1.1;
        let new_customers = (expected.round() as i64).max(1) * 100;
        sink.row(&[m, Cell::Text("new_customers"), Cell::Text("all"), Cell::Text("*"), Cell::Money(new_customers)])?;
    }
    Ok(())
}

/// Writes the spend per channel and month of the history.
///
/// # Errors
/// Any write error of the sink.
pub(crate) fn write_channel_spend(
    seed: u64,
    cal: &Calendar,
    ledger: &Ledger,
    sink: &mut TableSink<'_>,
) -> Result<(), SampleError> {
    for month in 0..cal.len() {
        for (c, channel) in CHANNELS.iter().enumerate() {
            let mut rng = Rng::stream(seed, &[stream::SPEND, month as u64, c as u64]);
            let revenue = ledger.by_channel[month as usize][c] as f64;
            // Trade-show season (March, September) makes events spend lumpy.
            let shows = if channel.name == "events" && matches!(cal.month_of_year(month), 3 | 9) { 1.6 } else { 1.0 };
            // A floor: a channel costs something even in a month it sells nothing.
            let spend = (revenue * channel.spend_ratio * shows * rng.between(0.85, 1.15)).max(50_000.0);
            sink.row(&[Cell::Month(cal.abs(month)), Cell::Text(channel.name), Cell::Money(spend.round() as i64)])?;
        }
    }
    Ok(())
}

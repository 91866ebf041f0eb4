//! The market-research tables: `competitors`, `competitor_scores`, `competitor_prices` and
//! `market_size` (domain.md §6).
//!
//! Scores wander slowly around each company's profile; Contoso's price score and prices
//! improve over the last quarter (the story behind the lost deals in [`super::funnel`]).
//! The market grows steadily, so our share moves with our own growth: up in the South, down
//! in the North.

use super::SampleError;
use super::calendar::Calendar;
use super::rng::Rng;
use super::sales::Ledger;
use super::sink::{Cell, Column, Kind, TableSink, col};
use super::world::{COMPETITORS, PRICED_PRODUCTS, PRODUCTS, REGIONS, season, stream, unit_price};

pub(crate) const COMPETITOR_COLUMNS: [Column; 2] = [col("competitor_id", Kind::Text), col("name", Kind::Text)];

pub(crate) const SCORE_COLUMNS: [Column; 5] = [
    col("month", Kind::Month),
    col("competitor_id", Kind::Text),
    col("dimension", Kind::Text),
    col("score", Kind::Tenths),
    col("note", Kind::Text),
];

pub(crate) const PRICE_COLUMNS: [Column; 4] = [
    col("month", Kind::Month),
    col("competitor_id", Kind::Text),
    col("product_id", Kind::Text),
    col("price", Kind::Money),
];

pub(crate) const MARKET_COLUMNS: [Column; 3] =
    [col("month", Kind::Month), col("segment", Kind::Text), col("market_revenue", Kind::Money)];

/// The five dimensions of the competitor dissection (五维拆解法).
const DIMENSIONS: [&str; 5] = ["product", "price", "channel", "service", "customer"];

/// Who is scored: us, then the competitors.
fn scored_ids() -> [&'static str; 4] {
    ["self", COMPETITORS[0].0, COMPETITORS[1].0, COMPETITORS[2].0]
}

/// Typical scores in tenths, `[self, C1, C2, C3][dimension]`.
const BASE_SCORES: [[f64; 5]; 4] = [
    [76.0, 68.0, 72.0, 81.0, 74.0],
    [80.0, 62.0, 70.0, 70.0, 71.0],
    [66.0, 72.0, 78.0, 64.0, 68.0],
    [70.0, 69.0, 61.0, 74.0, 66.0],
];

/// Short analyst notes per dimension; one is picked per observation.
const NOTES: [[&str; 3]; 5] = [
    ["new release", "feature parity", "roadmap slip"],
    ["list price stable", "selective discounts", "price hold"],
    ["partner network", "online push", "distributor change"],
    ["response time", "support staffing", "field service"],
    ["key account wins", "reference customers", "base stable"],
];

/// Competitor prices relative to ours, `[C1, C2, C3]`.
const PRICE_RATIOS: [f64; 3] = [1.06, 0.96, 1.01];

pub(crate) fn write_competitors(sink: &mut TableSink<'_>) -> Result<(), SampleError> {
    for (id, name) in COMPETITORS {
        sink.row(&[Cell::Text(id), Cell::Text(name)])?;
    }
    Ok(())
}

/// How far into the last quarter a month is: 1, 2 or 3 for its months, else 0.
fn last_quarter_step(cal: &Calendar, month: i32) -> i32 {
    (month - (cal.len() - 4)).clamp(0, 3)
}

/// Writes the five-dimension scores of us and each competitor, every month.
///
/// # Errors
/// Any write error of the sink.
pub(crate) fn write_scores(seed: u64, cal: &Calendar, sink: &mut TableSink<'_>) -> Result<(), SampleError> {
    let ids = scored_ids();
    // A mean-reverting walk per (company, dimension), so scores move slowly month to month.
    let mut drift = [[0.0f64; 5]; 4];
    let mut rngs: Vec<Rng> = (0..4 * 5).map(|k| Rng::stream(seed, &[stream::SCORES, k as u64])).collect();
    for month in 0..cal.len() {
        for (who, id) in ids.iter().enumerate() {
            for (d, dimension) in DIMENSIONS.iter().enumerate() {
                let rng = &mut rngs[who * 5 + d];
                drift[who][d] = 0.7 * drift[who][d] + rng.between(-3.0, 3.0);
                let contoso_price = *id == "C2" && *dimension == "price";
                let step = last_quarter_step(cal, month);
                let boost = if contoso_price { 6.0 * f64::from(step) } else { 0.0 };
                let tenths = (BASE_SCORES[who][d] + drift[who][d] + boost).round().clamp(0.0, 100.0);
                let note = if contoso_price && step > 0 {
                    "price cuts, bundle discounts"
                } else {
                    NOTES[d][rng.below(3) as usize]
                };
                sink.row(&[
                    Cell::Month(cal.abs(month)),
                    Cell::Text(id),
                    Cell::Text(dimension),
                    Cell::Tenths(tenths as i64),
                    Cell::Text(note),
                ])?;
            }
        }
    }
    Ok(())
}

/// Writes the observed prices of a handful of products, ours and the competitors', monthly.
///
/// # Errors
/// Any write error of the sink.
pub(crate) fn write_prices(seed: u64, cal: &Calendar, sink: &mut TableSink<'_>) -> Result<(), SampleError> {
    let ids = scored_ids();
    for month in 0..cal.len() {
        let step = last_quarter_step(cal, month);
        for (who, id) in ids.iter().enumerate() {
            for &p in &PRICED_PRODUCTS {
                let ours = unit_price(p, cal, month);
                let price = if who == 0 {
                    ours
                } else {
                    let mut rng = Rng::stream(seed, &[stream::PRICES, month as u64, who as u64, p as u64]);
                    let mut ratio = PRICE_RATIOS[who - 1];
                    if *id == "C2" {
                        // Contoso undercuts harder through the last quarter.
                        ratio -= 0.035 * f64::from(step);
                    }
                    // Competitors' list prices are whole currency units.
                    let cents = ours as f64 * ratio * rng.between(0.98, 1.02);
                    ((cents / 100.0).round() as i64 * 100).max(100)
                };
                sink.row(&[
                    Cell::Month(cal.abs(month)),
                    Cell::Text(id),
                    Cell::Text(PRODUCTS[p].id),
                    Cell::Money(price),
                ])?;
            }
        }
    }
    Ok(())
}

/// Yearly growth of the market as a whole.
const MARKET_GROWTH: f64 = 0.06;

/// Writes the estimated market revenue per region and month, calibrated so that our average
/// share of each region is its [`super::world::Region::share`].
///
/// # Errors
/// Any write error of the sink.
pub(crate) fn write_market_size(
    seed: u64,
    cal: &Calendar,
    ledger: &Ledger,
    sink: &mut TableSink<'_>,
) -> Result<(), SampleError> {
    let len = cal.len();
    let shape = |i: i32| season(cal, i) * (1.0 + MARKET_GROWTH * f64::from(i) / 12.0);
    let shape_total: f64 = (0..len).map(shape).sum();
    let levels: Vec<f64> = REGIONS
        .iter()
        .enumerate()
        .map(|(r, region)| {
            let ours: i64 = ledger.by_region.iter().map(|m| m[r]).sum();
            // Without any revenue there, pretend a modest market rather than an empty one.
            let ours = if ours > 0 { ours as f64 } else { 1.0e8 };
            ours / shape_total / region.share
        })
        .collect();
    for month in 0..len {
        for (r, region) in REGIONS.iter().enumerate() {
            let mut rng = Rng::stream(seed, &[stream::MARKET, month as u64, r as u64]);
            let cents = levels[r] * shape(month) * rng.between(0.97, 1.03);
            // Research estimates are round: to the thousand.
            let rounded = ((cents / 100_000.0).round() as i64).max(1) * 100_000;
            sink.row(&[Cell::Month(cal.abs(month)), Cell::Text(region.name), Cell::Money(rounded)])?;
        }
    }
    Ok(())
}

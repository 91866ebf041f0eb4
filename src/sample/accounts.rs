//! The tables about accounts rather than sales: `customers`, `contracts`, `surveys` and
//! `usage`. They follow each customer's fate from [`super::world`]: a churned customer does
//! not renew, and in its last months (or a declining key account's) usage drops by more than
//! 30 % and survey answers sour, which is what the warnings of domain.md §5 look for.

use super::SampleError;
use super::calendar::{Calendar, civil_from_days, year_later_minus_one};
use super::rng::Rng;
use super::sink::{Cell, Column, Kind, TableSink, col};
use super::world::{Customer, INDUSTRIES, Origin, REGIONS, customer_id, customer_name, stream};

pub(crate) const CUSTOMER_COLUMNS: [Column; 7] = [
    col("customer_id", Kind::Text),
    col("name", Kind::Text),
    col("industry", Kind::Text),
    col("region", Kind::Text),
    col("size", Kind::Text),
    col("account_manager", Kind::Text),
    col("created_date", Kind::Date),
];

pub(crate) const CONTRACT_COLUMNS: [Column; 5] = [
    col("contract_id", Kind::Text),
    col("customer_id", Kind::Text),
    col("start_date", Kind::Date),
    col("end_date", Kind::Date),
    col("renewed", Kind::Bool),
];

pub(crate) const SURVEY_COLUMNS: [Column; 4] = [
    col("response_date", Kind::Date),
    col("customer_id", Kind::Text),
    col("nps_score", Kind::Int),
    col("csat_score", Kind::Int),
];

pub(crate) const USAGE_COLUMNS: [Column; 3] =
    [col("month", Kind::Month), col("customer_id", Kind::Text), col("active_hours", Kind::Tenths)];

/// Writes the customer accounts in id order.
///
/// # Errors
/// Any write error of the sink.
pub(crate) fn write_customers(seed: u64, customers: &[Customer], sink: &mut TableSink<'_>) -> Result<(), SampleError> {
    for (i, c) in customers.iter().enumerate() {
        let id = customer_id(i);
        let name = customer_name(seed, i, c.industry);
        let manager = format!("am{:02}", c.account_manager + 1);
        sink.row(&[
            Cell::Text(&id),
            Cell::Text(&name),
            Cell::Text(INDUSTRIES[c.industry].name),
            Cell::Text(REGIONS[c.region].name),
            Cell::Text(if c.enterprise { "enterprise" } else { "SME" }),
            Cell::Text(&manager),
            Cell::Date(c.created),
        ])?;
    }
    Ok(())
}

/// Renewals are decided about a month before the contract ends; later ones are still open.
const RENEWAL_DECIDED_DAYS_BEFORE_END: i32 = 30;

/// Writes the annual contracts of most enterprise and some SME customers that overlap the
/// history, customer by customer.
///
/// # Errors
/// Any write error of the sink.
pub(crate) fn write_contracts(
    seed: u64,
    cal: &Calendar,
    customers: &[Customer],
    sink: &mut TableSink<'_>,
) -> Result<(), SampleError> {
    let as_of = cal.as_of();
    let decided_until = as_of - RENEWAL_DECIDED_DAYS_BEFORE_END;
    let mut number: u64 = 0;
    for (i, c) in customers.iter().enumerate() {
        let mut rng = Rng::stream(seed, &[stream::CONTRACTS, i as u64]);
        let signs = match c.origin {
            Origin::Prospect => false,
            _ => rng.chance(if c.enterprise { 0.85 } else { 0.25 }),
        };
        if !signs {
            continue;
        }
        let mut start = match c.origin {
            Origin::Acquired => cal.start(c.first_month) + rng.range(0, 27) as i32,
            _ => c.created + rng.range(0, 60) as i32,
        };
        // Contracts start on day 1-28 so that every anniversary exists.
        let (_, _, day) = civil_from_days(start);
        if day > 28 {
            start -= day as i32 - 28;
        }
        // Contracts that ended before the history are not in the export.
        while year_later_minus_one(start) < cal.history_start() {
            start = year_later_minus_one(start) + 1;
        }
        let id = customer_id(i);
        while start <= as_of {
            let end = year_later_minus_one(start);
            let renewed = if end > decided_until {
                None
            } else if c.churns() && end >= cal.start(c.last_month) - RENEWAL_DECIDED_DAYS_BEFORE_END {
                // The contract running out when the customer stops buying is not renewed.
                Some(false)
            } else if c.declining && end >= cal.start(cal.len() - 6) {
                Some(rng.chance(0.5))
            } else {
                Some(rng.chance(0.93))
            };
            number += 1;
            let contract = format!("K{number:04}");
            sink.row(&[
                Cell::Text(&contract),
                Cell::Text(&id),
                Cell::Date(start),
                Cell::Date(end),
                renewed.map_or(Cell::Null, Cell::Bool),
            ])?;
            if renewed != Some(true) {
                break;
            }
            start = end + 1;
        }
    }
    Ok(())
}

/// Survey answers per month: a few, more for a larger customer base.
pub(crate) fn surveys_per_month(customers: usize) -> u64 {
    (customers as u64 / 15).max(2)
}

/// Draws an NPS answer (0-10) and a CSAT answer (1-5) that agree with each other; unhappy
/// customers are mostly detractors.
fn survey_answer(rng: &mut Rng, unhappy: bool) -> (i64, i64) {
    // Detractors (0-6), passives (7-8), promoters (9-10).
    let group = if unhappy { rng.weighted(&[0.67, 0.25, 0.08]) } else { rng.weighted(&[0.22, 0.33, 0.45]) };
    let nps = match group {
        0 => rng.range(0, 6),
        1 => rng.range(7, 8),
        _ => rng.range(9, 10),
    };
    let csat_weights: [f64; 5] = match group {
        0 => [0.05, 0.20, 0.40, 0.35, 0.0],
        1 => [0.0, 0.0, 0.10, 0.75, 0.15],
        _ => [0.0, 0.0, 0.0, 0.30, 0.70],
    };
    (nps, 1 + rng.weighted(&csat_weights) as i64)
}

/// Writes the survey answers, month by month in date order. `bad_nps_rows` are the row
/// positions that get the out-of-range score 11 (dirty mode).
///
/// # Errors
/// Any write error of the sink.
pub(crate) fn write_surveys(
    seed: u64,
    cal: &Calendar,
    customers: &[Customer],
    bad_nps_rows: &[u64],
    sink: &mut TableSink<'_>,
) -> Result<(), SampleError> {
    let per_month = surveys_per_month(customers.len());
    let mut row: u64 = 0;
    let mut answers: Vec<(i32, usize, u64, i64, i64)> = Vec::new();
    for month in 0..cal.len() {
        answers.clear();
        for k in 0..per_month {
            let mut rng = Rng::stream(seed, &[stream::SURVEYS, month as u64, k]);
            // Only customers buying that month are asked; a bounded number of tries keeps
            // this cheap when few are.
            let Some(customer) =
                (0..30).map(|_| rng.below(customers.len() as u64) as usize).find(|&i| customers[i].buys_in(month))
            else {
                continue;
            };
            let day = cal.start(month) + rng.below(cal.days_in(month) as u64) as i32;
            let (nps, csat) = survey_answer(&mut rng, customers[customer].unhappy_in(month, cal));
            answers.push((day, customer, k, nps, csat));
        }
        answers.sort_unstable();
        for &(day, customer, _, nps, csat) in &answers {
            let nps = if bad_nps_rows.binary_search(&row).is_ok() { 11 } else { nps };
            let id = customer_id(customer);
            sink.row(&[Cell::Date(day), Cell::Text(&id), Cell::Int(nps), Cell::Int(csat)])?;
            row += 1;
        }
    }
    Ok(())
}

/// Writes monthly active hours of the customers that have usage data, month by month.
///
/// # Errors
/// Any write error of the sink.
pub(crate) fn write_usage(
    seed: u64,
    cal: &Calendar,
    customers: &[Customer],
    sink: &mut TableSink<'_>,
) -> Result<(), SampleError> {
    let len = cal.len();
    let ids: Vec<String> = (0..customers.len()).map(customer_id).collect();
    for month in 0..len {
        let holiday = if cal.month_of_year(month) == 2 { 0.93 } else { 1.0 };
        let growth = 1.0 + 0.03 * f64::from(month) / 12.0;
        for (i, c) in customers.iter().enumerate() {
            // Usage lingers one month after the last order, at a trickle.
            if c.usage_hours <= 0.0
                || c.origin == Origin::Prospect
                || month < c.first_month
                || month > c.last_month.saturating_add(1)
            {
                continue;
            }
            let mut rng = Rng::stream(seed, &[stream::USAGE, i as u64, month as u64]);
            let onboarding = match (c.origin, month - c.first_month) {
                (Origin::Acquired, 0) => 0.6,
                (Origin::Acquired, 1) => 0.8,
                _ => 1.0,
            };
            // The drop is what the `usage_drop` warning (≤ 70 % of the 3 months before,
            // domain.md §5) must catch; ordinary noise and the holiday stay above 80 %.
            let churning = match c.last_month - month {
                2 => 0.75,
                1 => 0.55,
                0 => 0.4,
                -1 => 0.2,
                _ => 1.0,
            };
            let declining = if c.declining {
                match len - 1 - month {
                    2 => 0.8,
                    1 => 0.6,
                    0 => 0.45,
                    _ => 1.0,
                }
            } else {
                1.0
            };
            let hours = c.usage_hours * growth * holiday * onboarding * churning * declining * rng.between(0.93, 1.07);
            let tenths = ((hours * 10.0).round() as i64).max(1);
            sink.row(&[Cell::Month(cal.abs(month)), Cell::Text(&ids[i]), Cell::Tenths(tenths)])?;
        }
    }
    Ok(())
}

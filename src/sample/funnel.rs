//! The `opportunities` table: the sales funnel, with who we lose deals to and why.
//!
//! Each deal walks the stages lead → qualified → proposal → negotiation → won and may drop
//! out (lost) after any of them; a deal whose close date would fall after the end of the
//! history is still open, at the stage its elapsed time reached. Contoso (`C2`) takes more of
//! the lost deals than anyone, mostly on price, and even more in the last quarter, when our
//! win rate dips.

use super::SampleError;
use super::calendar::Calendar;
use super::rng::Rng;
use super::sink::{Cell, Column, Kind, TableSink, col};
use super::world::{CHANNELS, COMPETITORS, Customer, customer_id, season, stream};

pub(crate) const OPPORTUNITY_COLUMNS: [Column; 10] = [
    col("opportunity_id", Kind::Text),
    col("customer_id", Kind::Text),
    col("created_date", Kind::Date),
    col("stage", Kind::Text),
    col("max_stage_reached", Kind::Text),
    col("closed_date", Kind::Date),
    col("amount", Kind::Money),
    col("channel", Kind::Text),
    col("lost_reason", Kind::Text),
    col("lost_to_competitor", Kind::Text),
];

/// The open stages in funnel order, then `won` (index 4). `lost` is never a maximum stage.
const STAGES: [&str; 5] = ["lead", "qualified", "proposal", "negotiation", "won"];
const LOST_REASONS: [&str; 5] = ["price", "features", "relationship", "timing", "budget"];
/// Chance to move on from each open stage (the last one is the close rate of negotiations).
const ADVANCE: [f64; 4] = [0.80, 0.75, 0.80, 0.65];
/// New opportunities per customer and month, before seasonality.
const OPPORTUNITIES_PER_CUSTOMER: f64 = 0.12;

/// One deal, as drawn.
struct Deal {
    created: i32,
    draw: u64,
    customer: usize,
    stage: usize,
    max_stage: usize,
    lost: bool,
    closed: Option<i32>,
    amount: i64,
    channel: usize,
    lost_reason: Option<&'static str>,
    lost_to: Option<&'static str>,
}

fn draw_deal(seed: u64, cal: &Calendar, customers: &[Customer], month: i32, draw: u64) -> Option<Deal> {
    let len = cal.len();
    let mut rng = Rng::stream(seed, &[stream::OPPORTUNITIES, month as u64, draw]);
    let created = cal.start(month) + rng.below(cal.days_in(month) as u64) as i32;
    // Customers are sorted by creation date: those known by `created` are a prefix.
    let known = customers.partition_point(|c| c.created <= created);
    if known == 0 {
        return None;
    }
    let customer = rng.below(known as u64) as usize;
    let c = &customers[customer];
    let channel = if rng.chance(0.75) {
        c.channel
    } else {
        rng.weighted(&CHANNELS.map(|ch| if c.enterprise { ch.enterprise_weight } else { ch.sme_weight }))
    };
    // Deals negotiated from a month before the last quarter close in it.
    let contested = month >= len - 4;

    // How far the deal will get if given time.
    let mut top = 0;
    while top < 4 {
        let mut p = ADVANCE[top];
        if top == 0 {
            p *= CHANNELS[channel].lead_quality;
        }
        if top == 3 && contested {
            // Contoso's price cuts bite at the negotiating table.
            p *= 0.6;
        }
        if !rng.chance(p.min(0.98)) {
            break;
        }
        top += 1;
    }
    let won = top == 4;
    // Sales cycles lengthen a little over the history (domain.md §3 `sales_cycle_days`).
    let drift = (6.0 * f64::from(month) / f64::from(len)).floor() as i64;
    let cycle = if won { 14 + rng.range(0, 30) + drift } else { 8 + 7 * top as i64 + rng.range(0, 20) } as i32;
    let amount = if c.enterprise { rng.range(300, 2_500) * 10_000 } else { rng.range(30, 400) * 10_000 };
    let closes = created + cycle;

    let mut deal = Deal {
        created,
        draw,
        customer,
        stage: top,
        max_stage: top,
        lost: !won,
        closed: Some(closes),
        amount,
        channel,
        lost_reason: None,
        lost_to: None,
    };
    if closes > cal.as_of() {
        // Still open at the end of the history: at the stage its elapsed time reached.
        let elapsed = f64::from(cal.as_of() - created) / f64::from(cycle);
        let reached = ((elapsed * (top + 1) as f64).floor() as usize).min(top).min(3);
        deal.stage = reached;
        deal.max_stage = reached;
        deal.lost = false;
        deal.closed = None;
    } else if !won {
        // Who took it: Contoso most of all, increasingly so in the last quarter.
        let who = if closes >= cal.start(len - 3) {
            rng.weighted(&[0.22, 0.16, 0.52, 0.10])
        } else {
            rng.weighted(&[0.30, 0.22, 0.33, 0.15])
        };
        let reasons: [f64; 5] = match who {
            1 => [0.15, 0.40, 0.20, 0.10, 0.15], // Northwind: the better product
            2 => [0.60, 0.10, 0.10, 0.10, 0.10], // Contoso: cheaper
            3 => [0.20, 0.20, 0.35, 0.10, 0.15], // Fabrikam: the relationship
            _ => [0.10, 0.10, 0.10, 0.35, 0.35], // nobody: no budget, bad timing
        };
        deal.lost_reason = Some(LOST_REASONS[rng.weighted(&reasons)]);
        deal.lost_to = (who > 0).then(|| COMPETITORS[who - 1].0);
    }
    Some(deal)
}

/// Writes the opportunities, month by month in creation order.
///
/// # Errors
/// Any write error of the sink.
pub(crate) fn write_opportunities(
    seed: u64,
    cal: &Calendar,
    customers: &[Customer],
    sink: &mut TableSink<'_>,
) -> Result<(), SampleError> {
    let mut number: u64 = 0;
    let mut deals: Vec<Deal> = Vec::new();
    for month in 0..cal.len() {
        let mut rng = Rng::stream(seed, &[stream::OPPORTUNITIES, month as u64, u64::MAX]);
        let expected = customers.len() as f64 * OPPORTUNITIES_PER_CUSTOMER * season(cal, month);
        let count = expected.floor() as u64 + u64::from(rng.chance(expected.fract()));
        deals.clear();
        deals.extend((0..count).filter_map(|k| draw_deal(seed, cal, customers, month, k)));
        deals.sort_by_key(|d| (d.created, d.draw));
        for d in &deals {
            number += 1;
            let id = format!("OP{number:05}");
            let customer = customer_id(d.customer);
            let stage = if d.lost { "lost" } else { STAGES[d.stage] };
            sink.row(&[
                Cell::Text(&id),
                Cell::Text(&customer),
                Cell::Date(d.created),
                Cell::Text(stage),
                Cell::Text(STAGES[d.max_stage]),
                d.closed.map_or(Cell::Null, Cell::Date),
                Cell::Money(d.amount),
                Cell::Text(CHANNELS[d.channel].name),
                d.lost_reason.map_or(Cell::Null, Cell::Text),
                d.lost_to.map_or(Cell::Null, Cell::Text),
            ])?;
        }
    }
    Ok(())
}

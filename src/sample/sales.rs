//! The `orders` table, generated month by month, and the revenue ledger the plan and the
//! market research are later calibrated against.
//!
//! Customers buy in two ways, as B2B customers do: a standing replenishment order most
//! months (the same consumables and licences, in steady quantities, so a healthy account's
//! monthly revenue is comparable month to month) and project orders now and then (any
//! product, lumpy, strongly seasonal). Regional and company trends scale both; a churning or
//! declining customer's orders fade.
//!
//! Each month, every buying customer draws its orders and their days; the month's orders are
//! then sorted by day so that order ids rise with `order_date`, and their lines are written
//! one by one. Only one month of order headers is held at a time.

use std::fmt::Write as _;

use super::SampleError;
use super::calendar::Calendar;
use super::dirt::{OrderDirt, OrderDirtPlan};
use super::rng::Rng;
use super::sink::{Cell, Column, Kind, TableSink, col, money_with_separators};
use super::world::{
    CHANNELS, COMPANY_GROWTH, Customer, Origin, PRODUCTS, REGIONS, REP_REGION, STANDING_SEASONALITY, customer_id,
    rep_id, season, stream, unit_price,
};

pub(crate) const ORDER_COLUMNS: [Column; 10] = [
    col("order_id", Kind::Text),
    col("order_date", Kind::Date),
    col("customer_id", Kind::Text),
    col("product_id", Kind::Text),
    col("channel", Kind::Text),
    col("region", Kind::Text),
    col("sales_rep", Kind::Text),
    col("quantity", Kind::Int),
    col("unit_price", Kind::Money),
    col("amount", Kind::Money),
];

/// Net revenue in cents per history month, by region, channel and sales rep: what really
/// happened, from which a plausible plan, marketing spend and market size are derived.
pub(crate) struct Ledger {
    pub(crate) by_region: Vec<[i64; REGIONS.len()]>,
    pub(crate) by_channel: Vec<[i64; CHANNELS.len()]>,
    pub(crate) by_rep: Vec<[i64; REP_REGION.len()]>,
}

impl Ledger {
    fn new(months: usize) -> Self {
        Self {
            by_region: vec![[0; REGIONS.len()]; months],
            by_channel: vec![[0; CHANNELS.len()]; months],
            by_rep: vec![[0; REP_REGION.len()]; months],
        }
    }

    /// Total revenue of a month index.
    pub(crate) fn total(&self, month: usize) -> i64 {
        self.by_region[month].iter().sum()
    }
}

/// Number of lines of a project order: 1-4, mostly short.
const LINES_PER_ORDER: [f64; 4] = [0.40, 0.30, 0.20, 0.10];

/// At most how many units of a product a project order line has, by its price.
fn max_quantity(list_cents: i64) -> f64 {
    if list_cents < 10_000 {
        12.0
    } else if list_cents < 50_000 {
        5.0
    } else if list_cents < 150_000 {
        3.0
    } else {
        1.0
    }
}

/// The growth of a customer's demand after `years`: its region's trend and the company's.
fn trend(c: &Customer, years: f64) -> f64 {
    // A floor keeps a shrinking region alive in very long histories.
    (1.0 + REGIONS[c.region].growth * years).max(0.3) * (1.0 + COMPANY_GROWTH * years)
}

/// Writes all order lines and returns the clean revenue ledger.
///
/// # Errors
/// Any write error of the sink.
pub(crate) fn write_orders(
    seed: u64,
    cal: &Calendar,
    customers: &[Customer],
    dirt: &mut OrderDirtPlan,
    sink: &mut TableSink<'_>,
) -> Result<Ledger, SampleError> {
    let len = cal.len();
    let mut ledger = Ledger::new(len as usize);
    // (day, customer index, sequence within the customer's month): unique, so sorting is
    // deterministic.
    let mut month_orders: Vec<(i32, u32, u32)> = Vec::new();
    let mut order_no: u64 = 0;
    let customer_ids: Vec<String> = (0..customers.len()).map(customer_id).collect();
    let rep_ids: Vec<String> = (0..REP_REGION.len()).map(rep_id).collect();
    let mut order_id = String::new();

    for month in 0..len {
        month_orders.clear();
        let start = cal.start(month);
        let days = cal.days_in(month) as u64;
        let years = f64::from(month) / 12.0;
        let project_season = season(cal, month);
        let standing_season = 1.0 + STANDING_SEASONALITY * (project_season - 1.0);
        for (ci, c) in customers.iter().enumerate() {
            if !c.buys_in(month) {
                continue;
            }
            let mut rng = Rng::stream(seed, &[stream::ORDERS, ci as u64, month as u64]);
            let trend = trend(c, years);
            let fading = c.fading(month, cal);
            let standing = rng.chance(c.standing_chance * fading);
            let mut projects = rng.count(c.intensity * project_season * trend * fading);
            if c.origin == Origin::Acquired && month == c.first_month && !standing && projects == 0 {
                // The first-ever order falls in the acquisition month, by definition.
                projects = 1;
            }
            // Sequence 0 is the standing order, 1.. the project orders.
            let orders = (if standing { 0 } else { 1 })..=projects;
            let mut previous_day = None;
            for k in orders {
                // Some customers place several orders on one day.
                let day = match previous_day {
                    Some(d) if rng.chance(0.2) => d,
                    _ => start + rng.below(days) as i32,
                };
                previous_day = Some(day);
                month_orders.push((day, ci as u32, k));
            }
        }
        month_orders.sort_unstable();

        let mut line_in_month: u64 = 0;
        for &(day, ci, k) in &month_orders {
            order_no += 1;
            order_id.clear();
            let _ = write!(order_id, "O{order_no:06}"); // cannot fail on a String
            let c = &customers[ci as usize];
            let mut rng = Rng::stream(seed, &[stream::LINES, u64::from(ci), month as u64, u64::from(k)]);
            let channel = if rng.chance(0.8) {
                c.channel
            } else {
                rng.weighted(&CHANNELS.map(|ch| if c.enterprise { ch.enterprise_weight } else { ch.sme_weight }))
            };
            let rep = if rng.chance(0.95) {
                c.sales_rep
            } else {
                // Cover from a colleague of the same region.
                let region_reps: Vec<usize> = (0..REP_REGION.len()).filter(|&r| REP_REGION[r] == c.region).collect();
                region_reps[rng.below(region_reps.len() as u64) as usize]
            };
            let discount_chance = if c.enterprise { 0.25 } else { 0.12 };
            let trend = trend(c, years);
            let fading = c.fading(month, cal);

            // (product, quantity) of each line.
            let mut lines = [(0usize, 0i64); 4];
            let line_count = if k == 0 {
                let n = usize::from(c.standing_lines);
                for (slot, &(product, base)) in c.standing[..n].iter().enumerate() {
                    let units = f64::from(base) * standing_season * trend * fading * rng.between(0.9, 1.1);
                    lines[slot] = (usize::from(product), (units.round() as i64).max(1));
                }
                n
            } else {
                let n = 1 + rng.weighted(&LINES_PER_ORDER);
                for slot in 0..n {
                    // Distinct products per order: redraw a product already on the order.
                    let product = loop {
                        let p = rng.weighted(&PRODUCTS.map(|p| p.popularity));
                        if !lines[..slot].iter().any(|(q, _)| *q == p) {
                            break p;
                        }
                    };
                    let cap = max_quantity(PRODUCTS[product].list_cents) * c.basket;
                    lines[slot] = (product, 1 + (rng.unit() * cap).floor() as i64);
                }
                n
            };
            for &(product, quantity) in &lines[..line_count] {
                let price = unit_price(product, cal, month);
                let gross = quantity * price;
                let amount = if rng.chance(discount_chance) {
                    let pct = [5, 10, 15][rng.below(3) as usize];
                    gross - (gross * pct + 50) / 100
                } else {
                    gross
                };

                let m = month as usize;
                ledger.by_region[m][c.region] += amount;
                ledger.by_channel[m][channel] += amount;
                ledger.by_rep[m][rep] += amount;

                let damage = dirt.take(month, line_in_month, price);
                line_in_month += 1;
                let separated;
                let mut cells = [
                    Cell::Text(&order_id),
                    Cell::Date(day),
                    Cell::Text(&customer_ids[ci as usize]),
                    Cell::Text(PRODUCTS[product].id),
                    Cell::Text(CHANNELS[channel].name),
                    Cell::Text(REGIONS[c.region].name),
                    Cell::Text(&rep_ids[rep]),
                    Cell::Int(quantity),
                    Cell::Money(price),
                    Cell::Money(amount),
                ];
                match &damage {
                    None => sink.row(&cells)?,
                    Some(OrderDirt::Duplicate) => {
                        sink.row(&cells)?;
                        sink.row(&cells)?;
                    }
                    Some(OrderDirt::EmptyCustomer) => {
                        cells[2] = Cell::Null;
                        sink.row(&cells)?;
                    }
                    Some(OrderDirt::UnknownCustomer(id)) => {
                        cells[2] = Cell::Text(id);
                        sink.row(&cells)?;
                    }
                    Some(OrderDirt::ChannelSpelling(spelling)) => {
                        cells[4] = Cell::Text(spelling);
                        sink.row(&cells)?;
                    }
                    Some(OrderDirt::AmountText) => {
                        cells[9] = Cell::Text("n/a");
                        sink.row(&cells)?;
                    }
                    Some(OrderDirt::UnitPriceSeparators) => {
                        separated = money_with_separators(price);
                        cells[8] = Cell::Text(&separated);
                        sink.row(&cells)?;
                    }
                    Some(OrderDirt::MissingField) => {
                        let mut short = cells.to_vec();
                        short.remove(5);
                        sink.short_row(&short)?;
                    }
                }
            }
        }
    }
    Ok(ledger)
}

//! The dirt of `dirty: true`: where in the export each kind of damage goes.
//!
//! Dirt is decided on its own random stream and applied to rows as they are written, so a
//! dirty sample is the clean sample plus damage: every clean figure (and the targets, spend
//! and market sizes derived from them) is the same with and without it.

use super::calendar::Calendar;
use super::rng::Rng;
use super::world::stream;

/// A kind of damage done to one order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OrderDirt {
    /// The line is written twice, identically.
    Duplicate,
    /// `customer_id` is empty.
    EmptyCustomer,
    /// `customer_id` names a customer that is not in `customers`.
    UnknownCustomer(String),
    /// `channel` spelled with the wrong case or a trailing space.
    ChannelSpelling(&'static str),
    /// `amount` is `n/a` (CSV only).
    AmountText,
    /// `unit_price` has a thousands separator, `1,200.00` (CSV only; needs a price ≥ 1000).
    UnitPriceSeparators,
    /// The `region` field is missing: one field too few (CSV only).
    MissingField,
}

impl OrderDirt {
    /// Whether this damage can be done to a line with this unit price.
    pub(crate) fn fits(&self, unit_price_cents: i64) -> bool {
        match self {
            OrderDirt::UnitPriceSeparators => unit_price_cents >= 100_000,
            _ => true,
        }
    }
}

/// Damage to apply to the order lines, in the order of the lines it lands on.
pub(crate) struct OrderDirtPlan {
    /// `(month index, line number within the month, damage)`: the damage goes to that line, or
    /// the first later line it fits.
    events: Vec<(i32, u64, OrderDirt)>,
    applied: Vec<bool>,
}

impl OrderDirtPlan {
    /// No damage at all (`dirty: false`).
    pub(crate) fn none() -> Self {
        Self { events: Vec::new(), applied: Vec::new() }
    }

    /// A handful of each kind; the kinds a Parquet column cannot hold only when `csv`.
    pub(crate) fn new(seed: u64, cal: &Calendar, customers: usize, csv: bool) -> Self {
        let mut kinds = vec![
            OrderDirt::Duplicate,
            OrderDirt::Duplicate,
            OrderDirt::Duplicate,
            OrderDirt::EmptyCustomer,
            OrderDirt::EmptyCustomer,
            OrderDirt::ChannelSpelling("Online "),
            OrderDirt::ChannelSpelling("DIRECT"),
            OrderDirt::ChannelSpelling("Partner"),
        ];
        for k in 0..3 {
            kinds.push(OrderDirt::UnknownCustomer(format!("C{:04}", customers + 1 + 37 * k)));
        }
        if csv {
            kinds.extend([
                OrderDirt::AmountText,
                OrderDirt::AmountText,
                OrderDirt::UnitPriceSeparators,
                OrderDirt::MissingField,
            ]);
        }
        let len = cal.len();
        // Lines of a month are in date order: spread the damage over roughly a month's worth
        // of lines so it does not all sit on the 1st.
        let spread = (customers as u64 / 2).max(20);
        let mut events: Vec<(i32, u64, OrderDirt)> = kinds
            .into_iter()
            .enumerate()
            .map(|(k, kind)| {
                let mut rng = Rng::stream(seed, &[stream::DIRT, 1, k as u64]);
                // Neither in the first month, where the damage would hide among start-up
                // effects, nor in the last, so that damage due on a line past the end of a
                // small month still lands on a later one.
                let month = if len > 2 { 1 + rng.below(len as u64 - 2) as i32 } else { 0 };
                (month, rng.below(spread), kind)
            })
            .collect();
        events.sort_by_key(|(m, line, _)| (*m, *line));
        let applied = vec![false; events.len()];
        Self { events, applied }
    }

    /// The damage for the line at `(month, line)` with this unit price, if any is due.
    pub(crate) fn take(&mut self, month: i32, line: u64, unit_price_cents: i64) -> Option<OrderDirt> {
        for (k, (m, l, kind)) in self.events.iter().enumerate() {
            if (*m, *l) > (month, line) {
                break;
            }
            if !self.applied[k] && kind.fits(unit_price_cents) {
                self.applied[k] = true;
                return Some(kind.clone());
            }
        }
        None
    }
}

/// Survey answers (by position in the table) whose `nps_score` becomes 11.
pub(crate) fn bad_nps_rows(seed: u64, rows_hint: u64) -> Vec<u64> {
    let mut rng = Rng::stream(seed, &[stream::DIRT, 2]);
    let mut rows: Vec<u64> = (0..2).map(|_| rng.below(rows_hint.max(1))).collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

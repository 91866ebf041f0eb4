//! The cast of the story: regions, channels, products, people, and the customer accounts with
//! their fates (when they arrive, how much they buy, whether they churn or decline).
//!
//! Everything a later table needs to stay consistent with the orders (a churned customer does
//! not renew, a declining one answers surveys badly) is decided here, once, per customer.

use super::calendar::Calendar;
use super::rng::Rng;

/// Keys of the independent random streams, one per part of the story (see [`Rng::stream`]).
pub(crate) mod stream {
    pub(crate) const PROFILE: u64 = 1;
    pub(crate) const ORDERS: u64 = 2;
    pub(crate) const LINES: u64 = 3;
    pub(crate) const NAME: u64 = 4;
    pub(crate) const OPPORTUNITIES: u64 = 5;
    pub(crate) const CONTRACTS: u64 = 6;
    pub(crate) const SURVEYS: u64 = 7;
    pub(crate) const USAGE: u64 = 8;
    pub(crate) const SCORES: u64 = 9;
    pub(crate) const PRICES: u64 = 10;
    pub(crate) const MARKET: u64 = 11;
    pub(crate) const SPEND: u64 = 12;
    pub(crate) const DIRT: u64 = 13;
}

/// A sales region. `growth` is the yearly change of its customers' demand (project orders
/// and standing quantities alike): the South is the growth story, the North the problem
/// region.
pub(crate) struct Region {
    pub(crate) name: &'static str,
    pub(crate) weight: f64,
    pub(crate) growth: f64,
    /// Our average market share there over the history (`market_size` is calibrated from it,
    /// domain.md §6).
    pub(crate) share: f64,
}

#[rustfmt::skip]
pub(crate) const REGIONS: [Region; 5] = [
    Region { name: "East", weight: 0.30, growth: 0.05, share: 0.12 },
    Region { name: "North", weight: 0.22, growth: -0.18, share: 0.10 },
    Region { name: "South", weight: 0.18, growth: 0.35, share: 0.08 },
    Region { name: "West", weight: 0.15, growth: 0.10, share: 0.14 },
    Region { name: "Central", weight: 0.15, growth: 0.0, share: 0.11 },
];

/// A sales channel. Enterprise accounts come mostly through direct sales, SMEs online and
/// through partners. `spend_ratio` is spend per unit of revenue: events are expensive,
/// online is cheap, so channel ROI differs (domain.md §3 `channel_roi`).
pub(crate) struct Channel {
    pub(crate) name: &'static str,
    pub(crate) sme_weight: f64,
    pub(crate) enterprise_weight: f64,
    pub(crate) spend_ratio: f64,
    /// The plan's over- (or under-) estimate of the channel's share of revenue: management
    /// bet on online, so online misses its target and events beat theirs.
    pub(crate) plan_bias: f64,
    /// How likely its leads are to be qualified, relative to a direct lead.
    pub(crate) lead_quality: f64,
}

#[rustfmt::skip]
pub(crate) const CHANNELS: [Channel; 4] = [
    Channel { name: "direct", sme_weight: 0.25, enterprise_weight: 0.55, spend_ratio: 0.09, plan_bias: 1.0, lead_quality: 1.0 },
    Channel { name: "partner", sme_weight: 0.30, enterprise_weight: 0.22, spend_ratio: 0.12, plan_bias: 1.02, lead_quality: 1.05 },
    Channel { name: "online", sme_weight: 0.33, enterprise_weight: 0.05, spend_ratio: 0.035, plan_bias: 1.15, lead_quality: 0.8 },
    Channel { name: "events", sme_weight: 0.12, enterprise_weight: 0.18, spend_ratio: 0.30, plan_bias: 0.92, lead_quality: 0.9 },
];

pub(crate) struct Industry {
    pub(crate) name: &'static str,
    pub(crate) weight: f64,
    /// Words for generated company names of this industry.
    pub(crate) words: [&'static str; 3],
}

#[rustfmt::skip]
pub(crate) const INDUSTRIES: [Industry; 6] = [
    Industry { name: "manufacturing", weight: 0.30, words: ["Precision", "Machinery", "Electric"] },
    Industry { name: "retail", weight: 0.20, words: ["Trading", "Retail", "Foods"] },
    Industry { name: "finance", weight: 0.10, words: ["Capital", "Securities", "Leasing"] },
    Industry { name: "healthcare", weight: 0.12, words: ["Medical", "Pharma", "Health"] },
    Industry { name: "technology", weight: 0.18, words: ["Technology", "Software", "Networks"] },
    Industry { name: "education", weight: 0.10, words: ["Education", "Learning", "Academy"] },
];

#[rustfmt::skip]
pub(crate) const NAME_PREFIXES: [&str; 24] = [
    "Huaxin", "Jinsheng", "Hengtai", "Dongfang", "Xinda", "Ruifeng", "Tianyu", "Baosheng",
    "Zhongke", "Longji", "Meida", "Kangning", "Haitong", "Shengyuan", "Fuxing", "Yongan", "Boya",
    "Lianchuang", "Minghui", "Anda", "Hongyun", "Jiahe", "Taikang", "Wanli",
];
pub(crate) const NAME_SUFFIXES: [&str; 4] = ["Co., Ltd.", "Group", "Ltd.", "Inc."];

/// The competitors of the market research, `(competitor_id, name)`. Contoso (`C2`) is the
/// price fighter that wins more and more lost deals.
pub(crate) const COMPETITORS: [(&str, &str); 3] = [("C1", "Northwind"), ("C2", "Contoso"), ("C3", "Fabrikam")];

/// Sales reps by region: the index into [`REGIONS`] of `rep01`..`rep12`.
pub(crate) const REP_REGION: [usize; 12] = [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4];
pub(crate) const ACCOUNT_MANAGERS: u32 = 8;

/// A product with its list price (cents) in the first year of history and how often it is
/// ordered. Only ids and prices reach the export (there is no products table).
pub(crate) struct Product {
    pub(crate) id: &'static str,
    pub(crate) list_cents: i64,
    /// How often it is on a project (ad-hoc) order.
    pub(crate) popularity: f64,
    /// How often it is on a customer's standing monthly order (consumables, licences).
    pub(crate) recurring: f64,
}

#[rustfmt::skip]
pub(crate) const PRODUCTS: [Product; 12] = [
    Product { id: "P01", list_cents: 8_900, popularity: 0.14, recurring: 0.25 },
    Product { id: "P02", list_cents: 42_000, popularity: 0.10, recurring: 0.0 },
    Product { id: "P03", list_cents: 125_000, popularity: 0.08, recurring: 0.0 },
    Product { id: "P04", list_cents: 480_000, popularity: 0.03, recurring: 0.0 },
    Product { id: "P05", list_cents: 36_000, popularity: 0.12, recurring: 0.20 },
    Product { id: "P06", list_cents: 15_000, popularity: 0.10, recurring: 0.15 },
    Product { id: "P07", list_cents: 98_000, popularity: 0.08, recurring: 0.05 },
    Product { id: "P08", list_cents: 64_000, popularity: 0.07, recurring: 0.0 },
    Product { id: "P09", list_cents: 110_000, popularity: 0.05, recurring: 0.0 },
    Product { id: "P10", list_cents: 3_500, popularity: 0.10, recurring: 0.15 },
    Product { id: "P11", list_cents: 5_500, popularity: 0.08, recurring: 0.15 },
    Product { id: "P12", list_cents: 26_000, popularity: 0.04, recurring: 0.05 },
];

/// The products the market researchers track prices for (indices into [`PRODUCTS`]).
pub(crate) const PRICED_PRODUCTS: [usize; 6] = [0, 1, 2, 3, 4, 6];

/// The price of a product in a calendar year: list prices rise 3 % each January.
pub(crate) fn unit_price(product: usize, cal: &Calendar, month: i32) -> i64 {
    let years = i64::from(cal.year(month) - cal.year(0));
    (PRODUCTS[product].list_cents * (100 + 3 * years) + 50) / 100
}

/// Project demand by calendar month (January first): a Q4 peak (budgets are spent before
/// the year closes) and the February dip of the Chinese New Year holiday.
pub(crate) const SEASON: [f64; 12] = [1.00, 0.62, 0.95, 1.00, 1.02, 1.05, 0.95, 0.93, 1.05, 1.10, 1.25, 1.45];
/// How much of the project seasonality standing orders follow: replenishment is steadier,
/// which keeps a customer's month-to-month revenue comparable (domain.md §5 "mature").
pub(crate) const STANDING_SEASONALITY: f64 = 0.5;
/// How much of [`SEASON`] total revenue shows, standing and project orders together.
pub(crate) const REVENUE_SEASONALITY: f64 = 0.6;
/// The seasonality the plan assumes: it underrates the holiday, so February misses its target
/// by more than 10 %, and the Q4 peak, which beats it; a mid-year campaign was over-planned.
pub(crate) const PLAN_SEASON: [f64; 12] = [1.00, 0.96, 0.98, 1.00, 1.01, 1.08, 0.98, 0.97, 1.02, 1.04, 1.07, 1.12];
/// Company-wide growth of demand per year, on top of the regions' own trends.
pub(crate) const COMPANY_GROWTH: f64 = 0.03;

pub(crate) fn season(cal: &Calendar, month: i32) -> f64 {
    SEASON[cal.month_of_year(month) as usize - 1]
}

pub(crate) fn plan_season(cal: &Calendar, month: i32) -> f64 {
    PLAN_SEASON[cal.month_of_year(month) as usize - 1]
}

/// The relative number of customers won in month `i`: acquisitions follow demand and speed up
/// over time (the growth story). The new-customer plan uses the same curve.
pub(crate) fn acquisition_weight(cal: &Calendar, month: i32) -> f64 {
    season(cal, month) * (1.0 + 0.5 * f64::from(month) / f64::from(cal.len()))
}

/// How a customer came to be in the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A customer since before the history started.
    Existing,
    /// Won during the history; its first-ever order is in `first_month`.
    Acquired,
    /// Registered but never ordered (lifecycle stage "potential", domain.md §5).
    Prospect,
}

/// One customer account and its fate.
#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub(crate) origin: Origin,
    pub(crate) created: i32,
    pub(crate) region: usize,
    pub(crate) industry: usize,
    pub(crate) enterprise: bool,
    pub(crate) account_manager: u32,
    /// Index into [`REP_REGION`].
    pub(crate) sales_rep: usize,
    /// Preferred channel (index into [`CHANNELS`]).
    pub(crate) channel: usize,
    /// First month (index) the customer can order; guaranteed to order then if `Acquired`.
    pub(crate) first_month: i32,
    /// Last month with orders; at or past the end of history for customers that do not churn
    /// within it (those between `len` and `len + 3` are about to churn).
    pub(crate) last_month: i32,
    /// A key account that orders much less in the last three months (`high_value_decline`).
    pub(crate) declining: bool,
    /// Chance to place its standing (replenishment) order in a month.
    pub(crate) standing_chance: f64,
    /// The standing order: `(product, base quantity)`, `standing_lines` of them.
    pub(crate) standing: [(u8, u16); 4],
    pub(crate) standing_lines: u8,
    /// Expected project (ad-hoc) orders per month before seasonality and trends.
    pub(crate) intensity: f64,
    /// Quantity multiplier of its project order lines.
    pub(crate) basket: f64,
    /// Typical monthly active hours; 0 for customers without usage data.
    pub(crate) usage_hours: f64,
}

/// Never churns within any history.
const NO_CHURN: i32 = i32::MAX / 2;

impl Customer {
    /// Whether the customer is still buying in month `i` (before trends and seasonality).
    pub(crate) fn buys_in(&self, month: i32) -> bool {
        self.origin != Origin::Prospect && self.first_month <= month && month <= self.last_month
    }

    pub(crate) fn churns(&self) -> bool {
        self.last_month < NO_CHURN
    }

    /// Whether the customer is unhappy in month `i`: in the last months before churning, or a
    /// declining key account near the end.
    pub(crate) fn unhappy_in(&self, month: i32, cal: &Calendar) -> bool {
        (self.churns() && month >= self.last_month - 3) || (self.declining && month >= cal.len() - 4)
    }

    /// A rough monthly revenue before trends: how the biggest accounts are found.
    pub(crate) fn typical_monthly_cents(&self) -> f64 {
        let standing: f64 = self.standing[..usize::from(self.standing_lines)]
            .iter()
            .map(|&(p, q)| f64::from(q) * PRODUCTS[usize::from(p)].list_cents as f64)
            .sum();
        standing * self.standing_chance + self.intensity * self.basket * 200_000.0
    }

    /// Multiplier of demand in month `i` (the chance of the standing order, its quantities and
    /// the number of project orders) for a churning or declining customer.
    pub(crate) fn fading(&self, month: i32, cal: &Calendar) -> f64 {
        let mut f = 1.0;
        if self.churns() {
            f *= match self.last_month - month {
                0 => 0.5,
                1 => 0.7,
                _ => 1.0,
            };
        }
        if self.declining {
            f *= match cal.len() - 1 - month {
                0 => 0.3,
                1 => 0.4,
                2 => 0.55,
                _ => 1.0,
            };
        }
        f
    }
}

/// A size multiplier from 1 to `1 / floor`, most often near 1: a few accounts are much
/// bigger than the rest, so revenue concentrates (ABC tiers, top-10 share, domain.md §3-4).
fn heavy_tail(rng: &mut Rng, floor: f64) -> f64 {
    1.0 / (floor + (1.0 - floor) * rng.unit())
}

/// Typical units of a product on a standing order, by its price.
fn standing_quantity(list_cents: i64) -> f64 {
    if list_cents < 10_000 {
        30.0
    } else if list_cents < 50_000 {
        10.0
    } else {
        3.0
    }
}

/// Draws all customers, sorted by creation date so that `C0001` is the oldest account.
pub(crate) fn customers(seed: u64, cal: &Calendar, count: usize) -> Vec<Customer> {
    let len = cal.len();
    let acquisition_weights: Vec<f64> = (0..len).map(|i| acquisition_weight(cal, i)).collect();

    let mut drawn: Vec<(i32, usize, Customer)> = (0..count)
        .map(|j| {
            let mut rng = Rng::stream(seed, &[stream::PROFILE, j as u64]);
            let origin = match rng.weighted(&[0.60, 0.34, 0.06]) {
                0 => Origin::Existing,
                1 => Origin::Acquired,
                _ => Origin::Prospect,
            };
            let enterprise = rng.chance(0.25);
            let region = rng.weighted(&REGIONS.map(|r| r.weight));
            let industry = rng.weighted(&INDUSTRIES.map(|i| i.weight));
            let channel = rng.weighted(&CHANNELS.map(|c| if enterprise { c.enterprise_weight } else { c.sme_weight }));
            let reps: Vec<usize> = (0..REP_REGION.len()).filter(|&r| REP_REGION[r] == region).collect();
            let sales_rep = reps[rng.below(reps.len() as u64) as usize];
            let account_manager = rng.below(u64::from(ACCOUNT_MANAGERS)) as u32;
            let (first_month, created) = match origin {
                Origin::Existing => (0, cal.history_start() - rng.range(30, 1100) as i32),
                Origin::Acquired => {
                    let first = rng.weighted(&acquisition_weights) as i32;
                    // Registered in the CRM a few weeks before the first order.
                    (first, cal.start(first) - rng.range(5, 75) as i32)
                }
                Origin::Prospect => {
                    let from = cal.history_start() - 200;
                    (NO_CHURN, rng.range(i64::from(from), i64::from(cal.as_of())) as i32)
                }
            };
            let last_month = if origin != Origin::Prospect && rng.chance(0.2) {
                // Some churn inside the history, some are about to (usage and satisfaction
                // already falling at the end).
                rng.range(i64::from(first_month + 2), i64::from(len + 3)) as i32
            } else {
                NO_CHURN
            };
            let (standing_chance, intensity, basket, hours) = if enterprise {
                (
                    rng.between(0.97, 1.0),
                    rng.between(0.2, 0.5),
                    rng.between(1.5, 3.0) * heavy_tail(&mut rng, 0.08),
                    rng.between(80.0, 300.0),
                )
            } else {
                (
                    rng.between(0.92, 0.99),
                    rng.between(0.08, 0.25),
                    rng.between(0.5, 1.2) * heavy_tail(&mut rng, 0.25),
                    rng.between(15.0, 60.0),
                )
            };
            let standing_lines = if enterprise { rng.range(2, 3) } else { 1 + i64::from(rng.chance(0.4)) } as u8;
            let mut standing = [(0u8, 0u16); 4];
            for slot in 0..usize::from(standing_lines) {
                let product = loop {
                    let p = rng.weighted(&PRODUCTS.map(|p| p.recurring)) as u8;
                    if !standing[..slot].iter().any(|(q, _)| *q == p) {
                        break p;
                    }
                };
                let cap = standing_quantity(PRODUCTS[usize::from(product)].list_cents) * basket;
                let base = (cap * rng.between(0.6, 1.0)).round().max(1.0) as u16;
                standing[slot] = (product, base);
            }
            let usage_hours = if rng.chance(0.88) { hours } else { 0.0 };
            let customer = Customer {
                origin,
                created,
                region,
                industry,
                enterprise,
                account_manager,
                sales_rep,
                channel,
                first_month,
                last_month,
                declining: false,
                standing_chance,
                standing,
                standing_lines,
                intensity,
                basket,
                usage_hours,
            };
            (created, j, customer)
        })
        .collect();
    drawn.sort_by_key(|(created, j, _)| (*created, *j));
    let mut customers: Vec<Customer> = drawn.into_iter().map(|(_, _, c)| c).collect();

    // A few of the biggest steady enterprise accounts decline in the last three months, so
    // that the `high_value_decline` warning (domain.md §5) has something to say.
    if len >= 6 {
        let mut candidates: Vec<(f64, usize)> = customers
            .iter()
            .enumerate()
            .filter(|(_, c)| c.origin == Origin::Existing && c.enterprise && !c.churns())
            .map(|(i, c)| (c.typical_monthly_cents(), i))
            .collect();
        // Largest first, ties by position: deterministic without relying on float order
        // quirks (values are finite).
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, i) in candidates.iter().take((count / 100).max(1)) {
            customers[i].declining = true;
        }
    }
    customers
}

/// `C0001`-style id of the customer at `index` in [`customers`]' order.
pub(crate) fn customer_id(index: usize) -> String {
    format!("C{:04}", index + 1)
}

pub(crate) fn rep_id(rep: usize) -> String {
    format!("rep{:02}", rep + 1)
}

/// A company name such as `Huaxin Precision Co., Ltd.`; some contain a comma, which is how
/// real exports exercise CSV quoting.
pub(crate) fn customer_name(seed: u64, index: usize, industry: usize) -> String {
    let mut rng = Rng::stream(seed, &[stream::NAME, index as u64]);
    let prefix = NAME_PREFIXES[rng.below(NAME_PREFIXES.len() as u64) as usize];
    let word = INDUSTRIES[industry].words[rng.below(3) as usize];
    let suffix = NAME_SUFFIXES[rng.below(NAME_SUFFIXES.len() as u64) as usize];
    format!("{prefix} {word} {suffix}")
}

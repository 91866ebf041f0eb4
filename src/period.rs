//! Reporting periods: calendar or fiscal months, quarters and years (domain.md §2).
//!
//! Syntax accepted by `--period`:
//! - `2026-10`: a month;
//! - `2026-Q3`: a quarter of fiscal year 2026;
//! - `2026`: fiscal year 2026;
//! - `latest`: the last *closed* period of the pipeline's grain on the clock's date.
//!
//! A fiscal year is named after the calendar year in which it starts. With
//! `fiscal_year_start: 4`, fiscal year 2026 runs from 2026-04-01 to 2027-03-31 and
//! `2026-Q1` is April to June 2026. With the default start (1) fiscal and calendar years
//! coincide. Months are always calendar months.
//!
//! Every period covers `[start, end)`; "as of" a period is its last day, `end − 1 day`.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// The length of a period, and the default grain of a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grain {
    Month,
    Quarter,
    Year,
}

impl Grain {
    /// Number of calendar months in one period of this grain.
    pub fn months(self) -> u32 {
        match self {
            Grain::Month => 1,
            Grain::Quarter => 3,
            Grain::Year => 12,
        }
    }

    /// The grain's name as written in pipeline files.
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
        }
    }
}

impl FromStr for Grain {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "month" => Ok(Grain::Month),
            "quarter" => Ok(Grain::Quarter),
            "year" => Ok(Grain::Year),
            _ => Err(()),
        }
    }
}

/// A month of the year, 1–12, at which the fiscal year starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FiscalYearStart(u32);

impl FiscalYearStart {
    /// Calendar years: the fiscal year starts in January.
    pub const CALENDAR: FiscalYearStart = FiscalYearStart(1);

    /// `None` unless `month` is in 1..=12.
    pub fn new(month: u32) -> Option<Self> {
        (1..=12).contains(&month).then_some(FiscalYearStart(month))
    }

    pub fn month(self) -> u32 {
        self.0
    }
}

impl Default for FiscalYearStart {
    fn default() -> Self {
        Self::CALENDAR
    }
}

/// Why a period could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("`{0}` is not a period; write a month `2026-10`, a quarter `2026-Q3`, a year `2026`, or `latest`")]
    Syntax(String),
    #[error("`{0}` is out of range: months are 01-12 and quarters Q1-Q4")]
    OutOfRange(String),
}

/// One reporting period: a month, a (fiscal) quarter or a (fiscal) year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    grain: Grain,
    /// First day of the period (always the first of a month).
    start: NaiveDate,
    fiscal_year_start: FiscalYearStart,
}

impl Period {
    /// The month that starts on `first_of_month`'s month.
    pub fn month(year: i32, month: u32) -> Option<Period> {
        Some(Period {
            grain: Grain::Month,
            start: NaiveDate::from_ymd_opt(year, month, 1)?,
            fiscal_year_start: FiscalYearStart::CALENDAR,
        })
    }

    /// Quarter `q` (1-4) of fiscal year `fy`.
    pub fn quarter(fy: i32, q: u32, fys: FiscalYearStart) -> Option<Period> {
        if !(1..=4).contains(&q) {
            return None;
        }
        let fy_start = NaiveDate::from_ymd_opt(fy, fys.month(), 1)?;
        Some(Period {
            grain: Grain::Quarter,
            start: fy_start.checked_add_months(Months::new((q - 1) * 3))?,
            fiscal_year_start: fys,
        })
    }

    /// Fiscal year `fy`, which starts in calendar year `fy`.
    pub fn year(fy: i32, fys: FiscalYearStart) -> Option<Period> {
        Some(Period { grain: Grain::Year, start: NaiveDate::from_ymd_opt(fy, fys.month(), 1)?, fiscal_year_start: fys })
    }

    /// Parses `2026-10`, `2026-Q3` or `2026`; `latest` is resolved against `today`:
    /// the last period of `grain` that ended on or before `today`.
    ///
    /// # Errors
    /// [`PeriodError`] when the text is none of those forms.
    pub fn parse(text: &str, grain: Grain, fys: FiscalYearStart, today: NaiveDate) -> Result<Period, PeriodError> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("latest") {
            return Ok(Period::containing(today, grain, fys).previous());
        }
        let syntax = || PeriodError::Syntax(text.to_string());
        let range = || PeriodError::OutOfRange(text.to_string());
        let parse_year = |y: &str| -> Result<i32, PeriodError> {
            if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) {
                y.parse().map_err(|_| syntax())
            } else {
                Err(syntax())
            }
        };
        match t.split_once('-') {
            None => Period::year(parse_year(t)?, fys).ok_or_else(range),
            Some((y, rest)) => {
                let year = parse_year(y)?;
                if let Some(q) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
                    let q: u32 = q.parse().map_err(|_| syntax())?;
                    Period::quarter(year, q, fys).ok_or_else(range)
                } else if rest.len() == 2 && rest.bytes().all(|b| b.is_ascii_digit()) {
                    let m: u32 = rest.parse().map_err(|_| syntax())?;
                    Period::month(year, m).ok_or_else(range)
                } else {
                    Err(syntax())
                }
            }
        }
    }

    /// The period of `grain` that contains `date`.
    pub fn containing(date: NaiveDate, grain: Grain, fys: FiscalYearStart) -> Period {
        let month_index = date.year() * 12 + date.month0() as i32;
        let fy_offset = fys.month() as i32 - 1;
        // Months since the start of the fiscal year containing `date`.
        let into_fy = (month_index - fy_offset).rem_euclid(12);
        let into_period = into_fy % grain.months() as i32;
        let start_index = month_index - into_period;
        let start = NaiveDate::from_ymd_opt(start_index.div_euclid(12), start_index.rem_euclid(12) as u32 + 1, 1)
            .unwrap_or(date);
        Period { grain, start, fiscal_year_start: if grain == Grain::Month { FiscalYearStart::CALENDAR } else { fys } }
    }

    pub fn grain(&self) -> Grain {
        self.grain
    }

    pub fn fiscal_year_start(&self) -> FiscalYearStart {
        self.fiscal_year_start
    }

    /// First day of the period (inclusive).
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// First day after the period (exclusive).
    pub fn end(&self) -> NaiveDate {
        self.shift(1).start
    }

    /// The period's last day: "as of" the period (domain.md §2).
    pub fn as_of(&self) -> NaiveDate {
        self.end().pred_opt().unwrap_or(self.start)
    }

    /// The period `n` periods later (earlier when negative).
    pub fn shift(&self, n: i32) -> Period {
        let months = n * self.grain.months() as i32;
        let start = if months >= 0 {
            self.start.checked_add_months(Months::new(months as u32))
        } else {
            self.start.checked_sub_months(Months::new(months.unsigned_abs()))
        };
        Period { start: start.unwrap_or(self.start), ..*self }
    }

    /// The period just after.
    pub fn shift_one(&self) -> Period {
        self.shift(1)
    }

    /// The period just before: MoM, QoQ or YoY depending on the grain.
    pub fn previous(&self) -> Period {
        self.shift(-1)
    }

    /// The same period one year earlier.
    pub fn year_ago(&self) -> Period {
        Period { start: self.start.checked_sub_months(Months::new(12)).unwrap_or(self.start), ..*self }
    }

    /// The fiscal year this period falls in (named after the calendar year it starts in).
    pub fn fiscal_year(&self) -> i32 {
        let fys = self.fiscal_year_start.month();
        if self.start.month() >= fys { self.start.year() } else { self.start.year() - 1 }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.grain {
            Grain::Month => write!(f, "{:04}-{:02}", self.start.year(), self.start.month()),
            Grain::Quarter => {
                let fys = self.fiscal_year_start.month() as i32;
                let into_fy = (self.start.month() as i32 - fys).rem_euclid(12);
                write!(f, "{:04}-Q{}", self.fiscal_year(), into_fy / 3 + 1)
            }
            Grain::Year => write!(f, "{:04}", self.fiscal_year()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    const CAL: FiscalYearStart = FiscalYearStart::CALENDAR;

    #[test]
    fn month_bounds_and_neighbours() {
        let p = Period::parse("2026-10", Grain::Month, CAL, d(2026, 11, 22)).unwrap();
        assert_eq!((p.start(), p.end(), p.as_of()), (d(2026, 10, 1), d(2026, 11, 1), d(2026, 10, 31)));
        assert_eq!(p.previous().to_string(), "2026-09");
        assert_eq!(p.year_ago().to_string(), "2025-10");
        let jan = Period::month(2026, 1).unwrap();
        assert_eq!(jan.previous().to_string(), "2025-12");
    }

    #[test]
    fn leap_february() {
        let p = Period::month(2024, 2).unwrap();
        assert_eq!(p.as_of(), d(2024, 2, 29));
        assert_eq!(Period::month(2025, 2).unwrap().as_of(), d(2025, 2, 28));
    }

    #[test]
    fn calendar_quarter_and_year() {
        let q = Period::parse("2026-Q3", Grain::Month, CAL, d(2026, 1, 1)).unwrap();
        assert_eq!((q.start(), q.end()), (d(2026, 7, 1), d(2026, 10, 1)));
        assert_eq!(q.previous().to_string(), "2026-Q2");
        assert_eq!(Period::quarter(2026, 1, CAL).unwrap().previous().to_string(), "2025-Q4");
        assert_eq!(q.year_ago().to_string(), "2025-Q3");
        let y = Period::parse("2026", Grain::Year, CAL, d(2026, 1, 1)).unwrap();
        assert_eq!((y.start(), y.end(), y.as_of()), (d(2026, 1, 1), d(2027, 1, 1), d(2026, 12, 31)));
        assert_eq!(y.previous().to_string(), "2025");
    }

    #[test]
    fn fiscal_year_starting_in_april() {
        let fys = FiscalYearStart::new(4).unwrap();
        let q1 = Period::parse("2026-Q1", Grain::Quarter, fys, d(2026, 1, 1)).unwrap();
        assert_eq!((q1.start(), q1.end()), (d(2026, 4, 1), d(2026, 7, 1)));
        let q4 = Period::parse("2026-Q4", Grain::Quarter, fys, d(2026, 1, 1)).unwrap();
        assert_eq!((q4.start(), q4.end()), (d(2027, 1, 1), d(2027, 4, 1)));
        assert_eq!(q1.previous().to_string(), "2025-Q4");
        assert_eq!(q1.previous().start(), d(2026, 1, 1));
        let fy = Period::year(2026, fys).unwrap();
        assert_eq!((fy.start(), fy.as_of()), (d(2026, 4, 1), d(2027, 3, 31)));
        // February 2027 belongs to fiscal 2026, Q4.
        let c = Period::containing(d(2027, 2, 14), Grain::Quarter, fys);
        assert_eq!(c.to_string(), "2026-Q4");
        assert_eq!(Period::containing(d(2027, 2, 14), Grain::Year, fys).to_string(), "2026");
    }

    #[test]
    fn latest_is_the_last_closed_period() {
        let today = d(2026, 11, 22);
        assert_eq!(Period::parse("latest", Grain::Month, CAL, today).unwrap().to_string(), "2026-10");
        assert_eq!(Period::parse("latest", Grain::Quarter, CAL, today).unwrap().to_string(), "2026-Q3");
        assert_eq!(Period::parse("latest", Grain::Year, CAL, today).unwrap().to_string(), "2025");
        // On the first day of a month the previous month has just closed.
        assert_eq!(Period::parse("latest", Grain::Month, CAL, d(2026, 1, 1)).unwrap().to_string(), "2025-12");
    }

    #[test]
    fn rejects_malformed_periods() {
        let today = d(2026, 11, 22);
        for bad in ["2026-13", "2026-Q5", "2026-Q0", "26-10", "2026/10", "", "2026-1", "oct"] {
            assert!(Period::parse(bad, Grain::Month, CAL, today).is_err(), "{bad}");
        }
    }
}

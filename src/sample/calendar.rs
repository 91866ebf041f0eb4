//! Dates as plain day numbers, and the months of the sample's history.
//!
//! Dates are kept as days since 1970-01-01, which is exactly Arrow's `Date32`: adding a sales
//! cycle is an addition, Parquet needs no conversion, and CSV formatting is a few integer
//! divisions instead of a trip through `chrono` for millions of order lines.

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `(year, month, day)` of a day number (inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i32::from(month <= 2);
    (year, month, day)
}

/// A month counted from year 0 (`year * 12 + month - 1`), so that month arithmetic is integer
/// arithmetic.
pub(crate) type AbsMonth = i32;

/// The months of history: index `0` is the first month, `len - 1` the `end_month`. Indices
/// outside that range are allowed (customers created before the history, next year's plan).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Calendar {
    first: AbsMonth,
    len: i32,
}

impl Calendar {
    pub(crate) fn new(end_year: i32, end_month: u32, months: u32) -> Self {
        let end = end_year * 12 + end_month as i32 - 1;
        let len = months as i32;
        Self { first: end - (len - 1), len }
    }

    /// Number of months of history.
    pub(crate) fn len(&self) -> i32 {
        self.len
    }

    pub(crate) fn abs(&self, index: i32) -> AbsMonth {
        self.first + index
    }

    /// Calendar month `1..=12` of a month index.
    pub(crate) fn month_of_year(&self, index: i32) -> u32 {
        self.abs(index).rem_euclid(12) as u32 + 1
    }

    pub(crate) fn year(&self, index: i32) -> i32 {
        self.abs(index).div_euclid(12)
    }

    /// First day of a month index.
    pub(crate) fn start(&self, index: i32) -> i32 {
        let abs = self.abs(index);
        days_from_civil(abs.div_euclid(12), abs.rem_euclid(12) as u32 + 1, 1)
    }

    pub(crate) fn days_in(&self, index: i32) -> i32 {
        self.start(index + 1) - self.start(index)
    }

    /// First day of the history.
    pub(crate) fn history_start(&self) -> i32 {
        self.start(0)
    }

    /// Last day of the history: the "as of" date of the export.
    pub(crate) fn as_of(&self) -> i32 {
        self.start(self.len) - 1
    }
}

/// The same day one year later, minus one day: the end of an annual contract. Start days are
/// kept at most 28 so that every anniversary exists.
pub(crate) fn year_later_minus_one(day: i32) -> i32 {
    let (y, m, d) = civil_from_days(day);
    days_from_civil(y + 1, m, d.min(28)) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for d in -800_000..800_000 {
            if d % 97 == 0 {
                let (y, m, dd) = civil_from_days(d);
                assert_eq!(days_from_civil(y, m, dd), d);
            }
        }
    }

    #[test]
    fn calendar_months() {
        let cal = Calendar::new(2026, 10, 24);
        assert_eq!(civil_from_days(cal.history_start()), (2024, 11, 1));
        assert_eq!(civil_from_days(cal.as_of()), (2026, 10, 31));
        assert_eq!(cal.month_of_year(3), 2);
        assert_eq!(cal.days_in(15), 28); // 2026-02
    }
}

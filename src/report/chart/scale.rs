//! Value axes: the domain a chart shows, nice round tick values, and how values and ticks
//! are written.

use crate::report::model::AxisFormat;

/// A linear map from a value domain onto a coordinate range (which may run backwards:
/// SVG's y grows downwards).
#[derive(Debug, Clone, Copy)]
pub(super) struct LinearScale {
    domain: (f64, f64),
    range: (f64, f64),
}

impl LinearScale {
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> LinearScale {
        LinearScale { domain, range }
    }

    pub fn map(&self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if d1 == d0 {
            // A flat domain has no slope; its one value sits in the middle.
            return (r0 + r1) / 2.0;
        }
        r0 + (value - d0) / (d1 - d0) * (r1 - r0)
    }
}

/// Tick values of an axis: `step` apart, from the first tick at or below the data to the
/// first at or above it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Ticks {
    pub values: Vec<f64>,
    pub step: f64,
}

impl Ticks {
    /// The axis domain the ticks span.
    pub fn domain(&self) -> (f64, f64) {
        match (self.values.first(), self.values.last()) {
            (Some(first), Some(last)) => (*first, *last),
            _ => (0.0, 1.0),
        }
    }
}

/// Nice ticks covering `lo..=hi` in about `intervals` steps of 1, 2, 2.5 or 5 × 10ⁿ.
/// `integral` keeps the step at 1 or more (counts have no fractions).
pub(super) fn nice_ticks(lo: f64, hi: f64, intervals: usize, integral: bool) -> Ticks {
    let (mut lo, mut hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    // Far beyond any sales figure, but it keeps `hi - lo` and the ticks finite.
    (lo, hi) = (lo.max(-1e300), hi.min(1e300));
    if hi == lo {
        // One value: give it room on both sides so it does not sit on the frame; all
        // zeros get a 0..1 axis rather than one reaching into negatives.
        let pad = lo.abs() * 0.1;
        (lo, hi) = if lo == 0.0 { (0.0, 1.0) } else { (lo - pad, hi + pad) };
    }
    let raw = (hi - lo) / intervals.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let normalized = raw / magnitude;
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().find(|n| *n >= normalized - 1e-9).unwrap_or(10.0);
    let mut step = nice * magnitude;
    if integral && step < 1.0 {
        step = 1.0;
    }
    // Integer multiples of the step, so ticks do not drift by accumulated rounding.
    let first = (lo / step + 1e-9).floor() as i64;
    let last = (hi / step - 1e-9).ceil() as i64;
    let values: Vec<f64> = (first..=last).map(|k| clean(k as f64 * step)).collect();
    if !(step.is_finite() && step > 0.0) || values.len() < 2 || values.iter().any(|v| !v.is_finite()) {
        // Only a range too small for floating point to step through gets here.
        return Ticks { values: vec![lo, hi], step: hi - lo };
    }
    Ticks { values, step }
}

/// Rounds away binary noise (`0.30000000000000004`), keeping 12 significant digits.
fn clean(value: f64) -> f64 {
    if value == 0.0 {
        return 0.0;
    }
    let digits = 11 - value.abs().log10().floor() as i32;
    let factor = 10f64.powi(digits);
    (value * factor).round() / factor
}

/// The value range an axis must show for data between `min` and `max`. Bars always start at
/// zero (a bar's length is its value). Lines start at zero too unless the data varies by
/// less than a sixth of its size, the rule spreadsheet charts use: an attainment line
/// between 92 % and 104 % would be flat on a 0..100 % axis.
pub(super) fn value_range(min: f64, max: f64, zero_based: bool) -> (f64, f64) {
    let narrow = if min == max {
        // A single value (or a flat series) has no spread to show: keep zero in view.
        false
    } else if min > 0.0 {
        max - min < max / 6.0
    } else if max < 0.0 {
        max - min < -min / 6.0
    } else {
        false
    };
    if zero_based || !narrow { (min.min(0.0), max.max(0.0)) } else { (min, max) }
}

/// Units of the compact money format, smallest first.
const MONEY_UNITS: [(f64, &str); 5] = [(1.0, ""), (1e3, "K"), (1e6, "M"), (1e9, "B"), (1e12, "T")];

/// Formats an axis or label value the way every chart writes it: money compact with three
/// significant digits (`3.27M`, `350K`, `980`), counts with thousands separators
/// (`1,234`), ratios as percentages with one decimal (`0.973` → `97.3%`), other numbers
/// with up to one decimal (`32.3`). Trailing zeros are dropped (`3M`, `100%`); a value
/// that is not a number gives `—`.
pub fn format_axis(value: f64, format: AxisFormat) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    match format {
        AxisFormat::Money => {
            let abs = value.abs();
            for (i, (unit, suffix)) in MONEY_UNITS.iter().enumerate() {
                let is_last = i + 1 == MONEY_UNITS.len();
                if !is_last && abs >= MONEY_UNITS[i + 1].0 {
                    continue;
                }
                let scaled = abs / unit;
                let decimals = significant_decimals(scaled, 3);
                let rounded = round_to(scaled, decimals);
                // 999,700 rounds to 1000K: write it in the next unit, as 1M.
                if rounded >= 1000.0 && !is_last {
                    continue;
                }
                return signed(value, format!("{}{suffix}", fixed(rounded, decimals)));
            }
            // Unreachable: the last unit always returns; kept total without a panic.
            fixed(value, 0)
        }
        AxisFormat::Count => signed(value, group_thousands(&fixed(value.abs(), 0))),
        AxisFormat::Percent => signed(value, format!("{}%", fixed(value.abs() * 100.0, 1))),
        AxisFormat::Number => signed(value, fixed(value.abs(), 1)),
    }
}

/// Formats a tick value with as many decimals as its axis `step` needs, so neighbouring
/// ticks never read the same (`10.25M`, `10.5M`) and zero is always `0`.
pub(super) fn format_tick(value: f64, step: f64, format: AxisFormat) -> String {
    let value = if value.abs() < step.abs() * 1e-6 { 0.0 } else { value };
    let abs = value.abs();
    let text = match format {
        AxisFormat::Money => {
            let (unit, suffix) = MONEY_UNITS.iter().rev().find(|(unit, _)| abs >= *unit).copied().unwrap_or((1.0, ""));
            let decimals = step_decimals(step / unit);
            format!("{}{suffix}", fixed(abs / unit, decimals))
        }
        AxisFormat::Count => group_thousands(&fixed(abs, step_decimals(step))),
        AxisFormat::Percent => format!("{}%", fixed(abs * 100.0, step_decimals(step * 100.0))),
        AxisFormat::Number => fixed(abs, step_decimals(step)),
    };
    signed(value, text)
}

/// Prefixes `-` to the formatted magnitude of a negative value (unless it rounded to zero).
fn signed(value: f64, magnitude: String) -> String {
    let is_zero = magnitude.trim_end_matches(['%', 'K', 'M', 'B', 'T']).chars().all(|c| matches!(c, '0' | '.' | ','));
    if value < 0.0 && !is_zero { format!("-{magnitude}") } else { magnitude }
}

/// Decimals that keep `significant` digits of `value` (at most 2).
fn significant_decimals(value: f64, significant: i32) -> usize {
    if value == 0.0 {
        return 0;
    }
    let integer_digits = value.abs().log10().floor() as i32 + 1;
    (significant - integer_digits).clamp(0, 2) as usize
}

/// Decimals needed to write multiples of `step` exactly (at most 3).
fn step_decimals(step: f64) -> usize {
    (0..=3)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
        })
        .unwrap_or(3) as usize
}

fn round_to(value: f64, decimals: usize) -> f64 {
    let factor = 10f64.powi(decimals as i32);
    (value * factor).round() / factor
}

/// `value` with at most `decimals` decimals, trailing zeros trimmed.
fn fixed(value: f64, decimals: usize) -> String {
    let mut s = format!("{value:.decimals$}");
    if s.contains('.') {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
    }
    s
}

/// `1234567.5` → `1,234,567.5` (the integer part of an unsigned decimal string).
fn group_thousands(digits: &str) -> String {
    let (int, frac) = digits.split_once('.').map_or((digits, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3 + 4);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if let Some(frac) = frac {
        grouped.push('.');
        grouped.push_str(frac);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_values_like_the_brief() {
        assert_eq!(format_axis(3_267_515.0, AxisFormat::Money), "3.27M");
        assert_eq!(format_axis(350_000.0, AxisFormat::Money), "350K");
        assert_eq!(format_axis(980.0, AxisFormat::Money), "980");
        assert_eq!(format_axis(12_345.0, AxisFormat::Money), "12.3K");
        assert_eq!(format_axis(999_700.0, AxisFormat::Money), "1M");
        assert_eq!(format_axis(-1_500_000.0, AxisFormat::Money), "-1.5M");
        assert_eq!(format_axis(0.0, AxisFormat::Money), "0");
        assert_eq!(format_axis(1234.0, AxisFormat::Count), "1,234");
        assert_eq!(format_axis(-1_234_567.0, AxisFormat::Count), "-1,234,567");
        assert_eq!(format_axis(0.973, AxisFormat::Percent), "97.3%");
        assert_eq!(format_axis(1.0, AxisFormat::Percent), "100%");
        assert_eq!(format_axis(-0.0004, AxisFormat::Percent), "0%");
        assert_eq!(format_axis(32.34, AxisFormat::Number), "32.3");
        assert_eq!(format_axis(f64::NAN, AxisFormat::Number), "—");
    }

    #[test]
    fn ticks_are_round_and_cover_the_data() {
        let t = nice_ticks(0.0, 3_500_000.0, 4, false);
        assert_eq!(t.values, vec![0.0, 1e6, 2e6, 3e6, 4e6]);
        let labels: Vec<String> = t.values.iter().map(|v| format_tick(*v, t.step, AxisFormat::Money)).collect();
        assert_eq!(labels, ["0", "1M", "2M", "3M", "4M"]);

        let t = nice_ticks(0.0, 1_100_000.0, 4, false);
        let labels: Vec<String> = t.values.iter().map(|v| format_tick(*v, t.step, AxisFormat::Money)).collect();
        assert_eq!(labels, ["0", "500K", "1M", "1.5M"]);

        let t = nice_ticks(-0.12, 0.31, 4, false);
        let labels: Vec<String> = t.values.iter().map(|v| format_tick(*v, t.step, AxisFormat::Percent)).collect();
        assert_eq!(labels, ["-20%", "0%", "20%", "40%"]);

        let t = nice_ticks(0.0, 3.0, 5, true);
        assert_eq!(t.values, vec![0.0, 1.0, 2.0, 3.0]);

        let t = nice_ticks(0.3, 0.3, 4, false);
        assert!(t.values.first().is_some_and(|v| *v <= 0.3) && t.values.last().is_some_and(|v| *v >= 0.3));
    }

    #[test]
    fn lines_leave_zero_only_for_narrow_data() {
        assert_eq!(value_range(2.5e6, 3.5e6, false), (0.0, 3.5e6));
        assert_eq!(value_range(0.92, 1.04, false), (0.92, 1.04));
        assert_eq!(value_range(0.92, 1.04, true), (0.0, 1.04));
        assert_eq!(value_range(-5.0, 3.0, false), (-5.0, 3.0));
    }
}

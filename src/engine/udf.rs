//! SQL functions that put a date into the run's periods, so a query can group a whole
//! series by period in one scan (`GROUP BY period_of(order_date)`) instead of running once
//! per period. They follow the run's grain (month, quarter or year) and the pipeline's
//! fiscal-year start:
//!
//! - `period_of(date) → text`: the period's label, e.g. `2026-10`, `2026-Q3`, `2026`;
//! - `period_index(date) → bigint`: a number that grows by one per period, for arithmetic
//!   such as "the previous period" (`index - 1`) or "a year ago" (`index - periods_per_year`);
//! - `period_label(bigint) → text`: the label of an index.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Date32Type, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use crate::period::{FiscalYearStart, Grain, Period};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Of,
    Index,
    Label,
}

/// The three period functions for one grain and fiscal-year start.
pub fn period_functions(grain: Grain, fys: FiscalYearStart) -> Vec<ScalarUDF> {
    [Kind::Of, Kind::Index, Kind::Label]
        .into_iter()
        .map(|kind| {
            let input = if kind == Kind::Label { DataType::Int64 } else { DataType::Date32 };
            ScalarUDF::new_from_impl(PeriodFn {
                kind,
                grain,
                fys,
                signature: Signature::exact(vec![input], Volatility::Immutable),
            })
        })
        .collect()
}

/// Index of the period of `grain` containing `date` (consecutive periods differ by one).
pub fn period_index(date: NaiveDate, grain: Grain, fys: FiscalYearStart) -> i64 {
    let month_index = date.year() as i64 * 12 + date.month0() as i64;
    (month_index - (fys.month() as i64 - 1)).div_euclid(grain.months() as i64)
}

/// The period whose index is `index`.
pub fn period_at(index: i64, grain: Grain, fys: FiscalYearStart) -> Option<Period> {
    let month_index = index * grain.months() as i64 + fys.month() as i64 - 1;
    let date = NaiveDate::from_ymd_opt(month_index.div_euclid(12) as i32, month_index.rem_euclid(12) as u32 + 1, 1)?;
    Some(Period::containing(date, grain, fys))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct PeriodFn {
    kind: Kind,
    grain: Grain,
    fys: FiscalYearStart,
    signature: Signature,
}

const EPOCH_DAYS_FROM_CE: i32 = 719_163;

fn date_of(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days + EPOCH_DAYS_FROM_CE)
}

impl ScalarUDFImpl for PeriodFn {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Of => "period_of",
            Kind::Index => "period_index",
            Kind::Label => "period_label",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(if self.kind == Kind::Index { DataType::Int64 } else { DataType::Utf8 })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [arg] = args.args.as_slice() else { return exec_err!("{} takes one argument", self.name()) };
        let array: ArrayRef = arg.to_array(args.number_rows)?;
        let label = |i: i64| period_at(i, self.grain, self.fys).map(|p| p.to_string());
        let out: ArrayRef = match self.kind {
            Kind::Label => {
                let input = array.as_primitive::<Int64Type>();
                Arc::new(input.iter().map(|v| v.and_then(label)).collect::<StringArray>())
            }
            Kind::Index | Kind::Of => {
                let input = array.as_primitive::<Date32Type>();
                let index = |v: Option<i32>| v.and_then(date_of).map(|d| period_index(d, self.grain, self.fys));
                if self.kind == Kind::Index {
                    Arc::new(input.iter().map(index).collect::<Int64Array>())
                } else {
                    Arc::new(input.iter().map(|v| index(v).and_then(label)).collect::<StringArray>())
                }
            }
        };
        Ok(match arg {
            ColumnarValue::Scalar(_) => ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?),
            ColumnarValue::Array(_) => ColumnarValue::Array(out),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_consecutive_and_round_trip() {
        let fys = FiscalYearStart::new(4).unwrap();
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let q = |date| period_index(date, Grain::Quarter, fys);
        assert_eq!(q(d(2026, 6, 30)) + 1, q(d(2026, 7, 1)));
        assert_eq!(q(d(2026, 4, 1)), q(d(2026, 6, 30)));
        assert_eq!(period_at(q(d(2027, 2, 14)), Grain::Quarter, fys).unwrap().to_string(), "2026-Q4");
        assert_eq!(
            period_at(period_index(d(2027, 3, 31), Grain::Year, fys), Grain::Year, fys).unwrap().to_string(),
            "2026"
        );
        let cal = FiscalYearStart::CALENDAR;
        assert_eq!(
            period_at(period_index(d(2024, 2, 29), Grain::Month, cal), Grain::Month, cal).unwrap().to_string(),
            "2024-02"
        );
        assert_eq!(date_of(0), Some(d(1970, 1, 1)));
    }
}

//! Reading single values out of result batches, whatever their Arrow type, for the code
//! that turns tables into words (findings, reports).

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};

/// The value at (`col`, `row`) as text; `None` when null or not castable.
pub fn text_at(b: &RecordBatch, col: usize, row: usize) -> Option<String> {
    let a = cast(b.column(col), &DataType::Utf8).ok()?;
    let a = a.as_string::<i32>();
    (!a.is_null(row)).then(|| a.value(row).to_string())
}

/// The value at (`col`, `row`) as a finite number; `None` when null, NaN or not numeric.
pub fn number_at(b: &RecordBatch, col: usize, row: usize) -> Option<f64> {
    let a = cast(b.column(col), &DataType::Float64).ok()?;
    let a = a.as_primitive::<Float64Type>();
    (!a.is_null(row)).then(|| a.value(row)).filter(|v| v.is_finite())
}

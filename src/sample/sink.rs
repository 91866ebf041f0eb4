//! Writing one table, row by row, as CSV or Parquet, in constant memory.
//!
//! Generators describe a row as typed [`Cell`]s; the sink decides how each type is spelled
//! (domain.md §1): CSV through a `BufWriter` with hand-rolled formatting (the orders table can
//! reach millions of lines), Parquet through `ArrowWriter` in record batches of
//! [`BATCH_ROWS`] rows, so neither ever holds a whole table.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;

use super::calendar::{AbsMonth, civil_from_days};
use super::{SampleError, SampleFormat};

/// Rows per Parquet record batch: large enough for good encoding, small enough for flat memory.
const BATCH_ROWS: usize = 64 * 1024;
/// Rows per Parquet row group, a few batches: the writer keeps a row group's encoded pages in
/// memory until it is flushed, so its default of a million rows would defeat streaming.
const ROW_GROUP_ROWS: usize = 4 * BATCH_ROWS;
/// How often the progress callback hears about a table.
const PROGRESS_EVERY: u64 = 100_000;

/// The type of a column of the data contract, and so how it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Ids, names, codes: CSV text, Parquet Utf8.
    Text,
    /// `YYYY-MM-DD`, Parquet Date32.
    Date,
    /// `YYYY-MM`, a string in both formats (the contract's month columns are text).
    Month,
    /// Counts and 0-10 / 1-5 scores: Int64.
    Int,
    /// Money in cents: exactly two decimals, Parquet Decimal128(18,2).
    Money,
    /// A measurement with one decimal, held in tenths: Parquet Float64.
    Tenths,
    /// `true` / `false`, Parquet Boolean.
    Bool,
}

/// One column of a table: its contract name and type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
}

pub(crate) const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

/// A value of one cell. `Text` may also appear in a typed column: that is how dirty mode puts
/// `n/a` into `amount` (CSV only; a Parquet column cannot hold it and gets a null).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell<'a> {
    Null,
    Text(&'a str),
    Date(i32),
    Month(AbsMonth),
    Int(i64),
    Money(i64),
    Tenths(i64),
    Bool(bool),
}

/// A table being written.
pub(crate) struct TableSink<'p> {
    table: &'static str,
    path: PathBuf,
    columns: &'static [Column],
    out: Out,
    rows: u64,
    progress: &'p dyn Fn(&str, u64),
}

enum Out {
    Csv { file: BufWriter<File>, line: String },
    Parquet(Box<ParquetOut>),
}

struct ParquetOut {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    builders: Vec<Builder>,
    pending: usize,
}

enum Builder {
    Text(StringBuilder),
    Date(Date32Builder),
    Int(Int64Builder),
    Money(Decimal128Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
}

fn money_type() -> DataType {
    DataType::Decimal128(18, 2)
}

fn arrow_type(kind: Kind) -> DataType {
    match kind {
        Kind::Text | Kind::Month => DataType::Utf8,
        Kind::Date => DataType::Date32,
        Kind::Int => DataType::Int64,
        Kind::Money => money_type(),
        Kind::Tenths => DataType::Float64,
        Kind::Bool => DataType::Boolean,
    }
}

fn new_builder(kind: Kind) -> Builder {
    match kind {
        Kind::Text | Kind::Month => Builder::Text(StringBuilder::new()),
        Kind::Date => Builder::Date(Date32Builder::new()),
        Kind::Int => Builder::Int(Int64Builder::new()),
        Kind::Money => Builder::Money(Decimal128Builder::new().with_data_type(money_type())),
        Kind::Tenths => Builder::Float(Float64Builder::new()),
        Kind::Bool => Builder::Bool(BooleanBuilder::new()),
    }
}

impl<'p> TableSink<'p> {
    /// Creates `<dir>/<table>.<csv|parquet>` and, for CSV, writes the header.
    ///
    /// # Errors
    /// [`SampleError::Write`] or [`SampleError::Parquet`] naming the file if it cannot be
    /// created.
    pub(crate) fn create(
        dir: &Path,
        table: &'static str,
        columns: &'static [Column],
        format: SampleFormat,
        progress: &'p dyn Fn(&str, u64),
    ) -> Result<Self, SampleError> {
        let extension = match format {
            SampleFormat::Csv => "csv",
            SampleFormat::Parquet => "parquet",
        };
        let path = dir.join(format!("{table}.{extension}"));
        let file = File::create(&path).map_err(|source| SampleError::Write { path: path.clone(), source })?;
        let out = match format {
            SampleFormat::Csv => {
                Out::Csv { file: BufWriter::with_capacity(256 * 1024, file), line: String::with_capacity(256) }
            }
            SampleFormat::Parquet => {
                let schema: SchemaRef = Arc::new(Schema::new(
                    columns.iter().map(|c| Field::new(c.name, arrow_type(c.kind), true)).collect::<Vec<_>>(),
                ));
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    // The default names the parquet crate's version; a fixed value keeps the
                    // bytes identical across sextant builds.
                    .set_created_by("sextant sample".to_owned())
                    .build();
                let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
                    .map_err(|source| SampleError::Parquet { path: path.clone(), source })?;
                Out::Parquet(Box::new(ParquetOut {
                    writer,
                    schema,
                    builders: columns.iter().map(|c| new_builder(c.kind)).collect(),
                    pending: 0,
                }))
            }
        };
        let mut sink = Self { table, path, columns, out, rows: 0, progress };
        if let Out::Csv { file, line } = &mut sink.out {
            line.clear();
            for (i, c) in columns.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                line.push_str(c.name);
            }
            line.push('\n');
            file.write_all(line.as_bytes()).map_err(|source| SampleError::Write { path: sink.path.clone(), source })?;
        }
        Ok(sink)
    }

    /// Whether malformed rows (wrong field count, text in number columns) can be written.
    pub(crate) fn is_csv(&self) -> bool {
        matches!(self.out, Out::Csv { .. })
    }

    /// Writes one row; `cells` has one value per column.
    ///
    /// # Errors
    /// [`SampleError::Write`] / [`SampleError::Parquet`] / [`SampleError::Arrow`] naming the
    /// file.
    pub(crate) fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), SampleError> {
        debug_assert_eq!(cells.len(), self.columns.len(), "table {}", self.table);
        self.write_cells(cells)
    }

    /// Writes a CSV line with fewer fields than the header (dirty mode's truncated export
    /// line); does nothing for Parquet, whose rows cannot be ragged.
    ///
    /// # Errors
    /// As [`TableSink::row`].
    pub(crate) fn short_row(&mut self, cells: &[Cell<'_>]) -> Result<(), SampleError> {
        if self.is_csv() { self.write_cells(cells) } else { Ok(()) }
    }

    fn write_cells(&mut self, cells: &[Cell<'_>]) -> Result<(), SampleError> {
        match &mut self.out {
            Out::Csv { file, line } => {
                line.clear();
                for (i, cell) in cells.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    format_csv_cell(line, *cell);
                }
                line.push('\n');
                file.write_all(line.as_bytes())
                    .map_err(|source| SampleError::Write { path: self.path.clone(), source })?;
            }
            Out::Parquet(pq) => {
                for (builder, cell) in pq.builders.iter_mut().zip(cells) {
                    append(builder, *cell);
                }
                pq.pending += 1;
                if pq.pending >= BATCH_ROWS {
                    flush_batch(pq, &self.path)?;
                }
            }
        }
        self.rows += 1;
        if self.rows.is_multiple_of(PROGRESS_EVERY) {
            (self.progress)(self.table, self.rows);
        }
        Ok(())
    }

    /// Flushes and closes the file, reports the final row count to the progress callback.
    /// Returns `(table, rows, path)` for the summary.
    ///
    /// # Errors
    /// As [`TableSink::row`].
    pub(crate) fn finish(self) -> Result<(String, u64, PathBuf), SampleError> {
        let Self { table, path, out, rows, progress, .. } = self;
        match out {
            Out::Csv { mut file, .. } => {
                file.flush().map_err(|source| SampleError::Write { path: path.clone(), source })?;
            }
            Out::Parquet(mut pq) => {
                if pq.pending > 0 {
                    flush_batch(&mut pq, &path)?;
                }
                pq.writer.close().map_err(|source| SampleError::Parquet { path: path.clone(), source })?;
            }
        }
        progress(table, rows);
        Ok((table.to_owned(), rows, path))
    }
}

fn flush_batch(pq: &mut ParquetOut, path: &Path) -> Result<(), SampleError> {
    let arrays: Vec<ArrayRef> = pq
        .builders
        .iter_mut()
        .map(|b| -> ArrayRef {
            match b {
                Builder::Text(b) => Arc::new(b.finish()),
                Builder::Date(b) => Arc::new(b.finish()),
                Builder::Int(b) => Arc::new(b.finish()),
                Builder::Money(b) => Arc::new(b.finish()),
                Builder::Float(b) => Arc::new(b.finish()),
                Builder::Bool(b) => Arc::new(b.finish()),
            }
        })
        .collect();
    pq.pending = 0;
    let batch = RecordBatch::try_new(pq.schema.clone(), arrays)
        .map_err(|source| SampleError::Arrow { path: path.to_path_buf(), source })?;
    pq.writer.write(&batch).map_err(|source| SampleError::Parquet { path: path.to_path_buf(), source })
}

/// Appends a cell to a Parquet column; a value the column's type cannot hold becomes null.
fn append(builder: &mut Builder, cell: Cell<'_>) {
    match builder {
        Builder::Text(b) => match cell {
            Cell::Null => b.append_null(),
            Cell::Text(s) => b.append_value(s),
            Cell::Month(m) => {
                // StringBuilder is a fmt::Write: format in place, then close the value.
                let _ = write!(b, "{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1);
                b.append_value("");
            }
            other => {
                let mut s = String::new();
                format_csv_cell(&mut s, other);
                b.append_value(&s);
            }
        },
        Builder::Date(b) => match cell {
            Cell::Date(d) => b.append_value(d),
            _ => b.append_null(),
        },
        Builder::Int(b) => match cell {
            Cell::Int(v) => b.append_value(v),
            _ => b.append_null(),
        },
        Builder::Money(b) => match cell {
            Cell::Money(cents) => b.append_value(i128::from(cents)),
            _ => b.append_null(),
        },
        Builder::Float(b) => match cell {
            Cell::Tenths(t) => b.append_value(t as f64 / 10.0),
            _ => b.append_null(),
        },
        Builder::Bool(b) => match cell {
            Cell::Bool(v) => b.append_value(v),
            _ => b.append_null(),
        },
    }
}

/// Spells a cell as CSV (domain.md §1): empty = null, RFC 4180 quoting only where needed.
fn format_csv_cell(line: &mut String, cell: Cell<'_>) {
    // `write!` into a String cannot fail; the results are ignored for that reason.
    match cell {
        Cell::Null => {}
        Cell::Text(s) => {
            if s.contains([',', '"', '\n', '\r']) {
                line.push('"');
                for ch in s.chars() {
                    if ch == '"' {
                        line.push('"');
                    }
                    line.push(ch);
                }
                line.push('"');
            } else {
                line.push_str(s);
            }
        }
        Cell::Date(d) => {
            let (y, m, dd) = civil_from_days(d);
            let _ = write!(line, "{y:04}-{m:02}-{dd:02}");
        }
        Cell::Month(m) => {
            let _ = write!(line, "{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1);
        }
        Cell::Int(v) => {
            let _ = write!(line, "{v}");
        }
        Cell::Money(cents) => {
            let sign = if cents < 0 { "-" } else { "" };
            let abs = cents.unsigned_abs();
            let _ = write!(line, "{sign}{}.{:02}", abs / 100, abs % 100);
        }
        Cell::Tenths(t) => {
            let sign = if t < 0 { "-" } else { "" };
            let abs = t.unsigned_abs();
            let _ = write!(line, "{sign}{}.{}", abs / 10, abs % 10);
        }
        Cell::Bool(v) => line.push_str(if v { "true" } else { "false" }),
    }
}

/// Money with thousands separators (`1,200.00`), as a spreadsheet export spells it; dirty
/// mode writes this into `unit_price`.
pub(crate) fn money_with_separators(cents: i64) -> String {
    let units = (cents.unsigned_abs() / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{grouped}.{:02}", cents.unsigned_abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(cell: Cell<'_>) -> String {
        let mut s = String::new();
        format_csv_cell(&mut s, cell);
        s
    }

    #[test]
    fn csv_spelling() {
        assert_eq!(csv(Cell::Money(120_000)), "1200.00");
        assert_eq!(csv(Cell::Money(-5)), "-0.05");
        assert_eq!(csv(Cell::Tenths(75)), "7.5");
        assert_eq!(csv(Cell::Date(0)), "1970-01-01");
        assert_eq!(csv(Cell::Month(2026 * 12 + 9)), "2026-10");
        assert_eq!(csv(Cell::Text("Huaxin Co., Ltd.")), "\"Huaxin Co., Ltd.\"");
        assert_eq!(csv(Cell::Text("say \"hi\"")), "\"say \"\"hi\"\"\"");
        assert_eq!(csv(Cell::Null), "");
        assert_eq!(money_with_separators(120_000), "1,200.00");
        assert_eq!(money_with_separators(123_456_789), "1,234,567.89");
        assert_eq!(money_with_separators(99_950), "999.50");
    }
}

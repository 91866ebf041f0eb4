//! The ingest pass over a CSV input: one streaming read that computes the file's checksum
//! and finds every row the typed reader would reject (wrong number of fields, text in a
//! number or date column), so that dirty exports are reported with file, line and column
//! before any SQL runs, instead of as an engine error deep inside a query.

use std::io::Read;

use datafusion::arrow::datatypes::{DataType, Schema};
use sha2::{Digest, Sha256};

use crate::diag::{Diagnostic, Place, SourceText};
use crate::spec::CsvSpec;

/// How many bad rows are shown in detail; the rest are counted.
pub const SHOWN_PROBLEMS: usize = 5;

/// What the ingest pass learned about one file.
#[derive(Debug, Default)]
pub struct IngestReport {
    pub bytes: u64,
    pub sha256: String,
    /// Data rows read (without the header).
    pub rows: u64,
    /// Rows the typed reader would reject; details for the first [`SHOWN_PROBLEMS`].
    pub bad_rows: u64,
    pub problems: Vec<Diagnostic>,
}

/// Hashes everything read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Reads `reader` to the end, hashing it; when `csv` is given, also checks every row
/// against `schema` (the types the engine will read it with). `name` is the file as the
/// user knows it, for diagnostics.
///
/// # Errors
/// I/O errors while reading.
pub fn ingest(reader: impl Read, name: &str, csv: Option<(&CsvSpec, &Schema)>) -> std::io::Result<IngestReport> {
    let mut hashing = HashingReader { inner: reader, hasher: Sha256::new(), bytes: 0 };
    let mut report = IngestReport::default();
    if let Some((spec, schema)) = csv {
        check_rows(&mut hashing, name, spec, schema, &mut report)?;
    }
    // Whatever the CSV reader left unread still counts towards the checksum.
    std::io::copy(&mut hashing, &mut std::io::sink())?;
    report.bytes = hashing.bytes;
    report.sha256 = hex::encode(hashing.hasher.finalize());
    Ok(report)
}

fn check_rows(
    reader: impl Read,
    name: &str,
    spec: &CsvSpec,
    schema: &Schema,
    report: &mut IngestReport,
) -> std::io::Result<()> {
    let mut rdr =
        csv::ReaderBuilder::new().delimiter(spec.delimiter).has_headers(spec.header).flexible(true).from_reader(reader);
    let expected = schema.fields().len();
    let mut record = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => match e.kind() {
                csv::ErrorKind::Io(_) => return Err(std::io::Error::other(e.to_string())),
                _ => {
                    let line = e.position().map_or(0, |p| p.line() as usize);
                    report.bad_rows += 1;
                    push(
                        report,
                        Diagnostic::new("csv::unreadable-row", format!("line {line}: the row cannot be read: {e}"))
                            .at(&SourceText::excerpt(name, "", line), Place { line, column: 1, len: 1 }),
                    );
                    continue;
                }
            },
        }
        report.rows += 1;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let fields: Vec<String> = record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
        let text = render_row(&fields, spec.delimiter);
        let excerpt = || SourceText::excerpt(name, text.clone(), line);
        if fields.len() != expected {
            report.bad_rows += 1;
            if report.problems.len() < SHOWN_PROBLEMS {
                let n = text.chars().count().max(1);
                report.problems.push(
                    Diagnostic::new(
                        "csv::field-count",
                        format!("line {line}: the row has {} fields, the header has {expected}", fields.len()),
                    )
                    .at(&excerpt(), Place { line, column: 1, len: n })
                    .with_label(format!("{} fields", fields.len()))
                    .with_hint("a delimiter is missing or extra in this row (or a value with a delimiter is not quoted); fix the export"),
                );
            }
            continue;
        }
        let mut row_bad = false;
        for (i, (value, field)) in fields.iter().zip(schema.fields()).enumerate() {
            if is_null(value, spec) || parses_as(value, field.data_type(), spec) {
                continue;
            }
            if !row_bad {
                row_bad = true;
                report.bad_rows += 1;
            }
            if report.problems.len() < SHOWN_PROBLEMS {
                let column = field_column(&fields, i, spec.delimiter);
                report.problems.push(
                    Diagnostic::new(
                        "csv::bad-value",
                        format!(
                            "line {line}: `{value}` in column `{}` is not {}",
                            field.name(),
                            type_phrase(field.data_type(), spec)
                        ),
                    )
                    .at(&excerpt(), Place { line, column, len: value.chars().count().max(1) })
                    .with_label(format!("not {}", short_type(field.data_type())))
                    .with_hint(format!(
                        "correct the value in the export, leave the cell empty for \"unknown\", or declare `{}: string` and clean it in a SQL step",
                        field.name()
                    )),
                );
            }
        }
    }
    Ok(())
}

fn push(report: &mut IngestReport, d: Diagnostic) {
    if report.problems.len() < SHOWN_PROBLEMS {
        report.problems.push(d);
    }
}

fn is_null(value: &str, spec: &CsvSpec) -> bool {
    value.is_empty() || spec.null_values.iter().any(|n| n == value)
}

/// Re-creates the row's text for the snippet (quoting fields that need it).
fn render_row(fields: &[String], delimiter: u8) -> String {
    let d = delimiter as char;
    fields
        .iter()
        .map(|f| {
            if f.contains(d) || f.contains('"') || f.contains('\n') {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(&d.to_string())
}

/// 1-based character column where field `i` starts in [`render_row`]'s text.
fn field_column(fields: &[String], i: usize, delimiter: u8) -> usize {
    render_row(&fields[..i], delimiter).chars().count() + usize::from(i > 0) + 1
}

fn short_type(t: &DataType) -> String {
    match t {
        DataType::Int32 | DataType::Int64 => "an integer".into(),
        DataType::Float64 | DataType::Decimal128(..) => "a number".into(),
        DataType::Date32 => "a date".into(),
        DataType::Boolean => "a boolean".into(),
        other => format!("a {other}"),
    }
}

fn type_phrase(t: &DataType, spec: &CsvSpec) -> String {
    match t {
        DataType::Int32 | DataType::Int64 => "a whole number".into(),
        DataType::Float64 => "a number".into(),
        DataType::Decimal128(p, s) => {
            format!("a decimal number (decimal({p},{s}), `.` as decimal point, no thousands separator)")
        }
        DataType::Date32 => match &spec.date_format {
            Some(f) => format!("a date in the format `{f}`"),
            None => "a date (YYYY-MM-DD)".into(),
        },
        DataType::Boolean => "`true` or `false`".into(),
        DataType::Timestamp(..) => "a timestamp (YYYY-MM-DD HH:MM:SS)".into(),
        other => format!("a {other}"),
    }
}

/// Whether the typed CSV reader accepts `value` for type `t`.
fn parses_as(value: &str, t: &DataType, spec: &CsvSpec) -> bool {
    match t {
        DataType::Int64 => value.parse::<i64>().is_ok(),
        DataType::Int32 => value.parse::<i32>().is_ok(),
        DataType::Float64 | DataType::Float32 => value.parse::<f64>().is_ok(),
        DataType::Decimal128(p, s) => is_decimal(value, *p, *s),
        DataType::Date32 => match &spec.date_format {
            Some(f) => chrono::NaiveDate::parse_from_str(value, f).is_ok(),
            None => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
        },
        DataType::Boolean => matches!(value.to_ascii_lowercase().as_str(), "true" | "false"),
        DataType::Timestamp(..) => {
            chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S").is_ok()
                || chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S").is_ok()
                || chrono::DateTime::parse_from_rfc3339(value).is_ok()
                || chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
        }
        _ => true,
    }
}

/// `[-+]digits[.digits]` with at most `p - s` integer digits.
fn is_decimal(value: &str, p: u8, s: i8) -> bool {
    let body = value.strip_prefix(['-', '+']).unwrap_or(value);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && int.trim_start_matches('0').len() <= (p as i32 - s as i32).max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Field;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("order_id", DataType::Utf8, true),
            Field::new("order_date", DataType::Date32, true),
            Field::new("amount", DataType::Decimal128(18, 2), true),
        ])
    }

    #[test]
    fn finds_every_bad_row_with_line_and_column() {
        let data = "order_id,order_date,amount\nO1,2026-10-01,10.50\nO2,2026-10-02,n/a\nO3,2026-10-03\nO4,2026-13-01,1\nO5,,\n";
        let r = ingest(data.as_bytes(), "orders.csv", Some((&CsvSpec::default(), &schema()))).unwrap();
        assert_eq!((r.rows, r.bad_rows), (5, 3));
        let places: Vec<_> =
            r.problems.iter().map(|d| (d.code, d.place.unwrap().line, d.place.unwrap().column)).collect();
        assert_eq!(places, vec![("csv::bad-value", 3, 15), ("csv::field-count", 4, 1), ("csv::bad-value", 5, 4)]);
        assert_eq!(r.bytes, data.len() as u64);
    }

    #[test]
    fn checksum_covers_the_whole_file() {
        let r = ingest("abc".as_bytes(), "x", None).unwrap();
        assert_eq!(r.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn decimals() {
        assert!(is_decimal("1200.00", 18, 2));
        assert!(is_decimal("-3", 18, 2));
        assert!(!is_decimal("1,200.00", 18, 2));
        assert!(!is_decimal("n/a", 18, 2));
        assert!(!is_decimal(".", 18, 2));
    }
}

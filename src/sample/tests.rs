//! Tests of the sample generator as its users see it: the files it writes.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::*;

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("sextant-sample-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn no_progress(_: &str, _: u64) {}

fn small(format: SampleFormat, dirty: bool) -> SampleOptions {
    SampleOptions { customers: 40, months: 14, format, dirty, ..SampleOptions::default() }
}

/// Splits a CSV line into fields (RFC 4180 quotes, no embedded newlines in this data).
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

/// The header and rows of a CSV table.
fn read_csv(dir: &Path, table: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = fs::read_to_string(dir.join(format!("{table}.csv"))).expect("table written");
    let mut lines = text.lines();
    let header = fields(lines.next().expect("header"));
    (header, lines.map(fields).collect())
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn same_seed_gives_identical_bytes() {
    for format in [SampleFormat::Csv, SampleFormat::Parquet] {
        let a = TempDir::new(&format!("det-a-{format:?}"));
        let b = TempDir::new(&format!("det-b-{format:?}"));
        let opts = small(format, true);
        let sa = generate(&opts, &a.0, &no_progress).expect("first run");
        let sb = generate(&opts, &b.0, &no_progress).expect("second run");
        assert_eq!(sa.tables.len(), 12);
        for ((ta, ra, pa), (tb, rb, pb)) in sa.tables.iter().zip(&sb.tables) {
            assert_eq!((ta, ra), (tb, rb));
            let bytes_a = fs::read(pa).expect("read a");
            assert_eq!(bytes_a, fs::read(pb).expect("read b"), "{ta} differs between runs");
            assert!(!bytes_a.is_empty());
        }
        let other = TempDir::new(&format!("det-c-{format:?}"));
        let other_seed = SampleOptions { seed: 7, ..opts };
        let sc = generate(&other_seed, &other.0, &no_progress).expect("other seed");
        assert_ne!(
            fs::read(&sa.tables[0].2).expect("orders a"),
            fs::read(&sc.tables[0].2).expect("orders c"),
            "another seed gives other orders"
        );
    }
}

#[test]
fn default_sample_keeps_the_contract() {
    let dir = TempDir::new("default");
    let calls = std::cell::Cell::new(0u32);
    let summary =
        generate(&SampleOptions::default(), &dir.0, &|_, _| calls.set(calls.get() + 1)).expect("default sample");
    assert!(calls.get() >= 12, "progress is reported at least once per table");
    let names: Vec<&str> = summary.tables.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(names, TABLES);

    let total: u64 = summary.tables.iter().map(|(_, _, path)| fs::metadata(path).expect("file").len()).sum();
    assert!(total <= 2 * 1024 * 1024, "default sample is {total} bytes, over 2 MB");

    // Every row has the header's number of fields.
    for table in TABLES {
        let (header, rows) = read_csv(&dir.0, table);
        assert!(!rows.is_empty(), "{table} is empty");
        assert!(rows.iter().all(|r| r.len() == header.len()), "{table} has a ragged row");
    }

    let (ch, customers) = read_csv(&dir.0, "customers");
    let ids: BTreeSet<&str> = customers.iter().map(|r| r[column(&ch, "customer_id")].as_str()).collect();
    assert_eq!(ids.len(), customers.len(), "customer ids are unique");

    let (oh, orders) = read_csv(&dir.0, "orders");
    let cust = column(&oh, "customer_id");
    assert!(orders.iter().all(|r| ids.contains(r[cust].as_str())), "orders name known customers");
    assert!((5_000..=12_000).contains(&orders.len()), "{} order lines", orders.len());
    let (qty, price, amount) = (column(&oh, "quantity"), column(&oh, "unit_price"), column(&oh, "amount"));
    for r in &orders {
        let cents = |s: &str| -> i64 { s.replace('.', "").parse().expect("money") };
        let gross = r[qty].parse::<i64>().expect("quantity") * cents(&r[price]);
        assert!(cents(&r[amount]) <= gross && cents(&r[amount]) * 100 >= gross * 85 - 100);
    }

    let (ph, opportunities) = read_csv(&dir.0, "opportunities");
    let (stage, max_stage, closed) =
        (column(&ph, "stage"), column(&ph, "max_stage_reached"), column(&ph, "closed_date"));
    for r in &opportunities {
        assert_ne!(r[max_stage], "lost");
        match r[stage].as_str() {
            "won" => assert!(r[max_stage] == "won" && !r[closed].is_empty()),
            "lost" => assert!(!r[closed].is_empty() && !r[column(&ph, "lost_reason")].is_empty()),
            open => assert!(r[closed].is_empty() && r[max_stage] == open),
        }
    }

    // One month of history lacks its company revenue target: 2026-05.
    let (th, targets) = read_csv(&dir.0, "targets");
    let all_revenue: Vec<&str> = targets
        .iter()
        .filter(|r| r[column(&th, "metric")] == "revenue" && r[column(&th, "dimension")] == "all")
        .map(|r| r[column(&th, "month")].as_str())
        .collect();
    assert!(!all_revenue.contains(&"2026-05"));
    assert!(all_revenue.contains(&"2026-04") && all_revenue.contains(&"2027-12"));
}

#[test]
fn dirty_csv_has_a_ragged_row_and_bad_values() {
    let dir = TempDir::new("dirty");
    generate(&small(SampleFormat::Csv, true), &dir.0, &no_progress).expect("dirty sample");
    let (header, orders) = read_csv(&dir.0, "orders");
    assert_eq!(orders.iter().filter(|r| r.len() != header.len()).count(), 1);
    let whole: Vec<&Vec<String>> = orders.iter().filter(|r| r.len() == header.len()).collect();
    assert!(whole.iter().any(|r| r[column(&header, "amount")] == "n/a"));
    assert!(whole.iter().any(|r| r[column(&header, "unit_price")].contains(',')));
    assert!(whole.iter().any(|r| r[column(&header, "customer_id")].is_empty()));
    assert!(whole.iter().any(|r| r[column(&header, "channel")] == "Online "));
    let distinct: BTreeSet<&Vec<String>> = whole.iter().copied().collect();
    assert!(distinct.len() < whole.len(), "some lines are duplicated");

    let (sh, surveys) = read_csv(&dir.0, "surveys");
    assert!(surveys.iter().any(|r| r[column(&sh, "nps_score")] == "11"));

    // The clean sample is the dirty one without the damage.
    let clean = TempDir::new("dirty-clean");
    generate(&small(SampleFormat::Csv, false), &clean.0, &no_progress).expect("clean sample");
    let (_, clean_orders) = read_csv(&clean.0, "orders");
    assert!(clean_orders.len() < orders.len());
    assert_eq!(read_csv(&clean.0, "targets"), read_csv(&dir.0, "targets"));
}

#[test]
fn parquet_uses_the_contract_types() {
    use datafusion::arrow::datatypes::DataType;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let dir = TempDir::new("parquet");
    let summary = generate(&small(SampleFormat::Parquet, false), &dir.0, &no_progress).expect("parquet");
    let orders = &summary.tables[0];
    let file = fs::File::open(&orders.2).expect("orders.parquet");
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("readable parquet");
    let schema = builder.schema().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, sales::ORDER_COLUMNS.map(|c| c.name));
    assert_eq!(schema.field_with_name("order_date").map(|f| f.data_type().clone()).ok(), Some(DataType::Date32));
    assert_eq!(schema.field_with_name("amount").map(|f| f.data_type().clone()).ok(), Some(DataType::Decimal128(18, 2)));
    let rows: usize = builder.build().expect("reader").map(|b| b.expect("batch").num_rows()).sum();
    assert_eq!(rows as u64, orders.1);

    // A column of each other kind, in its table.
    for (table, column, expected) in [
        ("targets", "target", DataType::Decimal128(18, 2)),
        ("targets", "month", DataType::Utf8),
        ("contracts", "renewed", DataType::Boolean),
        ("surveys", "nps_score", DataType::Int64),
        ("competitor_scores", "score", DataType::Float64),
        ("usage", "active_hours", DataType::Float64),
    ] {
        let file = fs::File::open(dir.0.join(format!("{table}.parquet"))).expect("table written");
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("readable parquet");
        let field = builder.schema().field_with_name(column).map(|f| f.data_type().clone());
        assert_eq!(field.ok(), Some(expected), "{table}.{column}");
    }
}

#[test]
fn invalid_options_say_what_to_do() {
    let dir = TempDir::new("invalid");
    let zero_customers = SampleOptions { customers: 0, ..SampleOptions::default() };
    let err = generate(&zero_customers, &dir.0, &no_progress).expect_err("0 customers");
    assert!(err.to_string().contains("at least 1 customer"), "{err}");
    let zero_months = SampleOptions { months: 0, ..SampleOptions::default() };
    let err = generate(&zero_months, &dir.0, &no_progress).expect_err("0 months");
    assert!(err.to_string().contains("at least 1 month"), "{err}");
    assert!(!dir.0.exists(), "nothing is written for invalid options");
}

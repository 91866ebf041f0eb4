//! Per-owner bursting: each owner named in the burst table's owner column (an account
//! manager, for the lifecycle warnings) gets an email with their own rows only.
//!
//! The rows come from the table's published export (CSV, JSON or Parquet), checked against
//! the run's checksum: what an owner gets is what the run published, never a recomputation.
//! An owner with rows but no address, and rows without an owner, are failed records, never
//! silently dropped; owners without rows get nothing.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::json;

use super::body::{self, BurstMail};
use super::email::{Mailer, mailbox, message};
use super::published::PublishedRun;
use super::{DeliverError, Delivery, Env, Markers, locale_of, resolve};
use crate::config::Workspace;
use crate::engine::cells::text_at;
use crate::report::i18n;
use crate::report::model::Locale;
use crate::spec::schedule::BurstSpec;
use crate::spec::{ExportFormat, Pipeline};
use crate::store::manifest::{DeliveryRecord, DeliveryStatus};

/// A published table, every cell as text (`None` for null).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
}

fn unreadable(path: &str, e: impl std::fmt::Display) -> DeliverError {
    DeliverError::Published { message: format!("{path} is not readable: {e}") }
}

pub(super) fn parse_csv(bytes: &[u8], path: &str) -> Result<Table, DeliverError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let columns = reader.headers().map_err(|e| unreadable(path, e))?.iter().map(str::to_string).collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| unreadable(path, e))?;
        // The CSV export writes null as an empty field.
        rows.push(record.iter().map(|v| (!v.is_empty()).then(|| v.to_string())).collect());
    }
    Ok(Table { columns, rows })
}

/// One object of the JSON export, its fields in the file's order (serde_json's map would
/// sort them, and the columns would come out alphabetical).
struct OrderedObject(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    fields.push(entry);
                }
                Ok(OrderedObject(fields))
            }
        }
        d.deserialize_map(Fields)
    }
}

/// The JSON export: an array of objects, null fields left out.
pub(super) fn parse_json(bytes: &[u8], path: &str) -> Result<Table, DeliverError> {
    let objects: Vec<OrderedObject> = serde_json::from_slice(bytes).map_err(|e| unreadable(path, e))?;
    let mut columns: Vec<String> = Vec::new();
    for o in &objects {
        for (k, _) in &o.0 {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let rows = objects
        .iter()
        .map(|o| {
            columns
                .iter()
                .map(|c| match o.0.iter().find(|(k, _)| k == c).map(|(_, v)| v) {
                    None | Some(serde_json::Value::Null) => None,
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(v) => Some(v.to_string()),
                })
                .collect()
        })
        .collect();
    Ok(Table { columns, rows })
}

pub(super) fn parse_parquet(bytes: Bytes, path: &str) -> Result<Table, DeliverError> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| unreadable(path, e))?;
    let columns = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    for batch in builder.build().map_err(|e| unreadable(path, e))? {
        let batch = batch.map_err(|e| unreadable(path, e))?;
        for r in 0..batch.num_rows() {
            rows.push((0..batch.num_columns()).map(|c| text_at(&batch, c, r)).collect());
        }
    }
    Ok(Table { columns, rows })
}

/// Reads the published export of `table`.
async fn read(run: &PublishedRun<'_>, pipeline: &Pipeline, table: &str) -> Result<Table, DeliverError> {
    let mut exports: Vec<_> = pipeline.exports.iter().filter(|e| e.table == table).collect();
    // Any export holds the same rows; CSV is the cheapest to read.
    exports.sort_by_key(|e| match e.format {
        ExportFormat::Csv => 0,
        ExportFormat::Json => 1,
        ExportFormat::Parquet => 2,
    });
    let Some(export) = exports.first() else {
        return Err(DeliverError::Published {
            message: format!(
                "table `{table}` of deliver.burst is not exported; add `- table: {table}` to the pipeline's exports"
            ),
        });
    };
    let path = export.path();
    let bytes = run.file(&path).await?;
    match export.format {
        ExportFormat::Csv => parse_csv(&bytes, &path),
        ExportFormat::Json => parse_json(&bytes, &path),
        ExportFormat::Parquet => parse_parquet(bytes, &path),
    }
}

/// A column's heading in the email.
fn heading(column: &str, locale: Locale) -> String {
    let (en, zh) = match column.trim_end_matches("_zh") {
        "customer_id" => ("Customer", "客户"),
        "customer" | "name" => ("Customer", "客户"),
        "account_manager" => ("Account manager", "客户经理"),
        "kind" => ("Warning", "预警类型"),
        "detail" => ("Detail", "说明"),
        "stage" => ("Stage", "阶段"),
        "segment" => ("Segment", "分群"),
        "region" => ("Region", "区域"),
        "revenue" => ("Revenue", "销售额"),
        other => {
            let words = other.replace('_', " ");
            let mut chars = words.chars();
            return chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
        }
    };
    if locale == Locale::ZhCn { zh.into() } else { en.into() }
}

/// The columns an owner sees, as (index, heading): all but the owner column; where a
/// column `x` has a Chinese twin `x_zh`, the twin stands in for it in a Chinese email and
/// is left out of an English one.
pub(super) fn shown_columns(columns: &[String], owner_column: &str, locale: Locale) -> Vec<(usize, String)> {
    columns
        .iter()
        .enumerate()
        .filter(|(_, c)| *c != owner_column && !c.ends_with("_zh"))
        .map(|(i, c)| {
            let twin = format!("{c}_zh");
            let i = match locale {
                Locale::ZhCn => columns.iter().position(|x| *x == twin).unwrap_or(i),
                Locale::En => i,
            };
            (i, heading(c, locale))
        })
        .collect()
}

/// A cell as the owner reads it: codes (`usage_drop`) in words, null as a dash.
fn cell(value: &Option<String>, locale: Locale) -> String {
    match value {
        None => "—".into(),
        Some(v) if !v.is_empty() && v.chars().all(|c| c.is_ascii_lowercase() || c == '_') => i18n::code(v, locale),
        Some(v) => v.clone(),
    }
}

/// A row of a published table.
type Row = Vec<Option<String>>;

/// The rows of each owner, in the table's order, and how many rows have no owner.
pub(super) fn by_owner(table: &Table, owner: usize) -> (BTreeMap<String, Vec<&Row>>, usize) {
    let mut groups: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    let mut unowned = 0;
    for row in &table.rows {
        match row.get(owner).cloned().flatten().map(|o| o.trim().to_string()).filter(|o| !o.is_empty()) {
            Some(o) => groups.entry(o).or_default().push(row),
            None => unowned += 1,
        }
    }
    (groups, unowned)
}

/// Emails each owner their rows of `spec.table`.
pub(super) async fn deliver(
    ws: &Workspace,
    pipeline: &Pipeline,
    run: &PublishedRun<'_>,
    spec: &BurstSpec,
    mailer: &Result<Mailer, DeliverError>,
    markers: &Markers<'_>,
    env: Env<'_>,
) -> Vec<DeliveryRecord> {
    let options = markers.options;
    let clock = &options.clock;
    let whole =
        Delivery { channel: "burst", report: spec.table.clone(), recipient: "-".into(), identity: String::new() };
    let table = match read(run, pipeline, &spec.table).await {
        Ok(t) => t,
        Err(e) => return vec![whole.failed(&e, 0, clock)],
    };
    let Some(owner_index) = table.columns.iter().position(|c| *c == spec.owner_column) else {
        let e = DeliverError::Published {
            message: format!(
                "table `{}` has no column `{}` (deliver.burst.owner_column); its columns: {}",
                spec.table,
                spec.owner_column,
                table.columns.join(", ")
            ),
        };
        return vec![whole.failed(&e, 0, clock)];
    };
    let locale = locale_of(spec.locale.as_deref(), ws);
    let zh = locale == Locale::ZhCn;
    let columns = shown_columns(&table.columns, &spec.owner_column, locale);
    let headers: Vec<String> = columns.iter().map(|(_, h)| h.clone()).collect();
    let (groups, unowned) = by_owner(&table, owner_index);
    let owner_word = spec.owner_column.replace('_', " ");
    let period_label = run.period_label(locale);
    let title = pipeline.reports.first().map_or_else(|| pipeline.name.clone(), |r| r.title.get(zh).to_string());
    let links = run.report_links(pipeline, locale);
    let mut records = Vec::new();
    for (owner, rows) in &groups {
        let nobody = Delivery { recipient: owner.clone(), ..whole.clone() };
        let Some(written) = spec.recipients.get(owner) else {
            let e = DeliverError::NoAddress { what: owner_word.clone(), owner: owner.clone() };
            records.push(nobody.failed(&e, 0, clock));
            continue;
        };
        let used_in = format!("deliver.burst.recipients.{owner}");
        let mbox = match resolve(written, env, &used_in).and_then(|a| mailbox(&a, &used_in)) {
            Ok(m) => m,
            Err(e) => {
                records.push(nobody.failed(&e, 0, clock));
                continue;
            }
        };
        let address = mbox.email.to_string();
        let d =
            Delivery { recipient: address.clone(), identity: format!("{owner}|{}", address.to_lowercase()), ..nobody };
        match markers.already_sent(&d).await {
            Ok(true) => {
                records.push(d.record(DeliveryStatus::AlreadySent, 0, None, clock));
                continue;
            }
            Ok(false) => {}
            Err(e) => {
                records.push(d.failed(&e.into(), 0, clock));
                continue;
            }
        }
        let mailer = match mailer {
            Ok(m) => m,
            Err(e) => {
                records.push(d.failed(e, 0, clock));
                continue;
            }
        };
        let cells: Vec<Vec<String>> =
            rows.iter().map(|row| columns.iter().map(|(i, _)| cell(&row[*i], locale)).collect()).collect();
        let vars = json!({ "pipeline": pipeline.name, "period": period_label, "period_code": run.manifest.period,
                           "title": title, "owner": owner });
        let built = body::subject(spec.subject.get(zh), &vars).and_then(|subject| {
            let body = body::burst_mail(&BurstMail {
                locale,
                subject: &subject,
                owner,
                period_label: &period_label,
                run_id: &run.manifest.run_id,
                as_of: &run.manifest.as_of,
                headers: &headers,
                rows: &cells,
                links: &links,
            })?;
            let to = [(mbox.clone(), false)];
            message(mailer.from(), &to, &subject, body, Vec::new(), clock)
        });
        let msg = match built {
            Ok(m) => m,
            Err(e) => {
                records.push(d.failed(&e, 0, clock));
                continue;
            }
        };
        let what = format!("{} of {owner} {}", spec.table, run.manifest.period);
        let (result, attempts) = mailer.send(&msg, options.retry, &what).await;
        records.push(match result {
            Ok(()) => markers.sent(&d, attempts).await,
            Err(e) => d.failed(&e, attempts, clock),
        });
    }
    if unowned > 0 {
        let e = DeliverError::Published {
            message: format!(
                "{unowned} rows of `{}` have no {owner_word}, so nobody was sent them; fill in `{}`",
                spec.table, spec.owner_column
            ),
        };
        records.push(Delivery { recipient: format!("(no {owner_word})"), ..whole.clone() }.failed(&e, 0, clock));
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "customer_id,account_manager,kind,detail,detail_zh\n\
        C0138,am01,high_value_decline,\"tier A, now in decline\",上期为 A 类\n\
        C0177,am01,usage_drop,active hours down,活跃时长下降\n\
        C0025,am02,usage_drop,active hours down,活跃时长下降\n\
        C0300,,usage_drop,active hours down,活跃时长下降\n";

    #[test]
    fn rows_are_grouped_by_owner_and_unowned_ones_counted() {
        let t = parse_csv(CSV.as_bytes(), "tables/warnings.csv").unwrap();
        let (groups, unowned) = by_owner(&t, 1);
        assert_eq!(groups.keys().collect::<Vec<_>>(), ["am01", "am02"]);
        assert_eq!(groups["am01"].len(), 2);
        assert_eq!(unowned, 1);
    }

    #[test]
    fn columns_follow_the_language() {
        let t = parse_csv(CSV.as_bytes(), "x").unwrap();
        let en = shown_columns(&t.columns, "account_manager", Locale::En);
        assert_eq!(en, [(0, "Customer".into()), (2, "Warning".into()), (3, "Detail".into())]);
        let zh = shown_columns(&t.columns, "account_manager", Locale::ZhCn);
        assert_eq!(zh, [(0, "客户".into()), (2, "预警类型".into()), (4, "说明".into())]);
        assert_eq!(cell(&t.rows[1][2], Locale::ZhCn), "使用量下降 30% 以上");
        assert_eq!(cell(&t.rows[1][0], Locale::ZhCn), "C0177");
        assert_eq!(cell(&None, Locale::En), "—");
    }

    #[test]
    fn json_exports_read_like_csv() {
        let json = r#"[{"customer_id":"C1","account_manager":"am01","hours":12.5},{"customer_id":"C2","hours":3}]"#;
        let t = parse_json(json.as_bytes(), "x").unwrap();
        assert_eq!(t.columns, ["customer_id", "account_manager", "hours"]);
        assert_eq!(t.rows[1], [Some("C2".into()), None, Some("3".into())]);
    }
}

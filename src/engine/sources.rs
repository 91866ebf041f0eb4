//! Sources: find each input file, register it as a table with the declared types, and
//! read it once for its checksum (and, for CSV, its dirty rows).

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::logical_expr::{cast, col, lit};
use datafusion::object_store::path::Path as ObjectPath;
use datafusion::object_store::{ObjectStore, ObjectStoreExt};
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use serde::Serialize;

use super::csv_check::{self, IngestReport};
use super::objects::{store_for, store_key};
use crate::config::Root;
use crate::diag::{Diagnostic, SourceText, did_you_mean};
use crate::spec::{CsvSpec, DataFormat, SourceLocation, SourceSpec};

/// A source whose file was found.
#[derive(Debug, Clone)]
pub struct ResolvedSource {
    pub spec: SourceSpec,
    /// The file's full URL (`file:///…`, `s3://bucket/key`).
    pub url: url::Url,
    pub format: DataFormat,
    /// The file as the user knows it (a local path, or the URL).
    pub display: String,
    /// The table's schema: the file's columns with the declared types.
    pub schema: SchemaRef,
}

/// An input as recorded in `run.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct InputRecord {
    pub table: String,
    pub location: String,
    pub format: String,
    pub bytes: u64,
    pub sha256: String,
    /// Data rows, for CSV (counted by the ingest pass).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

fn source_diag(spec: &SourceSpec, code: &'static str, msg: String, hint: String) -> Diagnostic {
    Diagnostic::new(code, msg).at(&spec.file, spec.place).with_hint(hint)
}

/// Finds the file of `spec` under `data_root`.
///
/// # Errors
/// A diagnostic pointing at the source in the pipeline when no file is found.
pub async fn resolve(spec: &SourceSpec, data_root: &Root) -> Result<(url::Url, DataFormat, String), Diagnostic> {
    let candidates: Vec<(url::Url, DataFormat, String)> = match (&spec.location, data_root) {
        (SourceLocation::Url(u), _) => vec![(u.clone(), spec.format.unwrap_or(DataFormat::Csv), u.to_string())],
        (SourceLocation::Relative(rel), Root::Local(dir)) => {
            let base = dir.join(rel);
            let paths: Vec<(std::path::PathBuf, DataFormat)> = match spec.format {
                Some(f) if std::path::Path::new(rel).extension().is_some() => vec![(base.clone(), f)],
                Some(f) => vec![(base.with_extension(f.as_str()), f)],
                None => DataFormat::ALL.iter().map(|f| (base.with_extension(f.as_str()), *f)).collect(),
            };
            paths
                .into_iter()
                .filter_map(|(p, f)| {
                    let abs = std::path::absolute(&p).ok()?;
                    // Shown relative to the current folder when inside it, as the user would type it.
                    let shown = std::env::current_dir()
                        .ok()
                        .and_then(|cwd| abs.strip_prefix(cwd).ok().map(|r| r.display().to_string()));
                    Some((url::Url::from_file_path(&abs).ok()?, f, shown.unwrap_or_else(|| p.display().to_string())))
                })
                .collect()
        }
        (SourceLocation::Relative(rel), Root::Url(root)) => {
            let mut root = root.clone();
            if !root.path().ends_with('/') {
                root.set_path(&format!("{}/", root.path()));
            }
            let names: Vec<(String, DataFormat)> = match spec.format {
                Some(f) if std::path::Path::new(rel).extension().is_some() => vec![(rel.clone(), f)],
                Some(f) => vec![(format!("{rel}.{}", f.as_str()), f)],
                None => DataFormat::ALL.iter().map(|f| (format!("{rel}.{}", f.as_str()), *f)).collect(),
            };
            names.into_iter().filter_map(|(n, f)| root.join(&n).ok().map(|u| (u.clone(), f, u.to_string()))).collect()
        }
    };
    for (url, format, display) in &candidates {
        if exists(url).await {
            return Ok((url.clone(), *format, display.clone()));
        }
    }
    let tried = candidates.iter().map(|c| c.2.as_str()).collect::<Vec<_>>().join(", ");
    Err(source_diag(
        spec,
        "source::not-found",
        format!("source `{}`: no file found (looked for {tried})", spec.name),
        format!("check `location:` and the data root ({data_root}); set another with --data-root or SEXTANT_DATA_ROOT"),
    ))
}

async fn exists(url: &url::Url) -> bool {
    if url.scheme() == "file" {
        return url.to_file_path().is_ok_and(|p| p.is_file());
    }
    let Ok(store) = store_for(url) else { return false };
    store.head(&object_path(url)).await.is_ok()
}

/// The object-store key of `url` (its path without the leading `/`).
pub fn object_path(url: &url::Url) -> ObjectPath {
    ObjectPath::from_url_path(url.path()).unwrap_or_else(|_| ObjectPath::from(url.path().trim_start_matches('/')))
}

fn file_format(format: DataFormat, csv: &CsvSpec) -> Arc<dyn FileFormat> {
    match format {
        DataFormat::Csv => {
            let mut nulls = vec![String::new()];
            nulls.extend(csv.null_values.iter().cloned());
            let regex = nulls.iter().map(|n| regex_escape(n)).collect::<Vec<_>>().join("|");
            Arc::new(
                CsvFormat::default()
                    .with_has_header(csv.header)
                    .with_delimiter(csv.delimiter)
                    .with_null_regex((!csv.null_values.is_empty()).then(|| format!("^(?:{regex})$"))),
            )
        }
        DataFormat::Parquet => Arc::new(ParquetFormat::default()),
        DataFormat::Ndjson => Arc::new(JsonFormat::default()),
        DataFormat::Json => Arc::new(JsonFormat::default().with_newline_delimited(false)),
    }
}

fn regex_escape(text: &str) -> String {
    text.chars().flat_map(|c| if "\\.+*?()|[]{}^$#&-~".contains(c) { vec!['\\', c] } else { vec![c] }).collect()
}

/// Registers `spec` as a table in `ctx`, reading the file's schema (without scanning data)
/// and applying the declared column types.
///
/// # Errors
/// A diagnostic when the file is missing or unreadable, or a declared column is not in it.
pub async fn register(ctx: &SessionContext, spec: &SourceSpec, data_root: &Root) -> Result<ResolvedSource, Diagnostic> {
    let (url, format, display) = resolve(spec, data_root).await?;
    if url.scheme() != "file" {
        let store = store_for(&url).map_err(|e| {
            source_diag(
                spec,
                "source::store",
                e.to_string(),
                "check the URL and the credentials in the environment".into(),
            )
        })?;
        if let Some(key) = store_key(&url) {
            ctx.register_object_store(&key, store);
        }
    }
    let unreadable = |e: datafusion::error::DataFusionError| {
        source_diag(
            spec,
            "source::unreadable",
            format!("source `{}`: cannot read {display} as {}: {e}", spec.name, format.as_str()),
            "check that the file is what `format:` says it is".into(),
        )
    };
    let table_url = ListingTableUrl::parse(url.as_str()).map_err(unreadable)?;
    let extension = std::path::Path::new(url.path()).extension().and_then(|e| e.to_str()).unwrap_or("").to_string();
    let options = ListingOptions::new(file_format(format, &spec.csv)).with_file_extension(format!(".{extension}"));
    let file_schema = match options.infer_schema(&ctx.state(), &table_url).await {
        Ok(schema) => schema,
        // A dirty CSV (a short row, say) defeats type inference; read it as text so that
        // the ingest pass can report every bad row with its line instead.
        Err(e) if format == DataFormat::Csv => header_schema(&url, &spec.csv).await.ok_or_else(|| unreadable(e))?,
        Err(e) => return Err(unreadable(e)),
    };

    // Declared columns must exist in the file.
    let mut declared_missing = None;
    for c in &spec.columns {
        if file_schema.field_with_name(&c.name).is_err() {
            let names: Vec<&str> = file_schema.fields().iter().map(|f| f.name().as_str()).collect();
            let hint = match did_you_mean(&c.name, names.iter().copied()) {
                Some(b) => format!("did you mean `{b}`? The file's columns are {}", names.join(", ")),
                None => format!("the file's columns are {}", names.join(", ")),
            };
            declared_missing = Some(
                Diagnostic::new(
                    "source::unknown-column",
                    format!("source `{}`: {display} has no column `{}`", spec.name, c.name),
                )
                .at(&spec.file, c.place)
                .with_hint(hint),
            );
            break;
        }
    }
    if let Some(d) = declared_missing {
        return Err(d);
    }
    let declared = |name: &str| spec.columns.iter().find(|c| c.name == name).map(|c| c.data_type.clone());
    // The types the table ends up with: declared ones over the file's own.
    let final_schema: SchemaRef = Arc::new(Schema::new(
        file_schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), declared(f.name()).unwrap_or_else(|| f.data_type().clone()), true))
            .collect::<Vec<_>>(),
    ));
    let is_text = matches!(format, DataFormat::Csv);
    // DataFusion's CSV scan honours neither null markers other than the empty cell nor a
    // date format, so such columns are read as text and converted in a view on top.
    let nulls_as_text = is_text && !spec.csv.null_values.is_empty();
    let dates_as_text = is_text && spec.csv.date_format.is_some();
    let read_fields: Vec<Field> = final_schema
        .fields()
        .iter()
        .zip(file_schema.fields())
        .map(|(want, found)| match format {
            DataFormat::Csv | DataFormat::Ndjson | DataFormat::Json => {
                let as_text = nulls_as_text || (dates_as_text && *want.data_type() == DataType::Date32);
                Field::new(want.name(), if as_text { DataType::Utf8 } else { want.data_type().clone() }, true)
            }
            // Parquet has its own types; they are cast afterwards where they differ.
            DataFormat::Parquet => found.as_ref().clone(),
        })
        .collect();
    let read_schema: SchemaRef = Arc::new(Schema::new(read_fields));
    let config = ListingTableConfig::new(table_url).with_listing_options(options).with_schema(read_schema.clone());
    let table = Arc::new(ListingTable::try_new(config).map_err(unreadable)?);

    if read_schema.fields() != final_schema.fields() {
        let df = ctx.read_table(table).map_err(unreadable)?;
        let exprs: Vec<_> = read_schema
            .fields()
            .iter()
            .zip(final_schema.fields())
            .map(|(read, want)| {
                let mut e = col(datafusion::common::Column::new_unqualified(read.name()));
                if *read.data_type() == *want.data_type() && !nulls_as_text {
                    return e;
                }
                if nulls_as_text {
                    for marker in &spec.csv.null_values {
                        e = datafusion::functions::expr_fn::nullif(e, lit(marker.clone()));
                    }
                }
                let e = match (want.data_type(), &spec.csv.date_format) {
                    (DataType::Utf8, _) => e,
                    (DataType::Date32, Some(fmt)) if is_text => {
                        datafusion::functions::expr_fn::to_date(vec![e, lit(fmt.clone())])
                    }
                    (t, _) => cast(e, t.clone()),
                };
                e.alias(read.name())
            })
            .collect();
        let view = df.select(exprs).map_err(unreadable)?.into_view();
        ctx.register_table(spec.name.as_str(), view).map_err(unreadable)?;
    } else {
        ctx.register_table(spec.name.as_str(), table).map_err(unreadable)?;
    }
    Ok(ResolvedSource { spec: spec.clone(), url, format, display, schema: final_schema })
}

/// A schema of text columns named by the CSV's header row (`column_N` without a header).
async fn header_schema(url: &url::Url, csv: &CsvSpec) -> Option<SchemaRef> {
    let head: Vec<u8> = if url.scheme() == "file" {
        let mut buf = vec![0; 64 * 1024];
        let mut file = std::fs::File::open(url.to_file_path().ok()?).ok()?;
        let n = std::io::Read::read(&mut file, &mut buf).ok()?;
        buf.truncate(n);
        buf
    } else {
        let store = store_for(url).ok()?;
        let path = object_path(url);
        let size = store.head(&path).await.ok()?.size;
        store.get_range(&path, 0..size.min(64 * 1024)).await.ok()?.to_vec()
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(csv.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(head.as_slice());
    let first = reader.records().next()?.ok()?;
    let names: Vec<String> = if csv.header {
        first.iter().map(str::to_string).collect()
    } else {
        (1..=first.len()).map(|i| format!("column_{i}")).collect()
    };
    Some(Arc::new(Schema::new(names.into_iter().map(|n| Field::new(n, DataType::Utf8, true)).collect::<Vec<_>>())))
}

/// Reads the source's file: checksum and size, and for CSV every row the typed reader
/// would reject. With `cache`, a CSV also gets its Parquet copy there: when the copy for
/// this checksum exists the rows are not read again (they were checked when it was made),
/// else the returned copy is still to be written ([`super::csv_cache::Copy::make`]).
///
/// # Errors
/// The dirty rows (up to [`csv_check::SHOWN_PROBLEMS`], plus a count), or an I/O error,
/// as diagnostics.
pub async fn ingest(
    source: &ResolvedSource,
    cache: Option<&super::csv_cache::CsvCache>,
) -> Result<(InputRecord, Option<super::csv_cache::Copy>), Vec<Diagnostic>> {
    let record = |report: &IngestReport, rows: Option<u64>| InputRecord {
        table: source.spec.name.clone(),
        location: source.display.clone(),
        format: source.format.as_str().to_string(),
        bytes: report.bytes,
        sha256: report.sha256.clone(),
        rows,
    };
    let cache = cache.filter(|_| source.format == DataFormat::Csv);
    if let Some(cache) = cache {
        // A CSV whose Parquet copy exists was read, checked and converted before: its
        // checksum is all there is to compute.
        let hashed = read_input(source, false).await?;
        let copy = cache.find(source, &hashed.sha256);
        if let Some(rows) = copy.rows() {
            return Ok((record(&hashed, Some(rows)), Some(copy)));
        }
    }
    let report = read_input(source, true).await?;
    if report.bad_rows > 0 {
        let mut problems = report.problems;
        let shown = problems.len() as u64;
        let summary = Diagnostic::new(
            "csv::dirty-file",
            format!(
                "source `{}`: {} of {} rows cannot be read as declared{}",
                source.spec.name,
                report.bad_rows,
                report.rows,
                if report.bad_rows > shown { format!(" ({shown} shown above)") } else { String::new() }
            ),
        )
        .with_hint("nothing was computed from this file; fix these rows in the export and run again");
        problems.push(Diagnostic { source: Some(SourceText::new(source.display.clone(), "")), ..summary });
        return Err(problems);
    }
    let copy = cache.map(|c| c.find(source, &report.sha256));
    Ok((record(&report, (source.format == DataFormat::Csv).then_some(report.rows)), copy))
}

/// Reads the source's file once: checksum and size, and with `check_rows` (for CSV) every
/// row the typed reader would reject.
async fn read_input(source: &ResolvedSource, check_rows: bool) -> Result<IngestReport, Vec<Diagnostic>> {
    let io_err = |e: String| {
        vec![
            Diagnostic::new(
                "source::io",
                format!("source `{}`: reading {} failed: {e}", source.spec.name, source.display),
            )
            .with_hint("check that the file is readable and complete, then run again"),
        ]
    };
    let csv =
        (check_rows && source.format == DataFormat::Csv).then(|| (source.spec.csv.clone(), source.schema.clone()));
    let name = source.display.clone();
    let report: IngestReport = if source.url.scheme() == "file" {
        let path = source.url.to_file_path().map_err(|()| io_err("not a local path".into()))?;
        tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path)?;
            let reader = std::io::BufReader::with_capacity(1 << 20, file);
            csv_check::ingest(reader, &name, csv.as_ref().map(|(c, s)| (c, s.as_ref())))
        })
        .await
        .map_err(|e| io_err(e.to_string()))?
        .map_err(|e| io_err(e.to_string()))?
    } else {
        let store: Arc<dyn ObjectStore> = store_for(&source.url).map_err(|e| io_err(e.to_string()))?;
        let stream = store
            .get(&object_path(&source.url))
            .await
            .map_err(|e| io_err(e.to_string()))?
            .into_stream()
            .map_err(std::io::Error::other);
        let reader = tokio_util::io::StreamReader::new(stream);
        tokio::task::spawn_blocking(move || {
            let bridge = tokio_util::io::SyncIoBridge::new(reader);
            csv_check::ingest(std::io::BufReader::new(bridge), &name, csv.as_ref().map(|(c, s)| (c, s.as_ref())))
        })
        .await
        .map_err(|e| io_err(e.to_string()))?
        .map_err(|e| io_err(e.to_string()))?
    };
    Ok(report)
}

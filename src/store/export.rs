//! Exports: tables written as CSV, Parquet or JSON, streamed batch by batch from the engine.

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::DataFrame;
use futures::StreamExt;

use crate::spec::ExportFormat;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("exporting `{table}` failed: {source}")]
    Engine { table: String, source: DataFusionError },
    #[error("encoding `{table}` as {format} failed: {message}")]
    Encode { table: String, format: &'static str, message: String },
}

enum Encoder {
    Csv(datafusion::arrow::csv::Writer<Vec<u8>>),
    Parquet(ArrowWriter<Vec<u8>>),
    Json(datafusion::arrow::json::ArrayWriter<Vec<u8>>),
}

impl Encoder {
    fn new(format: ExportFormat, schema: SchemaRef) -> Result<Encoder, String> {
        Ok(match format {
            ExportFormat::Csv => Encoder::Csv(
                datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .with_date_format("%Y-%m-%d".into())
                    .build(Vec::new()),
            ),
            ExportFormat::Parquet => {
                Encoder::Parquet(ArrowWriter::try_new(Vec::new(), schema, None).map_err(|e| e.to_string())?)
            }
            ExportFormat::Json => Encoder::Json(datafusion::arrow::json::ArrayWriter::new(Vec::new())),
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        match self {
            Encoder::Csv(w) => w.write(batch).map_err(|e| e.to_string()),
            Encoder::Parquet(w) => w.write(batch).map_err(|e| e.to_string()),
            Encoder::Json(w) => w.write(batch).map_err(|e| e.to_string()),
        }
    }

    fn finish(self) -> Result<Vec<u8>, String> {
        match self {
            Encoder::Csv(w) => Ok(w.into_inner()),
            Encoder::Parquet(w) => w.into_inner().map_err(|e| e.to_string()),
            Encoder::Json(mut w) => {
                w.finish().map_err(|e| e.to_string())?;
                Ok(w.into_inner())
            }
        }
    }
}

/// Encodes the rows of `df` as `format`; returns the bytes and the row count.
///
/// # Errors
/// When the query fails or the encoder rejects a type.
pub async fn encode(table: &str, df: DataFrame, format: ExportFormat) -> Result<(Bytes, u64), ExportError> {
    let engine = |source| ExportError::Engine { table: table.to_string(), source };
    let encode_err = |message| ExportError::Encode { table: table.to_string(), format: format.extension(), message };
    let schema: SchemaRef = std::sync::Arc::new(df.schema().as_arrow().clone());
    let mut stream = df.execute_stream().await.map_err(engine)?;
    let mut encoder = Encoder::new(format, schema.clone()).map_err(encode_err)?;
    let (mut rows, mut batches) = (0, 0);
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(engine)?;
        rows += batch.num_rows() as u64;
        batches += 1;
        encoder.write(&batch).map_err(encode_err)?;
    }
    if batches == 0 {
        // An empty table still gets its header row (CSV) or schema (Parquet).
        encoder.write(&RecordBatch::new_empty(schema)).map_err(encode_err)?;
    }
    let bytes = encoder.finish().map_err(encode_err)?;
    Ok((Bytes::from(bytes), rows))
}

//! Where sweep results go: JSON Lines (the contract), CSV or Parquet (one row per listing and
//! match, for tools that load tables).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use crate::error::{Error, Result};
use crate::model::CheckResult;

/// Result formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Jsonl,
    Csv,
    Parquet,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "jsonl" | "json" => Ok(OutputFormat::Jsonl),
            "csv" => Ok(OutputFormat::Csv),
            "parquet" => Ok(OutputFormat::Parquet),
            other => Err(format!(
                "unknown output format '{other}' (jsonl, csv, parquet)"
            )),
        }
    }
}

impl OutputFormat {
    /// The format a file name asks for: `.csv`, `.parquet`, else JSON Lines.
    pub fn for_path(path: &Path) -> OutputFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => OutputFormat::Csv,
            Some("parquet") => OutputFormat::Parquet,
            _ => OutputFormat::Jsonl,
        }
    }
}

/// A destination for results, written in input order.
pub trait Sink {
    fn result(&mut self, res: &CheckResult) -> Result<()>;
    /// Makes everything written so far durable against a kill of the process.
    fn flush(&mut self) -> Result<()>;
    /// Completes the output (a Parquet footer); nothing may be written after.
    fn finish(&mut self) -> Result<()>;
}

/// The columns of the tabular formats: one row per listing and match (a listing without a
/// match has one row with empty match fields).
const COLUMNS: [&str; 7] = [
    "listing_id",
    "decision",
    "score",
    "banned_id",
    "match_score",
    "match_decision",
    "reasons",
];

fn rows(res: &CheckResult) -> Vec<(String, Option<f32>, String, String)> {
    if res.matches.is_empty() {
        return vec![(String::new(), None, String::new(), String::new())];
    }
    res.matches
        .iter()
        .map(|m| {
            (
                m.banned_id.clone(),
                Some(m.score),
                m.decision.as_str().to_string(),
                m.reasons.join(" | "),
            )
        })
        .collect()
}

/// JSON Lines or CSV to any writer.
pub struct LineSink<'a> {
    out: &'a mut dyn Write,
    format: OutputFormat,
    header_pending: bool,
}

impl<'a> LineSink<'a> {
    /// `fresh`: the output starts here (a resumed CSV file has its header already).
    pub fn new(out: &'a mut dyn Write, format: OutputFormat, fresh: bool) -> Self {
        LineSink {
            out,
            format,
            header_pending: fresh && format == OutputFormat::Csv,
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io("<output>", e))
    }
}

impl Sink for LineSink<'_> {
    fn result(&mut self, res: &CheckResult) -> Result<()> {
        if self.header_pending {
            self.header_pending = false;
            self.write((COLUMNS.join(",") + "\n").as_bytes())?;
        }
        match self.format {
            OutputFormat::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                let score = format!("{}", res.score);
                for (id, ms, md, reasons) in rows(res) {
                    let ms = ms.map(|s| format!("{s}")).unwrap_or_default();
                    w.write_record([
                        res.listing_id.as_str(),
                        res.decision.as_str(),
                        &score,
                        &id,
                        &ms,
                        &md,
                        &reasons,
                    ])
                    .map_err(|e| Error::Invalid(format!("CSV: {e}")))?;
                }
                let bytes = w
                    .into_inner()
                    .map_err(|e| Error::Invalid(format!("CSV: {e}")))?;
                self.write(&bytes)
            }
            _ => {
                let mut line = serde_json::to_vec(res).expect("results serialise");
                line.push(b'\n');
                self.write(&line)
            }
        }
    }

    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io("<output>", e))
    }

    fn finish(&mut self) -> Result<()> {
        self.flush()
    }
}

/// One row of the tabular formats.
struct Row {
    listing_id: String,
    decision: &'static str,
    score: f32,
    banned_id: String,
    match_score: Option<f32>,
    match_decision: String,
    reasons: String,
}

/// Parquet to a file: rows are buffered per batch and written as one row group each.
pub struct ParquetSink {
    writer: Option<ArrowWriter<File>>,
    schema: Arc<Schema>,
    rows: Vec<Row>,
}

impl ParquetSink {
    pub fn create(path: &Path) -> Result<ParquetSink> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("listing_id", DataType::Utf8, false),
            Field::new("decision", DataType::Utf8, false),
            Field::new("score", DataType::Float32, false),
            Field::new("banned_id", DataType::Utf8, true),
            Field::new("match_score", DataType::Float32, true),
            Field::new("match_decision", DataType::Utf8, true),
            Field::new("reasons", DataType::Utf8, true),
        ]));
        let f = File::create(path).map_err(|e| Error::io(path, e))?;
        let writer = ArrowWriter::try_new(f, schema.clone(), None)
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        Ok(ParquetSink {
            writer: Some(writer),
            schema,
            rows: Vec::new(),
        })
    }
}

fn opt_str(v: &str) -> Option<&str> {
    (!v.is_empty()).then_some(v)
}

impl Sink for ParquetSink {
    fn result(&mut self, res: &CheckResult) -> Result<()> {
        for (banned_id, match_score, match_decision, reasons) in rows(res) {
            self.rows.push(Row {
                listing_id: res.listing_id.clone(),
                decision: res.decision.as_str(),
                score: res.score,
                banned_id,
                match_score,
                match_decision,
                reasons,
            });
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        if self.rows.is_empty() {
            return Ok(());
        }
        let r = std::mem::take(&mut self.rows);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                r.iter().map(|x| x.listing_id.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(r.iter().map(|x| x.decision))),
            Arc::new(Float32Array::from_iter_values(r.iter().map(|x| x.score))),
            Arc::new(StringArray::from_iter(
                r.iter().map(|x| opt_str(&x.banned_id)),
            )),
            Arc::new(Float32Array::from_iter(r.iter().map(|x| x.match_score))),
            Arc::new(StringArray::from_iter(
                r.iter().map(|x| opt_str(&x.match_decision)),
            )),
            Arc::new(StringArray::from_iter(
                r.iter().map(|x| opt_str(&x.reasons)),
            )),
        ];
        let batch = RecordBatch::try_new(self.schema.clone(), cols)
            .map_err(|e| Error::Invalid(format!("Parquet: {e}")))?;
        w.write(&batch)
            .map_err(|e| Error::Invalid(format!("Parquet: {e}")))
    }

    fn finish(&mut self) -> Result<()> {
        self.flush()?;
        if let Some(w) = self.writer.take() {
            w.close()
                .map_err(|e| Error::Invalid(format!("Parquet: {e}")))?;
        }
        Ok(())
    }
}

//! Reading records from files: JSON Lines and CSV with the same field names, the regulators'
//! formats, and (`pull`) the regulators' endpoints those formats come from.

pub mod cpsc;
mod csv;
pub mod healthcanada;
mod lines;
mod parquet;
pub mod pull;
pub mod safetykorea;
pub mod xml;

pub use lines::{LineReader, MAX_LINE_BYTES};
pub use parquet::row_object;

use std::io::BufRead;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// Input formats. `Auto` picks by file extension (`.csv`, `.parquet`, else JSON Lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Auto,
    Jsonl,
    Csv,
    Parquet,
    /// US CPSC recall feeds (a whole JSON document: see `cpsc`).
    Cpsc,
    /// Health Canada's recalls open data.
    HealthCanada,
    /// Korea's SafetyKorea recall API (domestic and overseas lists).
    SafetyKorea,
    /// EU Safety Gate weekly report XML.
    SafetyGate,
    /// Korea's Consumer24 recall API XML.
    Consumer24,
    /// Australia's ACCC product safety recalls RSS.
    Accc,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Format::Auto),
            "jsonl" | "json" | "ndjson" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            "cpsc" => Ok(Format::Cpsc),
            "healthcanada" => Ok(Format::HealthCanada),
            "safetykorea" => Ok(Format::SafetyKorea),
            "safetygate" => Ok(Format::SafetyGate),
            "consumer24" => Ok(Format::Consumer24),
            "accc" => Ok(Format::Accc),
            other => Err(format!(
                "unknown format '{other}' (auto, jsonl, csv, parquet, cpsc, healthcanada, safetykorea, safetygate, consumer24, accc)"
            )),
        }
    }
}

impl Format {
    pub fn resolve(self, path: &Path) -> Format {
        match self {
            Format::Auto => match path.extension().and_then(|e| e.to_str()) {
                Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
                Some(e) if e.eq_ignore_ascii_case("parquet") => Format::Parquet,
                _ => Format::Jsonl,
            },
            f => f,
        }
    }
}

/// Reads every record of `input` (named `path` in messages), calling `each` with the parsed
/// record and its line number, or with the error of a bad line. Only an unreadable input stops
/// the reading.
pub fn read_records<T>(
    path: &Path,
    input: impl BufRead,
    format: Format,
    parse: impl Fn(Value) -> Result<T, String>,
    mut each: impl FnMut(Result<(u64, T)>),
) -> Result<()> {
    let bad = |line: u64, reason: String| Error::Record {
        path: path.to_path_buf(),
        line,
        reason,
    };
    match format.resolve(path) {
        Format::Cpsc
        | Format::HealthCanada
        | Format::SafetyKorea
        | Format::SafetyGate
        | Format::Consumer24
        | Format::Accc => {
            // A feed is one JSON document, not lines: read it whole (bounded), then convert.
            let mut text = Vec::new();
            std::io::Read::read_to_end(
                &mut std::io::Read::take(input, MAX_DOCUMENT_BYTES + 1),
                &mut text,
            )
            .map_err(|e| Error::io(path, e))?;
            if text.len() as u64 > MAX_DOCUMENT_BYTES {
                return Err(Error::Invalid(format!(
                    "{}: larger than 1 GiB",
                    path.display()
                )));
            }
            let records = match format.resolve(path) {
                f @ (Format::SafetyGate | Format::Consumer24 | Format::Accc) => {
                    let xml = String::from_utf8(text).map_err(|_| {
                        Error::Invalid(format!("{}: not UTF-8 text", path.display()))
                    })?;
                    match f {
                        Format::SafetyGate => xml::safety_gate(&xml),
                        Format::Consumer24 => xml::consumer24(&xml),
                        _ => xml::accc(&xml),
                    }
                }
                f => {
                    let doc: Value = serde_json::from_slice(&text).map_err(|e| {
                        Error::Invalid(format!("{}: invalid JSON: {e}", path.display()))
                    })?;
                    match f {
                        Format::HealthCanada => healthcanada::convert(doc),
                        Format::SafetyKorea => safetykorea::convert(doc),
                        _ => cpsc::convert(doc),
                    }
                }
            }
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
            for (i, obj) in records.into_iter().enumerate() {
                // "Lines" of a feed are its records, numbered from 1.
                let n = i as u64 + 1;
                each(
                    parse(obj)
                        .map(|r| (n, r))
                        .map_err(|e| bad(n, format!("record {n}: {e}"))),
                );
            }
            Ok(())
        }
        Format::Parquet => parquet::read(path, |line, obj| {
            each(
                obj.and_then(&parse)
                    .map(|r| (line, r))
                    .map_err(|e| bad(line, e)),
            )
        }),
        Format::Csv => csv::read(path, input, |line, obj| {
            each(
                obj.and_then(&parse)
                    .map(|r| (line, r))
                    .map_err(|e| bad(line, e)),
            )
        }),
        _ => {
            let mut reader = LineReader::new(input);
            while let Some((line, text)) = reader.next_line().map_err(|e| Error::io(path, e))? {
                let item = text.and_then(|t| {
                    let t = t.trim();
                    if t.is_empty() {
                        return Ok(None);
                    }
                    let v: Value =
                        serde_json::from_str(t).map_err(|e| format!("invalid JSON: {e}"))?;
                    parse(v).map(Some)
                });
                match item {
                    Ok(Some(r)) => each(Ok((line, r))),
                    Ok(None) => {}
                    Err(e) => each(Err(bad(line, e))),
                }
            }
            Ok(())
        }
    }
}

/// A JSON feed field as text: non-empty strings trimmed, numbers written out, else nothing
/// (feeds send `""` and `null` where values are missing).
pub(crate) fn json_text(r: &Value, k: &str) -> Option<String> {
    match r.get(k)? {
        Value::String(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Sets `key` when the value is there: feed adapters build records from optional fields.
pub(crate) fn put(o: &mut serde_json::Map<String, Value>, key: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        o.insert(key.to_string(), v.into());
    }
}

/// Largest feed document read whole.
const MAX_DOCUMENT_BYTES: u64 = 1 << 30;

/// `Auto` for a `.json` file that holds a known feed document: the feed's format.
pub fn sniff(path: &Path, format: Format) -> Format {
    let ext = path.extension().and_then(|e| e.to_str());
    if format == Format::Auto && matches!(ext, Some("xml" | "rss")) {
        // The head only: a feed may be large, and the markers are at its start.
        let mut head = Vec::new();
        if let Ok(f) = std::fs::File::open(path) {
            let _ = std::io::Read::read_to_end(&mut std::io::Read::take(f, 4096), &mut head);
        }
        let head = String::from_utf8_lossy(&head);
        if xml::is_safety_gate(&head) {
            return Format::SafetyGate;
        }
        if xml::is_consumer24(&head) {
            return Format::Consumer24;
        }
        if xml::is_accc(&head) {
            return Format::Accc;
        }
        return format;
    }
    if format != Format::Auto || ext != Some("json") {
        return format;
    }
    // Read within the feed bound: a larger file is no feed document (and is read as lines).
    let mut text = Vec::new();
    let Ok(f) = std::fs::File::open(path) else {
        return format;
    };
    if std::io::Read::read_to_end(
        &mut std::io::Read::take(f, MAX_DOCUMENT_BYTES + 1),
        &mut text,
    )
    .is_err()
        || text.len() as u64 > MAX_DOCUMENT_BYTES
    {
        return format;
    }
    match serde_json::from_slice::<Value>(&text) {
        Ok(doc) if cpsc::detect(&doc) => Format::Cpsc,
        Ok(doc) if healthcanada::detect(&doc) => Format::HealthCanada,
        Ok(doc) if safetykorea::detect(&doc) => Format::SafetyKorea,
        _ => format,
    }
}

/// Opens a file for `read_records`, or stdin for `-`.
pub fn open(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::BufReader::new(std::io::stdin())));
    }
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::io(
            path,
            std::io::Error::other("is a directory, expected a file"),
        ));
    }
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, f)))
}

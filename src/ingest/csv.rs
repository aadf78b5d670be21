//! CSV with a header of record field names; list fields hold `;`-separated values.

use std::io::BufRead;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Calls `each(line, object or reason)` for every data row; empty cells are left out of the object.
pub fn read(
    path: &Path,
    input: impl BufRead,
    mut each: impl FnMut(u64, Result<Value, String>),
) -> Result<()> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::Record {
            path: path.to_path_buf(),
            line: 1,
            reason: format!("CSV header: {e}"),
        })?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rec = csv::StringRecord::new();
    loop {
        let line = rdr.position().line();
        match rdr.read_record(&mut rec) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = rec.position().map_or(line, |p| p.line());
                let mut obj = Map::new();
                for (h, cell) in headers.iter().zip(rec.iter()) {
                    if !cell.is_empty() {
                        obj.insert(h.clone(), Value::String(cell.to_string()));
                    }
                }
                each(line, Ok(Value::Object(obj)));
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                if let csv::ErrorKind::Io(io) = e.kind() {
                    return Err(Error::io(
                        path,
                        std::io::Error::new(io.kind(), io.to_string()),
                    ));
                }
                // A malformed or non-UTF-8 row: the caller names the line; reading goes on.
                let reason = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
                    _ => format!("CSV: {e}"),
                };
                each(line, Err(reason));
            }
        }
    }
}

//! CSV with a header of record field names; list fields hold `;`-separated values.

use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::path::Path;
use std::rc::Rc;

use serde_json::{Map, Value};

use super::MAX_LINE_BYTES;
use crate::error::{Error, Result};

/// Longest CSV record (a row, quoted newlines included), in bytes: the bound of JSON Lines.
const MAX_RECORD_BYTES: usize = MAX_LINE_BYTES;

/// The error [`Bounded`] raises when a record outgrows [`MAX_RECORD_BYTES`].
#[derive(Debug)]
struct TooLong;

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CSV record longer than {} MiB", MAX_RECORD_BYTES >> 20)
    }
}

impl std::error::Error for TooLong {}

/// Counts the bytes read since the reader last reset `since` (at each record); past the bound
/// reading fails. The csv crate grows its record buffer without limit, so one endless line or
/// unclosed quote would otherwise take all memory.
struct Bounded<R> {
    inner: R,
    since: Rc<Cell<usize>>,
}

impl<R: BufRead> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.since.get() > MAX_RECORD_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, TooLong));
        }
        let n = self.inner.read(buf)?;
        self.since.set(self.since.get() + n);
        Ok(n)
    }
}

/// Skips to just after the next newline without holding the bytes.
fn skip_line(r: &mut impl BufRead) -> io::Result<()> {
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                r.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = chunk.len();
                r.consume(n);
            }
        }
    }
}

fn is_too_long(e: &csv::Error) -> bool {
    matches!(e.kind(), csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|i| i.is::<TooLong>()))
}

/// Calls `each(line, object or reason)` for every data row; empty cells are left out of the object.
/// A row over [`MAX_RECORD_BYTES`] is reported by its line and skipped to the end of the
/// physical line where the bound was reached; reading goes on from the next one.
pub fn read(
    path: &Path,
    input: impl BufRead,
    mut each: impl FnMut(u64, Result<Value, String>),
) -> Result<()> {
    let since = Rc::new(Cell::new(0));
    let mut src = Bounded {
        inner: input,
        since: since.clone(),
    };
    let mut headers: Option<Vec<String>> = None;
    // The file's line number of the first line the current csv reader sees.
    let mut first_line = 1u64;
    'readers: loop {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .has_headers(headers.is_none())
            .from_reader(src);
        let headers: &Vec<String> = match &mut headers {
            Some(h) => h,
            None => {
                let h = rdr.headers().map_err(|e| Error::Record {
                    path: path.to_path_buf(),
                    line: 1,
                    reason: if is_too_long(&e) {
                        format!("CSV header: longer than {} MiB", MAX_RECORD_BYTES >> 20)
                    } else {
                        format!("CSV header: {e}")
                    },
                })?;
                headers.insert(
                    h.iter()
                        .map(|h| h.trim_start_matches('\u{feff}').to_string())
                        .collect(),
                )
            }
        };
        let mut rec = csv::StringRecord::new();
        loop {
            since.set(0);
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
                    each(first_line - 1 + line, Ok(Value::Object(obj)));
                }
                Err(e) if is_too_long(&e) => {
                    each(
                        first_line - 1 + line,
                        Err(format!(
                            "CSV record longer than {} MiB; skipped",
                            MAX_RECORD_BYTES >> 20
                        )),
                    );
                    // Resume at the next physical line, with a fresh reader (the old one's
                    // state is mid-record).
                    let reached = first_line - 1 + rdr.position().line();
                    src = rdr.into_inner();
                    skip_line(&mut src.inner).map_err(|e| Error::io(path, e))?;
                    first_line = reached + 1;
                    continue 'readers;
                }
                Err(e) => {
                    let line = first_line - 1 + e.position().map_or(line, |p| p.line());
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(input: &[u8]) -> Vec<(u64, Result<Value, String>)> {
        let mut out = Vec::new();
        read(Path::new("t.csv"), input, |l, r| out.push((l, r))).unwrap();
        out
    }

    #[test]
    fn an_endless_row_is_skipped_by_line_and_reading_goes_on() {
        let mut input = b"id,title\na,first\nb,".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 100_000));
        input.extend_from_slice(b"\nc,third\n\"d\",\"fourth\"\n");
        let got = rows(&input);
        assert_eq!(
            got.len(),
            4,
            "{:?}",
            got.iter().map(|g| g.0).collect::<Vec<_>>()
        );
        assert_eq!(got[0].0, 2);
        assert_eq!(
            (
                got[1].0,
                got[1].1.as_ref().unwrap_err().contains("longer than 4 MiB")
            ),
            (3, true)
        );
        assert_eq!(got[2].0, 4);
        assert_eq!(got[2].1.as_ref().unwrap()["title"], "third");
        assert_eq!(got[3].0, 5);
        assert_eq!(got[3].1.as_ref().unwrap()["id"], "d");
    }

    #[test]
    fn an_unclosed_quote_is_bounded_too() {
        let mut input = b"id,title\na,\"open".to_vec();
        for _ in 0..(MAX_RECORD_BYTES / 1000 + 10) {
            input.extend_from_slice(&[b'y'; 999]);
            input.push(b'\n');
        }
        let got = rows(&input);
        assert!(
            got[0].1.as_ref().unwrap_err().contains("longer than"),
            "{:?}",
            got[0]
        );
        assert_eq!(got[0].0, 2);
    }

    #[test]
    fn an_endless_header_is_an_error_naming_line_1() {
        let input = vec![b'h'; MAX_RECORD_BYTES + 10];
        let e = read(Path::new("t.csv"), &input[..], |_, _| {}).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.csv:1: CSV header: longer than"),
            "{e}"
        );
    }
}

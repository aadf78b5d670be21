//! A line reader with a bound on line length, so one giant line cannot exhaust memory.

use std::io::{self, BufRead};

/// Longest line kept; longer lines are skipped (and reported) without being held in memory.
pub const MAX_LINE_BYTES: usize = 4 << 20;

pub struct LineReader<R> {
    inner: R,
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R) -> Self {
        LineReader {
            inner,
            line: 0,
            buf: Vec::new(),
        }
    }

    /// The next line (1-based number, text or the reason it is unusable), `None` at the end.
    #[allow(clippy::type_complexity)]
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Result<String, String>)>> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if !too_long {
                if self.buf.len() + take > MAX_LINE_BYTES + 1 {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(&chunk[..take]);
                }
            }
            self.inner.consume(take);
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.line += 1;
        if too_long {
            return Ok(Some((
                self.line,
                Err(format!(
                    "line longer than {} MiB; skipped",
                    MAX_LINE_BYTES >> 20
                )),
            )));
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        let mut bytes = self.buf.as_slice();
        if self.line == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let text = std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| "not UTF-8 text".to_string());
        Ok(Some((self.line, text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lines_and_bounds_them() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let input = format!("\u{feff}a\r\n{long}\n\nb");
        let mut r = LineReader::new(input.as_bytes());
        assert_eq!(r.next_line().unwrap(), Some((1, Ok("a".into()))));
        assert!(r.next_line().unwrap().unwrap().1.is_err());
        assert_eq!(r.next_line().unwrap(), Some((3, Ok("".into()))));
        assert_eq!(r.next_line().unwrap(), Some((4, Ok("b".into()))));
        assert_eq!(r.next_line().unwrap(), None);
        let mut r = LineReader::new(&b"\xff\xfe\n"[..]);
        assert_eq!(
            r.next_line().unwrap(),
            Some((1, Err("not UTF-8 text".into())))
        );
    }
}

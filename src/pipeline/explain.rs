//! One explain request behind `relist explain` and `POST /v1/explain`: a pair `{"banned_id",
//! "listing"}` judged as `check` judges that record for that listing, whatever its score
//! ([`Engine::explain`]); and files of pairs, streamed in bounded batches judged in parallel,
//! answered in input order, a bad pair answered with a line that says why.

use std::io::BufRead;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::engine::{CheckOptions, Engine, Explanation};
use crate::error::{Error, Result};
use crate::feeds::{self, Format};
use crate::model::Listing;
use crate::photo::QueryPhotos;

/// Pairs judged together: enough to keep both cores busy, few enough to bound memory.
const BATCH: usize = 256;
/// Batches read ahead of the judging.
const QUEUE: usize = 4;

/// One pair to explain.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainRequest {
    pub banned_id: String,
    pub listing: Listing,
}

/// Why a pair could not be explained, with what is known of it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PairError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banned_id: Option<String>,
    /// The input line (command line), from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The position in `pairs` (`POST /v1/explain`), from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    /// One line: the file and line (or item), and the reason.
    pub error: String,
}

/// One answer per pair, in input order: the explanation, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ExplainLine {
    Explained(Explanation),
    Failed(PairError),
}

impl ExplainLine {
    pub fn is_failed(&self) -> bool {
        matches!(self, ExplainLine::Failed(_))
    }
}

/// A pair that does not parse: what is known of it, and the reason (without a place).
#[derive(Debug, Clone, PartialEq)]
pub struct PairFault {
    pub listing_id: Option<String>,
    pub banned_id: Option<String>,
    pub reason: String,
}

impl PairFault {
    /// The fault at a place (`file:line` or `item N`).
    pub fn at(self, place: &str, line: Option<u64>, item: Option<usize>) -> PairError {
        PairError {
            listing_id: self.listing_id,
            banned_id: self.banned_id,
            line,
            item,
            error: format!("{place}: {}", self.reason),
        }
    }
}

impl ExplainRequest {
    /// The parts of a pair object: the banned id and the listing as sent, unvalidated (the
    /// server checks its own limits and takes inline photos out of it first).
    pub fn split(v: Value) -> Result<(String, Value), PairFault> {
        let Value::Object(mut o) = v else {
            return Err(PairFault {
                listing_id: None,
                banned_id: None,
                reason: "expected a JSON object {\"banned_id\", \"listing\"}".into(),
            });
        };
        let listing = o.remove("listing");
        let listing_id = listing
            .as_ref()
            .and_then(|l| l.get("id"))
            .and_then(|id| match id {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        let banned_id = match o.remove("banned_id") {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let fault = |reason: &str| PairFault {
            listing_id: listing_id.clone(),
            banned_id: banned_id.clone(),
            reason: reason.to_string(),
        };
        let Some(id) = banned_id.clone() else {
            return Err(fault("field `banned_id` is missing or not a string"));
        };
        match listing {
            Some(l @ Value::Object(_)) => Ok((id, l)),
            _ => Err(fault("field `listing` is missing or not an object")),
        }
    }

    /// A pair object `{"banned_id": ID, "listing": {...}}`, validated (the listing as the
    /// record contract says).
    pub fn from_value(v: Value) -> Result<ExplainRequest, PairFault> {
        let (banned_id, listing) = Self::split(v)?;
        Self::new(banned_id, listing)
    }

    /// A pair of a banned id and a listing object, validated.
    pub fn new(banned_id: String, listing: Value) -> Result<ExplainRequest, PairFault> {
        let listing_id = listing
            .get("id")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_string());
        match Listing::from_value(listing) {
            Ok(listing) => Ok(ExplainRequest { banned_id, listing }),
            Err(e) => Err(PairFault {
                listing_id,
                banned_id: Some(banned_id),
                reason: format!("field `listing`: {e}"),
            }),
        }
    }
}

/// Explains one pair. `photos`: the listing's photos already hashed (nothing is read), or
/// `None` to read its local `images` as `check` does. An unknown id is [`Error::NotFound`].
pub fn run(
    engine: &Engine,
    req: &ExplainRequest,
    photos: Option<QueryPhotos>,
    opts: CheckOptions,
) -> Result<Explanation> {
    let id = &req.banned_id;
    let x = match photos {
        Some(p) => engine.explain_with_photos(&req.listing, p, id, opts)?,
        None => engine.explain(&req.listing, id, opts)?,
    };
    x.ok_or_else(|| Error::NotFound(id.clone()))
}

/// What a run over a file of pairs did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExplainSummary {
    pub pairs: u64,
    /// Pairs answered with an error line (bad line, invalid listing, unknown id).
    pub failed: u64,
}

/// Explains the pairs of `input` (JSON Lines, named `path` in messages), calling `emit` with
/// one answer per non-blank line, in input order. Photo paths are relative to the file. Only an
/// unreadable input or a failing `emit` stops the run.
pub fn explain_pairs(
    engine: &Engine,
    path: &Path,
    input: Box<dyn BufRead + Send>,
    opts: CheckOptions,
    threads: usize,
    emit: impl FnMut(&ExplainLine) -> Result<()>,
) -> Result<ExplainSummary> {
    type Parsed = Result<ExplainRequest, PairFault>;
    let read = move |each: &mut dyn FnMut(Item<Parsed>)| {
        feeds::read_records(
            path,
            input,
            Format::Jsonl,
            |v| Ok(ExplainRequest::from_value(v)),
            |item| {
                each(match item {
                    Ok((line, Ok(mut req))) => {
                        req.listing.rebase_images(path);
                        Item::Pair(line, Ok(req))
                    }
                    Ok((line, Err(fault))) => Item::Pair(line, Err(fault)),
                    Err(e) => Item::Bad(e),
                })
            },
        )
    };
    let judge = |line: u64, pair: &Parsed| -> ExplainLine {
        let place = format!("{}:{line}", path.display());
        let fault = match pair {
            Ok(req) => match run(engine, req, None, opts) {
                Ok(x) => return ExplainLine::Explained(x),
                Err(e) => PairFault {
                    listing_id: Some(req.listing.id.clone()),
                    banned_id: Some(req.banned_id.clone()),
                    reason: e.to_string(),
                },
            },
            Err(f) => f.clone(),
        };
        ExplainLine::Failed(fault.at(&place, Some(line), None))
    };
    in_batches(read, judge, threads, emit)
}

/// [`explain_pairs`] over a file (`-` for stdin).
pub fn explain_file(
    engine: &Engine,
    path: &Path,
    opts: CheckOptions,
    threads: usize,
    emit: impl FnMut(&ExplainLine) -> Result<()>,
) -> Result<ExplainSummary> {
    explain_pairs(engine, path, feeds::open(path)?, opts, threads, emit)
}

/// Explains `listings` (each named by the line or position it came from) against one banned
/// record: `relist explain --banned ID`.
pub fn explain_listings(
    engine: &Engine,
    path: &Path,
    banned_id: &str,
    listings: Vec<Listing>,
    opts: CheckOptions,
    threads: usize,
    emit: impl FnMut(&ExplainLine) -> Result<()>,
) -> Result<ExplainSummary> {
    let read = move |each: &mut dyn FnMut(Item<Listing>)| {
        for (i, l) in listings.into_iter().enumerate() {
            each(Item::Pair(i as u64 + 1, l));
        }
        Ok(())
    };
    let judge = |n: u64, l: &Listing| -> ExplainLine {
        let req = ExplainRequest {
            banned_id: banned_id.to_string(),
            listing: l.clone(),
        };
        match run(engine, &req, None, opts) {
            Ok(x) => ExplainLine::Explained(x),
            Err(e) => ExplainLine::Failed(PairError {
                listing_id: Some(l.id.clone()),
                banned_id: Some(banned_id.to_string()),
                line: Some(n),
                item: None,
                error: format!("{}: listing '{}': {e}", path.display(), l.id),
            }),
        }
    };
    in_batches(read, judge, threads, emit)
}

/// What the reader hands the judges: a pair with its line, or a line that is not one.
enum Item<T> {
    Pair(u64, T),
    Bad(Error),
}

/// The streaming core: a reader thread fills bounded batches, rayon judges each batch, and the
/// answers are emitted in input order, so memory stays flat in the input's size.
fn in_batches<T: Send + Sync>(
    read: impl FnOnce(&mut dyn FnMut(Item<T>)) -> Result<()> + Send,
    judge: impl Fn(u64, &T) -> ExplainLine + Sync,
    threads: usize,
    mut emit: impl FnMut(&ExplainLine) -> Result<()>,
) -> Result<ExplainSummary> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Invalid(format!("thread pool: {e}")))?;
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Item<T>>>(QUEUE);
    let mut summary = ExplainSummary::default();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let r = read(&mut |item| {
                batch.push(item);
                if batch.len() == BATCH {
                    // A closed channel means emitting failed; that error is reported.
                    let _ = tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                }
            });
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            r
        });
        let emitted = (|| {
            for batch in rx.iter() {
                let answers: Vec<ExplainLine> = pool.install(|| {
                    batch
                        .par_iter()
                        .map(|item| match item {
                            Item::Pair(line, pair) => judge(*line, pair),
                            Item::Bad(e) => ExplainLine::Failed(bad_line(e)),
                        })
                        .collect()
                });
                for a in &answers {
                    summary.pairs += 1;
                    summary.failed += u64::from(a.is_failed());
                    emit(a)?;
                }
            }
            Ok(())
        })();
        // Dropping the receiver first lets a reader blocked on a full queue finish.
        drop(rx);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(Error::Invalid("explain: the reader thread failed".into())));
        emitted.and(read)
    })?;
    Ok(summary)
}

/// A line that is not a pair at all (not JSON): its line, when the error names one.
fn bad_line(e: &Error) -> PairError {
    PairError {
        listing_id: None,
        banned_id: None,
        line: match e {
            Error::Record { line, .. } => Some(*line),
            _ => None,
        },
        item: None,
        error: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::BannedRecord;
    use serde_json::json;

    fn engine() -> Engine {
        let b = json!({"id": "B-1", "title": "VoltMax HB-2210X 20000mAh power bank",
                       "brand": "VoltMax", "models": ["HB-2210X"]});
        let b = BannedRecord::from_value(b).unwrap().record;
        Engine::in_memory(vec![b], Config::default()).unwrap()
    }

    #[test]
    fn pairs_parse_and_say_what_is_wrong() {
        let ok = ExplainRequest::from_value(
            json!({"banned_id": "B-1", "listing": {"id": "L", "title": "x"}}),
        )
        .unwrap();
        assert_eq!(
            (ok.banned_id.as_str(), ok.listing.id.as_str()),
            ("B-1", "L")
        );
        let f = ExplainRequest::from_value(json!({"banned_id": "B-1", "listing": {"id": "L"}}))
            .unwrap_err();
        assert_eq!(
            (f.listing_id.as_deref(), f.banned_id.as_deref()),
            (Some("L"), Some("B-1"))
        );
        assert_eq!(
            f.reason,
            "field `listing`: field `title` is missing or empty"
        );
        let f =
            ExplainRequest::from_value(json!({"listing": {"id": "L", "title": "x"}})).unwrap_err();
        assert!(f.reason.contains("`banned_id`"), "{f:?}");
        assert_eq!(f.listing_id.as_deref(), Some("L"));
        let f = ExplainRequest::from_value(json!({"banned_id": "B-1"})).unwrap_err();
        assert!(f.reason.contains("`listing`"), "{f:?}");
        assert!(ExplainRequest::from_value(json!([1])).is_err());
    }

    #[test]
    fn a_file_of_pairs_is_answered_line_by_line_in_order() {
        let e = engine();
        let mut text = String::new();
        // More than a batch, so that order across batches is tested too.
        for i in 0..300 {
            let line = match i % 3 {
                0 => json!({"banned_id": "B-1", "listing": {"id": format!("L{i}"), "title": "voltmax hb 2210x"}}).to_string(),
                1 => json!({"banned_id": "NOPE", "listing": {"id": format!("L{i}"), "title": "kettle"}}).to_string(),
                _ => "{not json".to_string(),
            };
            text.push_str(&line);
            text.push('\n');
        }
        let mut out = Vec::new();
        let s = explain_pairs(
            &e,
            Path::new("pairs.jsonl"),
            Box::new(std::io::Cursor::new(text.into_bytes())),
            CheckOptions::default(),
            2,
            |l| {
                out.push(l.clone());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!((s.pairs, s.failed), (300, 200));
        for (i, l) in out.iter().enumerate() {
            match (i % 3, l) {
                (0, ExplainLine::Explained(x)) => assert_eq!(x.listing_id, format!("L{i}")),
                (1, ExplainLine::Failed(f)) => {
                    assert_eq!(f.line, Some(i as u64 + 1));
                    assert_eq!(
                        f.error,
                        format!("pairs.jsonl:{}: no banned record with id 'NOPE'", i + 1)
                    );
                }
                (2, ExplainLine::Failed(f)) => {
                    assert_eq!(f.line, Some(i as u64 + 1));
                    assert!(f.error.contains("invalid JSON"), "{f:?}");
                }
                other => panic!("line {}: {other:?}", i + 1),
            }
        }
    }
}

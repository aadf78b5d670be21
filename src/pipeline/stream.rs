//! Streaming sweeps: a catalog of listings in, one result per line out, memory flat in the
//! catalog's size (a reader thread and bounded batches; rayon checks each batch in parallel;
//! results are written in input order).

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;

use std::collections::HashSet;

use tantivy::schema::Field;

use crate::engine::{CheckOptions, Engine};
use crate::error::{Error, Result};
use crate::feeds::{self, Format};
use crate::index::{Fields, IndexTerms};
use crate::matching::features::PreparedListing;
use crate::matching::terms::TermMatcher;
use crate::model::{BannedRecord, RecordKind};
use crate::model::{CheckResult, Decision, Listing};
use crate::present::output::{LineSink, OutputFormat, Sink};

/// Listings checked together: large enough to keep both cores busy, small enough to bound
/// memory.
const BATCH: usize = 256;
/// Batches read ahead of the matcher.
const QUEUE: usize = 4;

#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Write every result, not only review and block.
    pub all: bool,
    pub top: usize,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    pub format: Format,
    /// Only this shard of the catalog: `(index, count)`, by a stable hash of the listing id.
    pub shard: Option<Shard>,
    /// Incremental: match only against banned records ingested at or after this time (Unix
    /// seconds). Results are those of a full sweep, restricted to those records.
    pub banned_since: Option<u64>,
    /// Resume: lines up to this one were swept already and are skipped.
    pub skip_lines: u64,
}

/// One of `count` disjoint parts of a catalog (`--shard I/N`, I from 0): a listing belongs to
/// the shard `fnv1a64(id) % count`. The hash is fixed so that every machine, release and run
/// agrees on which listing goes where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn holds(&self, listing_id: &str) -> bool {
        let mut h: u64 = 0xcbf29ce484222325;
        for b in listing_id.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        h % u64::from(self.count) == u64::from(self.index)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard: '{s}' is not I/N with 0 <= I < N (e.g. 0/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            all: false,
            top: 5,
            threads: 0,
            format: Format::Auto,
            shard: None,
            banned_since: None,
            skip_lines: 0,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SweepSummary {
    pub listings: u64,
    pub block: u64,
    pub review: u64,
    pub allow: u64,
    /// Lines that could not be read as listings.
    pub errors: u64,
    /// Every input line up to this one is swept and its results written and flushed: where a
    /// resumed sweep starts again.
    pub lines: u64,
    pub seconds: f64,
}

impl SweepSummary {
    pub fn per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.listings as f64 / self.seconds
        } else {
            0.0
        }
    }
}

type Item = Result<(u64, Listing)>;

/// Sweeps `input` (named `path` in messages) and writes results to `out` as JSON Lines. Bad
/// lines are passed to `on_error` and counted; the sweep goes on.
pub fn sweep(
    engine: &Engine,
    path: &Path,
    input: Box<dyn BufRead + Send>,
    out: &mut dyn Write,
    opts: &SweepOptions,
    on_error: impl FnMut(&Error),
) -> Result<SweepSummary> {
    let mut sink = LineSink::new(out, OutputFormat::Jsonl, true);
    sweep_with_progress(engine, path, input, &mut sink, opts, on_error, |_| {})
}

/// `sweep` into any result sink, calling `on_progress` with the running counts after every
/// batch (when everything before `SweepSummary::lines` is written and flushed).
pub fn sweep_with_progress(
    engine: &Engine,
    path: &Path,
    input: Box<dyn BufRead + Send>,
    out: &mut dyn Sink,
    opts: &SweepOptions,
    mut on_error: impl FnMut(&Error),
    mut on_progress: impl FnMut(&SweepSummary),
) -> Result<SweepSummary> {
    let start = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| Error::Invalid(format!("thread pool: {e}")))?;
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Item>>(QUEUE);
    let mut summary = SweepSummary::default();
    let checker = Checker::new(engine, opts)?;
    let format = opts.format;
    let shard = opts.shard;
    let skip = opts.skip_lines;
    let written: Result<()> = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let r = feeds::read_records(path, input, format, Listing::from_value, |mut item| {
                if item_line(&item).is_some_and(|l| l <= skip) {
                    return;
                }
                if let Ok((_, l)) = &mut item {
                    l.rebase_images(path);
                }
                // Bad lines have no trustworthy id: shard 0 reports them, once.
                let mine = match (&item, shard) {
                    (_, None) => true,
                    (Ok((_, l)), Some(s)) => s.holds(&l.id),
                    (Err(_), Some(s)) => s.index == 0,
                };
                if !mine {
                    return;
                }
                batch.push(item);
                if batch.len() == BATCH {
                    // A closed channel means the writer failed; its error is reported.
                    let _ = tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                }
            });
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            r
        });
        for batch in rx.iter() {
            let last_line = batch.iter().filter_map(item_line).max();
            let results: Vec<Result<CheckResult, Error>> = pool.install(|| {
                batch
                    .par_iter()
                    .map(|item| match item {
                        Ok((line, listing)) => checker.check(listing).map_err(|e| Error::Record {
                            path: path.to_path_buf(),
                            line: *line,
                            reason: e.to_string(),
                        }),
                        Err(e) => Err(Error::Invalid(e.to_string())),
                    })
                    .collect()
            });
            for r in results {
                match r {
                    Ok(res) => {
                        summary.listings += 1;
                        match res.decision {
                            Decision::Block => summary.block += 1,
                            Decision::Review => summary.review += 1,
                            Decision::Allow => summary.allow += 1,
                        }
                        if checker.keeps(&res) {
                            out.result(&res)?;
                        }
                    }
                    Err(e) => {
                        summary.errors += 1;
                        on_error(&e);
                    }
                }
            }
            out.flush()?;
            if let Some(l) = last_line {
                summary.lines = summary.lines.max(l);
            }
            summary.seconds = start.elapsed().as_secs_f64();
            on_progress(&summary);
        }
        reader.join().expect("reader thread")
    });
    written?;
    out.finish()?;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// The input line an item came from.
fn item_line(item: &Item) -> Option<u64> {
    match item {
        Ok((line, _)) => Some(*line),
        Err(Error::Record { line, .. }) => Some(*line),
        Err(_) => None,
    }
}

/// How a sweep judges one listing and which results it writes, whatever the listings come from:
/// a catalog file ([`sweep_with_progress`]) or data a caller holds (Arrow batches, the Python
/// package), so that both give the same results for the same listings and options.
pub struct Checker<'e> {
    engine: &'e Engine,
    top: usize,
    all: bool,
    incremental: Option<NewRecords>,
}

impl<'e> Checker<'e> {
    /// The checker of a sweep with `opts` (`all`, `top`, `banned_since`; the rest is about
    /// reading). `banned_since` reads the records ingested since then from the current view.
    pub fn new(engine: &'e Engine, opts: &SweepOptions) -> Result<Checker<'e>> {
        let incremental = match opts.banned_since {
            None => None,
            Some(t) => {
                let records = engine
                    .snapshot()
                    .added_since(t)
                    .map_err(|e| Error::index(engine.store().dir(), e))?;
                Some(NewRecords::new(records, engine.snapshot().fields()))
            }
        };
        Ok(Checker {
            engine,
            top: opts.top,
            all: opts.all,
            incremental,
        })
    }

    /// One listing's result, as the sweep writes it.
    pub fn check(&self, listing: &Listing) -> Result<CheckResult> {
        match &self.incremental {
            None => self.engine.check(listing, CheckOptions::top(self.top)),
            Some(new) => check_new(self.engine, new, listing, self.top),
        }
    }

    /// Whether the sweep writes this result: review and block, or every one with `all`.
    pub fn keeps(&self, res: &CheckResult) -> bool {
        self.all || res.decision != Decision::Allow
    }
}

/// The records an incremental sweep looks for, and every term retrieval could find them by.
struct NewRecords {
    ids: HashSet<String>,
    terms: HashSet<(Field, String)>,
    rules: TermMatcher,
}

impl NewRecords {
    fn new(records: Vec<BannedRecord>, f: Fields) -> NewRecords {
        let mut terms = HashSet::new();
        let mut rules = Vec::new();
        let ids = records.iter().map(|r| r.id.clone()).collect();
        for r in records {
            if r.kind == RecordKind::Term {
                rules.push(r);
                continue;
            }
            let t = IndexTerms::of(&r);
            terms.extend(t.words.into_iter().map(|w| (f.words, w)));
            terms.extend(t.grams.into_iter().map(|g| (f.grams, g)));
            terms.extend(t.ids.into_iter().map(|i| (f.ids, i)));
        }
        NewRecords {
            ids,
            terms,
            rules: TermMatcher::new(rules),
        }
    }
}

/// A listing checked only for its matches with the new records. Retrieval finds a record only
/// through a query term it holds, so a listing whose query terms (chosen exactly as a full check
/// chooses them) miss every new record's terms, and that names no new term rule, cannot match
/// one; the others are checked against the whole index (scores and decisions those of a full
/// sweep) and keep their matches with the new records.
fn check_new(
    engine: &Engine,
    new: &NewRecords,
    listing: &Listing,
    top: usize,
) -> Result<CheckResult> {
    let snap = engine.view();
    let photos = crate::photo::QueryPhotos::of_listing(listing);
    let prepared = PreparedListing::new(listing, photos, snap.as_ref());
    let reachable = snap
        .query_terms(&prepared)
        .into_iter()
        .any(|(field, text, _)| new.terms.contains(&(field, text)))
        || !new.rules.find(&prepared).is_empty();
    let mut res = if reachable {
        engine.check_prepared(&snap, &prepared, CheckOptions::top(1000))?
    } else {
        CheckResult {
            listing_id: listing.id.clone(),
            decision: Decision::Allow,
            score: 0.0,
            matches: Vec::new(),
            error: None,
        }
    };
    res.matches.retain(|m| new.ids.contains(&m.banned_id));
    res.matches.truncate(top.max(1));
    res.decision = res.matches.first().map_or(Decision::Allow, |m| m.decision);
    res.score = res.matches.iter().map(|m| m.score).fold(0.0, f32::max);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_ids() {
        let shards: Vec<Shard> = (0..4).map(|i| Shard { index: i, count: 4 }).collect();
        for id in ["L-1", "L-2", "x", "", "가나다"] {
            assert_eq!(shards.iter().filter(|s| s.holds(id)).count(), 1, "{id}");
        }
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("a".parse::<Shard>().is_err());
    }
}

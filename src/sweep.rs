//! Streaming sweeps: a catalog of listings in, one result per line out, memory flat in the
//! catalog's size (a reader thread and bounded batches; rayon checks each batch in parallel;
//! results are written in input order).

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;

use crate::engine::{CheckOptions, Engine};
use crate::error::{Error, Result};
use crate::ingest::{self, Format};
use crate::model::{CheckResult, Decision, Listing};

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
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            all: false,
            top: 5,
            threads: 0,
            format: Format::Auto,
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

/// Sweeps `input` (named `path` in messages) and writes results to `out`. Bad lines are passed
/// to `on_error` and counted; the sweep goes on.
pub fn sweep(
    engine: &Engine,
    path: &Path,
    input: Box<dyn BufRead + Send>,
    out: &mut dyn Write,
    opts: &SweepOptions,
    mut on_error: impl FnMut(&Error),
) -> Result<SweepSummary> {
    let start = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| Error::Invalid(format!("thread pool: {e}")))?;
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Item>>(QUEUE);
    let mut summary = SweepSummary::default();
    let check_opts = CheckOptions::top(opts.top);
    let format = opts.format;
    let written: Result<()> = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let r = ingest::read_records(path, input, format, Listing::from_value, |item| {
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
            let results: Vec<Result<CheckResult, Error>> = pool.install(|| {
                batch
                    .par_iter()
                    .map(|item| match item {
                        Ok((line, listing)) => {
                            engine
                                .check(listing, check_opts)
                                .map_err(|e| Error::Record {
                                    path: path.to_path_buf(),
                                    line: *line,
                                    reason: e.to_string(),
                                })
                        }
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
                        if opts.all || res.decision != Decision::Allow {
                            write_result(out, &res)?;
                        }
                    }
                    Err(e) => {
                        summary.errors += 1;
                        on_error(&e);
                    }
                }
            }
        }
        reader.join().expect("reader thread")
    });
    written?;
    out.flush().map_err(|e| Error::io("<output>", e))?;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// One result as a JSON line.
pub fn write_result(out: &mut dyn Write, res: &CheckResult) -> Result<()> {
    let mut line = serde_json::to_vec(res).expect("results serialise");
    line.push(b'\n');
    out.write_all(&line).map_err(|e| Error::io("<output>", e))
}

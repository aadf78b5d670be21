//! `relist sweep`: a whole catalog, streamed; results as JSON Lines, a summary on stderr.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;

use clap::Args;
use relist::engine::Engine;
use relist::ingest::{self, Format};
use relist::sweep::{Shard, SweepOptions, sweep_with_progress};
use relist::{Error, Result};

use super::{ErrorReporter, Global, Outcome};

#[derive(Args)]
pub struct SweepArgs {
    /// Catalog of listings: JSON Lines or CSV, `-` for stdin.
    catalog: PathBuf,
    /// Output file (`-` or nothing: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write every listing's result, not only review and block.
    #[arg(long)]
    all: bool,
    /// Matches per listing.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0, env = "RELIST_THREADS")]
    threads: usize,
    /// Catalog format: auto (by extension), jsonl, csv.
    #[arg(long, default_value = "auto")]
    format: Format,
    /// Only shard I of N (I from 0), split by a stable hash of the listing id; the union of
    /// the N shards' outputs is the whole sweep's.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
}

/// Counts the bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.read.fetch_add(amt as u64, Ordering::Relaxed);
        self.inner.consume(amt)
    }
}

/// A bar over the catalog's bytes on a terminal; nothing when stderr is not one, or --quiet.
fn progress_bar(catalog: &std::path::Path, quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let size = std::fs::metadata(catalog)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let bar = match size {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template(
                "{bar:30} {percent:>3}% {msg} [{elapsed_precise}, ETA {eta}]",
            )
            .expect("progress template"),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]")
                .expect("progress template"),
        ),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    Some(bar)
}

pub fn run(g: &Global, a: SweepArgs) -> Result<Outcome> {
    let engine = Engine::open(&g.index, g.config()?)?;
    let read = Arc::new(AtomicU64::new(0));
    let input: Box<dyn BufRead + Send> = Box::new(Counting {
        inner: ingest::open(&a.catalog)?,
        read: read.clone(),
    });
    let bar = progress_bar(&a.catalog, g.quiet);
    let mut out: Box<dyn Write> = match &a.out {
        Some(p) if p.as_os_str() != "-" => {
            let f = std::fs::File::create(p).map_err(|e| Error::io(p, e))?;
            Box::new(std::io::BufWriter::with_capacity(1 << 16, f))
        }
        _ => Box::new(std::io::BufWriter::with_capacity(
            1 << 16,
            std::io::stdout().lock(),
        )),
    };
    let opts = SweepOptions {
        all: a.all,
        top: a.top,
        threads: a.threads,
        format: a.format,
        shard: a.shard,
    };
    let mut reporter = ErrorReporter::new(g.quiet);
    let s = sweep_with_progress(
        &engine,
        &a.catalog,
        input,
        &mut out,
        &opts,
        |e| match &bar {
            Some(b) => b.suspend(|| reporter.report(e)),
            None => reporter.report(e),
        },
        |s| {
            if let Some(b) = &bar {
                b.set_position(read.load(Ordering::Relaxed));
                b.set_message(format!(
                    "{} listings, {} block, {} review, {:.0}/s",
                    s.listings,
                    s.block,
                    s.review,
                    s.per_second()
                ));
            }
        },
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    reporter.finish(&a.catalog);
    if !g.quiet {
        eprintln!(
            "swept {} listings: {} block, {} review, {} allow, {} bad lines; {:.1} s, {:.0} listings/s",
            s.listings,
            s.block,
            s.review,
            s.allow,
            s.errors,
            s.seconds,
            s.per_second()
        );
    }
    Ok(Outcome::Clean)
}

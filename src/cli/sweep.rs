//! `relist sweep`: a whole catalog, streamed; results as JSON Lines, a summary on stderr.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use relist::engine::Engine;
use relist::ingest::{self, Format};
use relist::sweep::{Shard, SweepOptions, sweep};
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

pub fn run(g: &Global, a: SweepArgs) -> Result<Outcome> {
    let engine = Engine::open(&g.index, g.config()?)?;
    let input = ingest::open(&a.catalog)?;
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
    let s = sweep(&engine, &a.catalog, input, &mut out, &opts, |e| {
        reporter.report(e)
    })?;
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

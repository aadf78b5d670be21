//! `relist sweep`: a whole catalog, streamed; results as JSON Lines, a summary on stderr.

use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use clap::Args;
use relist::Result;
use relist::engine::Engine;
use relist::pipeline::Format;
use relist::pipeline::stream::Shard;
use relist::pipeline::sweep::{Sweep, SweepRequest};
use relist::present::output::OutputFormat;

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
    /// Incremental sweep: match only against banned records ingested at or after this time
    /// (Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC). Far faster than a full sweep,
    /// with the same results for those records.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    banned_since: Option<u64>,
    /// Incremental sweep against the records of a feed pull: the last successful
    /// `relist feed pull SOURCE` (or `last`, of any source), as --banned-since its time.
    #[arg(long, value_name = "SOURCE|last", conflicts_with = "banned_since")]
    banned_from_pull: Option<String>,
    /// Result format: jsonl (default), csv or parquet; by default from --out's extension.
    #[arg(long, value_name = "jsonl|csv|parquet")]
    out_format: Option<OutputFormat>,
    /// Continue a sweep that was stopped: from the checkpoint `OUT.checkpoint` that every
    /// batch updates, so that the output equals that of an uninterrupted run. Needs --out.
    #[arg(long, requires = "out")]
    resume: bool,
    /// Also write one self-contained HTML report: counts by decision, source and hazard, and
    /// every hit with both photos and its reasons, sortable by score.
    #[arg(long, value_name = "FILE.html", conflicts_with = "resume")]
    report: Option<PathBuf>,
    /// Also write "who still sells it" as CSV: listing_id, seller, platform, url, banned_id,
    /// decision, score, one row per flagged pair.
    #[arg(long, value_name = "FILE.csv", conflicts_with = "resume")]
    sellers: Option<PathBuf>,
}

/// `--banned-since`: the times of [`relist::dates::unix_seconds`].
fn parse_time(s: &str) -> Result<u64, String> {
    relist::dates::unix_seconds(s)
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
    let banned_since = match &a.banned_from_pull {
        Some(which) => {
            let state = relist::pipeline::pull::PullState::read(&g.index)?;
            let at = state.last_pull(which).ok_or_else(|| {
                relist::Error::Invalid(format!(
                    "--banned-from-pull {which}: {} remembers no successful pull of {which} (relist feed pull SOURCE first)",
                    g.index.display()
                ))
            })?;
            if !g.quiet {
                eprintln!(
                    "sweeping against the records of the pull at {} (--banned-since {at})",
                    relist::dates::rfc3339(at)
                );
            }
            Some(at)
        }
        None => a.banned_since,
    };
    let engine = Engine::open(&g.index, g.config()?)?;
    let req = SweepRequest {
        catalog: a.catalog,
        out: a.out,
        out_format: a.out_format,
        resume: a.resume,
        report: a.report,
        sellers: a.sellers,
        all: a.all,
        top: a.top,
        threads: a.threads,
        format: a.format,
        shard: a.shard,
        banned_since,
    };
    let catalog = req.catalog.clone();
    let sweep = Sweep::start(&engine, req)?;
    let bar = progress_bar(&catalog, g.quiet);
    if let (Some(lines), false) = (sweep.resumed_after(), g.quiet) {
        eprintln!("resuming after line {lines} of {}", catalog.display());
    }
    let mut reporter = ErrorReporter::new(g.quiet);
    let swept = sweep.run(
        |e| match &bar {
            Some(b) => b.suspend(|| reporter.report(e)),
            None => reporter.report(e),
        },
        |s, bytes| {
            if let Some(b) = &bar {
                b.set_position(bytes);
                b.set_message(format!(
                    "{} listings, {} block, {} review, {:.0}/s",
                    s.listings,
                    s.block,
                    s.review,
                    s.per_second()
                ));
            }
        },
    );
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let swept = swept?;
    reporter.finish(&catalog);
    let s = swept.summary.clone();
    for path in swept.write_report(&engine)? {
        if !g.quiet {
            eprintln!("wrote {}", path.display());
        }
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn times_parse() {
        assert_eq!(super::parse_time("1700000000"), Ok(1_700_000_000));
        assert_eq!(super::parse_time("1970-01-02"), Ok(86_400));
        assert_eq!(super::parse_time("2026-11-25T12:00:00Z"), Ok(1_795_608_000));
        assert!(super::parse_time("2026-13-01").is_err());
        assert!(super::parse_time("yesterday").is_err());
    }
}

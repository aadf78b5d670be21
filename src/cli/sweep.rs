//! `relist sweep`: a whole catalog, streamed; results as JSON Lines, a summary on stderr.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use clap::Args;
use relist::engine::Engine;
use relist::ingest::{self, Format};
use relist::output::{LineSink, OutputFormat, ParquetSink, Sink};
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
    /// Incremental sweep: match only against banned records ingested at or after this time
    /// (Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC). Far faster than a full sweep,
    /// with the same results for those records.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    banned_since: Option<u64>,
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
}

/// Where a sweep writing to a file stands; rewritten (atomically) after every batch.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Checkpoint {
    catalog: String,
    settings: String,
    /// Input lines done.
    lines: u64,
    /// Bytes of output that hold their results.
    out_bytes: u64,
}

fn checkpoint_path(out: &Path) -> PathBuf {
    let mut p = out.as_os_str().to_owned();
    p.push(".checkpoint");
    PathBuf::from(p)
}

/// The settings that change the output: a resume must use the same ones.
fn settings(a: &SweepArgs) -> String {
    format!(
        "all={} top={} shard={:?} since={:?} format={:?} out_format={:?}",
        a.all, a.top, a.shard, a.banned_since, a.format, a.out_format
    )
}

/// Unix seconds from `1732000000`, `2026-11-25` or `2026-11-25T12:00:00Z` (UTC).
fn parse_time(s: &str) -> Result<u64, String> {
    let bad = || format!("'{s}' is not a time (Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)");
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, t.trim_end_matches('Z')),
        None => (s, "00:00:00"),
    };
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if d.len() != 3 || t.len() != 3 || !(1..=12).contains(&d[1]) || !(1..=31).contains(&d[2]) {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm): a dependency for one line of
    // calendar arithmetic is not worth it.
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2];
    u64::try_from(secs).map_err(|_| bad())
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
    let out_path = a.out.clone().filter(|p| p.as_os_str() != "-");
    let format = a.out_format.unwrap_or_else(|| {
        out_path
            .as_deref()
            .map_or(OutputFormat::Jsonl, OutputFormat::for_path)
    });
    if format == OutputFormat::Parquet && (out_path.is_none() || a.resume) {
        return Err(Error::Invalid(
            "Parquet results need --out FILE, and cannot be resumed (a Parquet file ends with \
             its footer); use jsonl or csv for resumable sweeps"
                .into(),
        ));
    }
    let mut skip_lines = 0;
    let mut out: Box<dyn Write> = match &out_path {
        Some(p) => {
            let cp_path = checkpoint_path(p);
            let checkpoint: Option<Checkpoint> = if a.resume {
                match std::fs::read_to_string(&cp_path) {
                    Ok(t) => Some(serde_json::from_str(&t).map_err(|e| {
                        Error::Invalid(format!(
                            "{}: not a sweep checkpoint: {e}",
                            cp_path.display()
                        ))
                    })?),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(Error::io(cp_path, e)),
                }
            } else {
                None
            };
            let f = match checkpoint {
                Some(cp) => {
                    if cp.catalog != a.catalog.display().to_string() || cp.settings != settings(&a)
                    {
                        return Err(Error::Invalid(format!(
                            "{}: made by a sweep of {} with {}; resume with the same catalog and flags",
                            cp_path.display(),
                            cp.catalog,
                            cp.settings
                        )));
                    }
                    // Results written after the last checkpoint are dropped: they are redone.
                    let f = std::fs::OpenOptions::new()
                        .write(true)
                        .open(p)
                        .map_err(|e| Error::io(p, e))?;
                    f.set_len(cp.out_bytes).map_err(|e| Error::io(p, e))?;
                    let mut f = f;
                    std::io::Seek::seek(&mut f, std::io::SeekFrom::End(0))
                        .map_err(|e| Error::io(p, e))?;
                    skip_lines = cp.lines;
                    if !g.quiet {
                        eprintln!(
                            "resuming after line {} of {}",
                            cp.lines,
                            a.catalog.display()
                        );
                    }
                    f
                }
                None => std::fs::File::create(p).map_err(|e| Error::io(p, e))?,
            };
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
        banned_since: a.banned_since,
        skip_lines,
    };
    let write_checkpoint = |lines: u64| -> Result<()> {
        let Some(p) = out_path
            .as_ref()
            .filter(|_| format != OutputFormat::Parquet)
        else {
            return Ok(());
        };
        let out_bytes = std::fs::metadata(p).map_err(|e| Error::io(p, e))?.len();
        let cp = Checkpoint {
            catalog: a.catalog.display().to_string(),
            settings: settings(&a),
            lines,
            out_bytes,
        };
        let path = checkpoint_path(p);
        let tmp = path.with_extension("checkpoint.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(&cp).expect("checkpoint serialises"),
        )
        .map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    };
    let mut checkpoint_error: Option<Error> = None;
    let mut reporter = ErrorReporter::new(g.quiet);
    let mut parquet_sink;
    let mut line_sink;
    let sink: &mut dyn Sink = match (format, &out_path) {
        (OutputFormat::Parquet, Some(p)) => {
            parquet_sink = ParquetSink::create(p)?;
            &mut parquet_sink
        }
        _ => {
            line_sink = LineSink::new(&mut out, format, skip_lines == 0);
            &mut line_sink
        }
    };
    let mut collector = a
        .report
        .as_ref()
        .map(|_| relist::report::Collector::new(relist::report::MAX_HITS));
    let mut tee;
    let sink: &mut dyn Sink = match &mut collector {
        Some(c) => {
            tee = c.tee(sink);
            &mut tee
        }
        None => sink,
    };
    let s = sweep_with_progress(
        &engine,
        &a.catalog,
        input,
        sink,
        &opts,
        |e| match &bar {
            Some(b) => b.suspend(|| reporter.report(e)),
            None => reporter.report(e),
        },
        |s| {
            if s.lines > 0 && checkpoint_error.is_none() {
                checkpoint_error = write_checkpoint(s.lines.max(skip_lines)).err();
            }
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
    if let Some(e) = checkpoint_error {
        return Err(e);
    }
    drop(out);
    // Done: nothing to resume.
    if let Some(p) = &out_path {
        let _ = std::fs::remove_file(checkpoint_path(p));
    }
    reporter.finish(&a.catalog);
    if let (Some(path), Some(c)) = (&a.report, collector) {
        relist::report::write(path, &engine, &a.catalog, a.format, &s, c)?;
        if !g.quiet {
            eprintln!("report: {}", path.display());
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

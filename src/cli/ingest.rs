//! `relist ingest`: banned records from files into the index, in one commit.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use relist::Result;
use relist::pipeline::Format;
use relist::pipeline::ingest::{self, IngestOutcome, IngestRequest};

use super::{ErrorReporter, Global, Outcome};

#[derive(Args)]
pub struct IngestArgs {
    /// JSON Lines or CSV files of banned records (`-` for stdin).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Input format: auto (by extension and content), jsonl, csv, parquet, cpsc, healthcanada,
    /// safetykorea, safetygate, consumer24.
    #[arg(long, default_value = "auto")]
    format: Format,
    /// Abort at the first bad line; nothing is written.
    #[arg(long)]
    strict: bool,
    /// Do nothing if the index already holds records (for first-run scripts).
    #[arg(long)]
    if_empty: bool,
    /// Photos already downloaded from the feed, by file name: an image URL ending in
    /// `/x/photo.jpg` is hashed from `DIR/photo.jpg` when that file is there. Nothing is fetched.
    #[arg(long, value_name = "DIR")]
    images: Option<std::path::PathBuf>,
}

pub fn run(g: &Global, a: IngestArgs) -> Result<Outcome> {
    let start = Instant::now();
    let req = IngestRequest {
        index: g.index.clone(),
        files: a.files,
        format: a.format,
        strict: a.strict,
        if_empty: a.if_empty,
        feed_photos: a.images,
    };
    // Both callbacks print through one reporter, one at a time.
    let reporter = std::cell::RefCell::new(ErrorReporter::new(g.quiet));
    let outcome = ingest::run(
        &req,
        |n| reporter.borrow_mut().note(n),
        |path, file| {
            // Regulator feeds say what they brought.
            let feed = !matches!(
                file.format,
                Format::Auto | Format::Jsonl | Format::Csv | Format::Parquet
            );
            if feed && !g.quiet {
                eprintln!(
                    "{}: {:?} feed: {} records, {} model numbers, {} valid GTINs",
                    path.display(),
                    file.format,
                    file.records,
                    file.models,
                    file.gtins
                );
            }
            if file.records == 0 {
                let mut reporter = reporter.borrow_mut();
                reporter.report(&format_args!("{}: no records", path.display()));
                reporter.finish(path);
            }
        },
    )?;
    match outcome {
        IngestOutcome::NotEmpty(n) => {
            if !g.quiet {
                eprintln!(
                    "{} already holds {n} records; nothing ingested",
                    g.index.display()
                );
            }
        }
        IngestOutcome::Committed {
            added,
            replaced,
            rejected,
        } => {
            if !g.quiet {
                eprintln!(
                    "ingested into {}: {added} added, {replaced} replaced, {rejected} rejected ({:.1} s)",
                    g.index.display(),
                    start.elapsed().as_secs_f64()
                );
            }
        }
    }
    Ok(Outcome::Clean)
}

//! `relist ingest`: banned records from files into the index, in one commit.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use rayon::prelude::*;
use relist::ingest::{self, Format};
use relist::model::BannedRecord;
use relist::store::Store;
use relist::{Error, Result};

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
    let store = Store::open_or_create(&g.index)?;
    if a.if_empty {
        let (n, _, _) = store.counts();
        if n > 0 {
            if !g.quiet {
                eprintln!(
                    "{} already holds {n} records; nothing ingested",
                    g.index.display()
                );
            }
            return Ok(Outcome::Clean);
        }
    }
    let mut records: Vec<BannedRecord> = Vec::new();
    // Thumbnails of the records' first readable photo, for the web page and sweep reports.
    let mut thumbs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut rejected = 0u64;
    let mut reporter = ErrorReporter::new(g.quiet);
    for path in &a.files {
        let input = ingest::open(path)?;
        let before = records.len();
        let format = ingest::sniff(path, a.format);
        let mut fatal: Option<Error> = None;
        let mut pending = Vec::new();
        ingest::read_records(path, input, format, BannedRecord::from_value, |item| {
            if fatal.is_some() {
                return;
            }
            match item {
                Ok(ok) => pending.push(ok),
                Err(e) if a.strict => fatal = Some(e),
                Err(e) => {
                    rejected += 1;
                    reporter.report(&e);
                }
            }
        })?;
        if let Some(e) = fatal {
            return Err(Error::Invalid(format!("{e} (--strict: nothing ingested)")));
        }
        // Photos are hashed on all cores (decoding dominates); warnings keep the file's order.
        let base = path.parent().unwrap_or(std::path::Path::new("."));
        let new_thumbs: Vec<Option<(String, Vec<u8>)>> = pending
            .par_iter_mut()
            .map(|(_, parsed)| {
                // Photos named by the record, relative to the file that names them.
                let r = &mut parsed.record;
                let mut thumb = None;
                if !r.images.is_empty() {
                    let images = r.images.clone();
                    parsed.warnings.extend(relist::imghash::hash_images(
                        &images,
                        base,
                        &mut r.image_hashes,
                    ));
                    if let Some(dir) = &a.images {
                        // Feed photos are addresses; their downloads sit in DIR by name.
                        let local: Vec<String> = images
                            .iter()
                            .filter(|i| i.starts_with("http://") || i.starts_with("https://"))
                            .filter_map(|u| u.rsplit('/').next())
                            .map(|name| name.split(['?', '#']).next().unwrap_or(name))
                            .filter(|name| !name.is_empty() && dir.join(name).is_file())
                            .map(str::to_string)
                            .collect();
                        parsed.warnings.extend(relist::imghash::hash_images(
                            &local,
                            dir,
                            &mut r.image_hashes,
                        ));
                        thumb = relist::thumbs::from_images(&local, dir);
                    }
                    // The first photo is decoded a second time here; hashing keeps no pixels, and
                    // one small decode per record is cheap beside the commit.
                    if thumb.is_none() {
                        thumb = relist::thumbs::from_images(&images, base);
                    }
                }
                thumb.map(|t| (r.id.clone(), t))
            })
            .collect();
        thumbs.extend(new_thumbs.into_iter().flatten());
        for (line, parsed) in pending.drain(..) {
            for w in &parsed.warnings {
                reporter.warn(&format_args!("{}:{line}: warning: {w}", path.display()));
            }
            records.push(parsed.record);
        }
        reporter.finish(path);
        // Regulator feeds say what they brought.
        let feed = !matches!(
            format,
            Format::Auto | Format::Jsonl | Format::Csv | Format::Parquet
        );
        if feed && !g.quiet {
            let new = &records[before..];
            eprintln!(
                "{}: {format:?} feed: {} records, {} model numbers, {} valid GTINs",
                path.display(),
                new.len(),
                new.iter().map(|r| r.models.len()).sum::<usize>(),
                new.iter().map(|r| r.gtins.len()).sum::<usize>()
            );
        }
        if records.len() == before {
            reporter.report(&format_args!("{}: no records", path.display()));
            reporter.finish(path);
        }
    }
    if records.is_empty() {
        return Err(Error::Invalid(format!(
            "no valid records to ingest ({rejected} lines rejected)"
        )));
    }
    // Before the commit: a crash leaves at worst a thumbnail no record points to.
    for (id, jpeg) in &thumbs {
        relist::thumbs::put(&g.index, id, jpeg)?;
    }
    let counts = store.ingest(records)?;
    if !g.quiet {
        eprintln!(
            "ingested into {}: {} added, {} replaced, {rejected} rejected ({:.1} s)",
            g.index.display(),
            counts.added,
            counts.replaced,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(Outcome::Clean)
}

//! `relist catalog index`: a marketplace catalog into its own index directory, for reverse
//! queries (`relist query --catalog DIR`) and the web page.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};
use relist::ingest::{self, Format};
use relist::model::{BannedRecord, Listing};
use relist::store::Store;
use relist::{Error, Result};

use super::{ErrorReporter, Global, Outcome};

#[derive(Args)]
pub struct CatalogArgs {
    #[command(subcommand)]
    command: CatalogCommand,
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Index listings (JSON Lines, CSV or Parquet, as `sweep` reads them) into --catalog DIR;
    /// a listing id indexed again replaces the older listing.
    Index(IndexArgs),
}

#[derive(Args)]
struct IndexArgs {
    /// Catalog files (`-` for stdin).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The catalog's index directory (created if missing).
    #[arg(long, env = "RELIST_CATALOG")]
    catalog: PathBuf,
    /// Input format: auto (by extension and content), jsonl, csv or parquet.
    #[arg(long, default_value = "auto")]
    format: Format,
}

/// Listings per commit: a huge catalog is written in steps of bounded memory; each step is
/// all-or-nothing.
const BATCH: usize = 50_000;

pub fn run(g: &Global, a: CatalogArgs) -> Result<Outcome> {
    match a.command {
        CatalogCommand::Index(a) => index(g, a),
    }
}

struct Batch<'a> {
    store: &'a Store,
    dir: &'a Path,
    records: Vec<BannedRecord>,
    thumbs: Vec<(String, Vec<u8>)>,
    added: u64,
    replaced: u64,
}

impl Batch<'_> {
    fn commit(&mut self) -> Result<()> {
        if self.records.is_empty() {
            return Ok(());
        }
        for (id, jpeg) in self.thumbs.drain(..) {
            relist::thumbs::put(self.dir, &id, &jpeg)?;
        }
        let c = self.store.ingest(std::mem::take(&mut self.records))?;
        self.added += c.added;
        self.replaced += c.replaced;
        Ok(())
    }
}

fn index(g: &Global, a: IndexArgs) -> Result<Outcome> {
    let start = Instant::now();
    let store = Store::open_or_create(&a.catalog)?;
    let mut batch = Batch {
        store: &store,
        dir: &a.catalog,
        records: Vec::new(),
        thumbs: Vec::new(),
        added: 0,
        replaced: 0,
    };
    let mut rejected = 0u64;
    let mut photos = 0u64;
    let mut reporter = ErrorReporter::new(g.quiet);
    // Listing photos are paths as `sweep` reads them: relative to the working directory.
    let base = Path::new("");
    for path in &a.files {
        let format = ingest::sniff(path, a.format);
        if !matches!(
            format,
            Format::Auto | Format::Jsonl | Format::Csv | Format::Parquet
        ) {
            return Err(Error::Invalid(format!(
                "{}: a catalog is read as jsonl, csv or parquet, not {format:?}",
                path.display()
            )));
        }
        let input = ingest::open(path)?;
        let mut failed: Option<Error> = None;
        ingest::read_records(path, input, format, Listing::from_value, |item| {
            if failed.is_some() {
                return;
            }
            match item {
                Ok((line, mut l)) => {
                    let (thumb, problems) = relist::catalog::prepare_listing(&mut l, base);
                    for p in problems {
                        reporter.warn(&format_args!("{}:{line}: warning: {p}", path.display()));
                    }
                    if let Some(t) = thumb {
                        photos += 1;
                        batch.thumbs.push((l.id.clone(), t));
                    }
                    match relist::catalog::listing_record(&l) {
                        Ok(r) => batch.records.push(r),
                        Err(e) => {
                            rejected += 1;
                            reporter.report(&format_args!("{}:{line}: {e}", path.display()));
                        }
                    }
                    if batch.records.len() >= BATCH {
                        failed = batch.commit().err();
                    }
                }
                Err(e) => {
                    rejected += 1;
                    reporter.report(&e);
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        reporter.finish(path);
    }
    batch.commit()?;
    if batch.added + batch.replaced == 0 {
        return Err(Error::Invalid(format!(
            "no valid listings to index ({rejected} lines rejected)"
        )));
    }
    if !g.quiet {
        eprintln!(
            "indexed into catalog {}: {} added, {} replaced, {rejected} rejected, {photos} with a photo ({:.1} s)",
            a.catalog.display(),
            batch.added,
            batch.replaced,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(Outcome::Clean)
}

//! `relist catalog index`: a marketplace catalog into its own index directory, for reverse
//! queries (`relist query --catalog DIR`) and the web page.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use relist::Result;
use relist::pipeline::Format;
use relist::pipeline::catalog::IndexRequest;

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

pub fn run(g: &Global, a: CatalogArgs) -> Result<Outcome> {
    match a.command {
        CatalogCommand::Index(a) => index(g, a),
    }
}

fn index(g: &Global, a: IndexArgs) -> Result<Outcome> {
    let start = Instant::now();
    let req = IndexRequest {
        files: a.files,
        catalog: a.catalog,
        format: a.format,
    };
    let mut reporter = ErrorReporter::new(g.quiet);
    let s = relist::pipeline::catalog::index(&req, |n| reporter.note(n))?;
    if !g.quiet {
        eprintln!(
            "indexed into catalog {}: {} added, {} replaced, {} rejected, {} with a photo ({:.1} s)",
            req.catalog.display(),
            s.added,
            s.replaced,
            s.rejected,
            s.photos,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(Outcome::Clean)
}

//! `relist index export|import`: the index directory as one archive, to ship it to workers.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use relist::Result;

use super::{Global, Outcome};

#[derive(Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    command: IndexCommand,
}

#[derive(Subcommand)]
enum IndexCommand {
    /// Write the index (its last commit) to one .tar.gz file.
    Export { archive: PathBuf },
    /// Unpack an exported index into --index (an empty or new directory).
    Import { archive: PathBuf },
}

pub fn run(g: &Global, a: IndexArgs) -> Result<Outcome> {
    match a.command {
        IndexCommand::Export { archive } => {
            let files = relist::pipeline::index::export(&g.index, &archive)?;
            if !g.quiet {
                eprintln!(
                    "exported {} ({files} files) to {}",
                    g.index.display(),
                    archive.display()
                );
            }
        }
        IndexCommand::Import { archive } => {
            let records = relist::pipeline::index::import(&archive, &g.index)?;
            if !g.quiet {
                eprintln!(
                    "imported {records} records from {} into {}",
                    archive.display(),
                    g.index.display()
                );
            }
        }
    }
    Ok(Outcome::Clean)
}

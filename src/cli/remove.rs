//! `relist remove`: banned records out of the index, in one commit.

use clap::Args;
use relist::Result;
use relist::pipeline::index::Removal;

use super::{Global, Outcome};

#[derive(Args)]
pub struct RemoveArgs {
    /// Ids of the banned records to remove.
    #[arg(required = true)]
    ids: Vec<String>,
}

pub fn run(g: &Global, a: RemoveArgs) -> Result<Outcome> {
    let Removal { removed, missing } = relist::pipeline::index::remove(&g.index, &a.ids)?;
    for id in &missing {
        eprintln!("relist: no banned record with id '{id}'; skipped");
    }
    if !g.quiet {
        eprintln!("removed {removed} records from {}", g.index.display());
    }
    Ok(Outcome::Clean)
}

//! `relist check`: one listing (a JSON object, possibly pretty-printed), a JSON array of
//! listings, or JSON Lines → one result per line; exit 1 if any listing is blocked.

use std::path::PathBuf;

use clap::Args;
use relist::Result;
use relist::engine::{CheckOptions, Engine};
use relist::model::Decision;
use relist::pipeline::listings::read_check_input;
use relist::present::output::{LineSink, OutputFormat, Sink};

use super::{ErrorReporter, Global, Outcome};

#[derive(Args)]
pub struct CheckArgs {
    /// Listing file; `-` or nothing for stdin.
    file: Option<PathBuf>,
    /// Matches per listing.
    #[arg(long, default_value_t = 5)]
    top: usize,
}

pub fn run(g: &Global, a: CheckArgs) -> Result<Outcome> {
    let engine = Engine::open(&g.index, g.config()?)?;
    let path = a.file.unwrap_or_else(|| PathBuf::from("-"));
    let mut reporter = ErrorReporter::new(g.quiet);
    let listings = read_check_input(&path, |n| reporter.note(n))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut blocked = false;
    let mut sink = LineSink::new(&mut out, OutputFormat::Jsonl, true);
    for l in &listings {
        let res = engine.check(l, CheckOptions::top(a.top))?;
        blocked |= res.decision == Decision::Block;
        sink.result(&res)?;
    }
    sink.finish()?;
    Ok(if blocked {
        Outcome::Blocked
    } else {
        Outcome::Clean
    })
}

//! `relist check`: one listing (a JSON object, possibly pretty-printed), a JSON array of
//! listings, or JSON Lines → one result per line; exit 1 if any listing is blocked.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use relist::engine::{CheckOptions, Engine};
use relist::ingest::{self, Format};
use relist::model::{Decision, Listing};
use relist::output::{LineSink, OutputFormat, Sink};
use relist::{Error, Result};
use serde_json::Value;

use super::{ErrorReporter, Global, Outcome};

/// Larger inputs belong to `relist sweep`, which streams.
const MAX_INPUT: u64 = 256 << 20;

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
    let mut text = Vec::new();
    ingest::open(&path)?
        .take(MAX_INPUT + 1)
        .read_to_end(&mut text)
        .map_err(|e| Error::io(&path, e))?;
    if text.len() as u64 > MAX_INPUT {
        return Err(Error::io(
            &path,
            std::io::Error::other("larger than 256 MiB; use `relist sweep` for catalogs"),
        ));
    }
    let mut reporter = ErrorReporter::new(g.quiet);
    let listings = parse_listings(&path, &text, &mut reporter)?;
    reporter.finish(&path);
    if listings.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no listing to check",
            path.display()
        )));
    }
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

fn parse_listings(path: &Path, text: &[u8], reporter: &mut ErrorReporter) -> Result<Vec<Listing>> {
    let mut listings = parse_values(path, text, reporter)?;
    for l in &mut listings {
        l.rebase_images(path);
    }
    Ok(listings)
}

fn parse_values(path: &Path, text: &[u8], reporter: &mut ErrorReporter) -> Result<Vec<Listing>> {
    let one_line = |reason: String| Error::Record {
        path: path.to_path_buf(),
        line: 1,
        reason,
    };
    // A whole-document value first: one object or an array of them.
    if let Ok(v) = serde_json::from_slice::<Value>(text) {
        return match v {
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.into_iter().enumerate() {
                    match Listing::from_value(item) {
                        Ok(l) => out.push(l),
                        Err(e) => {
                            reporter.report(&format_args!("{}: item {i}: {e}", path.display()))
                        }
                    }
                }
                Ok(out)
            }
            v => Listing::from_value(v).map(|l| vec![l]).map_err(one_line),
        };
    }
    let mut out = Vec::new();
    ingest::read_records(
        path,
        text,
        Format::Jsonl,
        Listing::from_value,
        |item| match item {
            Ok((_, l)) => out.push(l),
            Err(e) => reporter.report(&e),
        },
    )?;
    Ok(out)
}

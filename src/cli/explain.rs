//! `relist explain`: given (banned record, listing) pairs judged as `check` judges them,
//! whatever their score, one JSON line each; exit 2 at the end if any pair failed.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use relist::engine::{CheckOptions, Engine};
use relist::pipeline::Note;
use relist::pipeline::explain::{ExplainLine, explain_file, explain_listings};
use relist::pipeline::listings::read_check_input;
use relist::{Error, Result};

use super::{ErrorReporter, Global, Outcome};

#[derive(Args)]
pub struct ExplainArgs {
    /// With --banned: a listing (JSON object, array or JSON Lines, like `check`). Without: JSON
    /// Lines of pairs `{"banned_id": ID, "listing": {...}}`. `-` or nothing for stdin.
    file: Option<PathBuf>,
    /// The banned record to judge every listing of FILE against.
    #[arg(long, value_name = "ID")]
    banned: Option<String>,
    /// Matches `check` names per listing: decisions are those of `check --top K`.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0, env = "RELIST_THREADS")]
    threads: usize,
}

pub fn run(g: &Global, a: ExplainArgs) -> Result<Outcome> {
    let engine = Engine::open(&g.index, g.config()?)?;
    let path = a.file.unwrap_or_else(|| PathBuf::from("-"));
    let opts = CheckOptions::top(a.top);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut emit = |line: &ExplainLine| -> Result<()> {
        serde_json::to_writer(&mut out, line)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| Error::io("stdout", e))
    };
    let mut rejected = 0u64;
    let summary = match &a.banned {
        Some(id) => {
            let mut reporter = ErrorReporter::new(g.quiet);
            let listings = read_check_input(&path, |n| {
                rejected += u64::from(matches!(n, Note::Rejected(_)));
                reporter.note(n)
            })?;
            explain_listings(&engine, &path, id, listings, opts, a.threads, &mut emit)?
        }
        None => explain_file(&engine, &path, opts, a.threads, &mut emit)?,
    };
    out.flush().map_err(|e| Error::io("stdout", e))?;
    if summary.failed + rejected > 0 {
        return Err(Error::Invalid(format!(
            "{}: {} of {} pairs could not be explained (see their `error` lines)",
            path.display(),
            summary.failed + rejected,
            summary.pairs + rejected
        )));
    }
    Ok(Outcome::Clean)
}

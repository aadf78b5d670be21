//! Command-line definitions (clap derive) and the plain config they turn into.

mod calibrate;
mod catalog;
mod check;
mod eval;
mod explain;
mod feed;
mod hash;
mod index;
mod ingest;
mod query;
mod remove;
mod serve;
mod stats;
mod sweep;
mod train;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use relist::config::Config;
use relist::{Error, Result};

/// What a command's exit code should say.
pub enum Outcome {
    Clean,
    /// `check` found a listing to block.
    Blocked,
}

#[derive(Parser)]
#[command(
    name = "relist",
    version,
    about = "Catch banned products relisted under new listings"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone)]
pub struct Global {
    /// Index directory.
    #[arg(long, global = true, env = "RELIST_INDEX", default_value = "index")]
    pub index: PathBuf,
    /// Config file (TOML) with thresholds and weights; the shipped defaults otherwise.
    #[arg(long, global = true, env = "RELIST_CONFIG")]
    pub config: Option<PathBuf>,
    /// Score at or above which a listing is blocked (overrides the config file).
    #[arg(long, global = true, env = "RELIST_BLOCK_THRESHOLD")]
    pub block_threshold: Option<f32>,
    /// Score at or above which a listing goes to review (overrides the config file).
    #[arg(long, global = true, env = "RELIST_REVIEW_THRESHOLD")]
    pub review_threshold: Option<f32>,
    /// Candidates retrieved per listing before rescoring (overrides the config file).
    #[arg(long, global = true, env = "RELIST_CANDIDATES")]
    pub candidates: Option<usize>,
    /// Only errors on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

impl Global {
    /// Config file, then environment and flags on top.
    pub fn config(&self) -> Result<Config> {
        let mut c = match &self.config {
            Some(p) => Config::from_file(p)?,
            None => Config::default(),
        };
        if let Some(b) = self.block_threshold {
            c.thresholds.block = b;
        }
        if let Some(r) = self.review_threshold {
            c.thresholds.review = r;
        }
        if let Some(k) = self.candidates {
            c.retrieval.candidates = k;
        }
        c.validate().map_err(Error::Config)?;
        Ok(c)
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Add or replace banned records (JSON Lines or CSV).
    Ingest(ingest::IngestArgs),
    /// Remove banned records by id.
    Remove(remove::RemoveArgs),
    /// Check listings (one JSON object or JSON Lines); exit 1 if any is blocked.
    Check(check::CheckArgs),
    /// Check a whole catalog; writes review and block results as JSON Lines.
    Sweep(sweep::SweepArgs),
    /// Search the banned index by text, model number, GTIN or photo; or a catalog for the
    /// listings that match banned records (--catalog DIR).
    Query(query::QueryArgs),
    /// Index a marketplace catalog for reverse queries (`catalog index FILE --catalog DIR`).
    Catalog(catalog::CatalogArgs),
    /// Precision, recall and F1 on labelled listings.
    Eval(eval::EvalArgs),
    /// Judge (banned record, listing) pairs as `check` does, whatever their score, with all the
    /// evidence: `--banned ID [LISTING]`, or a file of pairs `{"banned_id", "listing"}`.
    Explain(explain::ExplainArgs),
    /// What the index holds.
    Stats(stats::StatsArgs),
    /// Fit fusion weights and thresholds on labelled data; prints a config file.
    Calibrate(calibrate::CalibrateArgs),
    /// Train the learned matcher (gradient-boosted trees) on labelled pairs; writes the model
    /// file and prints the config that uses it.
    Train(train::TrainArgs),
    /// Pull a regulator feed (cpsc, healthcanada, safetykorea, consumer24, safetygate, accc)
    /// into the index in one commit, photos included: `feed pull SOURCE`.
    Feed(feed::FeedArgs),
    /// Export the index to one archive, or import one (to ship it to sweep workers).
    Index(index::IndexArgs),
    /// Serve the HTTP API (checks, queries, live index updates) until SIGTERM or ctrl-c.
    Serve(serve::ServeArgs),
    /// Perceptual hashes (dHash, pHash) of photos, as JSON Lines.
    Hash(hash::HashArgs),
}

pub fn run(cli: Cli) -> Result<Outcome> {
    let g = &cli.global;
    match cli.command {
        Command::Ingest(a) => ingest::run(g, a),
        Command::Remove(a) => remove::run(g, a),
        Command::Check(a) => check::run(g, a),
        Command::Sweep(a) => sweep::run(g, a),
        Command::Query(a) => query::run(g, a),
        Command::Catalog(a) => catalog::run(g, a),
        Command::Eval(a) => eval::run(g, a),
        Command::Explain(a) => explain::run(g, a),
        Command::Stats(a) => stats::run(g, a),
        Command::Calibrate(a) => calibrate::run(g, a),
        Command::Train(a) => train::run(g, a),
        Command::Feed(a) => feed::run(g, a),
        Command::Index(a) => index::run(g, a),
        Command::Serve(a) => serve::run(g, a),
        Command::Hash(a) => hash::run(g, a),
    }
}

pub fn init_logging(quiet: bool) {
    let default = if quiet { "error" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RELIST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // The HTTP client logs the addresses it asks for, keys in parameters included; relist
    // logs each page itself, redacted.
    let filter = ["ureq=off", "ureq_proto=off", "rustls=off"]
        .into_iter()
        .fold(filter, |f, d| {
            f.add_directive(d.parse().expect("a log directive"))
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Prints bad-line messages, at most `limit` per input, then one line with the rest's count.
pub struct ErrorReporter {
    limit: usize,
    shown: usize,
    hidden: usize,
    quiet: bool,
}

impl ErrorReporter {
    pub fn new(quiet: bool) -> Self {
        ErrorReporter {
            limit: 20,
            shown: 0,
            hidden: 0,
            quiet,
        }
    }

    pub fn report(&mut self, msg: &dyn std::fmt::Display) {
        if self.shown < self.limit {
            eprintln!("{msg}");
            self.shown += 1;
        } else {
            self.hidden += 1;
        }
    }

    pub fn warn(&mut self, msg: &dyn std::fmt::Display) {
        if !self.quiet {
            self.report(msg);
        }
    }

    /// A pipeline's note: bad lines always (within the limit), warnings unless --quiet, and the
    /// end of a file closes its count.
    pub fn note(&mut self, note: relist::pipeline::Note<'_>) {
        use relist::pipeline::Note;
        match note {
            Note::Rejected(e) => self.report(e),
            Note::Warning {
                path,
                line,
                message,
            } => self.warn(&format_args!(
                "{}:{line}: warning: {message}",
                path.display()
            )),
            Note::FileDone { path } => self.finish(path),
        }
    }

    /// Closes one input: says how many messages were not shown.
    pub fn finish(&mut self, name: &std::path::Path) {
        if self.hidden > 0 {
            eprintln!(
                "{}: {} more bad lines not shown",
                name.display(),
                self.hidden
            );
        }
        self.shown = 0;
        self.hidden = 0;
    }
}

/// Reads labelled listings (the `eval` format) from files; bad lines are reported and skipped.
pub fn read_labelled(
    paths: &[PathBuf],
    quiet: bool,
) -> Result<Vec<relist::pipeline::eval::Labelled>> {
    let mut reporter = ErrorReporter::new(quiet);
    relist::pipeline::listings::read_labelled(paths, |n| reporter.note(n))
}

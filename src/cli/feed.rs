//! `relist feed pull SOURCE`: fetch a regulator feed and ingest it in one commit;
//! `relist feed status`: what the index remembers of each source's last pull.

use std::time::Duration;

use clap::{Args, Subcommand};
use relist::feeds::pull::Source;
use relist::net::{Limits, Retry};
use relist::pipeline::pull::{self, PullNote, PullRequest, PullState};
use relist::{Error, Result};

use super::{ErrorReporter, Global, Outcome};

#[derive(Args)]
pub struct FeedArgs {
    #[command(subcommand)]
    command: FeedCommand,
}

#[derive(Subcommand)]
enum FeedCommand {
    /// Fetch a feed (cpsc, healthcanada, safetykorea, consumer24, safetygate, accc) page by
    /// page, with its photos, and ingest it in one commit.
    Pull(PullArgs),
    /// The last successful pull of each source (JSON).
    Status,
}

#[derive(Args)]
struct PullArgs {
    /// cpsc, healthcanada, safetykorea, consumer24, safetygate or accc.
    source: Source,
    /// Replaces the scheme, host and port of the documented endpoint (its path and
    /// parameters are kept): a mirror, or a test server.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// The feed's key (SafetyKorea's AuthKey, Consumer24's serviceKey). A flag shows in `ps`:
    /// prefer RELIST_SAFETYKOREA_KEY / RELIST_CONSUMER24_KEY or `[feeds]` in the config file.
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// Only records recalled on or after this day.
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with = "incremental")]
    since: Option<String>,
    /// From the newest recall day of this source's last successful pull (all of it the first
    /// time); records of that day are read again and replaced.
    #[arg(long)]
    incremental: bool,
    /// Allow loopback and private addresses (a local mirror, tests). Link-local, multicast
    /// and unspecified addresses stay refused.
    #[arg(long)]
    allow_private_addresses: bool,
    /// Do not download the records' photos (their addresses are kept).
    #[arg(long)]
    no_photos: bool,
    /// Retries of a page or photo after a 429, a 5xx, a timeout or a broken connection.
    #[arg(long, default_value_t = 4)]
    retries: u32,
    /// First wait before a retry, doubled each time (a Retry-After header is waited instead).
    #[arg(
        long,
        default_value_t = 1000,
        value_name = "MS",
        env = "RELIST_FEED_RETRY_BASE_MS"
    )]
    retry_base_ms: u64,
    /// Longest wait before a retry; a Retry-After longer than this fails the pull.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    max_wait: u64,
    /// Time for one page (all its redirects and its body).
    #[arg(long, default_value_t = 120.0, value_name = "SECS")]
    timeout: f64,
    /// Largest page.
    #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
    max_page_bytes: u64,
    /// Time for one photo.
    #[arg(long, default_value_t = 20.0, value_name = "SECS")]
    photo_timeout: f64,
    /// Largest photo (larger ones are skipped with a warning).
    #[arg(long, default_value_t = 32 << 20, value_name = "BYTES")]
    max_photo_bytes: u64,
    /// Most redirects followed for a page or a photo.
    #[arg(long, default_value_t = 5)]
    max_redirects: u32,
    /// Most pages one pull reads.
    #[arg(long, default_value_t = 20_000)]
    max_pages: u64,
    /// Pulls of this source whose raw pages are kept under INDEX/feeds/audit/.
    #[arg(long, default_value_t = 5)]
    audit_keep: usize,
    /// Photo downloads at once.
    #[arg(long, default_value_t = 4)]
    photo_threads: usize,
    /// Refuse the whole pull at the first record that cannot be used.
    #[arg(long)]
    strict: bool,
}

pub fn run(g: &Global, a: FeedArgs) -> Result<Outcome> {
    match a.command {
        FeedCommand::Pull(p) => pull_cmd(g, p),
        FeedCommand::Status => {
            let state = PullState::read(&g.index)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&state).expect("state serialises")
            );
            Ok(Outcome::Clean)
        }
    }
}

fn secs(s: f64, flag: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "--{flag}: '{s}' is not a positive number of seconds"
            ))
        })
}

/// The key: the flag, then the source's variable, then the config file.
fn key(g: &Global, a: &PullArgs) -> Result<Option<String>> {
    let Some(spec) = a.source.key() else {
        return Ok(None);
    };
    if let Some(k) = a.key.clone().filter(|k| !k.trim().is_empty()) {
        return Ok(Some(k));
    }
    if let Some(k) = std::env::var(spec.env)
        .ok()
        .filter(|k| !k.trim().is_empty())
    {
        return Ok(Some(k));
    }
    let config = g.config()?;
    Ok(config.feeds.key(spec.config).map(str::to_string))
}

fn pull_cmd(g: &Global, a: PullArgs) -> Result<Outcome> {
    let since =
        match &a.since {
            Some(s) => Some(relist::dates::iso(s).ok_or_else(|| {
                Error::Invalid(format!("--since: '{s}' is not a date YYYY-MM-DD"))
            })?),
            None => None,
        };
    let req = PullRequest {
        index: g.index.clone(),
        source: a.source,
        base_url: a.base_url.clone(),
        key: key(g, &a)?,
        since,
        incremental: a.incremental,
        allow_private: a.allow_private_addresses,
        photos: !a.no_photos,
        retry: Retry {
            retries: a.retries,
            base: Duration::from_millis(a.retry_base_ms),
            max_wait: Duration::from_secs(a.max_wait),
        },
        page_limits: Limits {
            timeout: secs(a.timeout, "timeout")?,
            max_bytes: a.max_page_bytes,
            max_redirects: a.max_redirects,
        },
        photo_limits: Limits {
            timeout: secs(a.photo_timeout, "photo-timeout")?,
            max_bytes: a.max_photo_bytes,
            max_redirects: a.max_redirects,
        },
        max_pages: a.max_pages,
        audit_keep: a.audit_keep,
        photo_threads: a.photo_threads,
        strict: a.strict,
    };
    let name = a.source.name();
    let mut reporter = ErrorReporter::new(g.quiet);
    let summary = pull::run(&req, |n| match n {
        PullNote::Page { n, url, records } => {
            tracing::info!("feed {name}: page {n} ({url}): {records} records")
        }
        PullNote::Retry { why, wait } => reporter.warn(&format_args!(
            "feed {name}: {why}; retrying in {:.1} s",
            wait.as_secs_f64()
        )),
        PullNote::Warning { id, message } => reporter.warn(&format_args!(
            "feed {name}: record {id}: warning: {message}"
        )),
        PullNote::Rejected(m) => reporter.report(&m),
    })?;
    reporter.finish(std::path::Path::new(name));
    if !g.quiet {
        let since = summary
            .since
            .as_deref()
            .map(|s| format!(" since {s}"))
            .unwrap_or_default();
        eprintln!(
            "feed {name}: {} pages, {} records{since} ({} older left out), {} photos hashed, {} photos failed",
            summary.pages, summary.records, summary.older, summary.photos, summary.photo_failures
        );
        if summary.committed {
            let at = relist::dates::rfc3339(summary.pulled_at);
            eprintln!(
                "ingested into {}: {} added, {} replaced, {} rejected ({:.1} s)",
                g.index.display(),
                summary.added,
                summary.replaced,
                summary.rejected,
                summary.seconds
            );
            eprintln!(
                "who still sells them: relist sweep CATALOG --banned-from-pull {name} --report report.html --sellers sellers.csv (or --banned-since {at})"
            );
        } else {
            eprintln!("feed {name}: nothing new; the index is unchanged");
        }
    }
    println!(
        "{}",
        serde_json::to_string(&summary).expect("summary serialises")
    );
    Ok(Outcome::Clean)
}

//! `relist serve`: the HTTP API (see `relist::server`) until SIGTERM or ctrl-c.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use relist::engine::Engine;
use relist::server::ServerConfig;
use relist::{Error, Result};

use super::{Global, Outcome};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback needs tokens.
    #[arg(long, env = "RELIST_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Tokens with scope "check" (check, query, read), comma-separated. Over the config file's
    /// `[server] check_tokens`.
    #[arg(
        long = "check-token",
        env = "RELIST_CHECK_TOKENS",
        value_delimiter = ','
    )]
    check_tokens: Vec<String>,
    /// Tokens with scope "admin" (also add and remove banned records), comma-separated. Over
    /// the config file's `[server] admin_tokens`.
    #[arg(
        long = "admin-token",
        env = "RELIST_ADMIN_TOKENS",
        value_delimiter = ','
    )]
    admin_tokens: Vec<String>,
    /// Largest request body for checks, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// Largest request body for `POST /v1/banned`, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    max_ingest_bytes: usize,
    /// Most listings in one batch.
    #[arg(long, default_value_t = 1000)]
    max_batch: usize,
    /// Longest listing title, in bytes.
    #[arg(long, default_value_t = 4096)]
    max_title_bytes: usize,
    /// Most photos sent with one listing (inline base64 or multipart parts).
    #[arg(long, default_value_t = 4)]
    max_photos: usize,
    /// Largest photo, in bytes of the image file.
    #[arg(long, default_value_t = 4 << 20)]
    max_photo_bytes: usize,
    /// Deadline of a check or read, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// Requests handled at once; more are answered 503 overloaded.
    #[arg(long, default_value_t = 512)]
    max_in_flight: usize,
    /// Matches per listing in results.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// After SIGTERM, how long requests in flight may finish before the process exits anyway,
    /// in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    drain_ms: u64,
    /// A catalog (made by `relist catalog index`) the web page at `/` searches too.
    #[arg(long, env = "RELIST_CATALOG", value_name = "DIR")]
    catalog: Option<std::path::PathBuf>,
    /// Create an empty index if the directory has none (otherwise refuse to start).
    #[arg(long)]
    create: bool,
}

/// Tokens given by flag or environment (clap has already put the flag over the variable), else
/// those of the config file: each scope on its own.
fn tokens(given: Vec<String>, file: &[String]) -> Vec<String> {
    let clean = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    };
    let given = clean(&given);
    if given.is_empty() { clean(file) } else { given }
}

pub fn run(g: &Global, a: ServeArgs) -> Result<Outcome> {
    let policy = g.config()?;
    let config = ServerConfig {
        addr: a.addr,
        check_tokens: tokens(a.check_tokens, &policy.server.check_tokens),
        admin_tokens: tokens(a.admin_tokens, &policy.server.admin_tokens),
        max_body_bytes: a.max_body_bytes,
        max_ingest_bytes: a.max_ingest_bytes,
        max_batch: a.max_batch,
        max_title_bytes: a.max_title_bytes,
        max_photos: a.max_photos,
        max_photo_bytes: a.max_photo_bytes,
        request_timeout: Duration::from_millis(a.timeout_ms),
        max_in_flight: a.max_in_flight,
        top: a.top,
        drain_timeout: Duration::from_millis(a.drain_ms),
        ..ServerConfig::default()
    };
    // Before opening anything: an open server on a public address is refused outright.
    config.validate().map_err(Error::Config)?;
    let engine = Arc::new(relist::pipeline::index::open_engine(
        &g.index,
        policy.clone(),
        a.create,
    )?);
    let mut config = config;
    if let Some(dir) = &a.catalog {
        let catalog = Engine::open(dir, policy)?;
        config.catalog = Some(relist::server::CatalogHandle::new(catalog));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("relist-http")
        .build()
        .map_err(|e| Error::Config(format!("cannot start the server runtime: {e}")))?;
    let quiet = g.quiet;
    runtime.block_on(relist::server::serve(engine, config, |addr| {
        // On stderr whatever the log level: scripts and tests read the bound port from it.
        if !quiet {
            eprintln!("relist: listening on http://{addr}");
        }
    }))?;
    Ok(Outcome::Clean)
}

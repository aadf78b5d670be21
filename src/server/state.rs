//! The server's settings and the state its handlers share.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore};

use super::auth::Tokens;
use super::metrics::Metrics;
use crate::engine::Engine;

/// Limits and access of `relist serve`. `Default` is the documented defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// Tokens allowed to check, query and read.
    pub check_tokens: Vec<String>,
    /// Tokens allowed everything, including changing the index.
    pub admin_tokens: Vec<String>,
    /// Largest request body for checks and queries.
    pub max_body_bytes: usize,
    /// Largest request body for `POST /v1/banned`.
    pub max_ingest_bytes: usize,
    /// Most listings in one `POST /v1/check/batch`.
    pub max_batch: usize,
    /// Longest listing title, in bytes (UTF-8).
    pub max_title_bytes: usize,
    /// Longest other text field of a listing (description, brand, ...), in bytes.
    pub max_text_bytes: usize,
    /// Most photos sent with one listing (inline or multipart).
    pub max_photos: usize,
    /// Largest photo, in bytes of the image file (before base64).
    pub max_photo_bytes: usize,
    /// Deadline of a check, query or read, body included.
    pub request_timeout: Duration,
    /// Deadline of a write (ingest or remove), commit included.
    pub write_timeout: Duration,
    /// Requests handled at once on the API routes; more are answered 503 `overloaded`.
    pub max_in_flight: usize,
    /// Checks computed at once on the blocking pool; more wait (within their timeout).
    pub check_workers: usize,
    /// Matches per listing in check results.
    pub top: usize,
    /// After SIGTERM, how long requests in flight may take before the process exits anyway.
    pub drain_timeout: Duration,
    /// A catalog of listings the web page searches too (`--catalog DIR`).
    pub catalog: Option<super::web::CatalogHandle>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            check_tokens: Vec::new(),
            admin_tokens: Vec::new(),
            max_body_bytes: 1 << 20,
            max_ingest_bytes: 16 << 20,
            max_batch: 1000,
            max_title_bytes: 4096,
            max_text_bytes: 64 << 10,
            max_photos: 4,
            max_photo_bytes: 4 << 20,
            request_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(120),
            max_in_flight: 512,
            check_workers: cores * 2,
            top: 5,
            drain_timeout: Duration::from_secs(30),
            catalog: None,
        }
    }
}

impl ServerConfig {
    /// Whether any token is configured (then every API route needs one).
    pub fn auth_enabled(&self) -> bool {
        self.check_tokens
            .iter()
            .chain(&self.admin_tokens)
            .any(|t| !t.trim().is_empty())
    }

    /// Largest body of `POST /v1/check`: the listing's own limit, plus room for its photos
    /// in base64 (4 characters per 3 bytes) and their JSON or multipart framing.
    pub fn max_check_body_bytes(&self) -> usize {
        let per_photo = self.max_photo_bytes.div_ceil(3).saturating_mul(4) + 1024;
        self.max_body_bytes
            .saturating_add(self.max_photos.saturating_mul(per_photo))
    }

    /// Refuses settings that would expose an open server: a non-loopback address without
    /// tokens, or limits of zero.
    pub fn validate(&self) -> Result<(), String> {
        if !self.addr.ip().is_loopback() && !self.auth_enabled() {
            return Err(format!(
                "refusing to listen on {} without tokens: set RELIST_CHECK_TOKENS and \
                 RELIST_ADMIN_TOKENS (or --check-token/--admin-token, or check_tokens and \
                 admin_tokens in the config file's [server] section), or bind 127.0.0.1",
                self.addr
            ));
        }
        for (name, v) in [
            ("max_body_bytes", self.max_body_bytes),
            ("max_ingest_bytes", self.max_ingest_bytes),
            ("max_batch", self.max_batch),
            ("max_title_bytes", self.max_title_bytes),
            ("max_photo_bytes", self.max_photo_bytes),
            ("max_in_flight", self.max_in_flight),
            ("check_workers", self.check_workers),
        ] {
            if v == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        Ok(())
    }
}

/// What every handler sees.
pub struct AppState {
    pub engine: Arc<Engine>,
    pub config: ServerConfig,
    pub tokens: Tokens,
    pub metrics: Metrics,
    /// One writer at a time (tantivy allows one); held until the commit is installed.
    pub write_lock: Arc<Mutex<()>>,
    /// Requests in flight on the API routes (try-acquired: full means overloaded).
    pub in_flight: Arc<Semaphore>,
    /// Checks computing at once.
    pub workers: Arc<Semaphore>,
    /// False once shutdown has begun (readyz answers 503).
    pub ready: AtomicBool,
}

pub type Shared = Arc<AppState>;

impl AppState {
    pub fn new(engine: Arc<Engine>, config: ServerConfig) -> AppState {
        AppState {
            tokens: Tokens::new(&config.check_tokens, &config.admin_tokens),
            metrics: Metrics::default(),
            write_lock: Arc::new(Mutex::new(())),
            in_flight: Arc::new(Semaphore::new(config.max_in_flight)),
            workers: Arc::new(Semaphore::new(config.check_workers)),
            ready: AtomicBool::new(true),
            engine,
            config,
        }
    }
}

//! The router, its middleware, and the serving loop with graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use super::auth::{require_admin, require_check};
use super::error::ApiError;
use super::metrics::track;
use super::routes;
use super::state::{AppState, ServerConfig, Shared};
use crate::engine::Engine;
use crate::error::{Error, Result};

/// Load shedding and the deadline, for the API routes: a request that finds `max_in_flight`
/// others in progress is answered 503 `overloaded` at once instead of queueing without bound.
async fn limit(state: Shared, req: Request, next: Next, deadline: Duration) -> Response {
    let Ok(_permit) = state.in_flight.clone().try_acquire_owned() else {
        return ApiError::Overloaded("too many requests in flight; retry shortly".into())
            .into_response();
    };
    match tokio::time::timeout(deadline, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::Timeout(format!("no answer within {} ms", deadline.as_millis()))
            .into_response(),
    }
}

pub(super) async fn limit_read(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let d = state.config.request_timeout;
    limit(state, req, next, d).await
}

/// Writes have their own (longer) deadline; a write that misses it may still commit, as the
/// message says: the commit runs to its end once started.
async fn limit_write(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let d = state.config.write_timeout;
    limit(state, req, next, d).await
}

/// The whole API over `state`.
pub fn router(state: Shared) -> Router {
    let cfg = &state.config;
    let auth_c = from_fn_with_state(state.clone(), require_check);
    let lim_c = from_fn_with_state(state.clone(), limit_read);
    let auth_a = from_fn_with_state(state.clone(), require_admin);
    let lim_a = from_fn_with_state(state.clone(), limit_write);
    let body = DefaultBodyLimit::max(cfg.max_body_bytes);
    let check_body = DefaultBodyLimit::max(cfg.max_check_body_bytes());
    let ingest_body = DefaultBodyLimit::max(cfg.max_ingest_bytes);
    // Layers run outside-in in reverse order of `.layer` calls: auth first, then the limits.
    let checked = |m: axum::routing::MethodRouter<Shared>, b: DefaultBodyLimit| {
        m.layer(b).layer(lim_c.clone()).layer(auth_c.clone())
    };
    let admin = |m: axum::routing::MethodRouter<Shared>, b: DefaultBodyLimit| {
        m.layer(b).layer(lim_a.clone()).layer(auth_a.clone())
    };
    Router::new()
        .route("/v1/check", checked(post(routes::check), check_body))
        .route("/v1/check/batch", checked(post(routes::check_batch), body))
        .route("/v1/explain", checked(post(routes::explain), check_body))
        .route("/v1/banned", admin(post(routes::ingest), ingest_body))
        .route(
            "/v1/banned/{id}",
            checked(get(routes::get_banned), body).merge(admin(delete(routes::remove), body)),
        )
        .route("/v1/query", checked(get(routes::query), body))
        // Behind auth but not the load limit: metrics must answer while the server is shedding.
        .route("/metrics", get(routes::metrics).layer(auth_c.clone()))
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/openapi.json", get(routes::openapi))
        // The web page for people, behind the same tokens (header or login cookie).
        .merge(super::web::router(state.clone()).layer(lim_c.clone()))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// The router over a fresh state, without the listener and the watcher of outside commits:
/// for callers that drive requests in-process (the fuzz target of `fuzz/`, tests).
pub fn app(engine: Arc<Engine>, config: ServerConfig) -> Router {
    router(Arc::new(AppState::new(engine, config)))
}

/// Modification time of the manifest, rewritten by every commit (of this or another process).
fn manifest_mtime(engine: &Engine) -> Option<SystemTime> {
    std::fs::metadata(engine.store().dir().join("manifest.json"))
        .and_then(|m| m.modified())
        .ok()
}

/// Picks up commits made by other processes (`relist ingest` beside the server) within about
/// a second. The server's own writes reload at once and do not need this.
fn watch_external_commits(state: Shared) {
    tokio::spawn(async move {
        let mut last = manifest_mtime(&state.engine);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let now = manifest_mtime(&state.engine);
            if now == last {
                continue;
            }
            last = now;
            // Behind the write lock: never races a commit of this server.
            let _guard = state.write_lock.lock().await;
            let engine = state.engine.clone();
            match tokio::task::spawn_blocking(move || engine.reload()).await {
                Ok(Ok(())) => tracing::info!("reloaded the index after an outside commit"),
                Ok(Err(e)) => tracing::warn!("reloading the index: {e}"),
                Err(e) => tracing::warn!("reloading the index: {e}"),
            }
        }
    });
}

/// Resolves on SIGTERM or ctrl-c.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Serves until SIGTERM or ctrl-c, then drains in-flight requests and returns. `on_listen`
/// is called with the bound address (useful with port 0).
pub async fn serve(
    engine: Arc<Engine>,
    config: ServerConfig,
    on_listen: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    serve_until(engine, config, on_listen, shutdown_signal()).await
}

/// [`serve`] with a caller-chosen shutdown signal.
pub async fn serve_until(
    engine: Arc<Engine>,
    config: ServerConfig,
    on_listen: impl FnOnce(std::net::SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    config.validate().map_err(Error::Config)?;
    let addr = config.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))?;
    let state: Shared = Arc::new(AppState::new(engine, config));
    if !state.tokens.enabled() {
        tracing::warn!("no tokens configured: every caller may check and write (loopback only)");
    }
    watch_external_commits(state.clone());
    let app = router(state.clone());
    tracing::info!(%local, "listening");
    on_listen(local);
    let drain = state.clone();
    let (began, draining) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        drain.ready.store(false, Ordering::Relaxed);
        tracing::info!("shutting down: draining requests in flight");
        let _ = began.send(());
    });
    // Draining waits for open connections; one that never finishes its request must not keep
    // the process alive: after `drain_timeout` the rest are dropped.
    let deadline = state.config.drain_timeout;
    tokio::select! {
        r = server => r.map_err(|e| Error::Config(format!("server on {local}: {e}")))?,
        _ = async {
            if draining.await.is_ok() {
                tokio::time::sleep(deadline).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => tracing::warn!("drain deadline passed; closing the connections left"),
    }
    // Writes already started finish under the lock before the process exits.
    let _ = state.write_lock.lock().await;
    tracing::info!("stopped");
    Ok(())
}

//! `relist serve`: the moderation hook, an HTTP API over the one [`Engine`](crate::engine::Engine).
//!
//! Checks run on tokio's blocking pool (never on the async workers, never behind a write);
//! writes are serialised by one mutex, committed, and then installed with
//! [`Engine::reload`](crate::engine::Engine::reload) so the next check sees them. Errors are
//! JSON `{"code", "message"}` with the status and code of one table (module `error`).

mod app;
mod auth;
mod error;
mod metrics;
mod openapi;
mod photos;
mod routes;
mod state;
mod web;

pub use app::{app, router, serve, serve_until};
pub use error::{ApiError, ERROR_CODES};
pub use openapi::openapi_json;
pub use state::ServerConfig;
pub use web::{CatalogHandle, MAX_UPLOAD_BYTES};

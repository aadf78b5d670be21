//! API errors: one enum, mapped to (HTTP status, stable code) in one table.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Every error the API answers with. The code strings are part of the contract: clients
/// branch on them, so they never change once published.
#[derive(Debug)]
pub enum ApiError {
    /// The request is malformed: not JSON, a missing parameter, a wrong shape.
    BadRequest(String),
    /// A record or listing fails validation (the message names the field).
    InvalidRecord(String, Vec<ItemError>),
    /// No or unknown bearer token.
    Unauthorized(String),
    /// A valid token without the scope the endpoint needs.
    Forbidden(String),
    NotFound(String),
    MethodNotAllowed(String),
    /// The body, a batch, a text field, or the photos of a listing are over their limit.
    PayloadTooLarge(String),
    /// A listing photo cannot be used: not an image, truncated, corrupt, over the decoder's
    /// pixel limits (a decompression bomb), or not valid base64.
    InvalidImage(String),
    /// Too many requests in flight; retry later.
    Overloaded(String),
    /// Another process holds the index's writer; the write was not made and may be retried.
    IndexBusy(String),
    /// The request took longer than the configured timeout.
    Timeout(String),
    Internal(String),
}

/// The one table: error kind → (status, code). `ERROR_CODES` lists it for the docs.
impl ApiError {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::InvalidRecord(..) => (StatusCode::BAD_REQUEST, "invalid_record"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::InvalidImage(_) => (StatusCode::BAD_REQUEST, "invalid_image"),
            ApiError::Overloaded(_) => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            ApiError::IndexBusy(_) => (StatusCode::SERVICE_UNAVAILABLE, "index_busy"),
            ApiError::Timeout(_) => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    pub(super) fn message(&self) -> &str {
        match self {
            ApiError::BadRequest(m)
            | ApiError::InvalidRecord(m, _)
            | ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::MethodNotAllowed(m)
            | ApiError::PayloadTooLarge(m)
            | ApiError::InvalidImage(m)
            | ApiError::Overloaded(m)
            | ApiError::IndexBusy(m)
            | ApiError::Timeout(m)
            | ApiError::Internal(m) => m,
        }
    }
}

/// (status, code) of every error, for the OpenAPI document and the README.
pub const ERROR_CODES: &[(u16, &str)] = &[
    (400, "bad_request"),
    (400, "invalid_record"),
    (401, "unauthorized"),
    (403, "forbidden"),
    (404, "not_found"),
    (405, "method_not_allowed"),
    (413, "payload_too_large"),
    (400, "invalid_image"),
    (503, "overloaded"),
    (503, "index_busy"),
    (503, "timeout"),
    (500, "internal"),
];

/// A rejected item of a write or batch: its 1-based line (JSON Lines) or position (array).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemError {
    pub item: usize,
    pub message: String,
}

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code (see the table in the README).
    pub code: &'static str,
    /// A one-line explanation for a person.
    pub message: String,
    /// Per-item errors, for writes whose records were all rejected.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ItemError>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(code, message = self.message(), "request failed");
        }
        let message = self.message().to_string();
        let details = match self {
            ApiError::InvalidRecord(_, d) => d,
            _ => Vec::new(),
        };
        let mut resp = (
            status,
            axum::Json(ErrorBody {
                code,
                message,
                details,
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        // Shed load and a busy writer pass within moments: say when to come back.
        if matches!(code, "overloaded" | "index_busy") {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Invalid(m) | crate::Error::Record { reason: m, .. } => {
                ApiError::InvalidRecord(m, Vec::new())
            }
            crate::Error::NotFound(_) => ApiError::NotFound(e.to_string()),
            crate::Error::Image { .. } => ApiError::InvalidImage(e.to_string()),
            crate::Error::Busy(_) => ApiError::IndexBusy(e.to_string()),
            // Io, Index, Config: the server's own files or settings, not the caller's request.
            // Fetch: the server fetches nothing a caller names; only `feed pull` does.
            crate::Error::Io { .. }
            | crate::Error::Index { .. }
            | crate::Error::Config(_)
            | crate::Error::Fetch { .. } => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(r: axum::extract::rejection::BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!("request body is over the limit: {}", r.body_text()))
        } else {
            ApiError::BadRequest(r.body_text())
        }
    }
}

impl From<axum::extract::multipart::MultipartRejection> for ApiError {
    fn from(r: axum::extract::multipart::MultipartRejection) -> Self {
        ApiError::BadRequest(format!("multipart body: {}", r.body_text()))
    }
}

impl From<axum::extract::multipart::MultipartError> for ApiError {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!("request body is over the limit: {}", e.body_text()))
        } else {
            ApiError::BadRequest(format!("multipart body: {}", e.body_text()))
        }
    }
}

/// A path segment that is not valid percent-encoded UTF-8 (found by fuzzing: axum's own
/// rejection is plain text, not the JSON of the table).
impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("worker failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_error() {
        let all = [
            ApiError::BadRequest(String::new()),
            ApiError::InvalidRecord(String::new(), Vec::new()),
            ApiError::Unauthorized(String::new()),
            ApiError::Forbidden(String::new()),
            ApiError::NotFound(String::new()),
            ApiError::MethodNotAllowed(String::new()),
            ApiError::PayloadTooLarge(String::new()),
            ApiError::InvalidImage(String::new()),
            ApiError::Overloaded(String::new()),
            ApiError::IndexBusy(String::new()),
            ApiError::Timeout(String::new()),
            ApiError::Internal(String::new()),
        ];
        assert_eq!(all.len(), ERROR_CODES.len());
        for e in &all {
            let (status, code) = e.status_and_code();
            assert!(ERROR_CODES.contains(&(status.as_u16(), code)), "{code}");
        }
    }

    #[test]
    fn library_errors_map_to_the_right_status() {
        let code = |e: crate::Error| ApiError::from(e).status_and_code();
        let busy = code(crate::Error::Busy("index".into()));
        assert_eq!(busy, (StatusCode::SERVICE_UNAVAILABLE, "index_busy"));
        let img = code(crate::Error::image("photo 1", "truncated"));
        assert_eq!(img, (StatusCode::BAD_REQUEST, "invalid_image"));
        let nf = code(crate::Error::NotFound("x".into()));
        assert_eq!(nf, (StatusCode::NOT_FOUND, "not_found"));
        let bad = code(crate::Error::Invalid("field `title`".into()));
        assert_eq!(bad, (StatusCode::BAD_REQUEST, "invalid_record"));
        let io = std::io::Error::other("disk full");
        assert_eq!(code(crate::Error::io("index/x", io)).1, "internal");
        assert_eq!(code(crate::Error::index("index", "corrupt")).1, "internal");
    }

    #[test]
    fn shed_and_busy_answers_say_when_to_retry() {
        for e in [
            ApiError::Overloaded("x".into()),
            ApiError::IndexBusy("x".into()),
        ] {
            let r = e.into_response();
            assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        }
        let r = ApiError::Internal("x".into()).into_response();
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
    }
}

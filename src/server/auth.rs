//! Bearer tokens with two scopes: `check` (check, query, read) and `admin` (also write).

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::state::Shared;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Check,
    Admin,
}

/// The configured tokens. With none at all, every caller is allowed (loopback only: see
/// `ServerConfig::validate`).
pub struct Tokens {
    check: Vec<Vec<u8>>,
    admin: Vec<Vec<u8>>,
}

/// Whether `given` equals any of `known`, in time independent of where they differ: every
/// token is compared, each with `subtle`'s constant-time equality (only lengths can leak).
fn any_eq(known: &[Vec<u8>], given: &[u8]) -> bool {
    let mut found = subtle::Choice::from(0u8);
    for k in known {
        found |= k.as_slice().ct_eq(given);
    }
    found.into()
}

impl Tokens {
    pub fn new(check: &[String], admin: &[String]) -> Tokens {
        let clean = |v: &[String]| {
            v.iter()
                .map(|t| t.trim())
                .filter(|t| !t.is_empty())
                .map(|t| t.as_bytes().to_vec())
                .collect()
        };
        Tokens {
            check: clean(check),
            admin: clean(admin),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.check.is_empty() || !self.admin.is_empty()
    }

    /// Allows or refuses a request with this `Authorization` header value.
    pub fn authorize(&self, header: Option<&str>, scope: Scope) -> Result<(), ApiError> {
        if !self.enabled() {
            return Ok(());
        }
        let Some(token) = header.and_then(|h| {
            let (kind, token) = h.trim().split_once(' ')?;
            kind.eq_ignore_ascii_case("bearer").then(|| token.trim())
        }) else {
            return Err(ApiError::Unauthorized(
                "missing bearer token (Authorization: Bearer TOKEN)".into(),
            ));
        };
        let token = token.as_bytes();
        // Both lists are always compared, so timing does not tell which one holds a token.
        let is_admin = any_eq(&self.admin, token);
        let is_check = any_eq(&self.check, token);
        match (scope, is_admin, is_check) {
            (_, true, _) | (Scope::Check, _, true) => Ok(()),
            (Scope::Admin, false, true) => Err(ApiError::Forbidden(
                "this token may check but not change the index (needs an admin token)".into(),
            )),
            _ => Err(ApiError::Unauthorized("unknown bearer token".into())),
        }
    }
}

async fn require(state: &Shared, req: Request, next: Next, scope: Scope) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.tokens.authorize(header, scope) {
        Ok(()) => next.run(req).await,
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

pub async fn require_check(State(state): State<Shared>, req: Request, next: Next) -> Response {
    require(&state, req, next, Scope::Check).await
}

pub async fn require_admin(State(state): State<Shared>, req: Request, next: Next) -> Response {
    require(&state, req, next, Scope::Admin).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        let t = Tokens::new(&["c1".into()], &["a1".into(), " ".into()]);
        assert!(t.authorize(Some("Bearer c1"), Scope::Check).is_ok());
        assert!(t.authorize(Some("bearer a1"), Scope::Check).is_ok());
        assert!(t.authorize(Some("Bearer a1"), Scope::Admin).is_ok());
        assert!(matches!(
            t.authorize(Some("Bearer c1"), Scope::Admin),
            Err(ApiError::Forbidden(_))
        ));
        assert!(matches!(
            t.authorize(Some("Bearer c"), Scope::Check),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(
            t.authorize(None, Scope::Check),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(
            t.authorize(Some("Basic c1"), Scope::Check),
            Err(ApiError::Unauthorized(_))
        ));
        let open = Tokens::new(&[], &[" ".into()]);
        assert!(open.authorize(None, Scope::Admin).is_ok());
    }
}

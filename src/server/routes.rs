//! The handlers. Each parses and validates on the async side, then does index work on the
//! blocking pool so that the async workers stay free to accept and answer requests.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::error::{ApiError, ErrorBody, ItemError};
use super::photos::{self, CheckForm, CheckRequest};
use super::state::{ServerConfig, Shared};
use crate::engine::{CheckOptions, Engine, Explanation};
use crate::model::{BannedRecord, CheckResult, Decision, Listing};
use crate::pipeline::explain::{self, ExplainLine, ExplainRequest, PairFault};
use crate::pipeline::query::{self, BannedIndex, QueryAnswer, QueryRequest};

/// Runs `f` on the blocking pool, at most `check_workers` at once (others wait for a turn).
pub(super) async fn blocking<T: Send + 'static>(
    state: &Shared,
    f: impl FnOnce(&Engine) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let permit = state
        .workers
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::Overloaded("shutting down".into()))?;
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f(&engine)
    })
    .await?
}

/// Runs a write on the blocking pool under the write lock, then installs the commit so that
/// the next check sees it. Returns only after the commit (durable) and the reload.
async fn write<T: Send + 'static>(
    state: &Shared,
    f: impl FnOnce(&Engine) -> crate::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    // Owned, and moved into the blocking task: if the caller goes away mid-write, the lock
    // is still held until the commit has finished.
    let guard = state.write_lock.clone().lock_owned().await;
    let engine = state.engine.clone();
    let out = tokio::task::spawn_blocking(move || {
        let _guard = guard;
        let out = f(&engine)?;
        engine.reload()?;
        Ok::<T, crate::Error>(out)
    })
    .await??;
    state.metrics.write_committed();
    Ok(out)
}

/// Parses a body as one JSON value; malformed JSON is `bad_request`.
fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))
}

/// A listing as the server accepts it: the record contract plus the server's size limits.
fn parse_listing(v: Value, cfg: &ServerConfig) -> Result<Listing, String> {
    let mut l = Listing::from_value(v)?;
    if l.title.len() > cfg.max_title_bytes {
        return Err(format!(
            "field `title`: {} bytes, over the limit of {}",
            l.title.len(),
            cfg.max_title_bytes
        ));
    }
    let texts = [
        ("description", l.description.as_deref()),
        ("brand", l.brand.as_deref()),
        ("category", l.category.as_deref()),
        ("seller", l.seller.as_deref()),
        ("platform", l.platform.as_deref()),
        ("url", l.url.as_deref()),
    ];
    for (name, text) in texts {
        if let Some(t) = text.filter(|t| t.len() > cfg.max_text_bytes) {
            return Err(format!(
                "field `{name}`: {} bytes, over the limit of {}",
                t.len(),
                cfg.max_text_bytes
            ));
        }
    }
    for (name, list) in [("models", &l.models), ("gtins", &l.gtins)] {
        let total: usize = list.iter().map(|s| s.len()).sum();
        if total > cfg.max_text_bytes {
            return Err(format!(
                "field `{name}`: {total} bytes, over the limit of {}",
                cfg.max_text_bytes
            ));
        }
    }
    // The server never reads a file or fetches a URL that a caller named: listing `images`
    // are paths or addresses of the caller's choosing. Photos come as bytes (`photos`, or
    // multipart parts) or as `image_hashes`.
    l.images.clear();
    Ok(l)
}

fn count(state: &Shared, r: &CheckResult) {
    state.metrics.decision(r.decision);
}

/// Whether a request body is `multipart/form-data`.
fn is_multipart(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// Checks one listing, with its photos if it has any: inline (`photos`, base64) in a JSON body,
/// or as files in a `multipart/form-data` body beside a `listing` part. A photo that cannot be
/// decoded (not an image, truncated, a decompression bomb) is refused with `invalid_image`.
#[utoipa::path(
    post, path = "/v1/check", tag = "check",
    request_body(
        description = "One listing record (JSON, photos inline in `photos`), or a form with a \
            `listing` part (JSON) and `photo` parts (files)",
        content(
            (CheckRequest = "application/json"),
            (CheckForm = "multipart/form-data"),
        )
    ),
    responses(
        (status = 200, description = "The result, as `relist check` prints it", body = CheckResult),
        (status = 400, description = "bad_request, invalid_record or invalid_image", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, description = "body, text field, photo count or photo size over its limit", body = ErrorBody),
        (status = 503, description = "overloaded or timeout", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn check(
    State(state): State<Shared>,
    req: Request,
) -> Result<Json<CheckResult>, ApiError> {
    // Only reading the body is async; parsing it (megabytes of base64, with photos) runs on
    // the blocking pool with the check, never on the workers that accept and answer requests.
    let body = if is_multipart(&req) {
        let form = Multipart::from_request(req, &state).await?;
        let (v, photos) = photos::read_multipart(form, &state.config).await?;
        CheckBody::Form(v, photos)
    } else {
        CheckBody::Json(Bytes::from_request(req, &state).await?)
    };
    let shared = state.clone();
    let res = blocking(&state, move |engine| {
        let cfg = &shared.config;
        let (listing, photos) = parse_check(body, cfg)?;
        photos::check_with_photos(engine, &listing, &photos, CheckOptions::top(cfg.top))
    })
    .await?;
    count(&state, &res);
    Ok(Json(res))
}

/// The body of `POST /v1/check` as read: JSON, or a form already split into its parts.
enum CheckBody {
    Json(Bytes),
    Form(Value, Vec<photos::Photo>),
}

/// The listing of a check and its photos, validated.
fn parse_check(
    body: CheckBody,
    cfg: &ServerConfig,
) -> Result<(Listing, Vec<photos::Photo>), ApiError> {
    let (v, mut photos, listing_bytes) = match body {
        CheckBody::Json(bytes) => (json_body(&bytes)?, Vec::new(), bytes.len()),
        CheckBody::Form(v, photos) => (v, photos, 0),
    };
    let Value::Object(mut obj) = v else {
        return Err(ApiError::BadRequest(
            "expected one listing object (use /v1/check/batch for an array)".into(),
        ));
    };
    let inline = photos::take_inline(&mut obj, cfg, photos.len())?;
    // The route's body limit leaves room for photos; the listing itself has the usual one.
    // (A form's `listing` part was held to that limit as it was read.)
    let without_photos =
        listing_bytes.saturating_sub(inline.iter().map(|p| p.sent_bytes).sum::<usize>());
    if without_photos > cfg.max_body_bytes {
        return Err(ApiError::PayloadTooLarge(format!(
            "the listing is {without_photos} bytes without its photos, over the limit of {}",
            cfg.max_body_bytes
        )));
    }
    photos.extend(inline);
    let listing = parse_listing(Value::Object(obj), cfg)
        .map_err(|e| ApiError::InvalidRecord(e, Vec::new()))?;
    Ok((listing, photos))
}

/// Checks up to `max_batch` listings; results come in the order of the listings. A listing
/// that fails validation (or whose inline photo cannot be used) gets a result with `error` set
/// and decision `review`.
#[utoipa::path(
    post, path = "/v1/check/batch", tag = "check",
    request_body(content = Vec<CheckRequest>, description = "A JSON array of listing records (photos inline, within the body limit)"),
    responses(
        (status = 200, description = "One result per listing, in order", body = Vec<CheckResult>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, description = "body or batch over its limit", body = ErrorBody),
        (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn check_batch(
    State(state): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<CheckResult>>, ApiError> {
    let Value::Array(items) = json_body(&body?)? else {
        return Err(ApiError::BadRequest(
            "expected a JSON array of listings".into(),
        ));
    };
    if items.len() > state.config.max_batch {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} listings in one batch, over the limit of {}",
            items.len(),
            state.config.max_batch
        )));
    }
    type Item = Result<(Listing, Vec<photos::Photo>), (String, String)>;
    let parsed: Vec<Item> = items
        .into_iter()
        .enumerate()
        .map(|(i, mut v)| {
            let id = v
                .get("id")
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_string();
            let fail = |e: String| (id.clone(), format!("item {i}: {e}"));
            let photos = match v.as_object_mut() {
                Some(obj) => photos::take_inline(obj, &state.config, 0)
                    .map_err(|e| fail(e.message().to_string()))?,
                None => Vec::new(),
            };
            let listing = parse_listing(v, &state.config).map_err(fail)?;
            Ok((listing, photos))
        })
        .collect();
    let top = state.config.top;
    let results = blocking(&state, move |engine| {
        Ok(parsed
            .into_par_iter()
            .map(|item| {
                let (id, err) = match item {
                    Ok((l, photos)) => {
                        match photos::check_with_photos(engine, &l, &photos, CheckOptions::top(top))
                        {
                            Ok(r) => return r,
                            Err(e) => (l.id.clone(), e.message().to_string()),
                        }
                    }
                    Err(e) => e,
                };
                CheckResult {
                    listing_id: id,
                    decision: Decision::Review,
                    score: 0.0,
                    matches: Vec::new(),
                    error: Some(err),
                }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    for r in &results {
        if r.error.is_none() {
            count(&state, r);
        }
    }
    Ok(Json(results))
}

/// One pair of `POST /v1/explain` (for the OpenAPI document; parsing is
/// [`ExplainRequest::split`]'s).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ExplainPair {
    /// The banned record to judge the listing against.
    banned_id: String,
    /// The listing, photos inline as `POST /v1/check` takes them.
    listing: CheckRequest,
}

/// Several pairs at once, at most `--max-batch`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ExplainPairs {
    pairs: Vec<ExplainPair>,
}

/// The body of `POST /v1/explain`: one pair, or `pairs`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ExplainBody {
    One(Box<ExplainPair>),
    Many(ExplainPairs),
}

/// The answer to `pairs`: one line per pair, in order, as `relist explain` prints them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ExplainResults {
    pub results: Vec<ExplainLine>,
}

/// The answer of `POST /v1/explain`: one pair's explanation, or `results`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ExplainAnswer {
    One(Explanation),
    Many(ExplainResults),
}

/// A pair as the server accepts it: the listing within the server's limits, its inline photos
/// taken out. Errors carry what is known of the pair.
fn parse_pair(
    v: Value,
    cfg: &ServerConfig,
) -> Result<(ExplainRequest, Vec<photos::Photo>), (PairFault, ApiError)> {
    let (banned_id, mut listing) = ExplainRequest::split(v).map_err(|f| {
        let e = ApiError::BadRequest(f.reason.clone());
        (f, e)
    })?;
    let lid = listing_id_of(&listing);
    let photos = match listing.as_object_mut() {
        Some(obj) => photos::take_inline(obj, cfg, 0).map_err(|e| {
            let f = PairFault {
                listing_id: lid.clone(),
                banned_id: Some(banned_id.clone()),
                reason: e.message().to_string(),
            };
            (f, e)
        })?,
        None => Vec::new(),
    };
    let listing = parse_listing(listing, cfg).map_err(|e| {
        let e = format!("field `listing`: {e}");
        (
            PairFault {
                listing_id: lid,
                banned_id: Some(banned_id.clone()),
                reason: e.clone(),
            },
            ApiError::InvalidRecord(e, Vec::new()),
        )
    })?;
    Ok((ExplainRequest { banned_id, listing }, photos))
}

fn listing_id_of(listing: &Value) -> Option<String> {
    listing
        .get("id")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
}

/// One pair explained, its photos hashed from the bytes sent: nothing is read from a path.
fn explain_one(
    engine: &Engine,
    req: &ExplainRequest,
    photos: &[photos::Photo],
    top: usize,
) -> Result<Explanation, ApiError> {
    let hashed = photos::resolve(&req.listing, photos)?;
    Ok(explain::run(
        engine,
        req,
        Some(hashed),
        CheckOptions::top(top),
    )?)
}

/// Judges given (banned record, listing) pairs as `POST /v1/check` judges that record for that
/// listing, whatever the score, with all the evidence: the decision is the one a check gives
/// the record (`allow` when a check would not name it, `note` saying why). One pair, or up to
/// `max_batch` of them in `pairs` (then a pair that fails is a result with `error` and `item`).
#[utoipa::path(
    post, path = "/v1/explain", tag = "check",
    request_body(content = ExplainBody, description = "`{\"banned_id\", \"listing\"}` (photos inline in the listing's `photos`), or `{\"pairs\": [...]}`"),
    responses(
        (status = 200, description = "The explanation, as one `relist explain` line; for `pairs`, `{\"results\": [...]}` in order", body = ExplainAnswer),
        (status = 400, description = "bad_request, invalid_record or invalid_image", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "not_found: no banned record with that id (one pair)", body = ErrorBody),
        (status = 413, description = "body, pair count, text field or photos over their limit", body = ErrorBody),
        (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn explain(
    State(state): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ExplainAnswer>, ApiError> {
    let bytes = body?;
    let shape = || {
        ApiError::BadRequest(
            "expected {\"banned_id\": ID, \"listing\": {...}} or {\"pairs\": [...]}".into(),
        )
    };
    let Value::Object(mut obj) = json_body(&bytes)? else {
        return Err(shape());
    };
    let cfg = &state.config;
    let top = cfg.top;
    let Some(pairs) = obj.remove("pairs") else {
        let (req, photos) = parse_pair(Value::Object(obj), cfg).map_err(|(_, e)| e)?;
        // The route's body limit leaves room for photos; the rest has the usual one.
        let without = bytes
            .len()
            .saturating_sub(photos.iter().map(|p| p.sent_bytes).sum());
        if without > cfg.max_body_bytes {
            return Err(ApiError::PayloadTooLarge(format!(
                "the pair is {without} bytes without its photos, over the limit of {}",
                cfg.max_body_bytes
            )));
        }
        let x = blocking(&state, move |engine| {
            explain_one(engine, &req, &photos, top)
        })
        .await?;
        return Ok(Json(ExplainAnswer::One(x)));
    };
    if bytes.len() > cfg.max_body_bytes {
        return Err(ApiError::PayloadTooLarge(format!(
            "a body of pairs is {} bytes, over the limit of {}",
            bytes.len(),
            cfg.max_body_bytes
        )));
    }
    let Value::Array(items) = pairs else {
        return Err(ApiError::BadRequest(
            "field `pairs`: expected a list of {\"banned_id\", \"listing\"} objects".into(),
        ));
    };
    if items.len() > cfg.max_batch {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} pairs in one request, over the limit of {}",
            items.len(),
            cfg.max_batch
        )));
    }
    let parsed: Vec<_> = items
        .into_iter()
        .map(|v| parse_pair(v, cfg).map_err(|(f, _)| f))
        .collect();
    let results = blocking(&state, move |engine| {
        Ok(parsed
            .into_par_iter()
            .enumerate()
            .map(|(i, item)| {
                let place = format!("item {}", i + 1);
                let fault = match item {
                    Ok((req, photos)) => match explain_one(engine, &req, &photos, top) {
                        Ok(x) => return ExplainLine::Explained(x),
                        Err(e) => PairFault {
                            listing_id: Some(req.listing.id.clone()),
                            banned_id: Some(req.banned_id.clone()),
                            reason: e.message().to_string(),
                        },
                    },
                    Err(f) => f,
                };
                ExplainLine::Failed(fault.at(&place, None, Some(i + 1)))
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(ExplainAnswer::Many(ExplainResults { results })))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IngestParams {
    /// Reject the whole request (nothing written) if any record is invalid (default false).
    strict: Option<bool>,
}

/// What a write did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    pub added: u64,
    pub replaced: u64,
    pub rejected: u64,
    /// Rejected records: 1-based line (JSON Lines) or position (array), and the reason.
    pub errors: Vec<ItemError>,
    /// Accepted records with something dropped (e.g. a GTIN failing its check digit).
    pub warnings: Vec<ItemError>,
}

/// Splits a write body into records: a JSON array, one JSON object, or JSON Lines.
fn parse_banned(body: &[u8]) -> Result<(Vec<BannedRecord>, IngestReport), ApiError> {
    let mut report = IngestReport {
        added: 0,
        replaced: 0,
        rejected: 0,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::BadRequest("empty body: no records".into()));
    }
    let items: Vec<(usize, Result<Value, String>)> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i + 1, Ok(v)))
            .collect(),
        Ok(v @ Value::Object(_)) => vec![(1, Ok(v))],
        Ok(_) => {
            return Err(ApiError::BadRequest(
                "expected a JSON array of records, one record, or JSON Lines".into(),
            ));
        }
        Err(_) => body
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.iter().all(|b| b.is_ascii_whitespace()))
            .map(|(i, line)| {
                (
                    i + 1,
                    serde_json::from_slice(line).map_err(|e| format!("invalid JSON: {e}")),
                )
            })
            .collect(),
    };
    let mut records = Vec::with_capacity(items.len());
    for (item, v) in items {
        match v.and_then(BannedRecord::from_value) {
            Ok(p) => {
                for w in p.warnings {
                    report.warnings.push(ItemError { item, message: w });
                }
                records.push(p.record);
            }
            Err(message) => {
                report.rejected += 1;
                report.errors.push(ItemError { item, message });
            }
        }
    }
    Ok((records, report))
}

/// Adds or replaces banned records in one commit. Answers after the commit is durable and
/// visible to checks.
#[utoipa::path(
    post, path = "/v1/banned", tag = "admin",
    params(IngestParams),
    request_body(content = Vec<BannedRecord>, description = "A JSON array of banned records, or JSON Lines"),
    responses(
        (status = 200, description = "Committed", body = IngestReport),
        (status = 400, description = "bad_request, or invalid_record with `details` when no record (or, with strict, not every record) is valid", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn ingest(
    State(state): State<Shared>,
    params: Result<Query<IngestParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReport>, ApiError> {
    let Query(params) = params?;
    let (records, mut report) = parse_banned(&body?)?;
    if records.is_empty() || (params.strict == Some(true) && report.rejected > 0) {
        let first = report.errors.first().map_or(String::new(), |e| {
            format!(": item {}: {}", e.item, e.message)
        });
        return Err(ApiError::InvalidRecord(
            format!(
                "{} records rejected, nothing ingested{first}",
                report.rejected
            ),
            report.errors,
        ));
    }
    let n = records.len();
    // Only the commit of the ingest pipeline applies: the server reads no photo file, so records
    // bring `image_hashes` and no thumbnail is made.
    let counts = write(&state, move |engine| {
        crate::pipeline::ingest::commit(engine.store(), records, Vec::new())
    })
    .await?;
    report.added = counts.added;
    report.replaced = counts.replaced;
    tracing::info!(
        records = n,
        added = counts.added,
        replaced = counts.replaced,
        "ingest committed"
    );
    Ok(Json(report))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Removed {
    pub removed: String,
}

/// Removes one banned record, in one commit.
#[utoipa::path(
    delete, path = "/v1/banned/{id}", tag = "admin",
    params(("id" = String, Path, description = "Banned record id")),
    responses(
        (status = 200, description = "Removed and committed", body = Removed),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn remove(
    State(state): State<Shared>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Removed>, ApiError> {
    let Path(id) = path?;
    let target = id.clone();
    let missing = write(&state, move |engine| {
        crate::pipeline::index::remove_from(engine.store(), &[target])
    })
    .await?;
    if !missing.is_empty() {
        return Err(ApiError::NotFound(format!(
            "no banned record with id '{id}'"
        )));
    }
    tracing::info!(id, "remove committed");
    Ok(Json(Removed { removed: id }))
}

/// One banned record, as stored.
#[utoipa::path(
    get, path = "/v1/banned/{id}", tag = "check",
    params(("id" = String, Path, description = "Banned record id")),
    responses(
        (status = 200, body = BannedRecord),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_banned(
    State(state): State<Shared>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<BannedRecord>, ApiError> {
    let Path(id) = path?;
    let key = id.clone();
    let rec = blocking(&state, move |engine| {
        engine
            .snapshot()
            .get(&key)
            .map_err(|e| ApiError::Internal(format!("index: {e}")))
    })
    .await?;
    rec.map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no banned record with id '{id}'")))
}

/// Parameters of `GET /v1/query` (those of `relist query`).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct QueryParams {
    /// Free text: a title, brand or words from a listing.
    text: Option<String>,
    /// A model number (repeat the parameter for several).
    model: Option<Vec<String>>,
    /// A GTIN (repeat the parameter for several).
    gtin: Option<Vec<String>>,
    /// Only records from this source (e.g. CPSC).
    source: Option<String>,
    /// Only records that apply in this market (ISO 3166 alpha-2).
    jurisdiction: Option<String>,
    /// Only records recalled on or after this day (YYYY-MM-DD).
    since: Option<String>,
    /// Only records recalled on or before this day (YYYY-MM-DD).
    until: Option<String>,
    /// Only records whose category contains this (case-insensitive).
    category: Option<String>,
    /// Only records whose hazard contains this (case-insensitive).
    hazard: Option<String>,
    /// Most results (default 10, at most 100).
    limit: Option<usize>,
    /// Results skipped first (the next page).
    offset: Option<usize>,
}

/// Most results a query may ask for.
const MAX_QUERY_LIMIT: usize = 100;
/// Deepest page: a search ranks `offset + limit` candidates, a browse holds that many
/// addresses.
const MAX_QUERY_OFFSET: usize = 100_000;

fn parse_query(pairs: Vec<(String, String)>) -> Result<QueryRequest, ApiError> {
    let mut q = QueryRequest {
        limit: 10,
        ..Default::default()
    };
    let some = |v: String| Some(v).filter(|s| !s.trim().is_empty());
    for (k, v) in pairs {
        match k.as_str() {
            "text" => q.text = some(v),
            "model" => q.models.extend(some(v)),
            "gtin" => q.gtins.extend(some(v)),
            name if q.filters.set(name, &v) => {}
            "limit" => {
                q.limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_QUERY_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "parameter `limit`: '{v}' is not a number from 1 to {MAX_QUERY_LIMIT}"
                        ))
                    })?
            }
            "offset" => {
                q.offset = v
                    .parse()
                    .ok()
                    .filter(|n| *n <= MAX_QUERY_OFFSET)
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "parameter `offset`: '{v}' is not a number from 0 to {MAX_QUERY_OFFSET}"
                        ))
                    })?
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter `{other}` (text, model, gtin, source, jurisdiction, since, until, category, hazard, limit, offset)"
                )));
            }
        }
    }
    Ok(q)
}

/// Ad-hoc search of the banned index (ranked by relevance), or the banned list browsed by
/// filters alone (newest recall first), with the semantics of `relist query`.
#[utoipa::path(
    get, path = "/v1/query", tag = "check",
    params(QueryParams),
    responses(
        (status = 200, description = "With text, model or gtin: hits ranked by relevance (rank, score, evidence); with filters only or nothing: records, newest recall first; as `relist query --format json` prints them", body = Vec<Object>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn query(
    State(state): State<Shared>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let Query(pairs) = params?;
    let q = parse_query(pairs)?;
    for t in q.text.iter().chain(&q.models).chain(&q.gtins) {
        if t.len() > state.config.max_title_bytes {
            return Err(ApiError::BadRequest(format!(
                "a query parameter is {} bytes, over the limit of {}",
                t.len(),
                state.config.max_title_bytes
            )));
        }
    }
    let answer = blocking(&state, move |engine| {
        query::run(&q, BannedIndex::Open(engine), None).map_err(|e| match e {
            crate::Error::Invalid(m) => ApiError::BadRequest(m),
            e => e.into(),
        })
    })
    .await?;
    match answer {
        QueryAnswer::Banned(hits) => Ok(Json(hits.iter().map(|h| h.to_value()).collect())),
        QueryAnswer::Records(b) => Ok(Json(
            b.records
                .iter()
                .enumerate()
                .map(|(i, r)| crate::pipeline::search::listed_value(b.offset + i + 1, r))
                .collect(),
        )),
        QueryAnswer::Listings { .. } => Err(ApiError::Internal(
            "a banned-index query found listings".into(),
        )),
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "`{\"status\": \"ok\"}`")))]
pub async fn healthz() -> Json<Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the index is open and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "`{\"status\": \"ready\", \"records\": N}`"),
        (status = 503, description = "`{\"status\": \"draining\"}` during shutdown"),
    ))]
pub async fn readyz(State(state): State<Shared>) -> Response {
    if !state.ready.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "draining"})),
        )
            .into_response();
    }
    let records = state.engine.snapshot().num_docs();
    Json(serde_json::json!({"status": "ready", "records": records})).into_response()
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text", content_type = "text/plain")),
    security(("bearer" = [])))]
pub async fn metrics(State(state): State<Shared>) -> Result<Response, ApiError> {
    let engine: Arc<Engine> = state.engine.clone();
    let (records, products, terms) =
        tokio::task::spawn_blocking(move || engine.store().counts()).await?;
    let in_flight = state.config.max_in_flight - state.in_flight.available_permits();
    let text = state.metrics.render(records, products, terms, in_flight);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::openapi_json(),
    )
        .into_response()
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint (see /openapi.json)".into())
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("method not allowed on this endpoint".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_bodies_in_three_shapes() {
        let (r, rep) = parse_banned(br#"[{"id":"a","title":"x"},{"id":"b"}]"#).unwrap();
        assert_eq!((r.len(), rep.rejected, rep.errors[0].item), (1, 1, 2));
        let (r, _) = parse_banned(br#"{"id":"a","title":"x"}"#).unwrap();
        assert_eq!(r.len(), 1);
        let (r, rep) = parse_banned(
            b"{\"id\":\"a\",\"title\":\"x\"}\n\n{broken\n{\"id\":\"c\",\"title\":\"y\"}\n",
        )
        .unwrap();
        assert_eq!((r.len(), rep.errors[0].item), (2, 3));
        assert!(parse_banned(b"  ").is_err());
        assert!(parse_banned(b"42").is_err());
    }

    #[test]
    fn query_parameters() {
        let p = |s: &[(&str, &str)]| {
            parse_query(
                s.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let q = p(&[("model", "A-1"), ("model", "B-2"), ("limit", "3")]).unwrap();
        assert_eq!((q.models.len(), q.limit), (2, 3));
        // Filters alone, or nothing, browse the banned list.
        let q = p(&[("limit", "3"), ("offset", "6"), ("source", "cpsc")]).unwrap();
        assert_eq!((q.limit, q.offset, q.has_probe()), (3, 6, false));
        assert!(p(&[("offset", "-1")]).is_err());
        assert!(p(&[("offset", "100001")]).is_err());
        assert!(p(&[("text", "x"), ("limit", "0")]).is_err());
        assert!(p(&[("text", "x"), ("colour", "red")]).is_err());
    }
}

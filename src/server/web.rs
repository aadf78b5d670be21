//! The web page for regulators at `/`: search the banned index or a catalog by text, model
//! number, banned record or an uploaded photo, or list the banned records by filters (newest
//! recall first); results as cards with both photos side by side.
//!
//! Server-rendered HTML with embedded CSS and no script: nothing is fetched at run time. The
//! page is behind the same tokens as the check endpoints: a browser sends its token once to
//! `POST /login`, which sets an HttpOnly, SameSite=Strict cookie; an `Authorization` header
//! works too. An uploaded photo is decoded by the bounded decoder, hashed, shown back as an
//! inline thumbnail and dropped: it is never stored.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, Multipart, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;

use super::auth::Scope;
use super::error::ApiError;
use super::routes::blocking;
use super::state::Shared;
use crate::engine::Engine;
use crate::matching::evidence::{self, Voice};
use crate::pipeline::query::{self, BannedIndex, QueryAnswer, QueryRequest};
use crate::pipeline::reverse::CatalogHit;
use crate::pipeline::search::{Filters, Hit};
use crate::present::html::{self, Card, Side, esc};

/// The catalog a server searches besides the banned index (`relist serve --catalog DIR`).
#[derive(Clone)]
pub struct CatalogHandle {
    engine: Arc<Engine>,
    /// Modification time of the catalog's manifest when last loaded.
    seen: Arc<std::sync::Mutex<Option<std::time::SystemTime>>>,
}

impl std::fmt::Debug for CatalogHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CatalogHandle({})", self.engine.store().dir().display())
    }
}

impl CatalogHandle {
    pub fn new(engine: Engine) -> CatalogHandle {
        let seen = manifest_mtime(&engine);
        CatalogHandle {
            engine: Arc::new(engine),
            seen: Arc::new(std::sync::Mutex::new(seen)),
        }
    }

    fn dir(&self) -> &Path {
        self.engine.store().dir()
    }

    /// The catalog's engine, reloaded first if `relist catalog index` committed since (a
    /// catalog is written by another process, never by the server).
    fn fresh(&self) -> crate::Result<Arc<Engine>> {
        let now = manifest_mtime(&self.engine);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if now != *seen {
            self.engine.reload()?;
            *seen = now;
        }
        Ok(self.engine.clone())
    }
}

fn manifest_mtime(engine: &Engine) -> Option<std::time::SystemTime> {
    std::fs::metadata(engine.store().dir().join("manifest.json"))
        .and_then(|m| m.modified())
        .ok()
}

/// Largest request to the page: one photo and a few fields.
pub const MAX_UPLOAD_BYTES: usize = 10 << 20;
/// Cards on one page.
const RESULTS: usize = 20;
const COOKIE: &str = "relist_token";

/// The page's routes, behind the check scope (a header or the login cookie). The caller adds
/// the load limit.
pub fn router(state: Shared) -> Router<Shared> {
    let viewer = from_fn_with_state(state.clone(), require_viewer);
    Router::new()
        .route("/", get(page).post(upload))
        .route("/thumbs/{kind}/{id}", get(thumbnail))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .layer(viewer)
        .merge(
            Router::new()
                .route("/login", get(login_page).post(login))
                .layer(DefaultBodyLimit::max(16 << 10)),
        )
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == COOKIE).then(|| v.to_string())
        })
}

async fn require_viewer(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let header_auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let auth = header_auth.or_else(|| cookie_token(req.headers()).map(|t| format!("Bearer {t}")));
    match state.tokens.authorize(auth.as_deref(), Scope::Check) {
        Ok(()) => next.run(req).await,
        Err(e) => login_response(&e),
    }
}

fn login_form(message: Option<&str>) -> String {
    let msg = message
        .map(|m| format!("<p class=\"error\">{}</p>", esc(m)))
        .unwrap_or_default();
    shell(
        "sign in",
        &format!(
            "{msg}<form class=\"search\" method=\"post\" action=\"/login\" enctype=\"multipart/form-data\">\
<label>Access token <input type=\"text\" name=\"token\" id=\"token\" autocomplete=\"off\"></label>\
<button type=\"submit\">Sign in</button></form>"
        ),
    )
}

fn login_response(e: &ApiError) -> Response {
    let (status, _) = e.status_and_code();
    html_response(status, login_form(Some(e.message())))
}

async fn login_page() -> Response {
    html_response(StatusCode::OK, login_form(None))
}

/// Checks the token and keeps it in a cookie the page's scripts cannot read.
async fn login(
    State(state): State<Shared>,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let token = async {
        let mut mp = mp.map_err(|e| ApiError::BadRequest(e.body_text()))?;
        while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
            if field.name() == Some("token") {
                return field.text().await.map_err(multipart_error);
            }
        }
        Err(ApiError::BadRequest("field `token` is missing".into()))
    }
    .await;
    let token = match token {
        Ok(t) => t.trim().to_string(),
        Err(e) => return login_response(&e),
    };
    // A cookie value may not hold these; no configured token does either.
    if token.is_empty()
        || token
            .bytes()
            .any(|b| !b.is_ascii_graphic() || b == b';' || b == b',')
    {
        return login_response(&ApiError::Unauthorized("unknown token".into()));
    }
    if let Err(e) = state
        .tokens
        .authorize(Some(&format!("Bearer {token}")), Scope::Check)
    {
        return login_response(&e);
    }
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(format!("the upload is over {} MiB", MAX_UPLOAD_BYTES >> 20))
    } else {
        ApiError::BadRequest(format!("the form could not be read: {}", e.body_text()))
    }
}

/// Where a search looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Banned,
    Catalog,
}

/// What the form asks.
#[derive(Debug, Default)]
struct Form {
    text: String,
    model: String,
    banned: String,
    catalog: bool,
    photo: Option<Vec<u8>>,
    /// Filters on the banned records (those of `relist query`).
    filters: Filters,
    /// Results skipped (the next page).
    offset: usize,
}

/// Deepest page the form may ask for (as `GET /v1/query`).
const MAX_OFFSET: usize = 100_000;

impl Form {
    fn set(&mut self, name: &str, value: String) -> Result<(), ApiError> {
        if value.len() > 4096 {
            return Err(ApiError::PayloadTooLarge(format!(
                "field `{name}` is over 4096 bytes"
            )));
        }
        match name {
            "text" => self.text = value,
            "model" => self.model = value,
            "banned" => self.banned = value,
            "target" => self.catalog = value == "catalog",
            name if self.filters.set(name, &value) => {}
            "offset" => {
                self.offset = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n <= MAX_OFFSET)
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "field `offset`: '{value}' is not a number from 0 to {MAX_OFFSET}"
                        ))
                    })?
            }
            _ => {}
        }
        Ok(())
    }

    fn target(&self) -> Target {
        if self.catalog {
            Target::Catalog
        } else {
            Target::Banned
        }
    }

    fn has_probe(&self) -> bool {
        !(self.text.trim().is_empty()
            && self.model.trim().is_empty()
            && self.banned.trim().is_empty()
            && self.photo.is_none())
    }

    /// The form's filters and offset as a query string, for the next page's link.
    fn next_page(&self, offset: usize) -> String {
        let f = &self.filters;
        let mut q = vec![format!("offset={offset}")];
        for (k, v) in [
            ("source", &f.source),
            ("jurisdiction", &f.jurisdiction),
            ("since", &f.since),
            ("until", &f.until),
            ("category", &f.category),
            ("hazard", &f.hazard),
        ] {
            if let Some(v) = v {
                q.push(format!("{k}={}", crate::net::percent_encode(v)));
            }
        }
        format!("/?{}", q.join("&"))
    }
}

async fn page(
    State(state): State<Shared>,
    q: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let mut form = Form::default();
    let answer = async {
        let Query(pairs) = q.map_err(ApiError::from)?;
        // The bare page shows the form; anything asked (filters alone, or an empty form sent)
        // searches, or lists the banned records newest first.
        if pairs.is_empty() {
            return Ok(String::new());
        }
        for (k, v) in pairs {
            form.set(&k, v)?;
        }
        search(&state, &form).await
    }
    .await;
    render(&state, &form, answer)
}

async fn upload(
    State(state): State<Shared>,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let mut form = Form::default();
    let answer = async {
        let mut mp = mp.map_err(|e| ApiError::BadRequest(e.body_text()))?;
        while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or_default().to_string();
            if name == "photo" {
                let bytes = field.bytes().await.map_err(multipart_error)?;
                // A form sent without a file chosen has an empty part.
                if !bytes.is_empty() {
                    form.photo = Some(bytes.to_vec());
                }
            } else {
                let v = field.text().await.map_err(multipart_error)?;
                form.set(&name, v)?;
            }
        }
        if form.target() == Target::Catalog && !form.has_probe() && form.filters.is_empty() {
            return Err(ApiError::BadRequest(
                "give a text, a model number, a banned record id, a photo or a filter".into(),
            ));
        }
        search(&state, &form).await
    }
    .await;
    render(&state, &form, answer)
}

/// The uploaded photo: its probe hashes and a thumbnail to show it back (inline, not stored).
fn photo_probe(bytes: &[u8]) -> crate::Result<(Vec<crate::model::ImageHashRef>, String)> {
    let (hashes, jpeg) = crate::pipeline::photos::probe_upload(bytes, "uploaded photo")?;
    let uri = format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    );
    Ok((hashes, uri))
}

fn thumb_url(state: &Shared, kind: &str, id: &str) -> Option<String> {
    let dir = match kind {
        "banned" => state.engine.store().dir().to_path_buf(),
        _ => state.config.catalog.as_ref()?.dir().to_path_buf(),
    };
    crate::pipeline::photos::has_thumbnail(&dir, id)
        .then(|| format!("/thumbs/{kind}/{}", html::path_segment(id)))
}

fn banned_facts(b: &crate::model::BannedRecord) -> Vec<(String, String)> {
    let mut f = vec![("Banned".to_string(), b.id.clone())];
    let mut add = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            f.push((k.to_string(), v.clone()));
        }
    };
    add("Source", &b.source);
    add("Recalled", &b.recalled_at);
    add("Hazard", &b.hazard);
    if !b.jurisdictions.is_empty() {
        f.push(("Applies in".into(), b.jurisdictions.join(", ")));
    }
    f
}

fn listing_facts(l: &crate::model::Listing) -> Vec<(String, String)> {
    let mut f = vec![("Listing".to_string(), l.id.clone())];
    for (k, v) in [
        ("Seller", &l.seller),
        ("Platform", &l.platform),
        ("Market", &l.market),
    ] {
        if let Some(v) = v {
            f.push((k.to_string(), v.clone()));
        }
    }
    if let Some(p) = l.price {
        f.push((
            "Price".into(),
            format!("{p:.2} {}", l.currency.as_deref().unwrap_or("")),
        ));
    }
    f
}

/// The query's own side of a card: the uploaded photo, or the words searched for.
fn query_side(form: &Form, uploaded: &Option<String>) -> Side {
    let mut words = vec![form.text.trim(), form.model.trim()];
    words.retain(|w| !w.is_empty());
    Side {
        label: "Your search".into(),
        img: uploaded.clone(),
        caption: esc(&words.join(" · ")),
    }
}

/// How the reasons of a banned-index search speak when a photo was uploaded: the upload's 8
/// rotations and flips are one photo.
const UPLOAD: Voice = Voice {
    uploaded_photo: true,
    ..Voice::BANNED
};

fn banned_card(state: &Shared, h: &Hit, left: Side, voice: Voice) -> Card {
    let (m, b) = (&h.matched, &h.record);
    let words = crate::matching::evidence::marked_words(&m.evidence);
    Card {
        banned: left,
        listing: Side {
            label: "Banned product".into(),
            img: thumb_url(state, "banned", &b.id),
            caption: html::highlight(&b.title, &words),
        },
        banned_id: b.id.clone(),
        listing_id: String::new(),
        decision: m.decision,
        score: m.score,
        rank: Some(h.rank),
        evidence: m.evidence.clone(),
        voice,
        image_distance: m.signals.image_distance,
        facts: banned_facts(b),
        notice_url: b.url.clone(),
        listing_url: None,
    }
}

fn catalog_card(state: &Shared, h: &CatalogHit, probe: Option<Side>) -> Card {
    let (m, b, l) = (&h.matched, &h.banned, &h.listing);
    // Against an ad-hoc query, the other side is the query, not a banned record.
    let voice = if probe.is_some() {
        Voice::QUERY
    } else {
        Voice::BANNED
    };
    let words = crate::matching::evidence::marked_words(&m.evidence);
    let (left, mut facts) = match probe {
        Some(side) => (side, Vec::new()),
        None => (
            Side {
                label: "Banned product".into(),
                img: thumb_url(state, "banned", &b.id),
                caption: esc(&b.title),
            },
            banned_facts(b),
        ),
    };
    facts.extend(listing_facts(l));
    Card {
        banned: left,
        listing: Side {
            label: "Listing".into(),
            img: thumb_url(state, "catalog", &l.id),
            caption: html::highlight(&l.title, &words),
        },
        banned_id: b.id.clone(),
        listing_id: l.id.clone(),
        decision: m.decision,
        score: m.score,
        rank: None,
        evidence: m.evidence.clone(),
        voice,
        image_distance: m.signals.image_distance,
        facts,
        notice_url: b.url.clone(),
        listing_url: l.url.clone(),
    }
}

/// What a search found, as cards and the line above them.
enum Found {
    Cards(Vec<Card>),
    Records {
        cards: Vec<String>,
        total: u64,
        offset: usize,
    },
}

fn record_card(state: &Shared, rank: usize, b: &crate::model::BannedRecord) -> String {
    let mut facts = banned_facts(b);
    if let Some(c) = &b.category {
        facts.push(("Category".into(), c.clone()));
    }
    html::record_card(
        rank,
        &Side {
            label: "Banned product".into(),
            img: thumb_url(state, "banned", &b.id),
            caption: esc(&b.title),
        },
        &b.id,
        &facts,
        b.url.as_deref(),
    )
}

/// Runs the search (or the listing of banned records) and renders the results section.
async fn search(state: &Shared, form: &Form) -> Result<String, ApiError> {
    let target = form.target();
    let catalog = match target {
        Target::Catalog => Some(state.config.catalog.clone().ok_or_else(|| {
            ApiError::BadRequest(
                "this server has no catalog (start it with `relist serve --catalog DIR`)".into(),
            )
        })?),
        Target::Banned => None,
    };
    if target == Target::Banned && !form.banned.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "a banned record id is looked for in a catalog: choose \"catalog listings\"".into(),
        ));
    }
    form.filters
        .validate()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let text = Some(form.text.trim().to_string()).filter(|t| !t.is_empty());
    let models: Vec<String> = Some(form.model.trim().to_string())
        .filter(|m| !m.is_empty())
        .into_iter()
        .collect();
    let banned_id = form.banned.trim().to_string();
    let photo = form.photo.clone();
    let filters = form.filters.clone();
    let offset = form.offset;
    let st = state.clone();
    let found: Found = blocking(state, move |engine| {
        let (hashes, uploaded, photos) = match &photo {
            Some(bytes) => {
                // A photo that cannot be used is the caller's mistake, whatever the reason.
                let bad = |e: crate::Error| ApiError::BadRequest(e.to_string());
                let (h, u) = photo_probe(bytes).map_err(bad)?;
                // The banned index is searched as a check searches a listing photo, keypoints
                // included: a crop or a turn of a banned photo is found, which hashes miss.
                let photos = match target {
                    Target::Banned => {
                        let mut p = crate::photo::QueryPhotos::default();
                        crate::pipeline::photos::add_upload(
                            &crate::photo::PhotoHasher::new(),
                            bytes,
                            "uploaded photo",
                            1,
                            &mut p,
                        )
                        .map_err(bad)?;
                        Some(p)
                    }
                    Target::Catalog => None,
                };
                (h, Some(u), photos)
            }
            None => (Vec::new(), None, None),
        };
        let form_side = |f: &Form| query_side(f, &uploaded);
        let echo = Form {
            text: text.clone().unwrap_or_default(),
            model: models.join(" "),
            ..Form::default()
        };
        let fresh = match &catalog {
            Some(handle) => Some(handle.fresh()?),
            None => None,
        };
        let req = QueryRequest {
            target: match target {
                Target::Banned => query::Target::Banned,
                Target::Catalog => query::Target::Catalog,
            },
            text: text.clone(),
            models: models.clone(),
            image_hashes: hashes,
            photos,
            banned_ids: Some(banned_id.clone())
                .filter(|id| !id.is_empty())
                .into_iter()
                .collect(),
            filters,
            limit: RESULTS,
            offset: if target == Target::Banned { offset } else { 0 },
            // A record asked for by id, or the few a filter selects (each brings its
            // listings): a page stays a page.
            max_banned: 50,
            ..Default::default()
        };
        match query::run(&req, BannedIndex::Open(engine), fresh.as_deref()).map_err(
            |e| match e {
                crate::Error::Invalid(m) => ApiError::BadRequest(m),
                e => e.into(),
            },
        )? {
            QueryAnswer::Banned(mut hits) => {
                // The upload's 8 rotations and flips are numbered as photos; it is one photo.
                if uploaded.is_some() {
                    for h in &mut hits {
                        h.matched.reasons = evidence::reasons(&h.matched.evidence, UPLOAD);
                    }
                }
                Ok(Found::Cards(
                    hits.iter()
                        .map(|h| {
                            let voice = if uploaded.is_some() {
                                UPLOAD
                            } else {
                                Voice::BANNED
                            };
                            banned_card(&st, h, form_side(&echo), voice)
                        })
                        .collect(),
                ))
            }
            QueryAnswer::Records(b) => Ok(Found::Records {
                cards: b
                    .records
                    .iter()
                    .enumerate()
                    .map(|(i, r)| record_card(&st, b.offset + i + 1, r))
                    .collect(),
                total: b.total,
                offset: b.offset,
            }),
            QueryAnswer::Listings {
                hits,
                selected: Some(_),
            } => Ok(Found::Cards(
                hits.iter().map(|h| catalog_card(&st, h, None)).collect(),
            )),
            QueryAnswer::Listings {
                hits,
                selected: None,
            } => Ok(Found::Cards(
                hits.iter()
                    .map(|h| catalog_card(&st, h, Some(form_side(&echo))))
                    .collect(),
            )),
        }
    })
    .await?;
    let out = match found {
        Found::Cards(cards) => {
            let what = match target {
                Target::Banned => {
                    "banned products found, ranked by relevance (a search, not a check)"
                }
                Target::Catalog => "catalog listings found",
            };
            let mut out = format!(
                "<p class=\"summary\" id=\"summary\">{} {what}</p>",
                cards.len()
            );
            for c in &cards {
                out.push_str(&html::card(c));
            }
            out
        }
        Found::Records {
            cards,
            total,
            offset,
        } => {
            let mut out = if cards.is_empty() {
                format!(
                    "<p class=\"summary\" id=\"summary\">no banned record passes the filters ({total} in all)</p>"
                )
            } else {
                format!(
                    "<p class=\"summary\" id=\"summary\">banned records {}–{} of {total}, newest recall first</p>",
                    offset + 1,
                    offset + cards.len()
                )
            };
            for c in &cards {
                out.push_str(c);
            }
            let next = offset + cards.len();
            if (next as u64) < total {
                out.push_str(&format!(
                    "<a class=\"next\" id=\"next\" href=\"{}\">next {RESULTS}</a>",
                    esc(&form.next_page(next))
                ));
            }
            out
        }
    };
    Ok(out)
}

fn shell(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>relist — {}</title><style>{}</style></head><body>\
<header><h1>relist</h1><p>Banned products and who still sells them: search by words, model number, recall or photo.</p></header>\
<main>{body}</main></body></html>",
        esc(title),
        html::CSS
    )
}

fn html_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Nothing on the page comes from elsewhere; say so to the browser.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'",
        ),
    );
    resp
}

/// The page: the form (filled in as asked) and the results or the error.
fn render(state: &Shared, form: &Form, answer: Result<String, ApiError>) -> Response {
    let has_catalog = state.config.catalog.is_some();
    let checked = |on: bool| if on { " checked" } else { "" };
    let f = |v: &Option<String>| v.clone().unwrap_or_default();
    let catalog_choice = if has_catalog {
        format!(
            "<label><input type=\"radio\" name=\"target\" value=\"catalog\" id=\"target-catalog\"{}> catalog listings</label>",
            checked(form.catalog)
        )
    } else {
        "<label title=\"start the server with --catalog DIR\"><input type=\"radio\" name=\"target\" value=\"catalog\" id=\"target-catalog\" disabled> catalog listings (none loaded)</label>".to_string()
    };
    let form_html = format!(
        "<form class=\"search\" id=\"search\" method=\"post\" action=\"/\" enctype=\"multipart/form-data\">\
<label>Words <input type=\"text\" name=\"text\" id=\"text\" value=\"{text}\" placeholder=\"power bank\"></label>\
<label>Model number <input type=\"text\" name=\"model\" id=\"model\" value=\"{model}\" placeholder=\"HB-2210X\"></label>\
<label>Banned record id (catalog) <input type=\"text\" name=\"banned\" id=\"banned\" value=\"{banned}\" placeholder=\"CPSC-26-0412\"></label>\
<label>Photo <input type=\"file\" name=\"photo\" id=\"photo\" accept=\"image/*\"></label>\
<label>Source <input type=\"text\" class=\"small\" name=\"source\" id=\"source\" value=\"{source}\" placeholder=\"CPSC\"></label>\
<label>Market <input type=\"text\" class=\"small\" name=\"jurisdiction\" id=\"jurisdiction\" value=\"{jurisdiction}\" placeholder=\"KR\"></label>\
<label>Recalled since <input type=\"date\" name=\"since\" id=\"since\" value=\"{since}\"></label>\
<label>until <input type=\"date\" name=\"until\" id=\"until\" value=\"{until}\"></label>\
<label>Category <input type=\"text\" class=\"small\" name=\"category\" id=\"category\" value=\"{category}\"></label>\
<label>Hazard <input type=\"text\" class=\"small\" name=\"hazard\" id=\"hazard\" value=\"{hazard}\" placeholder=\"fire\"></label>\
<fieldset><legend>Search in</legend><label><input type=\"radio\" name=\"target\" value=\"banned\" id=\"target-banned\"{banned_checked}> banned products</label> {catalog_choice}</fieldset>\
<button type=\"submit\" id=\"go\">Search</button></form>\
<p class=\"summary\">Words, a model number or a photo search the banned list by relevance; filters alone (or nothing) list its records, newest recall first.</p>",
        text = esc(&form.text),
        model = esc(&form.model),
        banned = esc(&form.banned),
        banned_checked = checked(!form.catalog),
        source = esc(&f(&form.filters.source)),
        jurisdiction = esc(&f(&form.filters.jurisdiction)),
        since = esc(&f(&form.filters.since)),
        until = esc(&f(&form.filters.until)),
        category = esc(&f(&form.filters.category)),
        hazard = esc(&f(&form.filters.hazard)),
    );
    let (status, results) = match answer {
        Ok(r) => (StatusCode::OK, r),
        Err(e) => (
            e.status_and_code().0,
            format!("<p class=\"error\" id=\"error\">{}</p>", esc(e.message())),
        ),
    };
    html_response(
        status,
        shell(
            "search",
            &format!("{form_html}<section id=\"results\">{results}</section>"),
        ),
    )
}

async fn thumbnail(
    State(state): State<Shared>,
    axum::extract::Path((kind, id)): axum::extract::Path<(String, String)>,
) -> Response {
    let dir = match kind.as_str() {
        "banned" => Some(state.engine.store().dir().to_path_buf()),
        "catalog" => state.config.catalog.as_ref().map(|c| c.dir().to_path_buf()),
        _ => None,
    };
    let Some(dir) = dir else {
        return ApiError::NotFound(format!("no thumbnails of '{kind}'")).into_response();
    };
    let found =
        tokio::task::spawn_blocking(move || crate::pipeline::photos::stored_thumbnail(&dir, &id))
            .await;
    match found {
        Ok(Some(jpeg)) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            jpeg,
        )
            .into_response(),
        Ok(None) => ApiError::NotFound("no photo for this record".into()).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

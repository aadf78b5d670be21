//! Ad-hoc search of the banned index by text, model number or GTIN, with filters: the one
//! implementation behind `relist query` and the server's `GET /v1/query`.

use serde_json::Value;

use crate::engine::{CheckOptions, Engine};
use crate::error::{Error, Result};
use crate::model::{BannedRecord, Listing, Match};

/// What to look for. At least one of `text`, `models`, `gtins` or `images` must be given.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: Option<String>,
    pub models: Vec<String>,
    pub gtins: Vec<String>,
    /// Photo files to look for (local paths; the command line only, never the server).
    pub images: Vec<String>,
    /// Only records from this source (case-insensitive).
    pub source: Option<String>,
    /// Only records that apply in this market (ISO 3166 alpha-2).
    pub jurisdiction: Option<String>,
    pub limit: usize,
}

/// One banned record found, with the match that found it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub matched: Match,
    pub record: BannedRecord,
}

impl Hit {
    /// The JSON shape of `relist query --format json` (one per line) and `GET /v1/query`.
    pub fn to_value(&self) -> Value {
        let (m, r) = (&self.matched, &self.record);
        serde_json::json!({
            "banned_id": m.banned_id, "score": m.score, "decision": m.decision,
            "title": r.title, "source": r.source, "jurisdictions": r.jurisdictions,
            "url": r.url, "reasons": m.reasons,
        })
    }
}

/// Runs a query: the banned records most like a probe listing made of the text and
/// identifiers, best first, filtered by source and jurisdiction, at most `q.limit`.
pub fn search(engine: &Engine, q: &Query) -> Result<Vec<Hit>> {
    let mut title = q.text.clone().unwrap_or_default();
    for m in &q.models {
        title.push(' ');
        title.push_str(m);
    }
    if title.trim().is_empty() && q.gtins.is_empty() && q.images.is_empty() {
        return Err(Error::Invalid(
            "query: give a text, --model, --gtin or --image".into(),
        ));
    }
    let probe = Listing {
        id: "query".into(),
        title: title.trim().to_string(),
        models: q.models.clone(),
        gtins: q.gtins.clone(),
        images: q.images.clone(),
        ..Listing::default()
    };
    let res = engine.check(
        &probe,
        CheckOptions {
            top: q.limit.saturating_mul(4).max(40),
            min_score: 0.0,
        },
    )?;
    // A photo asked for that cannot be read fails the query: its answer would mislead.
    if let (Some(e), false) = (&res.error, q.images.is_empty()) {
        return Err(Error::Invalid(format!("query: {e}")));
    }
    let snap = engine.snapshot();
    let mut hits = Vec::new();
    if q.limit == 0 {
        return Ok(hits);
    }
    for m in res.matches {
        let Some(rec) = snap
            .get(&m.banned_id)
            .map_err(|e| Error::index(engine.store().dir(), e))?
        else {
            continue;
        };
        if let Some(s) = &q.source
            && !rec
                .source
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(s))
        {
            continue;
        }
        if let Some(j) = &q.jurisdiction
            && !rec.applies_to(Some(j))
        {
            continue;
        }
        hits.push(Hit {
            matched: m,
            record: rec,
        });
        if hits.len() == q.limit {
            break;
        }
    }
    Ok(hits)
}

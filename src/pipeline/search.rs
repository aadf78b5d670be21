//! Ad-hoc search of the banned index by text, model number or GTIN, with filters, and the
//! banned list browsed by filters alone: the one implementation behind `relist query` and the
//! server's `GET /v1/query`.
//!
//! A search is a ranking, not a check: its hits carry their rank and score and the evidence
//! that found them, and no block/review/allow (the probe is no listing, and a decision on it
//! would read as one about a product on sale).

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
    /// Photo hashes to look for (an uploaded photo, hashed by the caller).
    pub image_hashes: Vec<crate::model::ImageHashRef>,
    /// Photos already decoded into hashes and keypoints (an upload): looked for as a check
    /// looks for a listing's photos, so that a crop, a turn or a collage of a banned photo is
    /// found by its keypoints too, which hashes alone miss. Used instead of `images` and
    /// `image_hashes` when given.
    pub photos: Option<crate::photo::QueryPhotos>,
    /// Which banned records may be found.
    pub filters: Filters,
    pub limit: usize,
    /// Hits skipped before the first returned (the next page of results).
    pub offset: usize,
}

/// Conditions on banned records: by source, market, recall date, category and hazard.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Only records from this source (case-insensitive).
    pub source: Option<String>,
    /// Only records that apply in this market (ISO 3166 alpha-2).
    pub jurisdiction: Option<String>,
    /// Only records recalled on or after this day (YYYY-MM-DD).
    pub since: Option<String>,
    /// Only records recalled on or before this day (YYYY-MM-DD).
    pub until: Option<String>,
    /// Only records whose category contains this (case-insensitive).
    pub category: Option<String>,
    /// Only records whose hazard contains this (case-insensitive): "fire" finds "Fire and
    /// burn hazards".
    pub hazard: Option<String>,
}

impl Filters {
    /// Sets the filter a query parameter or form field names (`source`, `jurisdiction`,
    /// `since`, `until`, `category`, `hazard`), trimmed; blank clears it. False when `name`
    /// is not a filter, so the caller reads it as its own field.
    pub fn set(&mut self, name: &str, value: &str) -> bool {
        let slot = match name {
            "source" => &mut self.source,
            "jurisdiction" => &mut self.jurisdiction,
            "since" => &mut self.since,
            "until" => &mut self.until,
            "category" => &mut self.category,
            "hazard" => &mut self.hazard,
            _ => return false,
        };
        let value = value.trim();
        *slot = (!value.is_empty()).then(|| value.to_string());
        true
    }

    pub fn is_empty(&self) -> bool {
        self.source.is_none()
            && self.jurisdiction.is_none()
            && self.since.is_none()
            && self.until.is_none()
            && self.category.is_none()
            && self.hazard.is_none()
    }

    /// Refuses dates that are not YYYY-MM-DD, naming the filter.
    pub fn validate(&self) -> Result<()> {
        for (name, d) in [("since", &self.since), ("until", &self.until)] {
            if let Some(d) = d
                && !crate::dates::is_iso_shaped(d)
            {
                return Err(Error::Invalid(format!(
                    "--{name}: '{d}' is not a date YYYY-MM-DD"
                )));
            }
        }
        Ok(())
    }

    /// Whether `r` passes every filter set. A record without the field a filter looks at
    /// (no recall date, no hazard) does not pass it.
    pub fn accepts(&self, r: &BannedRecord) -> bool {
        let contains = |field: &Option<String>, want: &Option<String>| match want {
            None => true,
            Some(w) => field
                .as_deref()
                .is_some_and(|f| f.to_lowercase().contains(&w.to_lowercase())),
        };
        let date = r.recalled_at.as_deref();
        self.source.as_ref().is_none_or(|s| {
            r.source
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(s))
        }) && self
            .jurisdiction
            .as_ref()
            .is_none_or(|j| r.applies_to(Some(j)))
            && self
                .since
                .as_deref()
                .is_none_or(|s| date.is_some_and(|d| d >= s))
            && self
                .until
                .as_deref()
                .is_none_or(|u| date.is_some_and(|d| d <= u))
            && contains(&r.category, &self.category)
            && contains(&r.hazard, &self.hazard)
    }
}

/// One banned record found, with the match that found it.
#[derive(Debug, Clone)]
pub struct Hit {
    /// 1 for the best hit of the whole search (offset included).
    pub rank: usize,
    pub matched: Match,
    pub record: BannedRecord,
}

impl Hit {
    /// The JSON shape of `relist query TEXT --format json` (one per line) and of
    /// `GET /v1/query` with a text, model, GTIN or photo: rank, score and evidence.
    pub fn to_value(&self) -> Value {
        let (m, r) = (&self.matched, &self.record);
        serde_json::json!({
            "rank": self.rank, "banned_id": m.banned_id, "score": m.score,
            "title": r.title, "source": r.source, "jurisdictions": r.jurisdictions,
            "recalled_at": r.recalled_at, "url": r.url, "reasons": m.reasons,
            "evidence": m.evidence,
        })
    }
}

/// The banned records a browse lists (filters only), newest recall first.
#[derive(Debug, Clone, Default)]
pub struct Browse {
    /// The records of this page, in order.
    pub records: Vec<BannedRecord>,
    /// How many records pass the filters in all.
    pub total: u64,
    /// Records before the first of this page.
    pub offset: usize,
}

/// The JSON shape of one browsed record (`relist query --format json` without a probe, and
/// `GET /v1/query` without one): the record's facts, its place in the list, no score.
pub fn listed_value(rank: usize, r: &BannedRecord) -> Value {
    serde_json::json!({
        "rank": rank, "banned_id": r.id, "title": r.title, "brand": r.brand,
        "source": r.source, "jurisdictions": r.jurisdictions, "recalled_at": r.recalled_at,
        "category": r.category, "hazard": r.hazard, "models": r.models, "gtins": r.gtins,
        "url": r.url,
    })
}

/// Lists the records the filters accept, newest recall first (undated ones last, ties by
/// id), `limit` of them after `offset`. Every stored record is read once; only the addresses
/// of the `offset + limit` newest are held, so memory does not grow with the index.
pub fn browse(engine: &Engine, filters: &Filters, limit: usize, offset: usize) -> Result<Browse> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    filters.validate()?;
    let snap = engine.snapshot();
    let dir = engine.store().dir();
    let keep = offset.saturating_add(limit);
    // A min-heap of the best `keep` so far: greater keys list first.
    type Key = (bool, String, Reverse<String>);
    let mut heap: BinaryHeap<Reverse<(Key, tantivy::DocAddress)>> = BinaryHeap::new();
    let mut total = 0u64;
    for a in snap.all_addresses() {
        let r = snap.record(a).map_err(|e| Error::index(dir, e))?;
        if !filters.accepts(&r) {
            continue;
        }
        total += 1;
        if keep == 0 {
            continue;
        }
        let date = r
            .recalled_at
            .clone()
            .filter(|d| crate::dates::iso(d).is_some());
        let key = (date.is_some(), date.unwrap_or_default(), Reverse(r.id));
        if heap.len() < keep {
            heap.push(Reverse((key, a)));
        } else if heap.peek().is_some_and(|Reverse((k, _))| key > *k) {
            heap.pop();
            heap.push(Reverse((key, a)));
        }
    }
    let mut best: Vec<(Key, tantivy::DocAddress)> = heap.into_iter().map(|Reverse(x)| x).collect();
    best.sort_by(|a, b| b.0.cmp(&a.0));
    let records = best
        .into_iter()
        .skip(offset)
        .map(|(_, a)| snap.record(a).map_err(|e| Error::index(dir, e)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Browse {
        records,
        total,
        offset,
    })
}

/// Runs a query: the banned records most like a probe listing made of the text and
/// identifiers, best first, that the filters accept, at most `q.limit`.
pub fn search(engine: &Engine, q: &Query) -> Result<Vec<Hit>> {
    let mut title = q.text.clone().unwrap_or_default();
    for m in &q.models {
        title.push(' ');
        title.push_str(m);
    }
    q.filters.validate()?;
    if title.trim().is_empty()
        && q.gtins.is_empty()
        && q.images.is_empty()
        && q.image_hashes.is_empty()
        && q.photos.is_none()
    {
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
        image_hashes: q.image_hashes.clone(),
        ..Listing::default()
    };
    let want = q.limit.saturating_add(q.offset);
    let opts = CheckOptions {
        top: want.saturating_mul(4).max(40),
        min_score: 0.0,
    };
    let res = match &q.photos {
        Some(photos) => engine.check_with_photos(&probe, photos.clone(), opts)?,
        None => engine.check(&probe, opts)?,
    };
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
        if !q.filters.accepts(&rec) {
            continue;
        }
        hits.push(Hit {
            rank: hits.len() + 1,
            matched: m,
            record: rec,
        });
        if hits.len() == want {
            break;
        }
    }
    Ok(hits.split_off(q.offset.min(hits.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The HTTP query and the web form read their filters through one setter: trimmed, blank
    /// clears, and any other name is left to the caller.
    #[test]
    fn filters_are_set_by_name_trimmed_and_blank_clears() {
        let mut f = Filters::default();
        assert!(f.set("hazard", "  fire "));
        assert!(f.set("jurisdiction", "KR"));
        assert_eq!(f.hazard.as_deref(), Some("fire"));
        assert_eq!(f.jurisdiction.as_deref(), Some("KR"));
        assert!(f.set("hazard", "   "));
        assert_eq!(f.hazard, None);
        assert!(!f.set("limit", "5"));
        assert!(!f.set("text", "toaster"));
        assert!(!f.is_empty());
    }

    #[test]
    fn filters_select_by_source_market_date_category_and_hazard() {
        let r = BannedRecord {
            id: "X".into(),
            source: Some("CPSC".into()),
            jurisdictions: vec!["US".into()],
            recalled_at: Some("2024-03-05".into()),
            category: Some("Power banks".into()),
            hazard: Some("Fire and burn hazards".into()),
            ..Default::default()
        };
        let f = |f: Filters| f.accepts(&r);
        assert!(f(Filters::default()));
        assert!(f(Filters {
            source: Some("cpsc".into()),
            ..Default::default()
        }));
        assert!(!f(Filters {
            source: Some("KFTC".into()),
            ..Default::default()
        }));
        assert!(!f(Filters {
            jurisdiction: Some("KR".into()),
            ..Default::default()
        }));
        assert!(f(Filters {
            since: Some("2024-03-05".into()),
            until: Some("2024-12-31".into()),
            ..Default::default()
        }));
        assert!(!f(Filters {
            since: Some("2024-03-06".into()),
            ..Default::default()
        }));
        assert!(!f(Filters {
            until: Some("2023-12-31".into()),
            ..Default::default()
        }));
        assert!(f(Filters {
            hazard: Some("FIRE".into()),
            category: Some("power".into()),
            ..Default::default()
        }));
        assert!(!f(Filters {
            hazard: Some("choking".into()),
            ..Default::default()
        }));
        let undated = BannedRecord::default();
        assert!(
            !Filters {
                since: Some("2000-01-01".into()),
                ..Default::default()
            }
            .accepts(&undated)
        );
        assert!(
            Filters {
                since: Some("2024-1-5".into()),
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }
}

//! One (banned record, listing) pair explained: the record judged exactly as `check` judges it
//! among the listing's candidates, and reported whatever its score, with all its evidence.
//!
//! Moderators need it for appeals ("why was this flagged, why was that not"), benchmarks for
//! pairwise scoring. The decision is the one `check` gives the record: a record `check` would
//! not name (not retrieved, under `min_score`, ranked after `top`, another market) is `allow`,
//! and `note` says why.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::engine::CheckOptions;
use crate::error::{Error, Result};
use crate::matching::features::{PreparedBanned, PreparedListing};
use crate::model::{Decision, Listing, Match, RecordKind, Signals};
use crate::photo::QueryPhotos;

/// The judgement of one pair: the listing's id and the record's match, as `check` prints
/// matches (`banned_id`, `score`, `decision`, `reasons`, `evidence`, `signals`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Explanation {
    pub listing_id: String,
    #[serde(flatten)]
    pub judged: Match,
    /// Whether `check` names the record for this listing (its decision is then `check`'s).
    pub named: bool,
    /// Why `check` does not name the record, when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Listing photos that could not be read; the pair is judged on the rest (as `check`'s
    /// `error` says of a result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl Engine {
    /// Explains record `banned_id` for `listing`; its photo files (local paths in `images`) are
    /// read and hashed as `check` reads them. `Ok(None)` when the index has no such record.
    pub fn explain(
        &self,
        listing: &Listing,
        banned_id: &str,
        opts: CheckOptions,
    ) -> Result<Option<Explanation>> {
        self.explain_with_photos(listing, QueryPhotos::of_listing(listing), banned_id, opts)
    }

    /// [`Engine::explain`] with the listing's photos already resolved into hashes: nothing is
    /// read (the server's way).
    pub fn explain_with_photos(
        &self,
        listing: &Listing,
        photos: QueryPhotos,
        banned_id: &str,
        opts: CheckOptions,
    ) -> Result<Option<Explanation>> {
        let snap = self.view();
        let idx_err = |e| Error::index(self.store.dir(), e);
        let Some(record) = snap.snapshot().get(banned_id).map_err(idx_err)? else {
            return Ok(None);
        };
        let prepared = PreparedListing::new(listing, photos, snap.as_ref());
        let mut banned = self.retrieve(&snap, &prepared, None)?;
        // Judged exactly as `check_prepared` judges: what it names is the answer.
        let checked =
            self.matcher
                .judge(&prepared, &banned, snap.as_ref(), Some(snap.terms()), opts);
        let out = |judged: Match, named: bool, note: Option<String>| Explanation {
            listing_id: listing.id.clone(),
            judged,
            named,
            note,
            warning: checked.error.clone(),
        };
        if let Some(m) = checked.matches.iter().find(|m| m.banned_id == banned_id) {
            return Ok(Some(out(m.clone(), true, None)));
        }
        let market = listing.market.as_deref();
        if !record.applies_to(market) {
            let note = format!(
                "the ban applies in {} only, and the listing is offered in {}",
                record.jurisdictions.join(", "),
                market.unwrap_or_default()
            );
            return Ok(Some(out(unscored(banned_id), false, Some(note))));
        }
        let ranked_out = |m: &Match| {
            format!(
                "ranked after the {} matches check names for this listing (on its own: {} at {})",
                opts.top.max(1),
                m.decision,
                m.score
            )
        };
        // Term rules are found by their spellings, never retrieved: as `check` finds them.
        if record.kind == RecordKind::Term {
            let hit = self
                .matcher
                .term_matches(&prepared, snap.terms())
                .into_iter()
                .find(|m| m.banned_id == banned_id);
            return Ok(Some(match hit {
                Some(m) => {
                    let note = ranked_out(&m);
                    out(allowed(m), false, Some(note))
                }
                None => out(
                    unscored(banned_id),
                    false,
                    Some("the listing names none of the rule's terms".into()),
                ),
            }));
        }
        let retrieved = banned.iter().any(|b| b.record.id == banned_id);
        if !retrieved {
            // Judged among the candidates check has, as one more of them.
            banned.push(Arc::new(PreparedBanned::new(record, snap.as_ref())));
        }
        let m = self
            .matcher
            .judge_candidate(&prepared, &banned, snap.as_ref(), banned_id)
            .unwrap_or_else(|| unscored(banned_id));
        let note = if !retrieved {
            "not among the listing's candidates: check's retrieval does not find it".to_string()
        } else if m.score < opts.min_score {
            format!("score under {}: check leaves it out", opts.min_score)
        } else {
            ranked_out(&m)
        };
        Ok(Some(out(allowed(m), false, Some(note))))
    }
}

/// A match `check` does not name: the decision `check` gives it is `allow`.
fn allowed(m: Match) -> Match {
    Match {
        decision: Decision::Allow,
        ..m
    }
}

/// A record with no evidence for the listing at all.
fn unscored(banned_id: &str) -> Match {
    Match {
        banned_id: banned_id.to_string(),
        score: 0.0,
        decision: Decision::Allow,
        reasons: Vec::new(),
        evidence: Vec::new(),
        signals: Signals::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::BannedRecord;
    use serde_json::json;

    fn engine() -> Engine {
        let records = [
            json!({"id": "B-1", "title": "VoltMax HB-2210X 20000mAh power bank", "brand": "VoltMax",
                   "models": ["HB-2210X"]}),
            json!({"id": "B-2", "title": "AquaBoil KT-9000 electric kettle", "brand": "AquaBoil"}),
            json!({"id": "B-3", "title": "VoltMax HB-2210 10000mAh power bank", "brand": "VoltMax",
                   "models": ["HB-2210"]}),
            json!({"id": "K-1", "title": "GlitterGoo slime kit", "jurisdictions": ["KR"]}),
            json!({"id": "T-1", "kind": "term", "terms": ["melatonin"], "jurisdictions": ["KR"]}),
        ]
        .into_iter()
        .map(|v| BannedRecord::from_value(v).unwrap().record)
        .collect();
        Engine::in_memory(records, Config::default()).unwrap()
    }

    fn listing(v: serde_json::Value) -> Listing {
        Listing::from_value(v).unwrap()
    }

    fn explain(e: &Engine, l: &Listing, id: &str) -> Explanation {
        e.explain(l, id, CheckOptions::default()).unwrap().unwrap()
    }

    #[test]
    fn every_match_check_names_is_explained_identically() {
        let e = engine();
        for l in [
            json!({"id": "L1", "title": "voltmax hb 2210x charger"}),
            json!({"id": "L2", "title": "VoltMax power bank 10000mAh HB2210"}),
            json!({"id": "L3", "title": "sleep gummies melatonin", "market": "KR"}),
        ] {
            let l = listing(l);
            let r = e.check(&l, CheckOptions::default()).unwrap();
            assert!(!r.matches.is_empty(), "{}", l.id);
            for m in &r.matches {
                let x = explain(&e, &l, &m.banned_id);
                assert_eq!((&x.judged, x.named, &x.note), (m, true, &None), "{}", l.id);
                assert_eq!(x.listing_id, l.id);
            }
        }
    }

    #[test]
    fn a_pair_check_leaves_out_is_allowed_with_its_evidence() {
        let e = engine();
        let l = listing(json!({"id": "L", "title": "voltmax hb 2210x charger"}));
        let named: Vec<String> = e
            .check(&l, CheckOptions::default())
            .unwrap()
            .matches
            .into_iter()
            .map(|m| m.banned_id)
            .collect();
        assert!(!named.contains(&"B-2".to_string()), "{named:?}");
        let x = explain(&e, &l, "B-2");
        assert_eq!((x.judged.decision, x.named), (Decision::Allow, false));
        assert!(x.judged.score < 0.05, "{x:?}");
        assert!(x.note.unwrap().contains("retrieval"));
        assert!(!x.judged.evidence.is_empty(), "{:?}", x.judged);
        assert_eq!(
            x.judged.reasons,
            crate::matching::evidence::reasons(
                &x.judged.evidence,
                crate::matching::evidence::Voice::BANNED
            )
        );
        assert!(
            e.explain(&l, "NOPE", CheckOptions::default())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_match_ranked_after_top_is_allowed_but_keeps_its_score() {
        let e = engine();
        let l = listing(json!({"id": "L", "title": "VoltMax HB-2210X HB-2210 power bank"}));
        let one = CheckOptions::top(1);
        let r = e.check(&l, one).unwrap();
        let first = &r.matches[0];
        let wide = e.check(&l, CheckOptions::default()).unwrap();
        let second = wide
            .matches
            .iter()
            .find(|m| m.banned_id != first.banned_id && m.banned_id.starts_with("B-"))
            .expect("a second power bank");
        let x = e.explain(&l, &second.banned_id, one).unwrap().unwrap();
        assert_eq!(x.judged.score, second.score);
        assert_eq!(x.judged.evidence, second.evidence);
        assert_eq!(x.judged.decision, Decision::Allow);
        assert!(x.note.unwrap().contains("ranked after the 1 matches"));
    }

    #[test]
    fn bans_of_other_markets_and_term_rules_are_judged_as_check_judges_them() {
        let e = engine();
        let us =
            listing(json!({"id": "L", "title": "GlitterGoo slime kit melatonin", "market": "US"}));
        let x = explain(&e, &us, "K-1");
        assert_eq!((x.judged.decision, x.judged.score), (Decision::Allow, 0.0));
        assert!(x.note.unwrap().contains("applies in KR only"), "US");
        let x = explain(&e, &us, "T-1");
        assert_eq!(x.judged.decision, Decision::Allow);
        let kr = listing(json!({"id": "L", "title": "sleep gummies", "market": "KR"}));
        let x = explain(&e, &kr, "T-1");
        assert_eq!((x.judged.decision, x.judged.score), (Decision::Allow, 0.0));
        assert!(x.note.unwrap().contains("none of the rule's terms"));
        let kr = listing(json!({"id": "L", "title": "sleep gummies melatonin", "market": "KR"}));
        let x = explain(&e, &kr, "T-1");
        assert_eq!((x.judged.decision, x.named), (Decision::Block, true));
    }

    #[test]
    fn explaining_with_resolved_photos_reads_no_file() {
        let e = engine();
        let dir = tempfile::tempdir().unwrap();
        let broken = dir.path().join("broken.jpg");
        std::fs::write(&broken, b"not a jpeg").unwrap();
        let l = listing(
            json!({"id": "L", "title": "aquaboil kettle", "images": [broken.to_str().unwrap()]}),
        );
        let x = explain(&e, &l, "B-2");
        assert!(x.warning.is_some_and(|m| m.contains("broken.jpg")));
        let x = e
            .explain_with_photos(&l, QueryPhotos::default(), "B-2", CheckOptions::default())
            .unwrap()
            .unwrap();
        assert!(x.warning.is_none());
    }
}

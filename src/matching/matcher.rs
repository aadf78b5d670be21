//! The one judging stage: a prepared listing against prepared banned records held in memory.
//!
//! [`Matcher`] does no retrieval and no I/O. [`crate::engine::Engine`] retrieves candidates from
//! an index and hands them here; an ad-hoc query, a catalog probe or a test hands records it
//! holds. Every decision of relist is made by [`Matcher::judge`], so the same pair gets the
//! same score, decision and evidence whichever way it was found.

use std::sync::Arc;

use crate::config::Config;
use crate::matching::evidence::{self, Evidence, Voice};
use crate::matching::features::{
    BrandEvidence, Features, ListingCodes, PreparedBanned, PreparedListing, Rarity,
};
use crate::matching::score;
use crate::matching::terms::TermMatcher;
use crate::matching::trees::TreeModel;
use crate::model::{CheckResult, Decision, Match, Signals};
use crate::text::normalize::TextKeys;

/// Which matches to return per listing.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    pub top: usize,
    /// Matches below this score are left out, even as context.
    pub min_score: f32,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            top: 5,
            min_score: 0.05,
        }
    }
}

impl CheckOptions {
    pub fn top(top: usize) -> Self {
        CheckOptions {
            top,
            ..Self::default()
        }
    }
}

/// One candidate's evidence, before it is fused: what calibration fits on.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub banned: Arc<PreparedBanned>,
    pub features: Features,
}

/// Judges listings with the policy of one config (weights, thresholds, term decision).
#[derive(Debug, Clone)]
pub struct Matcher {
    config: Config,
    /// The learned model and the identifier roles it was trained with.
    trees: Arc<TreeModel>,
    /// How reasons name the other side: a banned record, or an ad-hoc query.
    voice: Voice,
}

impl Matcher {
    pub fn new(config: Config) -> Matcher {
        Matcher {
            trees: config.model.trees(),
            config,
            voice: Voice::BANNED,
        }
    }

    /// The same policy, with reasons rendered in `voice` (an ad-hoc query's "queried model").
    pub fn with_voice(self, voice: Voice) -> Matcher {
        Matcher { voice, ..self }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The evidence of every candidate that applies in the listing's market. Candidates are
    /// judged together: a listing is one product, so how a candidate stands against the
    /// others (its margin, another candidate's brand named in the title) is evidence too.
    pub fn candidates(
        &self,
        l: &PreparedListing,
        banned: &[Arc<PreparedBanned>],
        rarity: &dyn Rarity,
    ) -> Vec<Candidate> {
        let market = l.listing().market.as_deref();
        let roles = &self.trees.roles;
        let codes = ListingCodes::new(l, roles);
        let banned: Vec<&Arc<PreparedBanned>> = banned
            .iter()
            .filter(|b| b.record.applies_to(market))
            .collect();
        let plain: Vec<&PreparedBanned> = banned.iter().map(|b| b.as_ref()).collect();
        let voted = crate::matching::features::verified_by_votes(l, &plain);
        // Each candidate's evidence (its photos verified, most of the cost) is its own.
        let mut out: Vec<Candidate> =
            crate::matching::map_in_order(&banned, l.has_photos(), |i, b| Candidate {
                features: Features::compute_with(l, &codes, b, rarity, roles, voted[i]),
                banned: (*b).clone(),
            });
        // How each candidate stands against the best of the other products: another record of
        // the same product (another shop's offer, another regulator's recall) is no rival.
        let texts: Vec<f32> = out.iter().map(|c| c.features.text()).collect();
        let mut order: Vec<usize> = (0..out.len()).collect();
        order.sort_by(|a, b| texts[*b].total_cmp(&texts[*a]));
        let margins: Vec<f32> = (0..out.len())
            .map(|i| {
                let best_other = order
                    .iter()
                    .find(|&&j| j != i && !out[i].banned.same_product(&out[j].banned, roles))
                    .map_or(0.0, |&j| texts[j]);
                (texts[i] - best_other).clamp(-1.0, 1.0)
            })
            .collect();
        for (c, m) in out.iter_mut().zip(margins) {
            c.features.margin = m;
        }
        // Brands inside titles: a listing that names one candidate's brand exactly names
        // another brand than the rest's.
        let named: Option<String> = out
            .iter()
            .find(|c| c.features.brand == BrandEvidence::Match(1.0))
            .and_then(|c| c.banned.record.brand.clone());
        if let Some(name) = named {
            let key = TextKeys::new(&name).spaceless;
            for c in out.iter_mut() {
                if c.banned
                    .brand_key
                    .as_ref()
                    .is_some_and(|k| *k != key && !key.contains(k.as_str()))
                {
                    c.features.other_brand(&name);
                }
            }
        }
        out
    }

    /// The match of record `id` among `banned`, judged together as [`Matcher::judge`] judges
    /// them (margins, brands named against the others), whatever its score: what `relist
    /// explain` reports for a pair `check` leaves out. `None` when no such candidate applies in
    /// the listing's market.
    pub fn judge_candidate(
        &self,
        l: &PreparedListing,
        banned: &[Arc<PreparedBanned>],
        rarity: &dyn Rarity,
        id: &str,
    ) -> Option<Match> {
        let candidates = self.candidates(l, banned, rarity);
        let c = candidates.iter().find(|c| c.banned.record.id == id)?;
        let s = score::score(&c.features, &self.config, &self.trees);
        self.scored(l, c, s, f32::NEG_INFINITY)
    }

    /// The match of a candidate scoring `s`, when `s` (unrounded) reaches `floor`; evidence
    /// is only rendered for the candidates kept.
    fn scored(&self, l: &PreparedListing, c: &Candidate, s: f32, floor: f32) -> Option<Match> {
        let f = &c.features;
        let (s, decision) = score::judge_scored(f, s, c.banned.words.len(), &self.config);
        if s < floor && decision == Decision::Allow {
            return None;
        }
        let evidence = score::evidence(f, l, &c.banned);
        let m = Match {
            banned_id: c.banned.record.id.clone(),
            score: round3(s),
            decision,
            reasons: evidence::reasons(&evidence, self.voice),
            evidence,
            signals: Signals {
                text: round3(f.text()),
                identifier: round3(f.identifier()),
                brand: match f.brand {
                    BrandEvidence::Match(s) => Some(s),
                    BrandEvidence::Mismatch => Some(0.0),
                    BrandEvidence::Unknown => None,
                },
                image_distance: f.photo_hashed.map(|(_, d)| d),
            },
        };
        Some(m)
    }

    /// The term rules a listing names, as matches.
    pub fn term_matches(&self, l: &PreparedListing, terms: &TermMatcher) -> Vec<Match> {
        terms
            .find(l)
            .into_iter()
            .map(|hit| {
                let (score, decision) = if hit.exact {
                    (0.99, self.config.terms.exact)
                } else {
                    (0.6, Decision::Review)
                };
                let evidence = vec![Evidence::Term {
                    spelling: hit.spelling.to_string(),
                    exact: hit.exact,
                    jurisdictions: hit.record.jurisdictions.clone(),
                }];
                Match {
                    banned_id: hit.record.id.clone(),
                    score,
                    decision,
                    reasons: evidence::reasons(&evidence, self.voice),
                    evidence,
                    signals: Signals {
                        text: if hit.exact { 1.0 } else { 0.8 },
                        ..Signals::default()
                    },
                }
            })
            .collect()
    }

    /// The whole judgement of a listing against `banned` (and the term rules of `terms`):
    /// its decision, and its matches best first.
    pub fn judge(
        &self,
        l: &PreparedListing,
        banned: &[Arc<PreparedBanned>],
        rarity: &dyn Rarity,
        terms: Option<&TermMatcher>,
        opts: CheckOptions,
    ) -> CheckResult {
        let mut matches = terms.map_or_else(Vec::new, |t| self.term_matches(l, t));
        let candidates = self.candidates(l, banned, rarity);
        // All of a listing's candidates through the trees at once (see `TreeModel::scores`).
        let features: Vec<&Features> = candidates.iter().map(|c| &c.features).collect();
        let scores = score::scores(&features, &self.config, &self.trees);
        let scored = crate::matching::map_in_order(&candidates, l.has_photos(), |i, c| {
            self.scored(l, c, scores[i], opts.min_score)
        });
        matches.extend(scored.into_iter().flatten());
        finish(l, matches, opts, self.config.thresholds.context_gap)
    }

    /// The learned model this matcher scores with.
    pub fn trees(&self) -> &Arc<TreeModel> {
        &self.trees
    }
}

/// Ranks matches (decision, then score, then id), keeps the best `opts.top`, and decides.
///
/// Every record a listing names as review or block is a claim that the listing is that
/// product. A flagged record scoring `gap` or more below the best flagged one (a near-identical
/// sibling) is kept as context, `allow`; a barcode or term match keeps its decision.
fn finish(
    l: &PreparedListing,
    mut matches: Vec<Match>,
    opts: CheckOptions,
    gap: f32,
) -> CheckResult {
    let best = matches
        .iter()
        .filter(|m| m.decision >= Decision::Review)
        .map(|m| m.score)
        .fold(f32::NEG_INFINITY, f32::max);
    for m in matches.iter_mut() {
        let kept = m
            .evidence
            .iter()
            .any(|e| matches!(e, Evidence::Gtin { .. } | Evidence::Term { .. }));
        if m.decision >= Decision::Review && m.score < best - gap && !kept {
            m.decision = Decision::Allow;
        }
    }
    matches.sort_by(|a, b| {
        b.decision
            .cmp(&a.decision)
            .then(b.score.total_cmp(&a.score))
            .then(a.banned_id.cmp(&b.banned_id))
    });
    matches.dedup_by(|a, b| a.banned_id == b.banned_id);
    matches.truncate(opts.top.max(1));
    let decision = matches.first().map_or(Decision::Allow, |m| m.decision);
    let score = matches.iter().map(|m| m.score).fold(0.0, f32::max);
    // A photo that could not be read is reported; the listing is judged on the rest.
    let problems = &l.photos().problems;
    let error = (!problems.is_empty()).then(|| problems.join("; "));
    CheckResult {
        listing_id: l.listing().id.clone(),
        decision,
        score,
        matches,
        error,
    }
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::evidence::{HashKind, ModelRelation};
    use crate::matching::features::Uniform;
    use crate::model::{BannedRecord, Listing};
    use crate::photo::QueryPhotos;
    use proptest::prelude::*;
    use serde_json::json;

    fn banned(v: serde_json::Value) -> Arc<PreparedBanned> {
        Arc::new(PreparedBanned::new(
            BannedRecord::from_value(v).unwrap().record,
            &Uniform,
        ))
    }

    fn judge(banned: &[Arc<PreparedBanned>], l: serde_json::Value) -> CheckResult {
        let l = Listing::from_value(l).unwrap();
        let p = PreparedListing::new(&l, QueryPhotos::from_hashes(&l.image_hashes), &Uniform);
        Matcher::new(Config::default()).judge(&p, banned, &Uniform, None, CheckOptions::default())
    }

    fn power_bank() -> Arc<PreparedBanned> {
        banned(
            json!({"id": "B-1", "title": "VoltMax HB-2210X 20000mAh power bank",
                      "brand": "VoltMax", "models": ["HB-2210X"]}),
        )
    }

    #[test]
    fn records_held_in_memory_are_judged_with_evidence_behind_the_reasons() {
        let r = judge(
            &[power_bank()],
            json!({"id": "L", "title": "Vоltmax hb 2210x charger"}),
        );
        assert_eq!(r.decision, Decision::Block);
        let m = &r.matches[0];
        assert_eq!(m.reasons, evidence::reasons(&m.evidence, Voice::BANNED));
        assert!(m.evidence.iter().any(|e| matches!(
            e,
            Evidence::Model { relation: ModelRelation::Equal, banned, .. } if banned == "HB-2210X"
        )));
    }

    #[test]
    fn a_sibling_model_is_not_blocked_and_says_why() {
        let l = json!({"id": "L", "title": "VoltMax HB-2270X 20000mAh power bank"});
        let r = judge(&[power_bank()], l.clone());
        assert!(
            r.matches.iter().all(|m| m.decision != Decision::Block),
            "{r:?}"
        );
        // Below the floor of `check`, but its evidence says why (what `explain` shows).
        let l = Listing::from_value(l).unwrap();
        let p = PreparedListing::new(&l, QueryPhotos::default(), &Uniform);
        let m = Matcher::new(Config::default())
            .judge_candidate(&p, &[power_bank()], &Uniform, "B-1")
            .unwrap();
        assert_ne!(m.decision, Decision::Block);
        assert!(
            m.evidence.iter().any(Evidence::is_conflict),
            "{:?}",
            m.evidence
        );
    }

    #[test]
    fn the_candidate_that_stands_out_gets_the_margin() {
        let a = power_bank();
        let b = banned(
            json!({"id": "B-2", "title": "AquaBoil KT-9000 electric kettle", "brand": "AquaBoil"}),
        );
        let l = Listing::from_value(json!({"id": "L", "title": "VoltMax HB-2210X power bank"}))
            .unwrap();
        let p = PreparedListing::new(&l, QueryPhotos::default(), &Uniform);
        let c = Matcher::new(Config::default()).candidates(&p, &[a, b], &Uniform);
        assert!(c[0].features.margin > 0.0 && c[1].features.margin < 0.0);
        assert_eq!(
            (crate::matching::features::FEATURES[11].value)(&c[0].features),
            1.0,
            "top"
        );
    }

    #[test]
    fn another_record_of_the_same_product_is_no_rival_but_a_sibling_model_is() {
        let shop_a = banned(json!({"id": "A", "title": "TP-Link TL-WN821N 300Mbps USB adapter"}));
        let shop_b = banned(json!({"id": "B", "title": "TP-LINK TL-WN821N Tarjeta Red WiFi USB"}));
        let sibling = banned(json!({"id": "C", "title": "TP-Link TL-WN822N 300Mbps USB adapter"}));
        let l = Listing::from_value(json!({"id": "L", "title": "TP-Link TL-WN821N USB adapter"}))
            .unwrap();
        let p = PreparedListing::new(&l, QueryPhotos::default(), &Uniform);
        let m = Matcher::new(Config::default());
        // Two records of one product: each keeps the margin over nothing else.
        let c = m.candidates(&p, &[shop_a.clone(), shop_b.clone()], &Uniform);
        assert!(c.iter().all(|c| c.features.margin > 0.0), "{c:?}");
        // A record of another model of the line is a rival: the closer one stands out of it.
        let c = m.candidates(&p, &[shop_a, sibling], &Uniform);
        assert!(c[0].features.margin > 0.0 && c[1].features.margin < 0.0);
    }

    #[test]
    fn a_ban_applies_only_in_its_markets() {
        let b = banned(json!({"id": "B", "title": "VoltMax HB-2210X power bank",
                              "jurisdictions": ["KR"]}));
        let r = judge(
            std::slice::from_ref(&b),
            json!({"id": "L", "title": "VoltMax HB-2210X", "market": "US"}),
        );
        assert!(r.matches.is_empty());
        let r = judge(
            &[b],
            json!({"id": "L", "title": "VoltMax HB-2210X", "market": "KR"}),
        );
        assert_eq!(r.decision, Decision::Block);
    }

    // Pairs drawn from a small vocabulary, so that words, brands, models, sizes and GTINs
    // collide often.
    const WORDS: &[&str] = &[
        "power", "bank", "kettle", "electric", "toy", "slime", "red", "blue", "20000mah", "1.7l",
        "40-inch", "46-inch", "kit", "portable",
    ];
    const BRANDS: &[&str] = &["VoltMax", "AquaBoil", "Philips", "GlitterGoo"];
    const MODELS: &[&str] = &[
        "HB-2210X", "HB-2270X", "KT-9000", "KT-9500", "ZX-11", "GG460",
    ];
    const GTINS: &[&str] = &["4006381333931", "96385074", "036000291452"];

    fn side() -> impl Strategy<Value = serde_json::Value> {
        (
            proptest::collection::vec(0..WORDS.len(), 1..6),
            proptest::option::of(0..BRANDS.len()),
            proptest::option::of(0..MODELS.len()),
            proptest::option::of(0..GTINS.len()),
            any::<bool>(),
        )
            .prop_map(|(w, brand, model, gtin, model_in_title)| {
                let mut title: Vec<&str> = w.iter().map(|i| WORDS[*i]).collect();
                if let (Some(m), true) = (model, model_in_title) {
                    title.push(MODELS[m]);
                }
                let mut v = json!({"id": "X", "title": title.join(" ")});
                if let Some(b) = brand {
                    v["brand"] = json!(BRANDS[b]);
                }
                if let (Some(m), false) = (model, model_in_title) {
                    v["models"] = json!([MODELS[m]]);
                }
                if let Some(g) = gtin {
                    v["gtins"] = json!([GTINS[g]]);
                }
                v
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn every_block_is_explained_by_identity_evidence_and_no_conflict(b in side(), l in side()) {
            let r = judge(&[banned(b)], l);
            for m in r.matches.iter().filter(|m| m.decision == Decision::Block) {
                let identity = m.evidence.iter().any(|e| match e {
                    Evidence::Photo { algo: HashKind::DhashPhash, distance, .. } => *distance <= 4,
                    Evidence::SharedWords { share, ngram_overlap, .. } => *share >= 0.85 && *ngram_overlap >= 0.8,
                    e => e.is_identity(),
                });
                prop_assert!(identity, "{:?}", m.evidence);
                let gtin = m.evidence.iter().any(|e| matches!(e, Evidence::Gtin { .. }));
                if !gtin {
                    prop_assert!(!m.evidence.iter().any(|e| matches!(e,
                        Evidence::Model { relation: ModelRelation::Conflict | ModelRelation::Unrelated, .. }
                        | Evidence::AttributeConflict { .. })), "{:?}", m.evidence);
                }
                prop_assert_eq!(&m.reasons, &evidence::reasons(&m.evidence, Voice::BANNED));
            }
        }

        #[test]
        fn identifier_and_attribute_evidence_is_symmetric(a in side(), b in side()) {
            // The same comparison with the two sides swapped: identifiers, sizes and colours
            // agree or conflict whichever side is the banned one.
            let f = |x: &serde_json::Value, y: &serde_json::Value| {
                let l = Listing::from_value(y.clone()).unwrap();
                let p = PreparedListing::new(&l, QueryPhotos::default(), &Uniform);
                Features::compute(&p, &banned(x.clone()), &Uniform, &crate::matching::roles::Roles::default())
            };
            let (ab, ba) = (f(&a, &b), f(&b, &a));
            let kind = |m: &crate::text::ident::ModelEvidence| std::mem::discriminant(m);
            if matches!(ab.model, crate::text::ident::ModelEvidence::Equal { .. }) {
                prop_assert_eq!(kind(&ab.model), kind(&ba.model));
            }
            prop_assert_eq!(ab.gtin.is_some(), ba.gtin.is_some());
            prop_assert_eq!(ab.attr_conflict.is_some(), ba.attr_conflict.is_some());
            prop_assert_eq!(ab.attr_agree, ba.attr_agree);
            prop_assert_eq!(ab.colour_conflict, ba.colour_conflict);
        }
    }
}

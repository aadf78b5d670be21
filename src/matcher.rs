//! The one judging stage: a prepared listing against prepared banned records held in memory.
//!
//! [`Matcher`] does no retrieval and no I/O. [`crate::engine::Engine`] retrieves candidates from
//! an index and hands them here; an ad-hoc query, a catalog probe or a test hands records it
//! holds. Every decision of relist is made by [`Matcher::judge`], so the same pair gets the
//! same score, decision and evidence whichever way it was found.

use std::sync::Arc;

use crate::config::Config;
use crate::evidence::{self, Evidence, Voice};
use crate::features::{BrandEvidence, Features, PreparedBanned, PreparedListing, Rarity};
use crate::model::{CheckResult, Decision, Match, Signals};
use crate::normalize::TextKeys;
use crate::score;
use crate::terms::TermMatcher;

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
}

impl Matcher {
    pub fn new(config: Config) -> Matcher {
        Matcher { config }
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
        let mut out: Vec<Candidate> = banned
            .iter()
            .filter(|b| b.record.applies_to(market))
            .map(|b| Candidate {
                features: Features::compute(l, b, rarity),
                banned: b.clone(),
            })
            .collect();
        // How each candidate stands against the best of the others.
        let texts: Vec<f32> = out.iter().map(|c| c.features.text()).collect();
        for (i, c) in out.iter_mut().enumerate() {
            let best_other = texts
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, t)| *t)
                .fold(0.0f32, f32::max);
            c.features.margin = (texts[i] - best_other).clamp(-1.0, 1.0);
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

    /// Score, decision and evidence of one candidate.
    pub fn judge_candidate(&self, l: &PreparedListing, c: &Candidate) -> Match {
        self.scored(l, c, f32::NEG_INFINITY)
            .expect("no floor keeps every candidate")
    }

    /// The match, when its score (unrounded) reaches `floor`; evidence is only rendered for
    /// the candidates kept.
    fn scored(&self, l: &PreparedListing, c: &Candidate, floor: f32) -> Option<Match> {
        let f = &c.features;
        let (s, decision) = score::judge(f, c.banned.words.len(), &self.config);
        if s < floor {
            return None;
        }
        let evidence = score::evidence(f, l, &c.banned);
        let m = Match {
            banned_id: c.banned.record.id.clone(),
            score: round3(s),
            decision,
            reasons: evidence::reasons(&evidence, Voice::BANNED),
            evidence,
            signals: Signals {
                text: round3(f.text()),
                identifier: round3(f.identifier()),
                brand: match f.brand {
                    BrandEvidence::Match(s) => Some(s),
                    BrandEvidence::Mismatch => Some(0.0),
                    BrandEvidence::Unknown => None,
                },
                image_distance: f.photo.map(|(_, d)| d),
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
                    reasons: evidence::reasons(&evidence, Voice::BANNED),
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
        for c in self.candidates(l, banned, rarity) {
            matches.extend(self.scored(l, &c, opts.min_score));
        }
        finish(l, matches, opts)
    }
}

/// Ranks matches (decision, then score, then id), keeps the best `opts.top`, and decides.
fn finish(l: &PreparedListing, mut matches: Vec<Match>, opts: CheckOptions) -> CheckResult {
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

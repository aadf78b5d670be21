//! The one matching engine behind every command: listing in, decision with reasons out.

use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::features::{BrandEvidence, Features, PreparedListing};
use crate::model::{CheckResult, Decision, Listing, Match, Signals};
use crate::normalize::TextKeys;
use crate::score;
use crate::store::{Snapshot, Store};
use crate::view::BannedView;

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

pub struct Engine {
    store: Store,
    config: Config,
    view: RwLock<Arc<BannedView>>,
}

impl Engine {
    pub fn open(dir: &Path, config: Config) -> Result<Engine> {
        Engine::new(Store::open(dir)?, config)
    }

    pub fn new(store: Store, config: Config) -> Result<Engine> {
        let view = RwLock::new(Arc::new(view_of(&store)?));
        Ok(Engine {
            store,
            config,
            view,
        })
    }

    /// An engine over `records` alone, indexed in memory ([`Store::in_memory`]): the same
    /// retrieval and rarity as an index directory holding just them.
    pub fn in_memory(records: Vec<crate::model::BannedRecord>, config: Config) -> Result<Engine> {
        let store = Store::in_memory()?;
        if !records.is_empty() {
            store.ingest(records)?;
        }
        Engine::new(store, config)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current read view; checks in flight keep theirs while a reload installs a new one.
    pub fn view(&self) -> Arc<BannedView> {
        self.view.read().expect("view lock").clone()
    }

    /// The current view's snapshot: records by id, counts, retrieval.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.view().snapshot().clone()
    }

    /// Picks up the last commit.
    pub fn reload(&self) -> Result<()> {
        self.store.reload()?;
        let view = Arc::new(view_of(&self.store)?);
        *self.view.write().expect("view lock") = view;
        Ok(())
    }

    /// Checks one listing.
    pub fn check(&self, listing: &Listing, opts: CheckOptions) -> Result<CheckResult> {
        let snap = self.view();
        let prepared = PreparedListing::new(listing, snap.as_ref());
        self.check_prepared(&snap, &prepared, opts)
    }

    /// Checks a listing already prepared against `snap` (the incremental sweep prepares it
    /// once to decide whether a full check is needed at all).
    pub fn check_prepared(
        &self,
        snap: &BannedView,
        prepared: &PreparedListing,
        opts: CheckOptions,
    ) -> Result<CheckResult> {
        let listing = prepared.listing;
        let mut matches = self.term_matches(snap, prepared);
        for (features, banned) in self.scored_candidates(snap, prepared)? {
            let (s, decision) = score::judge(&features, banned.words.len(), &self.config);
            if s < opts.min_score {
                continue;
            }
            matches.push(Match {
                banned_id: banned.record.id.clone(),
                score: round3(s),
                decision,
                reasons: score::reasons(&features, banned.record.brand.as_deref()),
                signals: Signals {
                    text: round3(features.text()),
                    identifier: round3(features.identifier()),
                    brand: match features.brand {
                        crate::features::BrandEvidence::Match(s) => Some(s),
                        crate::features::BrandEvidence::Mismatch => Some(0.0),
                        crate::features::BrandEvidence::Unknown => None,
                    },
                    image_distance: features.photo.map(|(_, d)| d),
                },
            });
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
        let error =
            (!prepared.photo_problems.is_empty()).then(|| prepared.photo_problems.join("; "));
        Ok(CheckResult {
            listing_id: listing.id.clone(),
            decision,
            score,
            matches,
            error,
        })
    }

    fn term_matches(&self, snap: &BannedView, l: &PreparedListing) -> Vec<Match> {
        snap.terms()
            .find(l)
            .into_iter()
            .map(|hit| {
                let (score, decision) = if hit.exact {
                    (0.99, self.config.terms.exact)
                } else {
                    (0.6, Decision::Review)
                };
                let how = if hit.exact { "names" } else { "nearly names" };
                let mut reason = format!("listing {how} banned term '{}'", hit.spelling);
                if !hit.record.jurisdictions.is_empty() {
                    reason.push_str(&format!(
                        " (banned in {})",
                        hit.record.jurisdictions.join(", ")
                    ));
                }
                Match {
                    banned_id: hit.record.id.clone(),
                    score,
                    decision,
                    reasons: vec![reason],
                    signals: Signals {
                        text: if hit.exact { 1.0 } else { 0.8 },
                        ..Signals::default()
                    },
                }
            })
            .collect()
    }

    /// Candidates that apply in the listing's market, with their evidence.
    fn scored_candidates(
        &self,
        snap: &BannedView,
        l: &PreparedListing,
    ) -> Result<Vec<(Features, Arc<crate::features::PreparedBanned>)>> {
        let idx_err = |e| Error::index(self.store.dir(), e);
        let mut addrs = snap
            .retrieve(l, self.config.retrieval.candidates)
            .map_err(idx_err)?;
        // Products whose photo is close to one of the listing's, whatever the text says.
        // All of a listing's photo hashes (each photo in 8 symmetries and its top part) in one
        // search: a scan of the index is one pass, not one per hash.
        let dhashes: Vec<[u64; 1]> = l.photos.iter().map(|(_, p)| [p.dhash]).collect();
        let photos = snap.snapshot();
        let by_photo = photos
            .photo_candidates(&dhashes, crate::features::PHOTO_RADIUS)
            .into_iter()
            .chain(
                l.pdqs
                    .iter()
                    .flat_map(|(_, q)| photos.pdq_candidates(q, crate::features::PDQ_RADIUS)),
            );
        for a in by_photo {
            if !addrs.contains(&a) {
                addrs.push(a);
            }
        }
        let market = l.listing.market.as_deref();
        let mut out = Vec::with_capacity(addrs.len());
        for a in addrs {
            let banned = snap
                .prepared(a)
                .map_err(|e| Error::index(self.store.dir(), e))?;
            if banned.record.applies_to(market) {
                out.push((Features::compute(l, &banned, snap), banned));
            }
        }
        // How each candidate stands against the best of the others.
        let texts: Vec<f32> = out.iter().map(|(f, _)| f.text()).collect();
        for (i, (f, _)) in out.iter_mut().enumerate() {
            let best_other = texts
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, t)| *t)
                .fold(0.0f32, f32::max);
            f.margin = (texts[i] - best_other).clamp(-1.0, 1.0);
        }
        // Brands inside titles: a listing that names one candidate's brand exactly names
        // another brand than the rest's.
        let named: Option<String> = out
            .iter()
            .find(|(f, _)| f.brand == BrandEvidence::Match(1.0))
            .and_then(|(_, b)| b.record.brand.clone());
        if let Some(name) = named {
            let key = TextKeys::new(&name).spaceless;
            for (f, b) in out.iter_mut() {
                if b.brand_key
                    .as_ref()
                    .is_some_and(|k| *k != key && !key.contains(k.as_str()))
                {
                    f.other_brand(&name);
                }
            }
        }
        Ok(out)
    }

    /// The evidence for each candidate of a listing: `(banned id, features, title words)`.
    /// What calibration fits the fusion weights on.
    pub fn evidence(&self, listing: &Listing) -> Result<Vec<(String, Features, usize)>> {
        let snap = self.view();
        let l = PreparedListing::new(listing, snap.as_ref());
        Ok(self
            .scored_candidates(&snap, &l)?
            .into_iter()
            .map(|(f, b)| (b.record.id.clone(), f, b.words.len()))
            .collect())
    }

    /// Ids of the candidates retrieved before rescoring (for measuring candidate recall).
    pub fn candidate_ids(&self, listing: &Listing, k: usize) -> Result<Vec<String>> {
        let snap = self.view();
        let l = PreparedListing::new(listing, snap.as_ref());
        let addrs = snap
            .retrieve(&l, k)
            .map_err(|e| Error::index(self.store.dir(), e))?;
        addrs
            .into_iter()
            .map(|a| {
                snap.prepared(a)
                    .map(|p| p.record.id.clone())
                    .map_err(|e| Error::index(self.store.dir(), e))
            })
            .collect()
    }
}

fn view_of(store: &Store) -> Result<BannedView> {
    BannedView::new(Arc::new(store.snapshot()?)).map_err(|e| Error::index(store.dir(), e))
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

/// An engine over a few records in a scratch directory, removed on drop: a benchmark's banned
/// side, or the records an incremental sweep looks for.
pub struct Scratch {
    pub engine: Engine,
    dir: std::path::PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Scratch {
    pub fn new(records: Vec<crate::model::BannedRecord>, config: Config) -> Result<Scratch> {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "relist-scratch-{}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            crate::store::unix_now()
        ));
        let store = Store::open_or_create(&dir)?;
        if !records.is_empty() {
            store.ingest(records)?;
        }
        Ok(Scratch {
            engine: Engine::new(store, config)?,
            dir,
        })
    }
}

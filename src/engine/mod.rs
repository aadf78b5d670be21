//! The one matching engine behind every command: listing in, decision with reasons out.

mod explain;
pub mod view;

use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::config::Config;
use crate::engine::view::BannedView;
use crate::error::{Error, Result};
use crate::index::{Snapshot, Store};
use crate::matching::features::{Features, PreparedBanned, PreparedListing};
pub use crate::matching::matcher::CheckOptions;
use crate::matching::matcher::Matcher;
use crate::model::{CheckResult, Listing};
use crate::photo::QueryPhotos;
pub use explain::Explanation;

/// Retrieval from an index plus the [`Matcher`] that judges what it retrieves.
pub struct Engine {
    store: Store,
    matcher: Matcher,
    view: RwLock<Arc<BannedView>>,
}

/// Banned records a listing's keypoints nominate at most (each is then verified).
const KEYPOINT_CANDIDATES: usize = 16;
/// Banned records keypoint retrieval ranks for a listing: after the first
/// [`KEYPOINT_CANDIDATES`], weighed as a photo hash's hits are (`photo_hits_judged`), by
/// their votes pair by pair. Retrieval's own votes (longer keys, crowded buckets skipped) can
/// rank a copy past the first 16 that the pair's votes put among the listing's most voted:
/// a crop of seed 1's grocery photos, once found only by a far dHash (benches/RESULTS.md,
/// issue 14, session 5).
const KEYPOINT_NOMINATED: usize = 64;

/// dHash distance (of 64) within which a banned photo's record is weighed as a candidate
/// whatever the text says, and judged when its photo is evidence (`photo_hits_judged`). Under
/// [`PHOTO_RADIUS`](crate::matching::features::PHOTO_RADIUS) (16), since a photo at 10 or more
/// decides nothing alone (a test below holds the default model to that) and the photos
/// that keypoints confirm are nominated by keypoint retrieval (`KEYPOINT_NOMINATED`): the
/// search within 16 was most of a check's cost at 100k banned photos. Within 9 one combined
/// edit of the 720 edited grocery photos of the suite's seed 1 was lost; within 12 none
/// (benches/RESULTS.md, issue 14, session 5).
pub const PHOTO_CANDIDATE_RADIUS: u32 = 12;

impl Engine {
    pub fn open(dir: &Path, config: Config) -> Result<Engine> {
        Engine::new(Store::open(dir)?, config)
    }

    pub fn new(store: Store, config: Config) -> Result<Engine> {
        let view = RwLock::new(Arc::new(view_of(&store)?));
        Ok(Engine {
            store,
            matcher: Matcher::new(config),
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
        self.matcher.config()
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
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

    /// Checks one listing; its photo files (local paths in `images`) are read and hashed.
    pub fn check(&self, listing: &Listing, opts: CheckOptions) -> Result<CheckResult> {
        let snap = self.view();
        // The photo hashes are searched as soon as they are made, while the keypoints are
        // still being found: the same hits as searching them in `retrieve`, sooner.
        let (photos, hash_hits) = QueryPhotos::of_listing_searched(listing, |pairs, pdq| {
            hash_hits(snap.snapshot(), pairs, pdq)
        });
        let prepared = PreparedListing::new(listing, photos, snap.as_ref());
        self.check_searched(&snap, &prepared, hash_hits, opts)
    }

    /// Checks one listing with its photos already resolved into hashes: nothing is read.
    pub fn check_with_photos(
        &self,
        listing: &Listing,
        photos: QueryPhotos,
        opts: CheckOptions,
    ) -> Result<CheckResult> {
        let snap = self.view();
        let prepared = PreparedListing::new(listing, photos, snap.as_ref());
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
        self.check_searched(snap, prepared, None, opts)
    }

    /// [`Engine::check_prepared`], with the listing's photo hashes already searched when
    /// `searched` holds their [`hash_hits`].
    fn check_searched(
        &self,
        snap: &BannedView,
        prepared: &PreparedListing,
        searched: Option<Vec<u32>>,
        opts: CheckOptions,
    ) -> Result<CheckResult> {
        let banned = self.retrieve(snap, prepared, searched)?;
        Ok(self
            .matcher
            .judge(prepared, &banned, snap, Some(snap.terms()), opts))
    }

    /// The candidates of a listing: its retrieved records, then those with a photo close to
    /// one of its photos or sharing its keypoints, whatever the text says. `searched`: the
    /// [`hash_hits`] of the listing's photos when already searched (else searched here).
    fn retrieve(
        &self,
        snap: &BannedView,
        l: &PreparedListing,
        searched: Option<Vec<u32>>,
    ) -> Result<Vec<Arc<PreparedBanned>>> {
        let idx_err = |e| Error::index(self.store.dir(), e);
        let photos = l.photos();
        let index = snap.snapshot();
        let text = || -> Result<_> {
            let addrs = snap
                .retrieve(l, self.config().retrieval.candidates)
                .map_err(idx_err)?;
            let by_gtin = index.id_candidates(l.gtins(), 4).map_err(idx_err)?;
            Ok((addrs, by_gtin))
        };
        let by_hashes = || match searched {
            Some(hits) => hits,
            None => hash_hits(index, &photos.pairs, &photos.pdq),
        };
        // Keypoints find what no hash does (a crop, a turn, a collage): the few banned photos
        // sharing most details, verified when judged.
        let by_keypoints = || {
            let kp: Vec<&crate::photo::keypoints::Keypoints> =
                photos.keypoints.iter().map(|k| &k.points).collect();
            let mut ids = index.keypoint_hits(&kp, KEYPOINT_NOMINATED);
            let more = ids.split_off(ids.len().min(KEYPOINT_CANDIDATES));
            (
                ids.into_iter()
                    .map(|id| index.photo_doc(id))
                    .collect::<Vec<_>>(),
                more,
            )
        };
        // The searches are independent reads of one snapshot: with photos, they run on both
        // cores, each list in the order it has when run alone; without, no thread is asked.
        let (text, (by_photo, by_keypoints)) = if l.has_photos() {
            rayon::join(text, || rayon::join(by_hashes, by_keypoints))
        } else {
            (text(), (Vec::new(), (Vec::new(), Vec::new())))
        };
        let (by_keypoints, more) = by_keypoints;
        let mut by_photo = by_photo;
        by_photo.extend(more);
        let (mut addrs, by_gtin) = text?;
        // A set beside the list: a far photo hash can bring hundreds of candidates, and
        // looking each up in the list was quadratic.
        let mut seen: rustc_hash::FxHashSet<tantivy::DocAddress> = addrs.iter().copied().collect();
        let by_photo = photo_hits_judged(index, l, &seen, by_photo, &by_keypoints, &by_gtin);
        for a in by_photo.into_iter().chain(by_keypoints).chain(by_gtin) {
            if seen.insert(a) {
                addrs.push(a);
            }
        }
        // Records are read and prepared on both cores (most are in the view's cache after a
        // while); the order is the addresses'.
        crate::matching::map_in_order(&addrs, l.has_photos(), |_, a| {
            snap.prepared(*a).map_err(idx_err)
        })
        .into_iter()
        .collect()
    }

    /// The evidence for each candidate of a listing: `(banned id, features, title words)`.
    /// What calibration fits the fusion weights on.
    pub fn evidence(&self, listing: &Listing) -> Result<Vec<(String, Features, usize)>> {
        self.evidence_with(listing, &[])
    }

    /// [`Engine::evidence`], with the records of `forced` judged too when retrieval did not find
    /// them (unknown ids are skipped): the evidence of labelled pairs, whatever their rank.
    pub fn evidence_with(
        &self,
        listing: &Listing,
        forced: &[&str],
    ) -> Result<Vec<(String, Features, usize)>> {
        let snap = self.view();
        let l = PreparedListing::new(listing, QueryPhotos::of_listing(listing), snap.as_ref());
        let mut banned = self.retrieve(&snap, &l, None)?;
        for id in forced {
            if banned.iter().any(|b| b.record.id == *id) {
                continue;
            }
            let record = snap
                .snapshot()
                .get(id)
                .map_err(|e| Error::index(self.store.dir(), e))?;
            if let Some(r) = record {
                banned.push(Arc::new(PreparedBanned::new(r, snap.as_ref())));
            }
        }
        Ok(self
            .matcher
            .candidates(&l, &banned, snap.as_ref())
            .into_iter()
            .map(|c| (c.banned.record.id.clone(), c.features, c.banned.words.len()))
            .collect())
    }

    /// Ids of the candidates retrieved before rescoring (for measuring candidate recall).
    pub fn candidate_ids(&self, listing: &Listing, k: usize) -> Result<Vec<String>> {
        let snap = self.view();
        let l = PreparedListing::new(listing, QueryPhotos::of_listing(listing), snap.as_ref());
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

/// The photo ids whose dHash is within [`PHOTO_CANDIDATE_RADIUS`] of one of a listing's photo
/// hashes (each photo in 8 symmetries and its top part, in one search), then those whose PDQ is
/// within [`crate::matching::features::PDQ_RADIUS`] of one of its PDQs, turn by turn: the
/// candidates' order breaks ties among the most voted, so each turn's list is kept in turn.
fn hash_hits(
    index: &crate::index::Snapshot,
    pairs: &[(usize, crate::photo::PhotoHashes)],
    pdq: &[(usize, crate::photo::Pdq)],
) -> Vec<u32> {
    let dhashes: Vec<[u64; 1]> = pairs.iter().map(|(_, p)| [p.dhash]).collect();
    let pdqs: Vec<crate::photo::Pdq> = pdq.iter().map(|(_, q)| *q).collect();
    let (mut by_photo, by_pdq) = rayon::join(
        || index.photo_hits(&dhashes, PHOTO_CANDIDATE_RADIUS),
        || index.pdq_hits_each(&pdqs, crate::matching::features::PDQ_RADIUS),
    );
    by_photo.extend(by_pdq.into_iter().flatten());
    by_photo
}

/// The records of a listing's photo hits (`hits`: photo ids, in candidate order) that are
/// judged besides those text retrieval found (`text`, candidates already), in that order:
/// every one that keypoint retrieval or a barcode found too, and of the others, those applying in the listing's market whose photo is evidence
/// ([`crate::matching::features::photo_hits_worth_judging`]), weighed on the index's prints
/// without reading a record. A far dHash finds hundreds of records at 100k banned photos, and
/// reading and preparing each was most of a check's cost.
fn photo_hits_judged(
    index: &crate::index::Snapshot,
    l: &PreparedListing,
    text: &rustc_hash::FxHashSet<tantivy::DocAddress>,
    hits: Vec<u32>,
    by_keypoints: &[tantivy::DocAddress],
    by_gtin: &[tantivy::DocAddress],
) -> Vec<tantivy::DocAddress> {
    let market = l.listing().market.as_deref();
    let found_otherwise = |a: &tantivy::DocAddress| by_keypoints.contains(a) || by_gtin.contains(a);
    // Each record once, where it is first met, as the candidates list keeps it.
    let mut met = rustc_hash::FxHashSet::default();
    let hits: Vec<(u32, tantivy::DocAddress)> = hits
        .into_iter()
        .map(|id| (id, index.photo_doc(id)))
        .filter(|(_, a)| !text.contains(a) && met.insert(*a))
        .collect();
    let found: Vec<bool> = hits.iter().map(|(_, a)| found_otherwise(a)).collect();
    let alone: Vec<usize> = (0..hits.len())
        .filter(|&i| !found[i] && index.photo_applies_to(hits[i].0, market))
        .collect();
    let prints: Vec<&crate::photo::BannedPhotoPrints> = alone
        .iter()
        .map(|&i| index.photo_prints(hits[i].0))
        .collect();
    let worth = crate::matching::features::photo_hits_worth_judging(l.photos(), &prints);
    // Found otherwise: judged; found by its photo alone: judged when worth it.
    let mut judged = found;
    for (&i, w) in alone.iter().zip(worth) {
        judged[i] = w;
    }
    hits.into_iter()
        .zip(judged)
        .filter(|(_, j)| *j)
        .map(|((_, a), _)| a)
        .collect()
}

fn view_of(store: &Store) -> Result<BannedView> {
    BannedView::new(Arc::new(store.snapshot()?)).map_err(|e| Error::index(store.dir(), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::evidence::{Evidence, HashKind};
    use crate::model::{BannedRecord, Decision};
    use serde_json::json;

    const D: &str = "0f0f0f0f0f0f0f0f";

    fn engine() -> Engine {
        let records = [
            json!({"id": "B-1", "title": "VoltMax HB-2210X 20000mAh power bank", "brand": "VoltMax",
                   "models": ["HB-2210X"]}),
            json!({"id": "B-2", "title": "AquaBoil KT-9000 electric kettle", "brand": "AquaBoil",
                   "image_hashes": [{"algo": "dhash", "hash": D}, {"algo": "phash", "hash": D}]}),
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

    #[test]
    fn retrieval_finds_by_words_and_identifiers_and_the_matcher_decides() {
        let e = engine();
        let r = e
            .check(
                &listing(json!({"id": "L", "title": "voltmax hb 2210x charger"})),
                CheckOptions::default(),
            )
            .unwrap();
        assert_eq!(r.decision, Decision::Block);
        assert_eq!(r.matches[0].banned_id, "B-1");
        let ids = e
            .candidate_ids(&listing(json!({"id": "L", "title": "hb2210x"})), 10)
            .unwrap();
        assert_eq!(ids, ["B-1"]);
    }

    #[test]
    fn a_photo_finds_its_record_whatever_the_title_says() {
        let e = engine();
        let l = listing(json!({"id": "L", "title": "cute bedroom decor",
                               "image_hashes": [{"algo": "dhash", "hash": D}, {"algo": "phash", "hash": D}]}));
        let r = e.check(&l, CheckOptions::default()).unwrap();
        assert_eq!(r.matches[0].banned_id, "B-2", "{r:?}");
        assert!(r.matches[0].evidence.iter().any(|x| matches!(
            x,
            Evidence::Photo {
                photo: 1,
                algo: HashKind::DhashPhash,
                distance: 0,
                ..
            }
        )));
    }

    #[test]
    fn a_far_photo_decides_nothing_alone_but_is_a_candidate_up_to_the_radius() {
        // A photo 10 or more away decides nothing alone; should a model weigh one, this fails.
        let e = engine();
        let snap = e.view();
        let record = snap.snapshot().get("B-2").unwrap().unwrap();
        let banned = vec![Arc::new(PreparedBanned::new(record, snap.as_ref()))];
        let near = |d: u32| {
            let h = format!(
                "{:016x}",
                u64::from_str_radix(D, 16).unwrap() ^ ((1 << d) - 1)
            );
            listing(json!({"id": "L", "title": "cute bedroom decor",
                "image_hashes": [{"algo": "dhash", "hash": h}, {"algo": "phash", "hash": h}]}))
        };
        for d in 10..=crate::matching::features::PHOTO_RADIUS {
            let l = near(d);
            let p = PreparedListing::new(&l, QueryPhotos::of_listing(&l), snap.as_ref());
            let r = e.matcher().judge(
                &p,
                &banned,
                snap.as_ref(),
                Some(snap.terms()),
                CheckOptions::default(),
            );
            assert_eq!(r.decision, Decision::Allow, "distance {d}: {r:?}");
        }
        // Up to the search's radius the record is a candidate whatever the title says, so that
        // its keypoints can be verified; beyond it, a photo with no keypoints finds nothing.
        let found = |d: u32| {
            let ev = e.evidence(&near(d)).unwrap();
            ev.iter().any(|(id, _, _)| id == "B-2")
        };
        assert!(found(PHOTO_CANDIDATE_RADIUS));
        assert!(!found(PHOTO_CANDIDATE_RADIUS + 1));
    }

    #[test]
    fn a_photo_hit_is_judged_when_its_photo_is_evidence_or_something_else_found_it() {
        let e = engine();
        // dHash equal to B-2's, pHash 30 bits away: found by the dHash search, yet no close
        // photo (the larger of the two distances) and no keypoints to verify.
        let far = format!(
            "{:016x}",
            u64::from_str_radix(D, 16).unwrap() ^ ((1 << 30) - 1)
        );
        let with = |title: &str, phash: &str| {
            let v = json!({"id": "L", "title": title,
                "image_hashes": [{"algo": "dhash", "hash": D}, {"algo": "phash", "hash": phash}]});
            let ev = e.evidence(&listing(v)).unwrap();
            ev.iter().any(|(id, _, _)| id == "B-2")
        };
        assert!(!with("cute bedroom decor", &far), "not read");
        assert!(with("cute bedroom decor", D), "a close photo");
        assert!(
            with("AquaBoil KT-9000 electric kettle", &far),
            "found by its title"
        );
        // A record of another market is left out unread, as judging leaves it out.
        let kr = Engine::in_memory(
            vec![
                BannedRecord::from_value(json!({"id": "B-2", "title": "AquaBoil kettle",
                    "jurisdictions": ["KR"],
                    "image_hashes": [{"algo": "dhash", "hash": D}, {"algo": "phash", "hash": D}]}))
                .unwrap()
                .record,
            ],
            Config::default(),
        )
        .unwrap();
        let found = |market: &str| {
            let l = listing(
                json!({"id": "L", "title": "cute bedroom decor", "market": market,
                "image_hashes": [{"algo": "dhash", "hash": D}, {"algo": "phash", "hash": D}]}),
            );
            let ev = kr.evidence(&l).unwrap();
            ev.iter().any(|(id, _, _)| id == "B-2")
        };
        assert!(found("KR"));
        assert!(!found("US"));
    }

    #[test]
    fn term_rules_apply_in_their_market_only() {
        let e = engine();
        let kr = listing(json!({"id": "L", "title": "sleep gummies melatonin", "market": "KR"}));
        let us = listing(json!({"id": "L", "title": "sleep gummies melatonin", "market": "US"}));
        assert_eq!(
            e.check(&kr, CheckOptions::default()).unwrap().decision,
            Decision::Block
        );
        assert_eq!(
            e.check(&us, CheckOptions::default()).unwrap().decision,
            Decision::Allow
        );
    }

    #[test]
    fn checking_with_resolved_photos_reads_no_file() {
        let e = engine();
        let dir = tempfile::tempdir().unwrap();
        let broken = dir.path().join("broken.jpg");
        std::fs::write(&broken, b"not a jpeg").unwrap();
        let l =
            listing(json!({"id": "L", "title": "kettle", "images": [broken.to_str().unwrap()]}));
        // `check` reads the listing's files (and reports the one it cannot use) ...
        let r = e.check(&l, CheckOptions::default()).unwrap();
        assert!(r.error.is_some_and(|m| m.contains("broken.jpg")));
        // ... `check_with_photos` only uses what it is given.
        let photos = QueryPhotos::from_hashes(&l.image_hashes);
        let r = e
            .check_with_photos(&l, photos, CheckOptions::default())
            .unwrap();
        assert!(r.error.is_none());
    }

    #[test]
    fn a_check_searching_the_photo_hashes_early_decides_as_one_searching_them_late() {
        // Banned photos drawn and stored as ingest stores them; listings relisting them
        // edited, or showing something else.
        let dir = tempfile::tempdir().unwrap();
        let save = |name: &str, img: image::DynamicImage| {
            let p = dir.path().join(name);
            img.to_rgb8().save(&p).unwrap();
            p.display().to_string()
        };
        let drawn = |i: u64| crate::pipeline::photo_suite::drawn_photo(7300 + i, i as usize);
        let records: Vec<BannedRecord> = (0..4)
            .map(|i| {
                let mut r = BannedRecord::from_value(json!({"id": format!("P-{i}"),
                    "title": format!("recalled item {i}")}))
                .unwrap()
                .record;
                let image = save(&format!("b{i}.jpg"), drawn(i));
                crate::photo::hash_images(&[image], Path::new(""), &mut r.image_hashes);
                r
            })
            .collect();
        let e = Engine::in_memory(records, Config::default()).unwrap();
        for i in 0..6u64 {
            let p = drawn(i);
            let (w, h) = (p.width(), p.height());
            let edited = p.crop_imm(w / 10, h / 8, w * 3 / 4, h * 3 / 4).fliph();
            let image = save(&format!("l{i}.jpg"), edited);
            let l = listing(json!({"id": "L", "title": "nice thing", "images": [image]}));
            let early = e.check(&l, CheckOptions::default()).unwrap();
            let late = e
                .check_with_photos(&l, QueryPhotos::of_listing(&l), CheckOptions::default())
                .unwrap();
            assert_eq!(early, late, "listing {i}");
            if i < 4 {
                assert!(
                    early
                        .matches
                        .iter()
                        .any(|m| m.banned_id == format!("P-{i}"))
                );
            }
        }
    }
}

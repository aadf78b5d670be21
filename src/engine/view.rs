//! The matching side's view of one index snapshot: banned records prepared for comparison,
//! word rarity and the term rules, derived once per snapshot and shared by every check.
//!
//! The store knows tantivy fields and terms; what a listing or a banned record means for
//! matching is decided here, so the store needs nothing from the matching code.

use rustc_hash::FxHashMap as HashMap;
use std::sync::{Arc, RwLock};

use tantivy::DocAddress;
use tantivy::schema::Field;

use crate::index::memo::Memo;
use crate::index::{Probe, Snapshot};
use crate::matching::features::{PreparedBanned, PreparedListing, Rarity};
use crate::matching::roles::{CARRIERS_READ, COMMON_ID, distinct_products};
use crate::matching::terms::TermMatcher;

/// Most prepared records (and memoised word rarities) kept per view; beyond it the cache starts
/// over. Bounds memory on very large indexes while keeping the records a sweep meets again and
/// again.
const CACHE_LIMIT: usize = 200_000;

/// What retrieval looks `l` up by: the words and n-grams of its title and brand, its model
/// keys and its GTINs.
pub fn probe(l: &PreparedListing) -> Probe {
    let mut ids: Vec<String> = l.models().iter().map(|m| m.key.clone()).collect();
    ids.extend(l.gtins().iter().cloned());
    Probe {
        words: l.head().index_words(),
        grams: l.head().gram_strings(),
        ids,
    }
}

/// A snapshot with what matching derives from it.
pub struct BannedView {
    snapshot: Arc<Snapshot>,
    terms: TermMatcher,
    cache: RwLock<HashMap<DocAddress, Arc<PreparedBanned>>>,
    /// Word rarity, memoised: the same words come back in listing after listing.
    idf: Memo<f32>,
    /// Banned records per identifier key, memoised: a listing looks up each of its model
    /// tokens and their pieces, and the same codes come back across a catalog.
    ids: Memo<u64>,
    /// Distinct banned products per model key, memoised as `ids` is.
    products: Memo<u64>,
}

impl BannedView {
    /// The view of `snapshot`; reads its term rules.
    pub fn new(snapshot: Arc<Snapshot>) -> tantivy::Result<BannedView> {
        let terms = TermMatcher::new(snapshot.term_records()?);
        Ok(BannedView {
            snapshot,
            terms,
            cache: RwLock::new(HashMap::default()),
            idf: Memo::new(CACHE_LIMIT),
            ids: Memo::new(CACHE_LIMIT),
            products: Memo::new(CACHE_LIMIT),
        })
    }

    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    pub fn terms(&self) -> &TermMatcher {
        &self.terms
    }

    /// The prepared banned record at `addr`, from the cache when it has been seen.
    pub fn prepared(&self, addr: DocAddress) -> tantivy::Result<Arc<PreparedBanned>> {
        if let Some(p) = self.cache.read().expect("cache lock").get(&addr) {
            return Ok(p.clone());
        }
        let p = Arc::new(PreparedBanned::new(self.snapshot.record(addr)?, self));
        let mut cache = self.cache.write().expect("cache lock");
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(addr, p.clone());
        Ok(p)
    }

    /// The `k` best candidates for a listing (see [`Snapshot::retrieve`]).
    pub fn retrieve(&self, l: &PreparedListing, k: usize) -> tantivy::Result<Vec<DocAddress>> {
        self.snapshot.retrieve(&probe(l), k)
    }

    /// The terms retrieval asks for a listing (see [`Snapshot::query_terms`]).
    pub fn query_terms(&self, l: &PreparedListing) -> Vec<(Field, String, f32)> {
        self.snapshot.query_terms(&probe(l))
    }
}

impl Rarity for BannedView {
    fn id_count(&self, key: &str) -> u64 {
        self.ids.get_or(key, || self.snapshot.id_doc_freq(key))
    }

    /// Records are read only for a key on a few of them: under [`COMMON_ID`] records it cannot
    /// be common, over [`CARRIERS_READ`] it is common whatever they are.
    fn model_products(&self, key: &str) -> u64 {
        self.products.get_or(key, || {
            let records = self.id_count(key);
            if !(COMMON_ID..=CARRIERS_READ).contains(&records) {
                records
            } else {
                let carriers: Vec<_> = self
                    .snapshot
                    .id_candidates(&[key.to_string()], CARRIERS_READ as usize)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|a| self.snapshot.record(a).ok())
                    .collect();
                if carriers.is_empty() {
                    records
                } else {
                    distinct_products(&carriers, key)
                }
            }
        })
    }

    /// BM25's inverse document frequency of a word among the banned records. Words the index
    /// has never seen count as seen once, so a typo is not the rarest word of all.
    fn idf(&self, token: &str) -> f32 {
        self.idf.get_or(token, || {
            let df = self.snapshot.word_doc_freq(token).max(1) as f32;
            let n = self.snapshot.num_docs().max(1) as f32;
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln().max(0.05)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::{CheckOptions, Engine};
    use crate::index::Store;
    use crate::model::{BannedRecord, Listing};
    use std::path::{Path, PathBuf};

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name)
    }

    fn values(name: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(fixture(name))
            .expect("fixture")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    }

    fn banned() -> Vec<BannedRecord> {
        values("banned.jsonl")
            .into_iter()
            .map(|v| BannedRecord::from_value(v).expect("banned record").record)
            .collect()
    }

    fn listings() -> Vec<Listing> {
        let path = fixture("catalog.jsonl");
        values("catalog.jsonl")
            .into_iter()
            .map(|v| {
                let mut l = Listing::from_value(v).expect("listing");
                l.rebase_images(&path);
                l
            })
            .collect()
    }

    /// The in-memory index is the directory index without files: every listing of the fixture
    /// catalog gets the same candidates in the same order, and the same judgement.
    #[test]
    fn in_memory_engine_matches_directory_engine() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        store.ingest(banned()).unwrap();
        let on_disk = Engine::new(store, Config::default()).unwrap();
        let in_memory = Engine::in_memory(banned(), Config::default()).unwrap();
        assert!(in_memory.store().is_in_memory());
        assert_eq!(
            in_memory.snapshot().num_docs(),
            on_disk.snapshot().num_docs()
        );
        let (a, b) = (on_disk.view(), in_memory.view());
        assert_eq!(a.terms().len(), b.terms().len());
        let mut blocked = 0;
        // Every third listing: the catalog's evasions repeat, and a debug-build check is slow.
        for l in listings().into_iter().step_by(3) {
            let photos = || crate::photo::QueryPhotos::of_listing(&l);
            let pa = PreparedListing::new(&l, photos(), a.as_ref());
            let pb = PreparedListing::new(&l, photos(), b.as_ref());
            for w in &pa.head().tokens {
                assert_eq!(a.idf(w), b.idf(w), "{}: rarity of '{w}'", l.id);
            }
            let ids = |v: &BannedView, p: &PreparedListing| -> Vec<String> {
                v.retrieve(p, 50)
                    .unwrap()
                    .into_iter()
                    .map(|addr| v.snapshot().record(addr).unwrap().id)
                    .collect()
            };
            assert_eq!(ids(&a, &pa), ids(&b, &pb), "{}: candidates", l.id);
            let ra = on_disk.check(&l, CheckOptions::default()).unwrap();
            let rb = in_memory.check(&l, CheckOptions::default()).unwrap();
            assert_eq!(
                serde_json::to_value(&ra).unwrap(),
                serde_json::to_value(&rb).unwrap(),
                "{}: result",
                l.id
            );
            blocked += usize::from(ra.decision == crate::model::Decision::Block);
        }
        // The comparison is about something: the catalog has relistings of the banned list.
        assert!(blocked > 10, "{blocked} blocked");
    }

    #[test]
    fn probe_has_the_listing_terms() {
        let l = Listing::from_value(serde_json::json!({
            "id": "L", "title": "VoltMax HB-2210X power bank", "gtins": ["608627149708"]
        }))
        .unwrap();
        let prepared =
            PreparedListing::new(&l, Default::default(), &crate::matching::features::Uniform);
        let p = probe(&prepared);
        // Leet-keyed, as the index stores them.
        assert_eq!(p.words, ["voitmax", "hb", "22iox", "power", "bank"]);
        // Every model key the listing may name, then its GTINs.
        let models: Vec<&str> = prepared.models().iter().map(|m| m.key.as_str()).collect();
        assert!(models.contains(&"hb2210x"));
        assert_eq!(p.ids[..models.len()], models);
        assert_eq!(p.ids[models.len()..], ["00608627149708"]);
        assert!(p.grams.iter().any(|g| g == "voi"));
    }
}

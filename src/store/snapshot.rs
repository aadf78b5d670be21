//! A read view of one commit: retrieval, records by id, word rarity, and term rules.

use rustc_hash::FxHashMap as HashMap;
use std::sync::{Arc, RwLock};

use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::Field;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};

use super::Fields;
use crate::features::{PreparedBanned, PreparedListing, Rarity};
use crate::model::BannedRecord;
use crate::terms::TermMatcher;

/// Most prepared records kept per snapshot; beyond it the cache starts over. Bounds memory on
/// very large indexes while keeping the records a sweep meets again and again.
const CACHE_LIMIT: usize = 200_000;

/// Query terms per field: the rarest of a listing's words and n-grams. Enough to find a
/// relisting (one shared rare word or model number suffices), bounded for latency.
const MAX_WORDS: usize = 12;
const MAX_GRAMS: usize = 10;
/// Terms in more than this share of the records are left out of retrieval.
const MAX_DF_SHARE: f64 = 0.01;

pub struct Snapshot {
    searcher: Searcher,
    fields: Fields,
    num_docs: u64,
    terms: TermMatcher,
    cache: RwLock<HashMap<DocAddress, Arc<PreparedBanned>>>,
    /// Word rarity, memoised: the same words come back in listing after listing.
    idf: RwLock<HashMap<String, f32>>,
    /// Photo hashes of the products that have them (ids index `photo_docs`).
    photo_index: crate::hamming::HammingIndex<1>,
    /// Their PDQ hashes, with the same ids.
    pdq_index: crate::hamming::HammingIndex<4>,
    photo_docs: Vec<DocAddress>,
}

impl Snapshot {
    pub(super) fn new(searcher: Searcher, fields: Fields) -> tantivy::Result<Snapshot> {
        let num_docs = searcher.num_docs();
        let mut snap = Snapshot {
            searcher,
            fields,
            num_docs,
            terms: TermMatcher::default(),
            cache: RwLock::new(HashMap::default()),
            idf: RwLock::new(HashMap::default()),
            photo_index: crate::hamming::HammingIndex::new(),
            pdq_index: crate::hamming::HammingIndex::new(),
            photo_docs: Vec::new(),
        };
        let q = TermQuery::new(
            Term::from_field_text(fields.kind, "term"),
            IndexRecordOption::Basic,
        );
        let addrs = snap.searcher.search(&q, &DocSetCollector)?;
        let mut rules = Vec::with_capacity(addrs.len());
        for a in addrs {
            rules.push(snap.load(a)?);
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        snap.terms = TermMatcher::new(rules);
        // The photo index: dHash of every photo of every product that has one.
        let q = TermQuery::new(
            Term::from_field_text(fields.photo, "1"),
            IndexRecordOption::Basic,
        );
        let mut addrs: Vec<DocAddress> = snap
            .searcher
            .search(&q, &DocSetCollector)?
            .into_iter()
            .collect();
        addrs.sort();
        for a in addrs {
            let record = snap.load(a)?;
            let id = snap.photo_docs.len() as u32;
            // The crops too: a cropped listing photo is near one of them, not the whole.
            let h = &record.image_hashes;
            for p in crate::imghash::photos(h)
                .into_iter()
                .chain(crate::imghash::crop_photos(h))
            {
                snap.photo_index.insert(id, [p.dhash]);
            }
            for p in crate::imghash::pdqs(h) {
                snap.pdq_index.insert(id, p);
            }
            snap.photo_docs.push(a);
        }
        Ok(snap)
    }

    /// Products with a photo whose dHash is within `radius` of any of `dhashes`.
    pub fn photo_candidates(&self, dhashes: &[[u64; 1]], radius: u32) -> Vec<DocAddress> {
        self.photo_index
            .radius_any(dhashes, radius)
            .into_iter()
            .map(|(id, _)| self.photo_docs[id as usize])
            .collect()
    }

    /// Products with a photo whose PDQ is within `radius` (of 256) of `pdq`.
    pub fn pdq_candidates(&self, pdq: &crate::imghash::Pdq, radius: u32) -> Vec<DocAddress> {
        self.pdq_index
            .radius(pdq, radius)
            .into_iter()
            .map(|(id, _)| self.photo_docs[id as usize])
            .collect()
    }

    pub fn num_docs(&self) -> u64 {
        self.num_docs
    }

    pub fn terms(&self) -> &TermMatcher {
        &self.terms
    }

    fn load(&self, addr: DocAddress) -> tantivy::Result<BannedRecord> {
        let doc: TantivyDocument = self.searcher.doc(addr)?;
        let json = doc
            .get_first(self.fields.record)
            .and_then(|v| v.as_str())
            .unwrap_or("{}");
        serde_json::from_str(json)
            .map_err(|e| tantivy::TantivyError::InternalError(format!("stored record: {e}")))
    }

    /// The prepared banned record at `addr`, from the cache when it has been seen.
    pub fn prepared(&self, addr: DocAddress) -> tantivy::Result<Arc<PreparedBanned>> {
        if let Some(p) = self.cache.read().expect("cache lock").get(&addr) {
            return Ok(p.clone());
        }
        let p = Arc::new(PreparedBanned::new(self.load(addr)?, self));
        let mut cache = self.cache.write().expect("cache lock");
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(addr, p.clone());
        Ok(p)
    }

    /// A banned record by id.
    pub fn get(&self, id: &str) -> tantivy::Result<Option<BannedRecord>> {
        let q = TermQuery::new(
            Term::from_field_text(self.fields.id, id),
            IndexRecordOption::Basic,
        );
        let top = self
            .searcher
            .search(&q, &TopDocs::with_limit(1).order_by_score())?;
        top.first().map(|(_, a)| self.load(*a)).transpose()
    }

    /// Every record, in index order (for `stats` and exports).
    pub fn all_addresses(&self) -> Vec<DocAddress> {
        let mut out = Vec::with_capacity(self.num_docs as usize);
        for (ord, seg) in self.searcher.segment_readers().iter().enumerate() {
            for doc in seg.doc_ids_alive() {
                out.push(DocAddress::new(ord as u32, doc));
            }
        }
        out
    }

    /// Records written by an ingest at or after `since` (Unix seconds).
    pub fn added_since(&self, since: u64) -> tantivy::Result<Vec<BannedRecord>> {
        let q = tantivy::query::RangeQuery::new(
            std::ops::Bound::Included(Term::from_field_u64(self.fields.added, since)),
            std::ops::Bound::Unbounded,
        );
        let mut addrs: Vec<DocAddress> = self
            .searcher
            .search(&q, &DocSetCollector)?
            .into_iter()
            .collect();
        addrs.sort();
        addrs.into_iter().map(|a| self.load(a)).collect()
    }

    pub fn record(&self, addr: DocAddress) -> tantivy::Result<BannedRecord> {
        self.load(addr)
    }

    /// The `k` best candidates for a listing: BM25 over words, n-grams and identifiers.
    pub fn retrieve(&self, l: &PreparedListing, k: usize) -> tantivy::Result<Vec<DocAddress>> {
        let clauses: Vec<(Occur, Box<dyn Query>)> = self
            .query_terms(l)
            .into_iter()
            .map(|(field, text, boost)| {
                let q = TermQuery::new(
                    Term::from_field_text(field, &text),
                    IndexRecordOption::WithFreqs,
                );
                let q: Box<dyn Query> = Box::new(BoostQuery::new(Box::new(q), boost));
                (Occur::Should, q)
            })
            .collect();
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let q = BooleanQuery::new(clauses);
        let top = self
            .searcher
            .search(&q, &TopDocs::with_limit(k).order_by_score())?;
        Ok(top.into_iter().map(|(_, a)| a).collect())
    }

    /// The terms retrieval asks for, with their boosts: a record that has none of them cannot
    /// be a candidate for this listing.
    pub fn query_terms(&self, l: &PreparedListing) -> Vec<(Field, String, f32)> {
        let f = &self.fields;
        let mut out = Vec::new();
        // The rarest terms only: common ones cost long posting lists and say little. Ties keep
        // the text order, so results do not depend on hash order.
        let mut words = l.head().index_words();
        words.sort_unstable();
        words.dedup();
        for w in self.rarest(f.words, words, MAX_WORDS) {
            out.push((f.words, w, 1.0));
        }
        for g in self.rarest(f.grams, l.head().gram_strings(), MAX_GRAMS) {
            out.push((f.grams, g, 0.3));
        }
        for m in l.models() {
            out.push((f.ids, m.key.clone(), 3.0));
        }
        for g in l.gtins() {
            out.push((f.ids, g.clone(), 3.0));
        }
        out
    }

    /// The field handles, to match `query_terms` against a record's own terms.
    pub fn fields(&self) -> Fields {
        self.fields
    }
}

impl Snapshot {
    /// Up to `k` of `terms` that occur in the index, rarest first; terms in more than
    /// `MAX_DF_SHARE` of the records only if nothing rarer is left.
    fn rarest(&self, field: tantivy::schema::Field, terms: Vec<String>, k: usize) -> Vec<String> {
        let cap = ((self.num_docs as f64 * MAX_DF_SHARE) as u64).max(50);
        let mut with_df: Vec<(u64, String)> = terms
            .into_iter()
            .filter_map(|t| {
                let df = self
                    .searcher
                    .doc_freq(&Term::from_field_text(field, &t))
                    .ok()?;
                (df > 0).then_some((df, t))
            })
            .collect();
        with_df.sort_by_key(|(df, _)| *df);
        let rare = with_df.iter().filter(|(df, _)| *df <= cap).count();
        let keep = if rare > 0 { rare.min(k) } else { k.min(2) };
        with_df.into_iter().take(keep).map(|(_, t)| t).collect()
    }
}

impl Rarity for Snapshot {
    fn id_count(&self, key: &str) -> u64 {
        let t = Term::from_field_text(self.fields.ids, key);
        self.searcher.doc_freq(&t).unwrap_or(0)
    }

    /// BM25's inverse document frequency of a word among the banned records. Words the index
    /// has never seen count as seen once, so a typo is not the rarest word of all.
    fn idf(&self, token: &str) -> f32 {
        if let Some(v) = self.idf.read().expect("idf lock").get(token) {
            return *v;
        }
        let t = Term::from_field_text(self.fields.words, token);
        let df = self.searcher.doc_freq(&t).unwrap_or(0).max(1) as f32;
        let n = self.num_docs.max(1) as f32;
        let v = (1.0 + (n - df + 0.5) / (df + 0.5)).ln().max(0.05);
        let mut map = self.idf.write().expect("idf lock");
        if map.len() >= CACHE_LIMIT {
            map.clear();
        }
        map.insert(token.to_string(), v);
        v
    }
}

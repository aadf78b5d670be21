//! A read view of one commit: retrieval, records by id, document frequencies, term rules and
//! photo candidates. What is derived from them for matching (prepared records, word rarity,
//! the term matcher) is kept by the matching side.

use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{Bm25StatisticsProvider, BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::Field;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};

use super::Fields;
use super::memo::Memo;
use crate::model::BannedRecord;

/// Query terms per field: the rarest of a listing's words and n-grams. Enough to find a
/// relisting (one shared rare word or model number suffices), bounded for latency.
const MAX_WORDS: usize = 12;
const MAX_GRAMS: usize = 10;
/// Terms in more than this share of the records are left out of retrieval.
const MAX_DF_SHARE: f64 = 0.01;

/// What retrieval looks a listing up by, in the terms of the index fields (see
/// [`IndexTerms`](super::IndexTerms) for the record side).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    /// Leet-keyed words of title and brand, CJK as character bigrams, in text order.
    pub words: Vec<String>,
    /// Character n-grams of title and brand.
    pub grams: Vec<String>,
    /// Model-number keys, then GTIN-14s.
    pub ids: Vec<String>,
}

pub struct Snapshot {
    searcher: Searcher,
    fields: Fields,
    num_docs: u64,
    /// Photo hashes of the products that have them (ids index `photo_docs`).
    photo_index: crate::photo::hamming::HammingIndex<1>,
    /// Their PDQ hashes, with the same ids.
    pdq_index: crate::photo::hamming::HammingIndex<4>,
    /// Their keypoint descriptors, with the same ids.
    keypoint_index: crate::photo::descriptors::DescriptorIndex,
    photo_docs: Vec<DocAddress>,
    /// Document frequencies of words and n-grams, memoised: every check looks up each of its
    /// words and n-grams to keep the rarest, and the same ones come back listing after listing
    /// (the term dictionary's look-ups were 5 % of a sweep).
    word_dfs: Memo<u64>,
    gram_dfs: Memo<u64>,
    /// Tokens of the words, n-grams and ids fields over all records, for BM25.
    tokens: [(Field, u64); 3],
    /// Per id: the photo's hashes and keypoint prints, and the record's jurisdictions, kept so
    /// that a record found by a far photo hash is weighed before it is read.
    photo_prints: Vec<crate::photo::BannedPhotoPrints>,
    photo_markets: Vec<Box<[String]>>,
}

impl Bm25StatisticsProvider for Snapshot {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        match self.tokens.iter().find(|(f, _)| *f == field) {
            Some((_, n)) => Ok(*n),
            None => self.searcher.total_num_tokens(field),
        }
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        self.searcher.total_num_docs()
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        match term.value().as_str() {
            Some(text) => Ok(Snapshot::doc_freq(self, term.field(), text)),
            None => self.searcher.doc_freq(term),
        }
    }
}

/// Terms whose document frequency a snapshot keeps per field at most; it starts again when
/// full (as the view's memos do).
const DF_MEMO_LIMIT: usize = 500_000;

impl Snapshot {
    pub(super) fn new(searcher: Searcher, fields: Fields) -> tantivy::Result<Snapshot> {
        let num_docs = searcher.num_docs();
        let tokens = [fields.words, fields.grams, fields.ids]
            .map(|f| (f, searcher.total_num_tokens(f).unwrap_or(0)));
        let mut snap = Snapshot {
            searcher,
            fields,
            num_docs,
            photo_index: crate::photo::hamming::HammingIndex::new(),
            pdq_index: crate::photo::hamming::HammingIndex::new(),
            keypoint_index: Default::default(),
            photo_docs: Vec::new(),
            word_dfs: Memo::new(DF_MEMO_LIMIT),
            gram_dfs: Memo::new(DF_MEMO_LIMIT),
            tokens,
            photo_prints: Vec::new(),
            photo_markets: Vec::new(),
        };
        let mut keypoints = crate::photo::descriptors::DescriptorIndexBuilder::new();
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
            for p in crate::photo::photos(h)
                .into_iter()
                .chain(crate::photo::crop_photos(h))
            {
                snap.photo_index.insert(id, [p.dhash]);
            }
            for p in crate::photo::pdqs(h) {
                snap.pdq_index.insert(id, p);
            }
            let described = crate::photo::record_keypoints(h);
            for (_, k) in &described {
                keypoints.insert(id, k);
            }
            snap.photo_prints
                .push(crate::photo::BannedPhotoPrints::new(h, &described));
            snap.photo_markets.push(record.jurisdictions.into());
            snap.photo_docs.push(a);
        }
        snap.keypoint_index = keypoints.build();
        // A snapshot's indexes are only read from here on.
        snap.photo_index.freeze();
        snap.pdq_index.freeze();
        Ok(snap)
    }

    /// Photo ids (see [`Snapshot::photo_doc`]) sharing the most keypoint details with any of
    /// `photos`, most voted first: at most `limit`, to be verified (see
    /// [`crate::photo::descriptors`]).
    pub fn keypoint_hits(
        &self,
        photos: &[&crate::photo::keypoints::Keypoints],
        limit: usize,
    ) -> Vec<u32> {
        self.keypoint_index
            .candidates(photos, limit)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// Products with a photo whose dHash is within `radius` of any of `dhashes`.
    pub fn photo_candidates(&self, dhashes: &[[u64; 1]], radius: u32) -> Vec<DocAddress> {
        self.photo_hits(dhashes, radius)
            .into_iter()
            .map(|id| self.photo_doc(id))
            .collect()
    }

    /// [`Snapshot::photo_candidates`] as photo ids (see [`Snapshot::photo_doc`]), nearest
    /// first.
    pub fn photo_hits(&self, dhashes: &[[u64; 1]], radius: u32) -> Vec<u32> {
        self.photo_index
            .radius_any(dhashes, radius)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// The record of a photo id of [`Snapshot::photo_hits`] or [`Snapshot::pdq_hits_each`].
    pub fn photo_doc(&self, id: u32) -> DocAddress {
        self.photo_docs[id as usize]
    }

    /// The hashes and keypoint prints of a photo id's record, held in memory.
    pub fn photo_prints(&self, id: u32) -> &crate::photo::BannedPhotoPrints {
        &self.photo_prints[id as usize]
    }

    /// Whether a photo id's record applies in `market` ([`BannedRecord::applies_to`]),
    /// without reading it.
    pub fn photo_applies_to(&self, id: u32, market: Option<&str>) -> bool {
        crate::model::applies_in(&self.photo_markets[id as usize], market)
    }

    /// Photo ids (see [`Snapshot::photo_doc`]) whose PDQ is within `radius` (of 256) of each
    /// of `pdqs` on its own, in their order: one pass over the index for all of them when it
    /// scans, the same lists as one search each.
    pub fn pdq_hits_each(&self, pdqs: &[crate::photo::Pdq], radius: u32) -> Vec<Vec<u32>> {
        self.pdq_index
            .radius_each(pdqs, radius)
            .into_iter()
            .map(|hits| hits.into_iter().map(|(id, _)| id).collect())
            .collect()
    }

    /// Records carrying an identifier key exactly (a GTIN), whatever their text: a barcode is a
    /// global identity, so its records are candidates even when BM25 ranks other records'
    /// words above it. At most `limit` per key: a code more records share names none.
    pub fn id_candidates(&self, keys: &[String], limit: usize) -> tantivy::Result<Vec<DocAddress>> {
        let mut out = Vec::new();
        for k in keys {
            let q = TermQuery::new(
                Term::from_field_text(self.fields.ids, k),
                IndexRecordOption::Basic,
            );
            for (_, a) in self
                .searcher
                .search(&q, &TopDocs::with_limit(limit).order_by_score())?
            {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
        Ok(out)
    }

    pub fn num_docs(&self) -> u64 {
        self.num_docs
    }

    /// The term rules (`kind: "term"`), by id.
    pub fn term_records(&self) -> tantivy::Result<Vec<BannedRecord>> {
        let q = TermQuery::new(
            Term::from_field_text(self.fields.kind, "term"),
            IndexRecordOption::Basic,
        );
        let addrs = self.searcher.search(&q, &DocSetCollector)?;
        let mut rules = Vec::with_capacity(addrs.len());
        for a in addrs {
            rules.push(self.load(a)?);
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(rules)
    }

    /// How many records hold `word` in the `words` field.
    pub fn word_doc_freq(&self, word: &str) -> u64 {
        self.doc_freq(self.fields.words, word)
    }

    /// Records holding `term` in `field`, memoised for the words and n-grams fields.
    fn doc_freq(&self, field: Field, term: &str) -> u64 {
        let read = || {
            self.searcher
                .doc_freq(&Term::from_field_text(field, term))
                .unwrap_or(0)
        };
        if field == self.fields.words {
            self.word_dfs.get_or(term, read)
        } else if field == self.fields.grams {
            self.gram_dfs.get_or(term, read)
        } else {
            read()
        }
    }

    /// How many records hold the identifier key `key` (a model key or GTIN-14).
    pub fn id_doc_freq(&self, key: &str) -> u64 {
        let t = Term::from_field_text(self.fields.ids, key);
        self.searcher.doc_freq(&t).unwrap_or(0)
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
    pub fn retrieve(&self, probe: &Probe, k: usize) -> tantivy::Result<Vec<DocAddress>> {
        let Some(q) = self.query(probe) else {
            return Ok(Vec::new());
        };
        // BM25's statistics from this snapshot's memo: the searcher would read every query
        // term's frequency from the term dictionary again (the same numbers).
        let top = self.searcher.search_with_statistics_provider(
            &q,
            &TopDocs::with_limit(k).order_by_score(),
            self,
        )?;
        Ok(top.into_iter().map(|(_, a)| a).collect())
    }

    /// Retrieval's query for `probe`: its [`query_terms`](Snapshot::query_terms), any of them;
    /// none when it has no term.
    fn query(&self, probe: &Probe) -> Option<BooleanQuery> {
        let clauses: Vec<(Occur, Box<dyn Query>)> = self
            .query_terms(probe)
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
        (!clauses.is_empty()).then(|| BooleanQuery::new(clauses))
    }

    /// The terms retrieval asks for, with their boosts: a record that has none of them cannot
    /// be a candidate for this listing.
    pub fn query_terms(&self, probe: &Probe) -> Vec<(Field, String, f32)> {
        let f = &self.fields;
        let mut out = Vec::new();
        // The rarest terms only: common ones cost long posting lists and say little. Ties keep
        // the text order, so results do not depend on hash order.
        let mut words: Vec<&str> = probe.words.iter().map(String::as_str).collect();
        words.sort_unstable();
        words.dedup();
        for w in self.rarest(f.words, words, MAX_WORDS) {
            out.push((f.words, w.to_string(), 1.0));
        }
        let grams = probe.grams.iter().map(String::as_str).collect();
        for g in self.rarest(f.grams, grams, MAX_GRAMS) {
            out.push((f.grams, g.to_string(), 0.3));
        }
        for id in &probe.ids {
            out.push((f.ids, id.clone(), 3.0));
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
    fn rarest<'t>(&self, field: Field, terms: Vec<&'t str>, k: usize) -> Vec<&'t str> {
        let cap = ((self.num_docs as f64 * MAX_DF_SHARE) as u64).max(50);
        let mut with_df: Vec<(u64, &str)> = terms
            .into_iter()
            .filter_map(|t| {
                let df = self.doc_freq(field, t);
                (df > 0).then_some((df, t))
            })
            .collect();
        with_df.sort_by_key(|(df, _)| *df);
        let rare = with_df.iter().filter(|(df, _)| *df <= cap).count();
        let keep = if rare > 0 { rare.min(k) } else { k.min(2) };
        with_df.into_iter().take(keep).map(|(_, t)| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{IndexTerms, Store};
    use super::*;

    fn records() -> Vec<BannedRecord> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/banned.jsonl");
        std::fs::read_to_string(path)
            .expect("fixture")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v = serde_json::from_str(l).expect("JSON line");
                BannedRecord::from_value(v).expect("banned record").record
            })
            .collect()
    }

    /// A record's own index terms as a probe: what retrieval is asked when a listing copies it.
    fn own_probe(r: &BannedRecord) -> Probe {
        let t = IndexTerms::of(r);
        Probe {
            words: t.words,
            grams: t.grams,
            ids: t.ids,
        }
    }

    /// Retrieval's memoised BM25 statistics are the searcher's own: the same candidates with
    /// the same scores as tantivy computing them itself, looked up twice (memo filled, then
    /// read).
    #[test]
    fn memoised_statistics_score_as_the_searcher_does() {
        let store = Store::in_memory().unwrap();
        store.ingest(records()).unwrap();
        let snap = store.snapshot().unwrap();
        for r in records().iter().take(60) {
            let p = own_probe(r);
            let Some(q) = snap.query(&p) else {
                continue;
            };
            let top = TopDocs::with_limit(10).order_by_score();
            let own = snap.searcher.search(&q, &top).unwrap();
            for _ in 0..2 {
                let memo = snap
                    .searcher
                    .search_with_statistics_provider(&q, &top, &snap)
                    .unwrap();
                assert_eq!(own, memo, "{}", r.id);
                assert_eq!(
                    snap.retrieve(&p, 10).unwrap(),
                    own.iter().map(|(_, a)| *a).collect::<Vec<_>>()
                );
            }
        }
    }

    /// An index in memory retrieves what an index directory retrieves for the same records:
    /// same candidates, same order, and the same document frequencies behind them.
    #[test]
    fn in_memory_retrieves_as_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Store::open_or_create(dir.path()).unwrap();
        let ram = Store::in_memory().unwrap();
        for s in [&disk, &ram] {
            s.ingest(records()).unwrap();
        }
        assert!(dir.path().join("text").read_dir().unwrap().next().is_some());
        let (d, m) = (disk.snapshot().unwrap(), ram.snapshot().unwrap());
        assert_eq!(d.num_docs(), m.num_docs());
        assert_eq!(d.term_records().unwrap(), m.term_records().unwrap());
        let ids = |s: &Snapshot, p: &Probe| -> Vec<String> {
            let addrs = s.retrieve(p, 20).unwrap();
            addrs.into_iter().map(|a| s.record(a).unwrap().id).collect()
        };
        let mut found_itself = 0;
        for r in records()
            .iter()
            .filter(|r| r.kind == crate::model::RecordKind::Product)
        {
            let p = own_probe(r);
            assert_eq!(d.query_terms(&p), m.query_terms(&p), "{}", r.id);
            for w in &p.words {
                assert_eq!(d.word_doc_freq(w), m.word_doc_freq(w), "{w}");
            }
            for k in &p.ids {
                assert_eq!(d.id_doc_freq(k), m.id_doc_freq(k), "{k}");
            }
            let (a, b) = (ids(&d, &p), ids(&m, &p));
            assert_eq!(a, b, "{}", r.id);
            found_itself += usize::from(a.first() == Some(&r.id));
        }
        // Not a comparison of empty answers: a copied record is its own best candidate.
        assert!(found_itself > 100, "{found_itself}");
    }

    #[test]
    fn in_memory_store_has_no_files() {
        let store = Store::in_memory().unwrap();
        assert_eq!(store.disk_size(), 0);
        store.ingest(records()).unwrap();
        assert_eq!(store.counts().0, records().len() as u64);
        let out = tempfile::tempdir().unwrap();
        assert!(super::super::export(&store, &out.path().join("a.tar.gz")).is_err());
        // Removing records works as in a directory (and touches no thumbnail folder).
        let id = records()[0].id.clone();
        assert!(store.remove(std::slice::from_ref(&id)).unwrap().is_empty());
        assert!(store.snapshot().unwrap().get(&id).unwrap().is_none());
    }
}

//! A read view of one commit: retrieval, records by id, document frequencies, term rules and
//! photo candidates. What is derived from them for matching (prepared records, word rarity,
//! the term matcher) is kept by the matching side.

use std::cell::RefCell;
use std::collections::BinaryHeap;
use std::sync::Arc;

use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::fastfield::AliveBitSet;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::TermInfo;
use tantivy::query::TermQuery;
use tantivy::schema::Field;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, InvertedIndexReader, Searcher, TantivyDocument, Term};

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
    /// Document frequencies of words and n-grams and where their postings are, memoised: every
    /// check looks up each of its words and n-grams to keep the rarest, and the same ones come
    /// back listing after listing (the term dictionary's look-ups were 5 % of a sweep).
    word_terms: Memo<TermEntry>,
    gram_terms: Memo<TermEntry>,
    /// Per segment, what retrieval reads of the words, n-grams and ids fields.
    segments: Vec<SegmentSource>,
    /// Documents BM25 counts (deleted ones too, as tantivy's statistics do).
    max_docs: u64,
    /// Per retrieval field (words, n-grams, ids): BM25's length part of the term-frequency
    /// factor, `k1 * (1 - b + b * dl / avgdl)`, by tantivy's field-norm code.
    norm_cache: [[f32; 256]; 3],
    /// Per id: the photo's hashes and keypoint prints, and the record's jurisdictions, kept so
    /// that a record found by a far photo hash is weighed before it is read.
    photo_prints: Vec<crate::photo::BannedPhotoPrints>,
    photo_markets: Vec<Box<[String]>>,
}

/// BM25's parameters, tantivy's: retrieval scores as tantivy's `TermQuery` would.
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// Retrieval's fields, in the order of [`Snapshot::norm_cache`] and [`SegmentSource`].
const WORDS: usize = 0;
const GRAMS: usize = 1;
const IDS: usize = 2;

/// A term's document frequency over the snapshot and where its postings are in each segment
/// that has it.
#[derive(Debug, Clone, Default)]
struct TermEntry {
    df: u64,
    infos: Box<[(u32, TermInfo)]>,
}

/// What retrieval reads of one segment, opened once per snapshot.
struct SegmentSource {
    /// The segment's first document in the snapshot's ordinals (segments in address order).
    base: u32,
    /// Inverted indexes and field norms of words, n-grams and ids.
    inverted: [Arc<InvertedIndexReader>; 3],
    norms: [FieldNormReader; 3],
    alive: Option<AliveBitSet>,
}

/// One query term's postings in one segment, with the term's BM25 weight (`idf * (1 + k1) *
/// boost`).
struct Scored {
    field: usize,
    segment: u32,
    info: TermInfo,
    weight: f32,
}

thread_local! {
    /// Retrieval's accumulators, reused from listing to listing: a score per document of the
    /// snapshot (zero when untouched) and the documents touched. Left all zero after each use.
    static SCRATCH: RefCell<(Vec<f32>, Vec<u32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// A retrieved document ordinal and its score, ordered best first: higher score, then lower
/// ordinal (so a max-heap of them keeps the worst on top).
#[derive(Debug, Clone, Copy)]
struct Hit(f32, u32);

impl Ord for Hit {
    fn cmp(&self, other: &Hit) -> std::cmp::Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Hit) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Hit {
    fn eq(&self, other: &Hit) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Hit {}

/// BM25's inverse document frequency, as tantivy computes it.
fn idf(df: u64, docs: u64) -> f32 {
    let x = (docs.saturating_sub(df) as f32 + 0.5) / (df as f32 + 0.5);
    (1.0 + x).ln()
}

/// Terms whose document frequency a snapshot keeps per field at most; it starts again when
/// full (as the view's memos do).
const DF_MEMO_LIMIT: usize = 500_000;

impl Snapshot {
    pub(super) fn new(searcher: Searcher, fields: Fields) -> tantivy::Result<Snapshot> {
        let num_docs = searcher.num_docs();
        let retrieval = [fields.words, fields.grams, fields.ids];
        let mut segments = Vec::with_capacity(searcher.segment_readers().len());
        let mut max_docs = 0u64;
        let mut tokens = [0u64; 3];
        for seg in searcher.segment_readers() {
            let inverted = [
                seg.inverted_index(retrieval[WORDS])?,
                seg.inverted_index(retrieval[GRAMS])?,
                seg.inverted_index(retrieval[IDS])?,
            ];
            for (n, inv) in tokens.iter_mut().zip(&inverted) {
                *n += inv.total_num_tokens();
            }
            // A field without norms scores every document as one token long (tantivy's
            // choice too).
            let norms = retrieval.map(|f| {
                seg.fieldnorms_readers()
                    .get_field(f)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| FieldNormReader::constant(seg.max_doc(), 1))
            });
            segments.push(SegmentSource {
                base: max_docs as u32,
                inverted,
                norms,
                alive: seg.alive_bitset().cloned(),
            });
            max_docs += u64::from(seg.max_doc());
        }
        let norm_cache = tokens.map(|n| {
            let average = n as f32 / max_docs as f32;
            std::array::from_fn(|id| {
                let dl = FieldNormReader::id_to_fieldnorm(id as u8) as f32;
                K1 * (1.0 - B + B * dl / average)
            })
        });
        let mut snap = Snapshot {
            searcher,
            fields,
            num_docs,
            photo_index: crate::photo::hamming::HammingIndex::new(),
            pdq_index: crate::photo::hamming::HammingIndex::new(),
            keypoint_index: Default::default(),
            photo_docs: Vec::new(),
            word_terms: Memo::new(DF_MEMO_LIMIT),
            gram_terms: Memo::new(DF_MEMO_LIMIT),
            segments,
            max_docs,
            norm_cache,
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
        self.with_term(field, term, |e| e.df)
    }

    /// `read` of `term`'s entry in `field` (retrieval's fields only), memoised for the words
    /// and n-grams fields.
    fn with_term<R>(&self, field: Field, term: &str, read: impl FnOnce(&TermEntry) -> R) -> R {
        let lookup = || self.term_entry(field, term);
        if field == self.fields.words {
            self.word_terms.with(term, lookup, read)
        } else if field == self.fields.grams {
            self.gram_terms.with(term, lookup, read)
        } else {
            read(&lookup())
        }
    }

    /// `term`'s postings in each segment, from the term dictionaries.
    fn term_entry(&self, field: Field, term: &str) -> TermEntry {
        let t = Term::from_field_text(field, term);
        let mut df = 0u64;
        let mut infos = Vec::new();
        for (ord, seg) in self.searcher.segment_readers().iter().enumerate() {
            let info = seg
                .inverted_index(field)
                .ok()
                .and_then(|inv| inv.get_term_info(&t).ok().flatten());
            if let Some(info) = info {
                df += u64::from(info.doc_freq);
                infos.push((ord as u32, info));
            }
        }
        TermEntry {
            df,
            infos: infos.into(),
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

    /// The `k` best candidates for a listing: BM25 over words, n-grams and identifiers, best
    /// first, ties in address order.
    ///
    /// Scored term at a time into a per-thread array rather than by a tantivy query: the
    /// query's per-term scorer set-up and block-WAND were a quarter of a sweep's CPU, for
    /// posting lists that are short (terms in more than 1 % of the records are asked only when
    /// nothing rarer is left). The scores are tantivy's BM25 with the snapshot's statistics;
    /// only the order of the sums differs, so near-ties can rank otherwise in the last bits.
    pub fn retrieve(&self, probe: &Probe, k: usize) -> tantivy::Result<Vec<DocAddress>> {
        let top = self.retrieve_scored(probe, k)?;
        Ok(top.into_iter().map(|(_, a)| a).collect())
    }

    /// [`Snapshot::retrieve`] with the scores.
    fn retrieve_scored(&self, probe: &Probe, k: usize) -> tantivy::Result<Vec<(f32, DocAddress)>> {
        let mut terms: Vec<Scored> = Vec::new();
        for (field, text, boost) in self.chosen_terms(probe) {
            let f = [self.fields.words, self.fields.grams, self.fields.ids][field];
            self.with_term(f, text, |e| {
                let weight = idf(e.df, self.max_docs) * (1.0 + K1) * boost;
                terms.extend(e.infos.iter().map(|(segment, info)| Scored {
                    field,
                    segment: *segment,
                    info: info.clone(),
                    weight,
                }));
            });
        }
        if terms.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let (scores, touched) = &mut *scratch;
            if scores.len() < self.max_docs as usize {
                scores.resize(self.max_docs as usize, 0.0);
            }
            let scored = self.accumulate(&terms, scores, touched);
            let top = scored.map(|()| self.top(scores, touched, k));
            for &d in touched.iter() {
                scores[d as usize] = 0.0;
            }
            touched.clear();
            top
        })
    }

    /// Adds every query term's BM25 share to the documents of its postings.
    ///
    /// Without a branch on whether a document is touched for the first time: that branch is
    /// data (a coin toss for rare terms), and its mispredictions kept the score array's cache
    /// misses from overlapping (half the loop's samples sat on that load; sweep9). The
    /// document is written at the end of `touched` every time and counted only when new.
    fn accumulate(
        &self,
        terms: &[Scored],
        scores: &mut [f32],
        touched: &mut Vec<u32>,
    ) -> tantivy::Result<()> {
        for t in terms {
            let cache = &self.norm_cache[t.field];
            let Some(src) = self.segments.get(t.segment as usize) else {
                continue;
            };
            let norms = &src.norms[t.field];
            let alive = src.alive.as_ref();
            let mut block = src.inverted[t.field]
                .read_block_postings_from_terminfo(&t.info, IndexRecordOption::WithFreqs)?;
            loop {
                let docs = block.docs();
                if docs.is_empty() {
                    break;
                }
                // Without recorded frequencies (the ids field) every frequency is 1.
                let freqs = block.freqs();
                let mut len = touched.len();
                touched.resize(len + docs.len(), 0);
                for (i, &doc) in docs.iter().enumerate() {
                    if alive.is_some_and(|a| !a.is_alive(doc)) {
                        continue;
                    }
                    let tf = freqs.get(i).copied().unwrap_or(1) as f32;
                    let norm = cache[norms.fieldnorm_id(doc) as usize];
                    let slot = (src.base + doc) as usize;
                    let Some(score) = scores.get_mut(slot) else {
                        continue;
                    };
                    touched[len] = slot as u32;
                    len += usize::from(*score == 0.0);
                    *score += t.weight * (tf / (tf + norm));
                }
                touched.truncate(len);
                block.advance();
            }
        }
        Ok(())
    }

    /// The `k` best of the touched documents, best first, ties in address order (as tantivy's
    /// top-docs collector breaks them). A heap of `k`: the touched documents are thousands,
    /// and most fall below the heap's worst at one comparison.
    fn top(&self, scores: &[f32], touched: &[u32], k: usize) -> Vec<(f32, DocAddress)> {
        let mut heap: BinaryHeap<Hit> = BinaryHeap::with_capacity(k + 1);
        for &d in touched {
            let hit = Hit(scores[d as usize], d);
            if heap.len() < k {
                heap.push(hit);
            } else if heap.peek().is_some_and(|worst| hit < *worst) {
                heap.pop();
                heap.push(hit);
            }
        }
        heap.into_sorted_vec()
            .into_iter()
            .map(|Hit(s, d)| (s, self.address(d)))
            .collect()
    }

    /// The address of a document ordinal of [`Snapshot::retrieve`]'s accumulators.
    fn address(&self, ordinal: u32) -> DocAddress {
        let seg = self
            .segments
            .partition_point(|s| s.base <= ordinal)
            .saturating_sub(1);
        let base = self.segments.get(seg).map_or(0, |s| s.base);
        DocAddress::new(seg as u32, ordinal - base)
    }

    /// The terms retrieval asks for, with their boosts: a record that has none of them cannot
    /// be a candidate for this listing.
    pub fn query_terms(&self, probe: &Probe) -> Vec<(Field, String, f32)> {
        let fields = [self.fields.words, self.fields.grams, self.fields.ids];
        self.chosen_terms(probe)
            .into_iter()
            .map(|(f, text, boost)| (fields[f], text.to_string(), boost))
            .collect()
    }

    /// [`Snapshot::query_terms`] by field index (see [`WORDS`]), borrowing the probe's text.
    fn chosen_terms<'p>(&self, probe: &'p Probe) -> Vec<(usize, &'p str, f32)> {
        let f = &self.fields;
        let mut out = Vec::new();
        // The rarest terms only: common ones cost long posting lists and say little. Ties keep
        // the text order, so results do not depend on hash order.
        let mut words: Vec<&str> = probe.words.iter().map(String::as_str).collect();
        words.sort_unstable();
        words.dedup();
        for w in self.rarest(f.words, words, MAX_WORDS) {
            out.push((WORDS, w, 1.0));
        }
        let grams = probe.grams.iter().map(String::as_str).collect();
        for g in self.rarest(f.grams, grams, MAX_GRAMS) {
            out.push((GRAMS, g, 0.3));
        }
        for id in &probe.ids {
            out.push((IDS, id.as_str(), 3.0));
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

    use tantivy::query::{Bm25StatisticsProvider, BooleanQuery, BoostQuery, Occur, Query};

    /// tantivy's BM25 statistics with the snapshot's document frequencies: the reference
    /// retrieval is compared with.
    impl Bm25StatisticsProvider for Snapshot {
        fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
            self.searcher.total_num_tokens(field)
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

    /// The `k` best of tantivy's own search for `probe` (a boolean query of boosted term
    /// queries, what retrieval ran before it scored the postings itself), with scores.
    fn tantivy_top(snap: &Snapshot, probe: &Probe, k: usize) -> Vec<(f32, DocAddress)> {
        let clauses: Vec<(Occur, Box<dyn Query>)> = snap
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
        if clauses.is_empty() {
            return Vec::new();
        }
        let q = BooleanQuery::new(clauses);
        let top = TopDocs::with_limit(k).order_by_score();
        snap.searcher
            .search_with_statistics_provider(&q, &top, snap)
            .unwrap()
    }

    /// BM25 over every live record from its own index terms, by the formula (no index read
    /// but the statistics): the brute force retrieval must agree with.
    fn brute_top(
        snap: &Snapshot,
        all: &[(DocAddress, IndexTerms)],
        probe: &Probe,
        k: usize,
    ) -> Vec<(f32, DocAddress)> {
        let n = snap.max_docs;
        let fields = |t: &IndexTerms| [t.words.clone(), t.grams.clone(), t.ids.clone()];
        // The index's statistics (removed records count until their segment is merged away,
        // as in tantivy's), the records' own terms.
        let f = &snap.fields;
        let avg = [f.words, f.grams, f.ids]
            .map(|f| snap.searcher.total_num_tokens(f).unwrap() as f32 / n as f32);
        let terms = snap.chosen_terms(probe);
        let mut hits: Vec<(f32, DocAddress)> = all
            .iter()
            .filter_map(|(a, t)| {
                let fs = fields(t);
                let mut score = 0f32;
                let mut any = false;
                for &(fi, text, boost) in &terms {
                    let tf = fs[fi].iter().filter(|w| String::as_str(w) == text).count();
                    if tf == 0 {
                        continue;
                    }
                    any = true;
                    // The ids field keeps no frequencies: a key counts once.
                    let tf = if fi == IDS { 1.0 } else { tf as f32 };
                    let dl = FieldNormReader::id_to_fieldnorm(FieldNormReader::fieldnorm_to_id(
                        fs[fi].len() as u32,
                    )) as f32;
                    let df = snap.with_term(
                        [snap.fields.words, snap.fields.grams, snap.fields.ids][fi],
                        text,
                        |e| e.df,
                    );
                    let w = idf(df, n) * (1.0 + K1) * boost;
                    score += w * tf / (tf + K1 * (1.0 - B + B * dl / avg[fi]));
                }
                any.then_some((score, *a))
            })
            .collect();
        hits.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        hits.truncate(k);
        hits
    }

    /// The same top `k` as `reference`, ties aside: rank by rank the scores agree to float
    /// rounding, and a record in one list and not the other scores within rounding of the
    /// last kept score (a near-tie at the cut).
    fn assert_same_top(got: &[(f32, DocAddress)], reference: &[(f32, DocAddress)], what: &str) {
        assert_eq!(
            got.len(),
            reference.len(),
            "{what}: {got:?} / {reference:?}"
        );
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-4 * a.abs().max(b.abs()).max(1.0);
        for (g, r) in got.iter().zip(reference) {
            assert!(close(g.0, r.0), "{what}: {got:?} / {reference:?}");
        }
        let Some(last) = reference.last().map(|r| r.0) else {
            return;
        };
        for (a, b) in [(got, reference), (reference, got)] {
            for (score, addr) in a {
                if !b.iter().any(|(_, x)| x == addr) {
                    assert!(
                        close(*score, last),
                        "{what}: {addr:?} {got:?} / {reference:?}"
                    );
                }
            }
        }
    }

    /// Every live record's own index terms.
    fn live_terms(snap: &Snapshot) -> Vec<(DocAddress, IndexTerms)> {
        snap.all_addresses()
            .into_iter()
            .map(|a| (a, IndexTerms::of(&snap.record(a).unwrap())))
            .collect()
    }

    fn scored(snap: &Snapshot, p: &Probe, k: usize) -> Vec<(f32, DocAddress)> {
        let got = snap.retrieve_scored(p, k).unwrap();
        let addrs: Vec<DocAddress> = got.iter().map(|(_, a)| *a).collect();
        assert_eq!(snap.retrieve(p, k).unwrap(), addrs);
        got
    }

    /// Retrieval scores the postings itself: the same top records as tantivy's own search with
    /// the same statistics and as BM25 computed by brute force over every record, ties aside;
    /// asked twice (memo filled, then read).
    #[test]
    fn retrieval_is_bm25_over_the_query_terms() {
        let store = Store::in_memory().unwrap();
        store.ingest(records()).unwrap();
        let snap = store.snapshot().unwrap();
        let all = live_terms(&snap);
        let mut compared = 0;
        for r in records().iter().take(80) {
            let mut p = own_probe(r);
            // Half the probes lose terms, so that the record is not always alone at the top.
            if r.id.len() % 2 == 0 {
                p.words.truncate(2);
                p.grams.truncate(3);
            }
            for k in [1, 10, 50] {
                for _ in 0..2 {
                    let got = scored(&snap, &p, k);
                    assert_same_top(&got, &tantivy_top(&snap, &p, k), &r.id);
                }
            }
            let got = scored(&snap, &p, 10);
            assert_same_top(&got, &brute_top(&snap, &all, &p, 10), &r.id);
            compared += usize::from(!snap.retrieve(&p, 10).unwrap().is_empty());
        }
        assert!(compared > 50, "{compared}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// On records made of a few shared words (so that scores tie and terms repeat), some of
        /// them removed again (deleted documents still in the segments), retrieval's top `k`
        /// is brute-force BM25's and tantivy's, ties aside.
        #[test]
        fn retrieval_is_bm25_on_any_records(
            titles in proptest::collection::vec(proptest::collection::vec(0usize..10, 1..6), 5..40),
            removed in proptest::collection::vec(0usize..40, 0..4),
            asked in proptest::collection::vec(0usize..10, 1..5),
            k in 1usize..12,
        ) {
            const VOCAB: [&str; 10] = [
                "kettle", "steel", "lamp", "desk", "voltmax", "charger", "helmet", "red", "xk200",
                "bottle",
            ];
            let text = |ws: &[usize]| ws.iter().map(|&w| VOCAB[w]).collect::<Vec<_>>().join(" ");
            let records: Vec<BannedRecord> = titles
                .iter()
                .enumerate()
                .map(|(i, ws)| {
                    let v = serde_json::json!({"id": format!("R{i}"), "title": text(ws)});
                    BannedRecord::from_value(v).unwrap().record
                })
                .collect();
            let store = Store::in_memory().unwrap();
            store.ingest(records).unwrap();
            let gone: Vec<String> = removed
                .iter()
                .filter(|&&i| i < titles.len())
                .map(|i| format!("R{i}"))
                .collect();
            store.remove(&gone).unwrap();
            let snap = store.snapshot().unwrap();
            let v = serde_json::json!({"id": "Q", "title": text(&asked)});
            let p = own_probe(&BannedRecord::from_value(v).unwrap().record);
            let got = scored(&snap, &p, k);
            assert_same_top(&got, &tantivy_top(&snap, &p, k), "tantivy");
            assert_same_top(&got, &brute_top(&snap, &live_terms(&snap), &p, k), "brute force");
            for (_, a) in &got {
                let id = snap.record(*a).unwrap().id;
                proptest::prop_assert!(!gone.contains(&id), "{id} was removed");
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

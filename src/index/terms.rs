//! The index terms of a banned record: what the writer puts in the retrieval fields, and so
//! what retrieval can find a record by.
//!
//! These terms are part of the index format. An index written with other terms still opens but
//! retrieves differently (a listing's query terms no longer meet the stored ones), so any change
//! here must bump [`FORMAT_VERSION`](super::FORMAT_VERSION); the `pinned_terms` test below fails
//! first to say so.

use crate::model::{BannedRecord, RecordKind};
use crate::text::ident;
use crate::text::normalize::TextKeys;

/// A record's terms per retrieval field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexTerms {
    /// Leet-keyed words of title and brand (CJK as character bigrams): the `words` field.
    pub words: Vec<String>,
    /// Character n-grams of the title: the `grams` field.
    pub grams: Vec<String>,
    /// Model-number keys, then GTIN-14s: the `ids` field.
    pub ids: Vec<String>,
    /// The record has photo hashes: it belongs to the photo index (the `photo` field).
    pub photo: bool,
}

impl IndexTerms {
    /// The terms written for `record`. Term rules are matched by name, never retrieved by
    /// text, so they have none.
    pub fn of(record: &BannedRecord) -> IndexTerms {
        if record.kind == RecordKind::Term {
            return IndexTerms::default();
        }
        let title = TextKeys::new(&record.title);
        IndexTerms {
            words: title_brand_words(&title, record),
            grams: title.gram_strings(),
            ids: ids(record),
            photo: has_photos(record),
        }
    }
}

fn title_brand_words(title: &TextKeys, record: &BannedRecord) -> Vec<String> {
    let mut w = title.index_words();
    if let Some(b) = &record.brand {
        w.extend(TextKeys::new(b).index_words());
    }
    w
}

/// Words for the `words` field: title, then brand.
pub fn words(record: &BannedRecord) -> Vec<String> {
    title_brand_words(&TextKeys::new(&record.title), record)
}

/// N-grams for the `grams` field: the title's, sorted and distinct.
pub fn grams(record: &BannedRecord) -> Vec<String> {
    TextKeys::new(&record.title).gram_strings()
}

/// `(as written, key)` of a record's model numbers: its `models` field, then the primary
/// models named in title or description, each key once and at least 3 characters long.
pub fn models(record: &BannedRecord) -> Vec<(String, String)> {
    ident::record_models(&record.models, &record.title, record.description.as_deref())
}

/// Keys for the `ids` field: model keys (as [`models`]), then the record's GTIN-14s.
pub fn ids(record: &BannedRecord) -> Vec<String> {
    let mut ids: Vec<String> = models(record).into_iter().map(|(_, k)| k).collect();
    ids.extend(record.gtins.iter().cloned());
    ids
}

/// Whether a record has photo hashes (of whole photos, crops or PDQ) the photo index is built
/// from.
pub fn has_photos(record: &BannedRecord) -> bool {
    let h = &record.image_hashes;
    !crate::photo::photos(h).is_empty()
        || !crate::photo::crop_photos(h).is_empty()
        || !crate::photo::pdqs(h).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BannedRecord {
        BannedRecord::from_value(serde_json::json!({
            "id": "PIN-1",
            "title": "VoltMax HB-2210X 20000mAh Power Bank, Schwarz – 충전기",
            "brand": "Vоltmax", // Cyrillic о
            "models": ["HB-2210X", "hb2210x", "X1"],
            "description": "Recalled: model FQ8-ULTRA-690 overheats.",
            "gtins": ["4006381333931"],
            "image_hashes": [
                {"algo": "dhash", "hash": "f0e1d2c3b4a59687"},
                {"algo": "phash", "hash": "0123456789abcdef"},
            ],
        }))
        .expect("valid record")
        .record
    }

    /// Changing what the index stores for a record changes which records retrieval finds in an
    /// existing index. If this fails because the terms were changed on purpose, bump
    /// `FORMAT_VERSION` (store/manifest.rs) and then update the expected terms here.
    #[test]
    fn pinned_terms() {
        let t = IndexTerms::of(&sample());
        let expected = IndexTerms {
            words: strings(&[
                "voitmax", "hb", "22iox", "2oooomah", "power", "bank", "schwarz", "충전", "전기",
                "voitmax",
            ]),
            grams: strings(&[
                "22i", "2io", "2oo", "ahp", "ank", "arz", "axh", "b22", "ban", "chw", "erb", "hb2",
                "hpo", "hwa", "iox", "itm", "ksc", "mah", "max", "nks", "oit", "oma", "oom", "ooo",
                "owe", "ox2", "pow", "rba", "sch", "tma", "voi", "war", "wer", "x2o", "xhb",
                "전기", "충전",
            ]),
            ids: strings(&["hb2210x", "fq8u1tra690", "04006381333931"]),
            photo: true,
        };
        assert_eq!(
            (t, super::super::FORMAT_VERSION),
            (expected, 1),
            "the index terms changed: bump FORMAT_VERSION in src/index/manifest.rs, then update \
             this test"
        );
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn term_rules_have_no_index_terms() {
        let mut r = sample();
        r.kind = RecordKind::Term;
        r.terms = vec!["melatonin".into()];
        assert_eq!(IndexTerms::of(&r), IndexTerms::default());
    }

    #[test]
    fn field_functions_agree_with_of() {
        let r = sample();
        let t = IndexTerms::of(&r);
        assert_eq!(t.words, words(&r));
        assert_eq!(t.grams, grams(&r));
        assert_eq!(t.ids, ids(&r));
        assert_eq!(t.photo, has_photos(&r));
    }
}

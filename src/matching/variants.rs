//! Variant words: title words whose absence from the other side of a pair tells two products
//! of one line apart (an edition, a version, a year, a capacity, a platform, a pack size).
//!
//! Which words do that is learned from labelled pairs, never listed by hand: for every word
//! that one side of a training pair writes and the other does not, how often such a pair was
//! two products rather than two offers of one. "cs3", "upgrade", "academic" or "mac" differ
//! mostly between different products; "new", "free" or a shop's name differ between offers of
//! the same one. The table ([`Variants`]) ships inside the model file with the identifier
//! roles, so a model trained without a dataset also learned its words without it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::text::normalize::TextKeys;

/// Pairs a word must differ in before what they say about it is kept: fewer are noise.
pub const SUPPORT: u32 = 5;

/// Pseudo-pairs at the base rate that every word's counts are shrunk towards: a word seen in
/// three negative pairs is some evidence, not certainty.
const PRIOR: f64 = 4.0;

/// Words whose learned weight is under this are left out of the table: they tell no more than
/// any differing word does, and the file stays small.
const KEPT: f64 = 0.05;

/// For each word, how much more often a pair differing in it was two products than pairs
/// differing in any word were: the log of the ratio of the odds, shrunk towards 0 and floored
/// at 0 (a word offers of one product often differ in is no evidence of a match either).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Variants {
    #[serde(serialize_with = "crate::matching::roles::sorted")]
    words: HashMap<String, f32>,
}

impl Variants {
    /// The learned weight of a word (as [`TextKeys::plain`] writes it); 0 when unknown.
    pub fn weight(&self, word: &str) -> f32 {
        self.words.get(word).copied().unwrap_or(0.0)
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Learns the table from labelled pairs: the source each comes from, the words that differ
    /// between its two sides ([`differing`], both directions together) and whether it was one
    /// product. A word is weighed against its sources' own base rates: a benchmark of mostly
    /// negative pairs does not make every word it uses look telling.
    pub fn learn<'a>(pairs: impl IntoIterator<Item = (usize, &'a [String], bool)>) -> Variants {
        let mut seen: Vec<(&str, usize, bool)> = Vec::new();
        let mut by_source: HashMap<usize, (f64, f64)> = HashMap::new();
        for (source, words, same) in pairs {
            let b = by_source.entry(source).or_default();
            for w in words {
                seen.push((w.as_str(), source, same));
                if same {
                    b.1 += 1.0;
                } else {
                    b.0 += 1.0;
                }
            }
        }
        // Each source's base rate: of its differing words, the share in pairs of two products.
        // A source of one kind of pair says nothing about which words tell products apart.
        let base: HashMap<usize, f64> = by_source
            .into_iter()
            .filter(|(_, (n, p))| *n > 0.0 && *p > 0.0)
            .map(|(s, (n, p))| (s, (n / (n + p)).clamp(0.01, 0.99)))
            .collect();
        // Per word: negatives, positives, and the base rates of the sources it was seen in.
        let mut counts: HashMap<&str, (f64, f64, Vec<usize>)> = HashMap::new();
        for (w, source, same) in seen {
            if !base.contains_key(&source) {
                continue;
            }
            let c = counts.entry(w).or_default();
            if same {
                c.1 += 1.0;
            } else {
                c.0 += 1.0;
            }
            c.2.push(source);
        }
        let words = counts
            .into_iter()
            .filter(|(_, (n, p, _))| n + p >= f64::from(SUPPORT))
            .filter_map(|(w, (n, p, sources))| {
                let expected = sources.iter().map(|s| base[s]).sum::<f64>() / sources.len() as f64;
                let odds = (n + PRIOR * expected) / (p + PRIOR * (1.0 - expected));
                let lr = (odds / (expected / (1.0 - expected))).ln();
                // Two decimals: the file stays readable and the trees see the same values.
                (lr >= KEPT).then(|| (w.to_string(), ((lr * 100.0).round() / 100.0) as f32))
            })
            .collect();
        Variants { words }
    }

    /// The weight of the most telling word in `words`; 0 when none is known.
    pub fn strongest(&self, words: &[String]) -> f32 {
        words.iter().map(|w| self.weight(w)).fold(0.0, f32::max)
    }
}

/// Words one side of a pair writes and the other does not: the listing's title and brand words
/// absent from the banned record's title, brand and models (`banned_side`), and the banned
/// title's words absent from the listing's title and brand. Distinct, as written (folded).
pub fn differing(
    listing_head: &TextKeys,
    banned_title: &TextKeys,
    banned_side: &TextKeys,
) -> (Vec<String>, Vec<String>) {
    let absent = |from: &TextKeys, other: &TextKeys| {
        let mut out: Vec<String> = Vec::new();
        for w in &from.plain {
            if !other.plain.contains(w) && !out.contains(w) {
                out.push(w.clone());
            }
        }
        out
    };
    (
        absent(listing_head, banned_side),
        absent(banned_title, listing_head),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn words_that_differ_between_products_are_learned_as_variants() {
        let mut pairs: Vec<(Vec<String>, bool)> = Vec::new();
        // Editions and versions differ between products; shops' words between offers of one.
        for _ in 0..6 {
            pairs.push((words("cs3 cs4"), false));
            pairs.push((words("upgrade"), false));
            pairs.push((words("new shipping"), true));
            pairs.push((words("new"), false));
        }
        pairs.push((words("upgrade"), true));
        pairs.push((words("once twice"), false));
        let v = Variants::learn(pairs.iter().map(|(w, y)| (0, w.as_slice(), *y)));
        assert!(v.weight("cs4") > 0.3, "{v:?}");
        assert!(v.weight("upgrade") > 0.0);
        assert!(v.weight("upgrade") < v.weight("cs4"));
        // Noise words and words seen too rarely weigh nothing.
        assert_eq!(v.weight("new"), 0.0);
        assert_eq!(v.weight("shipping"), 0.0);
        assert_eq!(v.weight("once"), 0.0);
        assert_eq!(v.weight("never seen"), 0.0);
        assert_eq!(v.strongest(&words("new cs3 upgrade")), v.weight("cs3"));
        assert_eq!(v.strongest(&[]), 0.0);
    }

    #[test]
    fn one_kind_of_pair_teaches_nothing() {
        let pairs = vec![(words("cs3 cs4"), false); 6];
        let v = Variants::learn(pairs.iter().map(|(w, y)| (0, w.as_slice(), *y)));
        assert!(v.is_empty());
        let v = Variants::learn(std::iter::empty());
        assert!(v.is_empty());
    }

    #[test]
    fn the_differing_words_of_a_pair_are_each_sides_own() {
        let l = TextKeys::new("Adobe Photoshop CS4 upgrade for Mac");
        let t = TextKeys::new("Adobe Photoshop CS3");
        let side = TextKeys::new("Adobe Photoshop CS3 Adobe PS-CS3");
        let (listing, banned) = differing(&l, &t, &side);
        assert_eq!(listing, words("cs4 upgrade for mac"));
        assert_eq!(banned, words("cs3"));
        let (listing, banned) = differing(&t, &t, &t);
        assert!(listing.is_empty() && banned.is_empty());
    }

    #[test]
    fn the_table_round_trips_in_key_order() {
        let pairs: Vec<(Vec<String>, bool)> = (0..8)
            .map(|i| (words("zeta alpha"), i == 0))
            .chain((0..8).map(|_| (words("plain"), true)))
            .collect();
        let v = Variants::learn(pairs.iter().map(|(w, y)| (0, w.as_slice(), *y)));
        let text = serde_json::to_string(&v).unwrap();
        assert!(text.find("alpha") < text.find("zeta"), "{text}");
        let back: Variants = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}

//! Identifier roles: which model-like tokens name one product, and which are attributes that
//! many products share (memory standards, interfaces, CPUs, sockets, sizes, line names).
//!
//! A record's own `models` and `gtins` are its identity. Tokens found in titles and
//! descriptions are only candidates: "DDR2-667", "i5-2410M" or "LGA1151" look like model
//! numbers, but hundreds of different products name them. How identifying a token is was
//! learned from data, not listed by hand: [`Roles`] holds, for every model key seen in the
//! training corpus (labelled product offers, grouped into products by their labels), the
//! number of distinct products it occurs in. It ships inside the model file, so a model trained
//! without a dataset also learned its roles without it. In use, the index adds what it knows:
//! a key that several banned records carry names a kind of product, not one product.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::matching::variants::Variants;
use crate::text::ident;

/// A key seen in this many distinct products of the corpus is an attribute, never identity.
pub const ATTRIBUTE_SPREAD: u32 = 4;

/// A model key carried by this many distinct banned products ([`distinct_products`]) is an
/// attribute of the indexed products.
pub const COMMON_ID: u64 = 3;

/// Most records carrying one key that are read to count the products among them: a key on more
/// records than this names a kind of product whatever they are.
pub const CARRIERS_READ: u64 = 24;

/// A family of keys ([`ident::family_key`]) whose values each name this many products on
/// average is a spec family: a value never seen ("LGA1700" where "LGA1151" and "LGA775" were)
/// is an attribute too.
pub const FAMILY_SPREAD: f32 = 3.0;

/// Least distinct keys of a family for its average to say anything.
const FAMILY_KEYS: u32 = 3;

/// How many distinct products each model key occurs in (keys seen in only one are left out:
/// the table stays small, and unseen means the same as seen once), and per family of keys how
/// many keys it has and how many products they name together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Roles {
    #[serde(serialize_with = "sorted")]
    spread: HashMap<String, u32>,
    #[serde(default, serialize_with = "sorted")]
    families: HashMap<String, (u32, u32)>,
    /// Title words that tell products of one line apart, learned from labelled pairs.
    #[serde(default)]
    variants: Variants,
}

/// Maps written in key order, so that a retrained model file diffs line by line.
pub(crate) fn sorted<S: serde::Serializer, V: Serialize>(
    m: &HashMap<String, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    m.iter().collect::<BTreeMap<_, _>>().serialize(s)
}

impl Roles {
    /// Distinct products of the corpus that name this key; 0 or 1 when it names one or none.
    pub fn spread(&self, key: &str) -> u32 {
        self.spread.get(key).copied().unwrap_or(0)
    }

    /// Whether a token (`raw` as written, `key` its model key) is an attribute by what the
    /// corpus showed: many products name it, or its family is a spec family; or by its grammar
    /// ([`grammar_attribute`], read on the plain form: swap classes hide units; `raw` folded or
    /// ASCII, as tokens and records' model numbers are).
    pub fn is_attribute(&self, key: &str, raw: &str) -> bool {
        // Shorter keys are never model numbers, so nothing was learned about them.
        if key.len() < 4 {
            return false;
        }
        if self.spread(key) >= ATTRIBUTE_SPREAD || grammar_attribute(&ident::plain_folded(raw)) {
            return true;
        }
        self.families
            .get(&ident::family_key(key))
            .is_some_and(|(keys, products)| {
                *keys >= FAMILY_KEYS && *products as f32 / *keys as f32 >= FAMILY_SPREAD
            })
    }

    pub fn len(&self) -> usize {
        self.spread.len()
    }

    /// The variant words learned beside the roles ([`Variants`]).
    pub fn variants(&self) -> &Variants {
        &self.variants
    }

    pub fn with_variants(mut self, variants: Variants) -> Roles {
        self.variants = variants;
        self
    }

    pub fn is_empty(&self) -> bool {
        self.spread.is_empty()
    }

    /// Learns the table from product offers: `(product, text)` pairs, where offers of one
    /// product share its id (a cluster id, or the component of labelled matches).
    pub fn learn<'a>(offers: impl IntoIterator<Item = (u64, &'a str)>) -> Roles {
        let mut seen: HashMap<String, Vec<u64>> = HashMap::new();
        for (product, text) in offers {
            for m in ident::extract_models(text)
                .into_iter()
                .filter(|m| m.primary)
            {
                let products = seen.entry(m.key).or_default();
                if !products.contains(&product) {
                    products.push(product);
                }
            }
        }
        let mut families: HashMap<String, (u32, u32)> = HashMap::new();
        for (k, p) in &seen {
            let f = families.entry(ident::family_key(k)).or_default();
            f.0 += 1;
            f.1 += p.len() as u32;
        }
        families.retain(|_, (keys, _)| *keys >= FAMILY_KEYS);
        Roles {
            spread: seen
                .into_iter()
                .map(|(k, p)| (k, p.len() as u32))
                .filter(|(_, n)| *n >= 2)
                .collect(),
            families,
            variants: Variants::default(),
        }
    }
}

/// What tells two banned records apart as products: brand, codes (model keys) and measures.
pub struct ProductKeys<'a> {
    pub brand: Option<&'a str>,
    /// The record's own `models` keys.
    pub explicit: Vec<&'a str>,
    pub codes: Vec<&'a str>,
    pub attrs: &'a [(&'static str, f64)],
    pub colours: &'a [&'static str],
}

impl ProductKeys<'_> {
    /// Nothing sets the two apart: no two brands, no two lists of own models with none in
    /// common, no two codes of one family a character or two apart, no measure of one kind with
    /// no value in common, no two colours.
    pub fn compatible(&self, o: &ProductKeys) -> bool {
        if crate::matching::attrs::colour_conflict(self.colours, o.colours) {
            return false;
        }
        if !self.explicit.is_empty()
            && !o.explicit.is_empty()
            && !self.explicit.iter().any(|k| o.explicit.contains(k))
        {
            return false;
        }
        if let (Some(a), Some(b)) = (self.brand, o.brand)
            && !a.contains(b)
            && !b.contains(a)
        {
            return false;
        }
        if self
            .codes
            .iter()
            .any(|a| o.codes.iter().any(|b| ident::strict_sibling(a, b)))
        {
            return false;
        }
        let close = |x: f64, y: f64| (x - y).abs() <= 0.02 * x.abs().max(y.abs());
        !self.attrs.iter().any(|(kind, _)| {
            let theirs: Vec<f64> = o
                .attrs
                .iter()
                .filter(|(k, _)| k == kind)
                .map(|(_, v)| *v)
                .collect();
            !theirs.is_empty()
                && !self
                    .attrs
                    .iter()
                    .filter(|(k, _)| k == kind)
                    .any(|(_, x)| theirs.iter().any(|y| close(*x, *y)))
        })
    }
}

/// How many distinct products the banned records carrying model key `key` are. Several
/// records of one product are normal (two regulators recall it, shops list it under their own
/// titles) and must not turn its model number into an attribute; records that name other
/// brands, sibling codes or other sizes beside the key are other products, and a key they
/// share names a kind of product. Greedy: a record joins the first product nothing sets it
/// apart from.
pub fn distinct_products(records: &[crate::model::BannedRecord], key: &str) -> u64 {
    let facts: Vec<Facts> = records.iter().map(|r| Facts::of(r, key)).collect();
    let mut products: Vec<ProductKeys> = Vec::new();
    for p in facts.iter().map(Facts::keys) {
        if !products.iter().any(|q| q.compatible(&p)) {
            products.push(p);
        }
    }
    products.len() as u64
}

/// The owned side of [`ProductKeys`] for a record that is not prepared: the carriers are read
/// while a record is being prepared, so they cannot be prepared themselves (their counts
/// would need this count).
struct Facts {
    brand: Option<String>,
    explicit: Vec<String>,
    /// Model keys other than the one counted: a sibling of it on another record is that
    /// record's own code, not a second code of this one.
    codes: Vec<String>,
    attrs: Vec<(&'static str, f64)>,
    colours: Vec<&'static str>,
}

impl Facts {
    fn of(r: &crate::model::BannedRecord, key: &str) -> Facts {
        Facts {
            brand: crate::matching::features::brand_key(r.brand.as_deref()),
            explicit: r.models.iter().map(|m| ident::model_key(m)).collect(),
            codes: ident::record_models(&r.models, &r.title, r.description.as_deref())
                .into_iter()
                .map(|(_, k)| k)
                .filter(|k| k != key)
                .collect(),
            attrs: crate::matching::attrs::extract(&r.title),
            colours: crate::matching::attrs::colours(&r.title),
        }
    }

    fn keys(&self) -> ProductKeys<'_> {
        ProductKeys {
            brand: self.brand.as_deref(),
            explicit: self.explicit.iter().map(String::as_str).collect(),
            codes: self.codes.iter().map(String::as_str).collect(),
            attrs: &self.attrs,
            colours: &self.colours,
        }
    }
}

/// A key whose grammar makes it an attribute whatever the corpus says: a counted noun, or a
/// measure with little after it ([`ident::measure_led`]: "3Gb/s U.2").
pub fn grammar_attribute(key: &str) -> bool {
    counted_noun(key) || ident::measure_led(key)
}

/// A count followed by a word ("2-slot", "4-burner", "16-piece"). Units are already left out
/// by the extractor; this catches the open class of counted nouns, which no unit list can hold.
pub fn counted_noun(key: &str) -> bool {
    let digits = key.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &key[digits..];
    digits > 0 && rest.len() >= 4 && rest.bytes().all(|b| b.is_ascii_alphabetic())
}

/// How identifying an equal code is, in [0, 1]: 1 for a record's own `models` value or a code
/// no other product of the corpus names, less for a short key or one two products share, 0 for
/// an attribute.
pub fn identity(roles: &Roles, key: &str, raw: &str, explicit: bool, id_count: u64) -> f32 {
    if id_count >= COMMON_ID {
        return 0.0;
    }
    if explicit {
        return if key.len() >= 5 { 1.0 } else { 0.7 };
    }
    if roles.is_attribute(key, raw) {
        return 0.0;
    }
    let by_spread = if roles.spread(key) >= 2 { 0.5 } else { 1.0 };
    let by_length = if key.len() >= 5 { 1.0 } else { 0.6 };
    by_spread * by_length
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, title: &str, brand: Option<&str>) -> crate::model::BannedRecord {
        serde_json::from_value(serde_json::json!({"id": id, "title": title, "brand": brand}))
            .expect("record")
    }

    #[test]
    fn records_of_one_product_count_once_and_others_apart() {
        let key = ident::model_key("TL-WN821N");
        // Four shops' offers of one adapter: one product, so its code stays identity.
        let offers = [
            record(
                "a",
                "TP-Link TL-WN821 wifi 300Mbps USB adapter TL-WN821N",
                None,
            ),
            record(
                "b",
                "TP-Link TL-WN821N 300Mbps Wireless-N USB Adapter",
                Some("TP-Link"),
            ),
            record("c", "TP-LINK TL-WN821N Tarjeta Red WiFi N300 USB", None),
            record(
                "d",
                "Wireless USB Adapter TP-LINK TL-WN821N 300Mbps",
                Some("TP-LINK"),
            ),
        ];
        assert_eq!(distinct_products(&offers, &key), 1);
        // A spec on other products: other sizes, sibling codes, other brands.
        let key = ident::model_key("DDR4-2666");
        let sticks = [
            record(
                "a",
                "Corsair Vengeance 8GB DDR4-2666 CMK8GX4M1A2666C16",
                Some("Corsair"),
            ),
            record("b", "Corsair Vengeance 16GB DDR4-2666", Some("Corsair")),
            record(
                "c",
                "Corsair Vengeance DDR4-2666 CMK8GX4M1A2666C18",
                Some("Corsair"),
            ),
            record("d", "Kingston Fury 8GB DDR4-2666", Some("Kingston")),
        ];
        // (The 16 GB stick and the one with no size are not told apart: greedy, and fair.)
        assert_eq!(distinct_products(&sticks, &key), 3);
        // Colours and the records' own model numbers set products apart too.
        let key = ident::model_key("CLI-226");
        let tanks = [
            record("a", "Canon CLI-226 black ink tank", Some("Canon")),
            record("b", "Canon CLI-226 cyan ink tank", Some("Canon")),
            record("c", "Canon CLI-226 magenta ink tank", Some("Canon")),
        ];
        assert_eq!(distinct_products(&tanks, &key), 3);
        let mut packs = tanks.clone();
        for (p, m) in packs.iter_mut().zip(["4546B001", "KX-77Q", "ZT9000"]) {
            p.title = "Canon CLI-226 ink tank".into();
            p.models = vec![m.into()];
        }
        assert_eq!(distinct_products(&packs, &key), 3);
    }

    #[test]
    fn tokens_many_products_share_are_learned_as_attributes() {
        let offers = [
            (1, "Kingston 2GB DDR2-667 SO-DIMM KVR667D2S5/2G"),
            (2, "Crucial 1GB DDR2-667 laptop memory CT12864AC667"),
            (3, "Acer Aspire 5920 notebook DDR2-667"),
            (4, "Dell Inspiron 1501 DDR2-667 2GB"),
            (1, "Kingston KVR667D2S5/2G memory 2 GB DDR2-667"),
        ];
        let roles = Roles::learn(offers.iter().map(|(p, t)| (*p, *t)));
        assert_eq!(roles.spread(&ident::model_key("DDR2-667")), 4);
        // Two offers of one product count once.
        assert_eq!(roles.spread(&ident::model_key("KVR667D2S5/2G")), 0);
        assert_eq!(
            identity(&roles, &ident::model_key("ddr2-667"), "ddr2-667", false, 0),
            0.0
        );
        assert_eq!(
            identity(&roles, "kvr667d2s52g", "kvr667d2s52g", false, 0),
            1.0
        );
    }

    #[test]
    fn a_records_own_model_is_identity_unless_the_index_shares_it() {
        let roles = Roles::learn((0..9).map(|p| (p, "Acme PX-4410B")));
        assert_eq!(identity(&roles, "px4410b", "PX-4410B", true, 0), 1.0);
        assert_eq!(identity(&roles, "px4410b", "PX-4410B", false, 0), 0.0);
        assert_eq!(identity(&roles, "px4410b", "PX-4410B", true, 3), 0.0);
        assert!(identity(&roles, "c310", "C310", true, 0) > 0.5);
    }

    #[test]
    fn counted_nouns_are_attributes() {
        for k in ["2slot", "4burner", "16piece"] {
            assert!(counted_noun(k), "{k}");
            assert_eq!(identity(&Roles::default(), k, k, false, 0), 0.0);
        }
        // Units hidden by the swap classes are read on the plain form.
        let key = ident::model_key("6Gb/s25-inch");
        assert!(Roles::default().is_attribute(&key, "6Gb/s25-inch"));
        for k in ["4410b", "px4410b", "6700hq", "c310"] {
            assert!(!counted_noun(k), "{k}");
        }
    }

    #[test]
    fn the_table_round_trips_as_a_map() {
        let roles = Roles::learn([(1, "a DDR3-1333"), (2, "b DDR3-1333")]);
        let json = serde_json::to_string(&roles).unwrap();
        assert_eq!(serde_json::from_str::<Roles>(&json).unwrap(), roles);
        assert_eq!(roles.spread("ddr31333"), 2);
    }

    #[test]
    fn an_unseen_value_of_a_spec_family_is_an_attribute() {
        // Sockets: each value names several products; models: each names one.
        let mut offers = Vec::new();
        for (i, socket) in ["LGA775", "LGA1155", "LGA1151", "LGA1150"]
            .iter()
            .enumerate()
        {
            for j in 0..3 {
                offers.push((i as u64 * 10 + j, format!("board MB-{i}{j}00 {socket}")));
            }
        }
        let roles = Roles::learn(offers.iter().map(|(p, t)| (*p, t.as_str())));
        assert!(roles.is_attribute(&ident::model_key("LGA1700"), "LGA1700"));
        assert!(!roles.is_attribute(&ident::model_key("MB-9900"), "MB-9900"));
    }
}

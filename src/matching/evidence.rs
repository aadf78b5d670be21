//! Typed evidence: what a match rests on, as data; the human reasons are rendered from it late.
//!
//! A [`crate::model::Match`] carries its evidence twice: as [`Evidence`] items (JSON objects
//! with a `kind` field, for programs, the page and the report) and as `reasons`, the sentences
//! [`Evidence::reason`] renders from those items. Nothing parses a reason back: code that needs
//! a shared word, a model number or a photo distance reads the item.

use serde::{Deserialize, Serialize};

/// Where an identifier was found on its side of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The record's or listing's own `models` field.
    Models,
    /// Found in the title (or the brand written beside it).
    Title,
    /// Found only in the description.
    Description,
}

/// How two model numbers relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelRelation {
    /// The same after normalisation.
    Equal,
    /// One contains the other and covers most of it ("40V4100" in "KDL-40V4100").
    Partial,
    /// Another model of the same family ("KDL-46V4100" against "KDL-40V4100").
    Conflict,
    /// Nothing in common: likely another product.
    Unrelated,
}

/// How a spec token (an attribute many products name: "DDR4-2666", "SATA3", "i7-6700HQ")
/// relates across the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpecRelation {
    /// Both name it: weak evidence, never identity.
    Shared,
    /// Both name one of its kind with another value ("DDR4-2666" against "DDR4-3200").
    Conflict,
}

/// How the listing's brand relates to the banned one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BrandRelation {
    /// The banned brand shows in the listing (after normalisation).
    Match,
    /// Something close to it does (a typo, a split word).
    Close,
    /// The listing names another brand.
    Mismatch,
}

/// The perceptual hash a photo distance was measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HashKind {
    /// dHash and pHash (64 bits each): the distance is the larger of the two.
    DhashPhash,
    /// PDQ (256 bits).
    Pdq,
}

impl HashKind {
    /// Bits of the hash: the distance is out of this many.
    pub fn bits(self) -> u32 {
        match self {
            HashKind::DhashPhash => 64,
            HashKind::Pdq => 256,
        }
    }
}

/// One piece of evidence for or against a listing being a banned product. As JSON, an object
/// whose `kind` names the variant (`gtin`, `photo`, `model`, `brand`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// A GTIN of the listing equals one of the banned record's (normalised to 14 digits).
    Gtin { gtin: String },
    /// A photo of the listing is close to a photo of the banned record.
    Photo {
        /// The listing's photo, numbered from 1 in the order the listing gives them
        /// (precomputed hashes first, then files or uploads).
        photo: usize,
        algo: HashKind,
        /// Hamming distance, out of `of` bits.
        distance: u32,
        of: u32,
    },
    /// The keypoints of a listing photo agree on one placement of a banned photo: the banned
    /// photo is in it, however cropped, turned, overlaid, warped or set beside others.
    PhotoMatch {
        /// The listing's photo (numbered as for `photo`) and the banned record's.
        photo: usize,
        banned_photo: usize,
        /// Keypoints consistent with that placement.
        inliers: u32,
        /// Share of the banned photo the consistent keypoints span, in [0, 1].
        coverage: f32,
        /// The listing photo is the banned one mirrored.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        mirrored: bool,
    },
    /// A listing photo whose hashes are close to a banned photo's while its keypoints do not
    /// agree on any placement: another product that looks alike, weak evidence.
    PhotoLookAlike {
        photo: usize,
        banned_photo: usize,
        /// The most keypoints any placement found consistent.
        inliers: u32,
    },
    /// A model number of the listing against one of the banned record, and where each was
    /// found.
    Model {
        relation: ModelRelation,
        listing: String,
        banned: String,
        listing_from: Origin,
        /// Where the banned value was found.
        from: Origin,
        /// For `partial`: the share of the banned model number covered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        coverage: Option<f32>,
    },
    /// A spec token, an attribute shared by many products, on both sides.
    Spec {
        relation: SpecRelation,
        listing: String,
        banned: String,
    },
    /// The banned brand against the listing's.
    Brand {
        relation: BrandRelation,
        /// The banned record's brand.
        brand: String,
        /// For `mismatch`: another banned record's brand the listing's title names, when that
        /// is how the other brand was recognised.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        other: Option<String>,
    },
    /// The listing's price is `factor` times the banned price, or the banned price that many
    /// times the listing's.
    PriceGap { factor: f64 },
    /// Both titles name colours and share none.
    ColourConflict,
    /// A measure both name with different values ("40-inch" against "46-inch").
    AttributeConflict {
        /// What the measure is, for people ("size", "storage capacity").
        attribute: String,
        /// The unit class compared (`length-in`, `bytes`, ...).
        class: String,
    },
    /// Banned title words found in the listing.
    SharedWords {
        /// Rarity-weighted share of the banned title's words, in [0, 1].
        share: f32,
        /// The words, as written in the banned title (at most [`SHOWN_WORDS`]).
        words: Vec<String>,
        /// Share of the banned title's character n-grams in the listing, in [0, 1].
        ngram_overlap: f32,
    },
    /// No banned title word, but character n-grams in common.
    NgramOverlap { share: f32 },
    /// The listing names a banned term (a substance or category rule).
    Term {
        spelling: String,
        /// False when the listing has the term only up to a typo.
        exact: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        jurisdictions: Vec<String>,
    },
}

/// Most shared words an item keeps: the reason shows them all.
pub const SHOWN_WORDS: usize = 8;

/// How reasons name the two sides of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Voice {
    /// The other side: "banned" for a banned record, "queried" for an ad-hoc query.
    pub other: &'static str,
    /// The listing's photos are one uploaded photo (in its rotations), not numbered files.
    pub uploaded_photo: bool,
}

impl Default for Voice {
    fn default() -> Self {
        Voice::BANNED
    }
}

impl Voice {
    /// How a reason names listing photo `n`: by number, or as the upload it is.
    fn photo_name(&self, n: usize) -> String {
        if self.uploaded_photo {
            "the uploaded photo".to_string()
        } else {
            format!("photo {n}")
        }
    }

    /// A listing against a banned record: the voice of `check` and `sweep`.
    pub const BANNED: Voice = Voice {
        other: "banned",
        uploaded_photo: false,
    };
    /// A listing against an ad-hoc query (text, model or photo).
    pub const QUERY: Voice = Voice {
        other: "queried",
        uploaded_photo: false,
    };
}

/// A piece of a rendered reason: fixed text, or a value from the evidence that people look for
/// (marked on the page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// A value as written: a model number, a brand, a term, the shared words.
    Value(String),
    /// A photo distance ("3 of 64").
    Distance(String),
}

/// A reason being assembled, piece by piece.
#[derive(Default)]
struct Sentence(Vec<Piece>);

impl Sentence {
    fn t(mut self, s: impl Into<String>) -> Self {
        self.0.push(Piece::Text(s.into()));
        self
    }
    fn v(mut self, s: impl Into<String>) -> Self {
        self.0.push(Piece::Value(s.into()));
        self
    }
    fn d(mut self, s: impl Into<String>) -> Self {
        self.0.push(Piece::Distance(s.into()));
        self
    }
}

impl Evidence {
    /// The sentence a person reads for this item.
    pub fn reason(&self, v: Voice) -> String {
        self.pieces(v)
            .into_iter()
            .map(|p| match p {
                Piece::Text(s) | Piece::Value(s) | Piece::Distance(s) => s,
            })
            .collect()
    }

    /// The reason in pieces, so that a renderer can mark the values without parsing the text.
    pub fn pieces(&self, v: Voice) -> Vec<Piece> {
        let o = v.other;
        let s = Sentence::default();
        let s = match self {
            Evidence::Gtin { gtin } => s.t(format!("GTIN {gtin} equals a {o} GTIN")),
            Evidence::Photo {
                photo,
                algo,
                distance,
                of,
            } => {
                let who = v.photo_name(*photo);
                let how = match algo {
                    HashKind::Pdq => "PDQ",
                    HashKind::DhashPhash => "dHash and pHash",
                };
                s.t(format!("{who} matches a {o} photo: {how} distance "))
                    .d(format!("{distance} of {of}"))
            }
            Evidence::PhotoMatch {
                photo,
                banned_photo,
                inliers,
                coverage,
                mirrored,
            } => {
                let who = v.photo_name(*photo);
                let how = if *mirrored { ", mirrored" } else { "" };
                s.t(format!("{who} matches {o} photo {banned_photo}{how}: "))
                    .d(format!(
                        "{inliers} consistent keypoints covering {:.0} % of it",
                        coverage * 100.0
                    ))
            }
            Evidence::PhotoLookAlike {
                photo,
                banned_photo,
                inliers,
            } => {
                let who = v.photo_name(*photo);
                s.t(format!(
                    "{who} looks like {o} photo {banned_photo} by its hashes, but only "
                ))
                .d(format!("{inliers} keypoints"))
                .t(" agree: a look-alike, not the same photo")
            }
            Evidence::Model {
                relation,
                listing,
                banned,
                coverage,
                ..
            } => {
                let s = match relation {
                    ModelRelation::Unrelated => s.t("listing's model '"),
                    _ => s.t("model '"),
                };
                let middle = match relation {
                    ModelRelation::Equal => format!("' equals {o} model '"),
                    ModelRelation::Partial => format!(
                        "' covers {:.0} % of {o} model '",
                        coverage.unwrap_or(0.0) * 100.0
                    ),
                    ModelRelation::Conflict => format!("' differs from {o} model '"),
                    ModelRelation::Unrelated => format!("' is unlike {o} model '"),
                };
                let s = s.v(listing).t(middle).v(banned);
                match relation {
                    ModelRelation::Conflict => s.t("' (another model of the family)"),
                    _ => s.t("'"),
                }
            }
            Evidence::Spec {
                relation,
                listing,
                banned,
            } => match relation {
                SpecRelation::Shared => s
                    .t("both name '")
                    .v(listing)
                    .t("', a spec many products share (not identity)"),
                SpecRelation::Conflict => s
                    .t("spec '")
                    .v(listing)
                    .t(format!("' differs from {o} spec '"))
                    .v(banned)
                    .t("'"),
            },
            Evidence::Brand {
                relation, brand, ..
            } => match relation {
                BrandRelation::Match => s.t("brand '").v(brand).t("' matches"),
                BrandRelation::Close => s.t("brand close to '").v(brand).t("'"),
                BrandRelation::Mismatch => {
                    s.t("listing names another brand than '").v(brand).t("'")
                }
            },
            Evidence::PriceGap { factor } => {
                s.t(format!("price differs by a factor of {factor:.1}"))
            }
            Evidence::ColourConflict => {
                s.t(format!("listing and {o} title name different colours"))
            }
            Evidence::AttributeConflict { attribute, .. } => s.t(format!(
                "a {attribute} differs between listing and {o} title"
            )),
            Evidence::SharedWords {
                share,
                words,
                ngram_overlap,
            } => s
                .t(format!(
                    "title shares {:.0} % of the {o} title's weighted words (",
                    share * 100.0
                ))
                .v(words.join(", "))
                .t(format!(
                    "); character overlap {:.0} %",
                    ngram_overlap * 100.0
                )),
            Evidence::NgramOverlap { share } => s.t(format!(
                "character overlap with the {o} title {:.0} %",
                share * 100.0
            )),
            Evidence::Term {
                spelling,
                exact,
                jurisdictions,
            } => {
                let how = if *exact { "names" } else { "nearly names" };
                let s = s.t(format!("listing {how} {o} term '")).v(spelling).t("'");
                if jurisdictions.is_empty() {
                    s
                } else {
                    s.t(format!(" (banned in {})", jurisdictions.join(", ")))
                }
            }
        };
        s.0
    }

    /// Evidence that names the banned product itself: an equal GTIN or model number, or a
    /// banned term (the whole rule of when a match may block is `score::decisive`).
    pub fn is_identity(&self) -> bool {
        matches!(
            self,
            Evidence::Gtin { .. }
                | Evidence::Term { .. }
                | Evidence::Model {
                    relation: ModelRelation::Equal,
                    ..
                }
        )
    }

    /// Evidence against the listing being the banned product.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Evidence::Model {
                relation: ModelRelation::Conflict | ModelRelation::Unrelated,
                ..
            } | Evidence::AttributeConflict { .. }
                | Evidence::Spec {
                    relation: SpecRelation::Conflict,
                    ..
                }
                | Evidence::Brand {
                    relation: BrandRelation::Mismatch,
                    ..
                }
                | Evidence::ColourConflict
        )
    }

    /// Words this item names on either side: shared title words and model numbers as
    /// written, for marking them in titles and reasons.
    pub fn marked_words(&self) -> Vec<&str> {
        match self {
            Evidence::SharedWords { words, .. } => words.iter().map(String::as_str).collect(),
            Evidence::Model {
                listing, banned, ..
            }
            | Evidence::Spec {
                listing, banned, ..
            } => vec![listing.as_str(), banned.as_str()],
            _ => Vec::new(),
        }
    }
}

/// The reasons of a list of items, in order.
pub fn reasons(items: &[Evidence], v: Voice) -> Vec<String> {
    items.iter().map(|e| e.reason(v)).collect()
}

/// The words every item of `items` names (see [`Evidence::marked_words`]), deduplicated.
pub fn marked_words(items: &[Evidence]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in items.iter().flat_map(Evidence::marked_words) {
        if !out.iter().any(|x| x == w) {
            out.push(w.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(relation: ModelRelation, listing: &str, banned: &str) -> Evidence {
        Evidence::Model {
            relation,
            listing: listing.into(),
            banned: banned.into(),
            listing_from: Origin::Title,
            from: Origin::Models,
            coverage: (relation == ModelRelation::Partial).then_some(0.7),
        }
    }

    #[test]
    fn items_serialise_with_a_kind_and_render_the_sentences_of_results() {
        let e = model(ModelRelation::Equal, "hb-2210x", "HB-2210X");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "model");
        assert_eq!(v["relation"], "equal");
        assert_eq!(v["from"], "models");
        assert_eq!(v["listing"], "hb-2210x");
        assert!(v.get("coverage").is_none(), "{v}");
        assert_eq!(serde_json::from_value::<Evidence>(v).unwrap(), e);
        assert_eq!(
            e.reason(Voice::BANNED),
            "model 'hb-2210x' equals banned model 'HB-2210X'"
        );
        assert_eq!(
            e.reason(Voice::QUERY),
            "model 'hb-2210x' equals queried model 'HB-2210X'"
        );
        let p = Evidence::Photo {
            photo: 2,
            algo: HashKind::DhashPhash,
            distance: 3,
            of: 64,
        };
        assert_eq!(
            p.reason(Voice::BANNED),
            "photo 2 matches a banned photo: dHash and pHash distance 3 of 64"
        );
        let up = Voice {
            uploaded_photo: true,
            ..Voice::BANNED
        };
        assert_eq!(
            p.reason(up),
            "the uploaded photo matches a banned photo: dHash and pHash distance 3 of 64"
        );
        let w = Evidence::SharedWords {
            share: 1.0,
            words: vec!["voltmax".into(), "power".into()],
            ngram_overlap: 0.9,
        };
        assert_eq!(
            w.reason(Voice::BANNED),
            "title shares 100 % of the banned title's weighted words (voltmax, power); character overlap 90 %"
        );
        assert_eq!(
            marked_words(&[w, e]),
            ["voltmax", "power", "hb-2210x", "HB-2210X"]
        );
    }

    #[test]
    fn every_kind_round_trips_through_json() {
        let all = vec![
            Evidence::Gtin {
                gtin: "00012345678905".into(),
            },
            Evidence::Photo {
                photo: 1,
                algo: HashKind::Pdq,
                distance: 12,
                of: 256,
            },
            model(ModelRelation::Partial, "40v4100", "KDL-40V4100"),
            model(ModelRelation::Conflict, "a1", "a2"),
            model(ModelRelation::Unrelated, "x", "y"),
            Evidence::Brand {
                relation: BrandRelation::Close,
                brand: "VoltMax".into(),
                other: None,
            },
            Evidence::Brand {
                relation: BrandRelation::Mismatch,
                brand: "VoltMax".into(),
                other: Some("Anker".into()),
            },
            Evidence::PriceGap { factor: 3.2 },
            Evidence::Spec {
                relation: SpecRelation::Shared,
                listing: "ddr4-2666".into(),
                banned: "DDR4-2666".into(),
            },
            Evidence::Spec {
                relation: SpecRelation::Conflict,
                listing: "ddr4-2666".into(),
                banned: "DDR4-3200".into(),
            },
            Evidence::ColourConflict,
            Evidence::AttributeConflict {
                attribute: "size".into(),
                class: "length-in".into(),
            },
            Evidence::NgramOverlap { share: 0.4 },
            Evidence::Term {
                spelling: "melatonin".into(),
                exact: true,
                jurisdictions: vec!["KR".into()],
            },
        ];
        for e in all {
            let v = serde_json::to_value(&e).unwrap();
            assert!(v["kind"].is_string(), "{v}");
            assert_eq!(serde_json::from_value::<Evidence>(v).unwrap(), e);
            assert!(!e.reason(Voice::BANNED).is_empty());
        }
    }
}

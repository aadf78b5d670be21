//! Fusion of the evidence into one score in [0, 1], the decision, and the reasons behind it.
//!
//! The score is the learned model's probability (gradient-boosted trees, [`TreeModel`]; or the
//! logistic fusion of the config's weights) over the feature vector of `features::Features`, so
//! it is comparable across listings. The decision takes the thresholds of the config, and then
//! two rules of honesty: `block` needs decisive identity evidence (an identifying code, a
//! barcode, the same photo, or a near-identical title with the brand and no learned variant
//! word apart) and no conflict of any kind; and a barcode equal to a banned one is at least
//! `review`, whatever the title says.

use crate::config::{Config, ScorerKind, Weights};
use crate::matching::evidence::{
    BrandRelation, Evidence, HashKind, ModelRelation, SHOWN_WORDS, SpecRelation,
};
use crate::matching::features::{BrandEvidence, Features, N, PreparedBanned, PreparedListing};
use crate::matching::trees::TreeModel;
use crate::model::Decision;
use crate::text::ident::ModelEvidence;

/// Logistic fusion: a score in [0, 1].
pub fn fuse(x: &[f32; N], w: &Weights) -> f32 {
    let z: f32 = w.bias + x.iter().zip(&w.values).map(|(a, b)| a * b).sum::<f32>();
    let s = 1.0 / (1.0 + (-z).exp());
    if s.is_finite() {
        s.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Photo distance (of 64) at or under which a photo alone is decisive.
const NEAR_EXACT_PHOTO: u32 = crate::matching::features::NEAR_EXACT_ON_64;

/// Least identity ([`crate::matching::roles::identity`]) of an equal code that may block.
const BLOCKING_IDENTITY: f32 = 0.6;

/// Evidence against the listing being the banned product: another model of the family (alone
/// or beside an equal code), another size, spec or colour, another brand.
pub fn conflicted(f: &Features) -> bool {
    matches!(f.model, ModelEvidence::Conflict { .. })
        || f.code_conflict.is_some()
        || f.part_conflict.is_some()
        || f.attr_conflict.is_some()
        || f.spec_conflict.is_some()
        || f.colour_conflict
        || f.brand == BrandEvidence::Mismatch
}

/// Whether the evidence is strong enough to block without a person looking.
pub fn decisive(f: &Features, title_words: usize) -> bool {
    if conflicted(f) {
        return false;
    }
    // The same product code, or the same photo (near-exact: a re-encoded or resized copy, and
    // not two look-alikes the keypoints tell apart).
    if f.gtin.is_some()
        || (f.photo.is_some_and(|(_, d)| d <= NEAR_EXACT_PHOTO) && !f.near_exact_refuted())
    {
        return true;
    }
    match &f.model {
        // A record's own `models` are its identity. A code found only in its title blocks
        // when the record names no models of its own, and with the title or brand behind it:
        // a title token no other record names may still be a spec nobody listed ("i3-6700HQ"),
        // and a listing naming a code of its own besides may be another product that names it.
        ModelEvidence::Equal { .. } => {
            f.model_identity >= BLOCKING_IDENTITY
                && (f.model_explicit
                    || (!f.banned_has_models
                        && !f.listing_other_code
                        && (f.coverage >= 0.3 || matches!(f.brand, BrandEvidence::Match(_)))))
        }
        ModelEvidence::Conflict { .. } | ModelEvidence::Unrelated { .. } => false,
        // "MU-9310E" against "MU-9310R": a colour or region suffix to one shop, another model
        // to the maker. Evidence for review, never for a block.
        ModelEvidence::Partial {
            listing, banned, ..
        } if crate::text::ident::suffix_variant(
            &crate::text::ident::model_key(listing),
            &crate::text::ident::model_key(banned),
        ) =>
        {
            false
        }
        // A title alone blocks only when neither side writes a word that, by the learned
        // variant words, tells products of one line apart ("blue", "kit", an edition): shops'
        // titles of two variants can share every other word.
        _ => {
            title_words >= 3
                && f.coverage >= 0.85
                && f.grams >= 0.8
                && f.variant_listing == 0.0
                && f.variant_banned == 0.0
        }
    }
}

/// The score of one pair, by the config's scorer.
pub fn score(f: &Features, config: &Config, trees: &TreeModel) -> f32 {
    let x = f.vector();
    match config.model.scorer {
        ScorerKind::Trees => trees.score(&x),
        ScorerKind::Logistic => fuse(&x, &config.weights),
    }
}

/// [`score`] of each pair, to the bit; the trees walk the pairs side by side.
pub fn scores(fs: &[&Features], config: &Config, trees: &TreeModel) -> Vec<f32> {
    match config.model.scorer {
        ScorerKind::Trees => {
            let xs: Vec<_> = fs.iter().map(|f| f.vector()).collect();
            trees.scores(&xs)
        }
        ScorerKind::Logistic => fs.iter().map(|f| score(f, config, trees)).collect(),
    }
}

/// Score and decision for one pair.
pub fn judge(
    f: &Features,
    title_words: usize,
    config: &Config,
    trees: &TreeModel,
) -> (f32, Decision) {
    judge_scored(f, score(f, config, trees), title_words, config)
}

/// The decision for one pair whose [`score`] is `score` (see [`judge`]).
pub fn judge_scored(
    f: &Features,
    score: f32,
    title_words: usize,
    config: &Config,
) -> (f32, Decision) {
    let mut decision = config.decide(score);
    if decision == Decision::Block && !decisive(f, title_words) {
        decision = Decision::Review;
    }
    // A barcode is a global product identity: a relister who keeps it is at least reviewed.
    // So is a listing that writes the banned title in full under its brand, whatever a shop
    // adds around it ("free shipping", "holiday gift"): the words a model weighs against
    // each other cannot outvote a whole title.
    if decision == Decision::Allow && (f.gtin.is_some() || written_in_full(f, title_words)) {
        decision = Decision::Review;
    }
    (score, decision)
}

/// The listing writes every word and nearly every character n-gram of a banned title of three
/// words or more, names its brand, names no other code, and nothing conflicts.
pub fn written_in_full(f: &Features, title_words: usize) -> bool {
    title_words >= 3
        && f.coverage >= 0.99
        && f.grams >= 0.95
        && matches!(f.brand, BrandEvidence::Match(s) if s >= 1.0)
        && !matches!(
            f.model,
            ModelEvidence::Conflict { .. } | ModelEvidence::Unrelated { .. }
        )
        && !conflicted(f)
}

/// The evidence of one pair, strongest first: what its reasons are rendered from.
pub fn evidence(f: &Features, l: &PreparedListing, b: &PreparedBanned) -> Vec<Evidence> {
    let mut out = Vec::new();
    if let Some(g) = &f.gtin {
        out.push(Evidence::Gtin { gtin: g.clone() });
    }
    // The counts shown are those of the verification that confirmed the copy (the first, or
    // the one guided by its placement).
    if let Some((c, v)) = f
        .photo_check
        .as_ref()
        .and_then(|c| Some((c, *c.confirming()?)))
    {
        out.push(Evidence::PhotoMatch {
            photo: c.photo,
            banned_photo: c.banned_photo,
            inliers: v.inliers,
            coverage: (v.coverage * 1000.0).round() / 1000.0,
            mirrored: c.mirrored,
        });
    }
    if let Some((n, d)) = f
        .photo_hashed
        .filter(|(_, d)| *d < crate::matching::features::PHOTO_RADIUS)
    {
        let (algo, distance) = match f.photo_pdq {
            Some(p) => (HashKind::Pdq, p),
            None => (HashKind::DhashPhash, d),
        };
        out.push(Evidence::Photo {
            photo: n,
            algo,
            distance,
            of: algo.bits(),
        });
        if let Some(c) = f
            .photo_check
            .filter(|c| (f.photo_refuted() || f.near_exact_refuted()) && !c.confirmed())
        {
            out.push(Evidence::PhotoLookAlike {
                photo: c.photo,
                banned_photo: c.banned_photo,
                inliers: c.verified.inliers,
            });
        }
    }
    let model = |relation, listing: &String, banned: &String, coverage| Evidence::Model {
        relation,
        listing: listing.clone(),
        banned: banned.clone(),
        listing_from: l.model_origin(listing),
        from: b.model_origin(banned),
        coverage,
    };
    match &f.model {
        ModelEvidence::Equal { listing, banned } => {
            out.push(model(ModelRelation::Equal, listing, banned, None))
        }
        ModelEvidence::Partial {
            listing,
            banned,
            coverage,
        } => out.push(model(
            ModelRelation::Partial,
            listing,
            banned,
            Some(*coverage),
        )),
        ModelEvidence::Conflict { listing, banned } => {
            out.push(model(ModelRelation::Conflict, listing, banned, None))
        }
        ModelEvidence::Unrelated { listing, banned } => {
            out.push(model(ModelRelation::Unrelated, listing, banned, None))
        }
        ModelEvidence::None => {}
    }
    if let Some((listing, banned)) = f.code_conflict.as_ref().or(f.part_conflict.as_ref()) {
        out.push(model(ModelRelation::Conflict, listing, banned, None));
    }
    if let Some((listing, banned)) = &f.spec_conflict {
        out.push(Evidence::Spec {
            relation: SpecRelation::Conflict,
            listing: listing.clone(),
            banned: banned.clone(),
        });
    }
    for (listing, banned) in &f.spec_shared {
        out.push(Evidence::Spec {
            relation: SpecRelation::Shared,
            listing: listing.clone(),
            banned: banned.clone(),
        });
    }
    match (&f.brand, b.record.brand.as_deref()) {
        (BrandEvidence::Match(s), Some(brand)) => out.push(Evidence::Brand {
            relation: if *s >= 1.0 {
                BrandRelation::Match
            } else {
                BrandRelation::Close
            },
            brand: brand.to_string(),
            other: None,
        }),
        (BrandEvidence::Mismatch, Some(brand)) => out.push(Evidence::Brand {
            relation: BrandRelation::Mismatch,
            brand: brand.to_string(),
            other: f.other_brand.clone(),
        }),
        _ => {}
    }
    if f.price_gap >= 0.35 {
        out.push(Evidence::PriceGap {
            factor: (f.price_gap as f64 * 2.0).exp(),
        });
    }
    if f.colour_conflict {
        out.push(Evidence::ColourConflict);
    }
    if let Some(class) = f.attr_conflict {
        out.push(Evidence::AttributeConflict {
            attribute: class_name(class).to_string(),
            class: class.to_string(),
        });
    }
    if !f.shared_words.is_empty() {
        out.push(Evidence::SharedWords {
            share: f.coverage,
            words: f.shared_words.iter().take(SHOWN_WORDS).cloned().collect(),
            ngram_overlap: f.grams,
        });
    } else if f.grams > 0.0 {
        out.push(Evidence::NgramOverlap { share: f.grams });
    }
    out
}

fn class_name(class: &str) -> &str {
    match class {
        "length-in" | "length" | "length-ft" => "size",
        "bytes" => "storage capacity",
        "power" => "wattage",
        "charge" => "battery capacity",
        "mass" | "mass-oz" | "mass-lb" => "weight",
        "volume" | "volume-qt" => "volume",
        "count" => "pack count",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn features(model: ModelEvidence, coverage: f32, brand: BrandEvidence) -> Features {
        Features {
            coverage,
            grams: coverage,
            precision: coverage,
            model,
            model_identity: 1.0,
            model_explicit: true,
            banned_has_models: true,
            banned_brand_known: true,
            listing_other_code: false,
            code_conflict: None,
            spec_shared: vec![],
            spec_conflict: None,
            part_conflict: None,
            listing_words: 6,
            banned_words: 6,
            jaccard: coverage,
            gram_jaccard: coverage,
            surface: Default::default(),
            gtin: None,
            brand,
            shared_words: vec![],
            other_brand: None,
            margin: 0.0,
            attr_agree: false,
            attr_conflict: None,
            release_agree: false,
            release_conflict: false,
            price_gap: 0.0,
            price_log_ratio: None,
            colour_conflict: false,
            photo: None,
            photo_hashed: None,
            photo_pdq: None,
            photo_check: None,
            variant_listing: 0.0,
            variant_banned: 0.0,
        }
    }

    #[test]
    fn a_title_alone_does_not_block_across_a_learned_variant_word() {
        let mut f = features(ModelEvidence::None, 1.0, BrandEvidence::Match(1.0));
        f.grams = 0.9;
        assert!(decisive(&f, 6));
        f.variant_listing = 0.7;
        assert!(!decisive(&f, 6));
        f.variant_listing = 0.0;
        f.variant_banned = 0.54;
        assert!(!decisive(&f, 6));
        // An identifying code is decisive whatever words a shop adds.
        let mut f = features(
            ModelEvidence::Equal {
                listing: "KT-9000".into(),
                banned: "KT-9000".into(),
            },
            1.0,
            BrandEvidence::Match(1.0),
        );
        f.variant_listing = 0.7;
        assert!(decisive(&f, 6));
    }

    #[test]
    fn a_near_exact_photo_blocks_unless_judged_keypoints_refute_it() {
        use crate::matching::features::PhotoCheck;
        use crate::photo::verify::Verified;
        let check = |judged: bool, inliers: u32| PhotoCheck {
            photo: 1,
            banned_photo: 1,
            mirrored: false,
            verified: Verified {
                inliers,
                matches: 40,
                coverage: 0.5,
                ..Verified::default()
            },
            judged,
            guided: None,
        };
        let mut f = features(ModelEvidence::None, 0.0, BrandEvidence::Unknown);
        f.photo = Some((1, 3));
        f.photo_hashed = Some((1, 3));
        // Hashes alone, or keypoints too few to say anything (a blurred copy): a block.
        assert!(decisive(&f, 3));
        f.photo_check = Some(check(false, 2));
        assert!(decisive(&f, 3));
        // Keypoints that confirm it: a block.
        f.photo_check = Some(check(true, 60));
        assert!(decisive(&f, 3));
        assert!(!f.near_exact_refuted());
        // Keypoints enough on both sides, agreeing on no placement: two look-alikes, which
        // the evidence says.
        f.photo_check = Some(check(true, 4));
        assert!(f.near_exact_refuted());
        assert!(!decisive(&f, 3));
        let (s, decision) = judge(&f, 3, &Config::default(), &TreeModel::shipped());
        assert_ne!(decision, Decision::Block, "{s}");
        let l = crate::model::Listing::from_value(serde_json::json!({"id": "L", "title": "x"}))
            .unwrap();
        let l = PreparedListing::new(
            &l,
            crate::photo::QueryPhotos::default(),
            &crate::matching::features::Uniform,
        );
        let b = PreparedBanned::new(
            crate::model::BannedRecord::from_value(serde_json::json!({"id": "B", "title": "y"}))
                .unwrap()
                .record,
            &crate::matching::features::Uniform,
        );
        assert!(
            evidence(&f, &l, &b)
                .iter()
                .any(|e| matches!(e, Evidence::PhotoLookAlike { inliers: 4, .. }))
        );
    }

    #[test]
    fn a_banned_title_written_in_full_under_its_brand_is_at_least_reviewed() {
        let c = Config::default();
        let trees = TreeModel::shipped();
        let mut f = features(ModelEvidence::None, 1.0, BrandEvidence::Match(1.0));
        // Whatever the model makes of the words a shop adds around it.
        f.precision = 0.2;
        f.jaccard = 0.3;
        f.listing_words = 20;
        assert!(written_in_full(&f, 6));
        assert_ne!(judge(&f, 6, &c, &trees).1, Decision::Allow);
        // Not under another brand, not with two words, not beside another code.
        let other = features(ModelEvidence::None, 1.0, BrandEvidence::Mismatch);
        assert!(!written_in_full(&other, 6));
        assert!(!written_in_full(&f, 2));
        let coded = features(
            ModelEvidence::Unrelated {
                listing: "zx-11".into(),
                banned: "kt-9000".into(),
            },
            1.0,
            BrandEvidence::Match(1.0),
        );
        assert!(!written_in_full(&coded, 6));
    }

    #[test]
    fn a_model_conflict_never_blocks() {
        let c = Config::default();
        let f = features(
            ModelEvidence::Conflict {
                listing: "a".into(),
                banned: "b".into(),
            },
            1.0,
            BrandEvidence::Match(1.0),
        );
        let (_, d) = judge(&f, 6, &c, &TreeModel::shipped());
        assert_ne!(d, Decision::Block);
    }

    #[test]
    fn a_model_a_suffix_letter_apart_never_blocks() {
        let f = features(
            ModelEvidence::Partial {
                listing: "mu-9310e".into(),
                banned: "MU-9310R".into(),
                coverage: 0.86,
            },
            1.0,
            BrandEvidence::Match(1.0),
        );
        assert!(!decisive(&f, 6));
    }

    #[test]
    fn an_equal_model_with_a_similar_title_blocks() {
        let c = Config::default();
        let f = features(
            ModelEvidence::Equal {
                listing: "a".into(),
                banned: "a".into(),
            },
            0.6,
            BrandEvidence::Match(1.0),
        );
        let mut c = c;
        c.model.scorer = ScorerKind::Logistic;
        assert_eq!(judge(&f, 6, &c, &TreeModel::shipped()).1, Decision::Block);
    }

    proptest! {
        #[test]
        fn scores_stay_in_unit_range(x in proptest::collection::vec(-1e6f32..1e6, N),
                                     bias in -1e6f32..1e6) {
            let mut w = Config::default().weights;
            w.bias = bias;
            let x: [f32; N] = x.try_into().unwrap();
            let s = fuse(&x, &w);
            prop_assert!((0.0..=1.0).contains(&s));
        }
    }
}

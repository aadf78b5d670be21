//! Fusion of the evidence into one score in [0, 1], the decision, and the reasons behind it.
//!
//! The score is a logistic model over the feature vector of `features::Features`, so it reads
//! as a probability and is comparable across listings. The decision takes the thresholds of the
//! config, and then one rule of honesty: `block` needs decisive evidence (an equal identifier,
//! or a near-identical title with the brand). A model-number conflict never blocks.

use crate::config::{Config, Weights};
use crate::features::{BrandEvidence, Features};
use crate::ident::ModelEvidence;
use crate::model::Decision;

/// The weights in feature-vector order.
pub fn weight_vector(w: &Weights) -> [f32; 17] {
    [
        w.coverage,
        w.grams,
        w.precision,
        w.model_equal,
        w.model_partial,
        w.model_conflict,
        w.model_other,
        w.gtin_equal,
        w.brand_match,
        w.brand_mismatch,
        w.margin,
        w.top,
        w.attr_agree,
        w.attr_conflict,
        w.price_gap,
        w.colour_conflict,
        w.photo_match,
    ]
}

/// Logistic fusion: a score in [0, 1].
pub fn fuse(x: &[f32; 17], w: &Weights) -> f32 {
    let z: f32 = w.bias
        + x.iter()
            .zip(weight_vector(w))
            .map(|(a, b)| a * b)
            .sum::<f32>();
    let s = 1.0 / (1.0 + (-z).exp());
    if s.is_finite() {
        s.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Photo distance (of 64) at or under which a photo alone is decisive.
const NEAR_EXACT_PHOTO: u32 = 4;

/// Whether the evidence is strong enough to block without a person looking.
fn decisive(f: &Features, title_words: usize) -> bool {
    // The same product code, or the same photo (near-exact: a re-encoded or resized copy).
    if f.gtin.is_some() || f.photo.is_some_and(|(_, d)| d <= NEAR_EXACT_PHOTO) {
        return true;
    }
    // "40-inch" against "46-inch": another size of the product is not blocked unseen.
    if f.attr_conflict.is_some() {
        return false;
    }
    match f.model {
        ModelEvidence::Equal { .. } => true,
        ModelEvidence::Conflict { .. } | ModelEvidence::Unrelated { .. } => false,
        _ => {
            title_words >= 3
                && f.coverage >= 0.85
                && f.grams >= 0.8
                && !matches!(f.brand, BrandEvidence::Mismatch)
        }
    }
}

/// Score and decision for one pair.
pub fn judge(f: &Features, title_words: usize, config: &Config) -> (f32, Decision) {
    let score = fuse(&f.vector(), &config.weights);
    let mut decision = config.decide(score);
    if decision == Decision::Block && !decisive(f, title_words) {
        decision = Decision::Review;
    }
    (score, decision)
}

/// Reasons a person can check, strongest first.
pub fn reasons(f: &Features, banned_brand: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(g) = &f.gtin {
        out.push(format!("GTIN {g} equals a banned GTIN"));
    }
    if let Some((n, d)) = f.photo.filter(|(_, d)| *d < crate::features::PHOTO_RADIUS) {
        out.push(match f.photo_pdq {
            Some(p) => format!("photo {n} matches a banned photo: PDQ distance {p} of 256"),
            None => format!("photo {n} matches a banned photo: dHash and pHash distance {d} of 64"),
        });
    }
    match &f.model {
        ModelEvidence::Equal { listing, banned } => {
            out.push(format!("model '{listing}' equals banned model '{banned}'"))
        }
        ModelEvidence::Partial {
            listing,
            banned,
            coverage,
        } => out.push(format!(
            "model '{listing}' covers {:.0} % of banned model '{banned}'",
            coverage * 100.0
        )),
        ModelEvidence::Conflict { listing, banned } => out.push(format!(
            "model '{listing}' differs from banned model '{banned}' (another model of the family)"
        )),
        ModelEvidence::Unrelated { listing, banned } => out.push(format!(
            "listing's model '{listing}' is unlike banned model '{banned}'"
        )),
        ModelEvidence::None => {}
    }
    match (&f.brand, banned_brand) {
        (BrandEvidence::Match(s), Some(b)) if *s >= 1.0 => out.push(format!("brand '{b}' matches")),
        (BrandEvidence::Match(_), Some(b)) => out.push(format!("brand close to '{b}'")),
        (BrandEvidence::Mismatch, Some(b)) => {
            out.push(format!("listing names another brand than '{b}'"))
        }
        _ => {}
    }
    if f.price_gap >= 0.35 {
        out.push(format!(
            "price differs by a factor of {:.1}",
            (f.price_gap as f64 * 2.0).exp()
        ));
    }
    if f.colour_conflict {
        out.push("listing and banned title name different colours".to_string());
    }
    if let Some(class) = f.attr_conflict {
        out.push(format!(
            "a {} differs between listing and banned title",
            class_name(class)
        ));
    }
    if !f.shared_words.is_empty() {
        let shown: Vec<&str> = f.shared_words.iter().take(8).map(String::as_str).collect();
        out.push(format!(
            "title shares {:.0} % of the banned title's weighted words ({}); character overlap {:.0} %",
            f.coverage * 100.0,
            shown.join(", "),
            f.grams * 100.0
        ));
    } else if f.grams > 0.0 {
        out.push(format!(
            "character overlap with the banned title {:.0} %",
            f.grams * 100.0
        ));
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
            gtin: None,
            brand,
            shared_words: vec![],
            other_brand: None,
            margin: 0.0,
            attr_agree: false,
            attr_conflict: None,
            price_gap: 0.0,
            colour_conflict: false,
            photo: None,
            photo_pdq: None,
        }
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
        let (_, d) = judge(&f, 6, &c);
        assert_ne!(d, Decision::Block);
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
        assert_eq!(judge(&f, 6, &c).1, Decision::Block);
    }

    proptest! {
        #[test]
        fn scores_stay_in_unit_range(x in proptest::array::uniform17(-1e6f32..1e6),
                                     bias in -1e6f32..1e6) {
            let mut w = Config::default().weights;
            w.bias = bias;
            let s = fuse(&x, &w);
            prop_assert!((0.0..=1.0).contains(&s));
        }
    }
}

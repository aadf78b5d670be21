//! Training the learned matcher: pooled labelled pairs from many sources, identifier roles
//! learned from their offers, gradient-boosted trees fitted with forust, thresholds from
//! out-of-fold scores.
//!
//! A source is a set of banned records, listings and labelled pairs: a public benchmark's
//! training splits (never its test split), hard cases relist generates itself, or a platform's
//! own decisions. Each source weighs the same in the fit, so a large one does not drown the
//! varied small ones; the model is meant for catalogs none of them is.

use std::collections::HashMap;

use forust_ml::constraints::{Constraint, ConstraintMap};
use forust_ml::{GradientBooster, Matrix};
use rayon::prelude::*;

use crate::config::{Config, ModelSettings, ScorerKind, Thresholds};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::matching::calibrate;
use crate::matching::features::{self, FEATURES, N};
use crate::matching::roles::Roles;
use crate::matching::trees::TreeModel;
use crate::matching::variants::{self, Variants};
use crate::model::{BannedRecord, Listing};
use crate::pipeline::em::Pair;
use crate::text::normalize::TextKeys;

/// Labelled pairs over one set of banned records and listings.
pub struct Source {
    pub name: String,
    pub banned: Vec<BannedRecord>,
    pub listings: HashMap<String, Listing>,
    /// (banned id, listing id, same product).
    pub pairs: Vec<Pair>,
    /// Product labels of offers (record id to label), where the source has them (WDC Products'
    /// cluster ids): offers of one label are one product to the roles ([`learn_roles`]) even
    /// when no positive pair links them. Empty: only positive pairs say so.
    pub products: HashMap<String, String>,
    /// How much the source weighs against the others (1: as much as any other source).
    pub weight: f64,
}

/// How the trees are grown and the thresholds chosen.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub iterations: usize,
    pub learning_rate: f32,
    pub max_depth: usize,
    /// Folds of the out-of-fold scores the thresholds are fitted on.
    pub folds: usize,
    pub review_beta: f64,
    pub block_precision: f64,
    pub seed: u64,
    /// The version written into the model file.
    pub version: u32,
    /// Features the trees do not see (by name).
    pub without: Vec<String>,
    /// Learn the variant words ([`Variants`]) and feature each fold's pairs with those of the
    /// other folds. Off by default: on the benchmarks it helped WDC Products and hurt the
    /// leave-one-dataset-out figures and the generated hard cases (benches/RESULTS.md).
    pub variants: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            iterations: 150,
            learning_rate: 0.1,
            max_depth: 5,
            folds: 3,
            review_beta: 1.0,
            block_precision: 0.98,
            seed: 0,
            version: 1,
            without: Vec::new(),
            variants: false,
        }
    }
}

/// One labelled pair's features.
#[derive(Debug, Clone)]
pub struct Sample {
    pub source: usize,
    /// The listing, for folds that keep a listing's pairs together.
    pub listing: String,
    pub banned: String,
    pub x: [f32; N],
    pub y: bool,
}

/// What training made, and what it was made from.
pub struct Trained {
    pub model: TreeModel,
    /// Per source: (name, labelled pairs with features, positives).
    pub sources: Vec<(String, usize, usize)>,
    /// Out-of-fold scores of every sample, for the thresholds and for reading.
    pub out_of_fold: Vec<(f32, bool)>,
    /// The labelled pairs' features, in the order of `out_of_fold`.
    pub samples: Vec<Sample>,
}

/// Identifier roles from the offers of every source: offers a positive pair links, or that
/// carry one product label, are one product; every other offer is its own. Only offers named
/// by the pairs read are counted.
///
/// Labels matter where a source pairs only a sample of its offers: WDC Products holds about
/// ten offers of each product, and its train pairs link a few of them, so by pairs alone one
/// webcam ("Logitech C270", in one product cluster) counted as four products and its model
/// number as an attribute that many products share.
pub fn learn_roles(sources: &[Source]) -> Roles {
    let mut ids: HashMap<String, u64> = HashMap::new();
    let mut parent: Vec<u64> = Vec::new();
    fn find(p: &mut [u64], x: u64) -> u64 {
        let mut r = x;
        while p[r as usize] != r {
            r = p[r as usize];
        }
        let mut x = x;
        while p[x as usize] != r {
            let next = p[x as usize];
            p[x as usize] = r;
            x = next;
        }
        r
    }
    let mut id = |key: String, parent: &mut Vec<u64>| -> u64 {
        *ids.entry(key).or_insert_with(|| {
            parent.push(parent.len() as u64);
            parent.len() as u64 - 1
        })
    };
    let mut texts: Vec<(u64, String)> = Vec::new();
    for (si, s) in sources.iter().enumerate() {
        let banned: HashMap<&str, &BannedRecord> =
            s.banned.iter().map(|b| (b.id.as_str(), b)).collect();
        let mut seen: std::collections::HashSet<(bool, &str)> = Default::default();
        let join = |x: u64, y: u64, parent: &mut Vec<u64>| {
            let (rx, ry) = (find(parent, x), find(parent, y));
            parent[rx as usize] = ry;
        };
        for (a, b, y) in &s.pairs {
            let ia = id(format!("{si}/{a}"), &mut parent);
            let ib = id(format!("{si}/{b}"), &mut parent);
            if *y {
                join(ia, ib, &mut parent);
            }
            // A label is a node of its own ("#" is in no record id's "{si}/" form), so
            // offers of one label join whichever pairs name them.
            for (offer, i) in [(a, ia), (b, ib)] {
                if let Some(label) = s.products.get(offer) {
                    let il = id(format!("{si}#{label}"), &mut parent);
                    join(i, il, &mut parent);
                }
            }
            if seen.insert((true, a.as_str()))
                && let Some(r) = banned.get(a.as_str())
            {
                let text = format!(
                    "{} {}\n{}",
                    r.title,
                    r.models.join(" "),
                    r.description.as_deref().unwrap_or("")
                );
                texts.push((ia, text));
            }
            if seen.insert((false, b.as_str()))
                && let Some(l) = s.listings.get(b)
            {
                let text = format!(
                    "{} {}\n{}",
                    l.title,
                    l.models.join(" "),
                    l.description.as_deref().unwrap_or("")
                );
                texts.push((ib, text));
            }
        }
    }
    let offers: Vec<(u64, &str)> = texts
        .iter()
        .map(|(i, t)| (find(&mut parent, *i), t.as_str()))
        .collect();
    Roles::learn(offers)
}

/// The fold of a listing's pairs (of `folds`), by a hash of its source and id.
fn fold(source: usize, listing: &str, folds: usize) -> usize {
    let h = listing
        .bytes()
        .fold(source as u64 ^ 0xcbf29ce484222325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        });
    (h % folds.max(1) as u64) as usize
}

/// Every labelled pair's differing title words ([`variants::differing`], both directions):
/// (source, listing id, words, same product). Read as the features read them.
fn pair_words(sources: &[Source]) -> Vec<(usize, String, Vec<String>, bool)> {
    let mut out = Vec::new();
    for (si, s) in sources.iter().enumerate() {
        let banned: HashMap<&str, (TextKeys, TextKeys)> = s
            .banned
            .iter()
            .map(|r| {
                let side = TextKeys::new(&features::side_text(r));
                (r.id.as_str(), (TextKeys::new(&r.title), side))
            })
            .collect();
        let mut heads: HashMap<&str, TextKeys> = HashMap::new();
        for (a, b, y) in &s.pairs {
            let (Some((title, side)), Some(l)) = (banned.get(a.as_str()), s.listings.get(b)) else {
                continue;
            };
            let head = heads
                .entry(b.as_str())
                .or_insert_with(|| TextKeys::new(&features::head_text(l)));
            let (mut words, theirs) = variants::differing(head, title, side);
            words.extend(theirs);
            out.push((si, b.clone(), words, *y));
        }
    }
    out
}

/// A config that computes features with `roles` (and scores with nothing yet).
fn featuring(base: &Config, roles: Roles) -> Config {
    let mut c = base.clone();
    c.model = ModelSettings {
        scorer: ScorerKind::Trees,
        file: "default".into(),
        loaded: Some(std::sync::Arc::new(TreeModel::new(
            GradientBooster::default(),
            roles,
            0,
        ))),
    };
    c
}

/// The features of every labelled pair of every source, whether retrieval found the pair or
/// not (a pair the index would not retrieve is still a pair the matcher may be asked about).
pub fn samples(sources: &[Source], config: &Config) -> Result<Vec<Sample>> {
    samples_where(sources, config, |_, _| true)
}

/// [`samples`] of the listings `keep` admits (by source and listing id).
fn samples_where(
    sources: &[Source],
    config: &Config,
    keep: impl Fn(usize, &str) -> bool,
) -> Result<Vec<Sample>> {
    let mut out = Vec::new();
    for (si, s) in sources.iter().enumerate() {
        let mut by_listing: HashMap<&str, Vec<(&str, bool)>> = HashMap::new();
        for (a, b, y) in &s.pairs {
            if keep(si, b) {
                by_listing.entry(b.as_str()).or_default().push((a, *y));
            }
        }
        if by_listing.is_empty() {
            continue;
        }
        let engine = Engine::in_memory(s.banned.clone(), config.clone())?;
        let mut listings: Vec<&&str> = by_listing.keys().collect();
        listings.sort();
        let per: Vec<Vec<Sample>> = listings
            .par_iter()
            .filter_map(|id| s.listings.get(**id).map(|l| (**id, l)))
            .map(|(id, l)| {
                let labels = &by_listing[id];
                let forced: Vec<&str> = labels.iter().map(|(a, _)| *a).collect();
                let ev = engine.evidence_with(l, &forced)?;
                Ok(ev
                    .into_iter()
                    .filter_map(|(bid, f, _)| {
                        let y = labels.iter().find(|(a, _)| *a == bid)?.1;
                        Some(Sample {
                            source: si,
                            listing: id.to_string(),
                            banned: bid.clone(),
                            x: f.vector(),
                            y,
                        })
                    })
                    .collect())
            })
            .collect::<Result<_>>()?;
        out.extend(per.into_iter().flatten());
    }
    Ok(out)
}

/// Which way each feature may move the score: evidence for identity only up, conflicts only
/// down. Trees then cannot learn from a quirk of one source that, say, a model conflict helps.
fn constraints(columns: &[usize]) -> ConstraintMap {
    let up = [
        "coverage",
        "grams",
        "precision",
        "model_equal",
        "model_partial",
        "gtin_equal",
        "brand_match",
        "photo_match",
        "model_identity",
        "jaccard",
        "gram_jaccard",
        "code_written",
        "margin",
        "top",
    ];
    let down = [
        "model_conflict",
        "brand_mismatch",
        "attr_conflict",
        "colour_conflict",
        "code_conflict",
        "spec_conflict",
        "price_gap",
        "price_gap_near",
        "codes_apart",
        "brand_absent",
        "variant_listing",
        "variant_banned",
        "variant_swap",
    ];
    columns
        .iter()
        .map(|c| &FEATURES[*c])
        .enumerate()
        .filter_map(|(i, f)| {
            if up.contains(&f.name) {
                Some((i, Constraint::Positive))
            } else if down.contains(&f.name) {
                Some((i, Constraint::Negative))
            } else {
                None
            }
        })
        .collect()
}

/// Fits a booster on `rows` of `samples` (each source weighing the same).
fn fit(
    samples: &[Sample],
    weights: &[f64],
    rows: &[usize],
    columns: &[usize],
    opts: &TrainOptions,
) -> Result<GradientBooster> {
    let mut per_source: HashMap<usize, usize> = HashMap::new();
    for r in rows {
        *per_source.entry(samples[*r].source).or_default() += 1;
    }
    let mean = rows.len() as f64 / per_source.len().max(1) as f64;
    // Column-major, as forust's Matrix reads it.
    let mut data = vec![0f64; rows.len() * columns.len()];
    for (k, r) in rows.iter().enumerate() {
        for (j, c) in columns.iter().enumerate() {
            data[j * rows.len() + k] = f64::from(samples[*r].x[*c]);
        }
    }
    let y: Vec<f64> = rows
        .iter()
        .map(|r| f64::from(u8::from(samples[*r].y)))
        .collect();
    let w: Vec<f64> = rows
        .iter()
        .map(|r| {
            let s = samples[*r].source;
            weights[s] * mean / per_source[&s] as f64
        })
        .collect();
    let matrix = Matrix::new(&data, rows.len(), columns.len());
    let mut b = GradientBooster::default()
        .set_iterations(opts.iterations)
        .set_learning_rate(opts.learning_rate)
        .set_max_depth(opts.max_depth)
        .set_min_leaf_weight(5.0)
        .set_l2(1.0)
        .set_seed(opts.seed)
        .set_monotone_constraints(Some(constraints(columns)))
        .set_parallel(true);
    b.fit(&matrix, &y, &w, None)
        .map_err(|e| Error::Invalid(format!("train: {e}")))?;
    Ok(b)
}

/// The review threshold whose F-beta, averaged over the sources, is best on out-of-fold
/// scores. Pooled pairs would let the largest source choose it (the generated hard cases
/// outnumber any benchmark several times); the model is meant for catalogs none of them is, so
/// each source counts once.
fn review_for_every_source(samples: &[Sample], oof: &[(f32, bool)], beta: f64) -> f32 {
    let sources = samples.iter().map(|s| s.source).max().map_or(0, |m| m + 1);
    let b2 = beta * beta;
    let mean_f = |t: f32| {
        let mut counts = vec![(0usize, 0usize, 0usize); sources];
        for (s, (score, y)) in samples.iter().zip(oof) {
            let c = &mut counts[s.source];
            match (*score >= t, *y) {
                (true, true) => c.0 += 1,
                (true, false) => c.1 += 1,
                (false, true) => c.2 += 1,
                (false, false) => {}
            }
        }
        let with_positives: Vec<_> = counts.iter().filter(|c| c.0 + c.2 > 0).collect();
        with_positives
            .iter()
            .map(|(tp, fp, fn_)| {
                let p = *tp as f64 / (tp + fp).max(1) as f64;
                let r = *tp as f64 / (tp + fn_).max(1) as f64;
                if p + r > 0.0 {
                    (1.0 + b2) * p * r / (b2 * p + r)
                } else {
                    0.0
                }
            })
            .sum::<f64>()
            / with_positives.len().max(1) as f64
    };
    // A grid of 0.005: finer than any source's scores can resolve.
    let grid: Vec<(f32, f64)> = (2..200)
        .map(|k| {
            let t = k as f32 / 200.0;
            (t, mean_f(t))
        })
        .collect();
    let best = grid.iter().map(|g| g.1).fold(-1.0, f64::max);
    // Of the thresholds as good as the best (within what a few pairs move), the highest:
    // every review costs a person a look.
    grid.iter()
        .filter(|g| g.1 >= best - REVIEW_TIE)
        .map(|g| g.0)
        .fold(0.01, f32::max)
}

/// Mean F-beta differences smaller than this are ties when the review threshold is chosen.
const REVIEW_TIE: f64 = 0.002;

/// Trains a model on `sources`: roles from their offers, then trees on their pairs, then
/// thresholds on out-of-fold scores.
pub fn train(sources: &[Source], base: &Config, opts: &TrainOptions) -> Result<Trained> {
    let folds = opts.folds.max(2);
    let fold_of = |source: usize, listing: &str| fold(source, listing, folds);
    let words = if opts.variants {
        pair_words(sources)
    } else {
        Vec::new()
    };
    let learn_variants = |skip: Option<usize>| {
        Variants::learn(
            words
                .iter()
                .filter(|w| Some(fold_of(w.0, &w.1)) != skip)
                .map(|w| (w.0, w.2.as_slice(), w.3)),
        )
    };
    let roles = learn_roles(sources);
    let (roles, samples) = if opts.variants {
        let roles = roles.with_variants(learn_variants(None));
        // Each fold's pairs are featured with the variant words learned from the other folds:
        // a word weighed by the pair's own label would teach the trees to trust it blindly.
        let mut samples = Vec::new();
        for k in 0..folds {
            let config = featuring(base, roles.clone().with_variants(learn_variants(Some(k))));
            samples.extend(samples_where(sources, &config, |si, id| {
                fold_of(si, id) == k
            })?);
        }
        (roles, samples)
    } else {
        let samples = samples(sources, &featuring(base, roles.clone()))?;
        (roles, samples)
    };
    for name in &opts.without {
        if crate::matching::features::feature_index(name).is_none() {
            return Err(Error::Invalid(format!("train: no feature `{name}`")));
        }
    }
    let columns: Vec<usize> = (0..N)
        .filter(|i| !opts.without.iter().any(|w| w == FEATURES[*i].name))
        .collect();
    let weights: Vec<f64> = sources.iter().map(|s| s.weight.max(0.0)).collect();
    if samples.iter().all(|s| s.y) || samples.iter().all(|s| !s.y) {
        return Err(Error::Invalid(
            "train: need labelled pairs of both kinds".into(),
        ));
    }
    // Out-of-fold scores: a listing's pairs stay in one fold.
    let sample_fold = |s: &Sample| fold_of(s.source, &s.listing);
    let mut out_of_fold = vec![(0f32, false); samples.len()];
    for k in 0..folds {
        let train: Vec<usize> = (0..samples.len())
            .filter(|i| sample_fold(&samples[*i]) != k)
            .collect();
        let b = fit(&samples, &weights, &train, &columns, opts)?;
        let m = TreeModel::with_columns(b, roles.clone(), 0, columns.clone());
        for (i, s) in samples.iter().enumerate() {
            if sample_fold(s) == k {
                out_of_fold[i] = (m.score(&s.x), s.y);
            }
        }
    }
    let all: Vec<usize> = (0..samples.len()).collect();
    let booster = fit(&samples, &weights, &all, &columns, opts)?;
    let mut thresholds: Thresholds =
        calibrate::thresholds(&out_of_fold, 0, opts.block_precision, opts.review_beta);
    thresholds.review =
        review_for_every_source(&samples, &out_of_fold, opts.review_beta).min(thresholds.block);
    thresholds.context_gap = base.thresholds.context_gap;
    let mut model = TreeModel::with_columns(booster, roles, opts.version, columns);
    model.thresholds = Some(thresholds);
    let sources_summary: Vec<(String, usize, usize)> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let n = samples.iter().filter(|x| x.source == i).count();
            let p = samples.iter().filter(|x| x.source == i && x.y).count();
            (s.name.clone(), n, p)
        })
        .collect();
    model.trained_on = sources_summary
        .iter()
        .map(|(n, k, p)| format!("{n}: {k} pairs, {p} positive"))
        .collect();
    Ok(Trained {
        model,
        sources: sources_summary,
        out_of_fold,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(v: serde_json::Value) -> BannedRecord {
        BannedRecord::from_value(v).unwrap().record
    }

    fn listing(v: serde_json::Value) -> Listing {
        Listing::from_value(v).unwrap()
    }

    /// Kettles by model: the listing names the banned model, or another.
    fn source(n: usize) -> Source {
        let mut banned = Vec::new();
        let mut listings = HashMap::new();
        let mut pairs = Vec::new();
        for i in 0..n {
            let m = format!("KT-{}", 1000 + i * 7);
            banned.push(record(json!({"id": format!("A-{i}"), "brand": "AquaBoil",
                "title": format!("AquaBoil {m} electric kettle DDR4-2666"), "models": [m]})));
            let same = i % 2 == 0;
            let lm = if same {
                m.clone()
            } else {
                format!("ZX-{}", 50 + i)
            };
            listings.insert(
                format!("B-{i}"),
                listing(json!({"id": format!("B-{i}"), "title": format!("kettle {lm} DDR4-2666")})),
            );
            pairs.push((format!("A-{i}"), format!("B-{i}"), same));
        }
        Source {
            name: "kettles".into(),
            banned,
            listings,
            pairs,
            products: HashMap::new(),
            weight: 1.0,
        }
    }

    #[test]
    fn a_large_source_does_not_choose_the_review_threshold_alone() {
        // Source 0: 1,000 pairs, separable at 0.8. Source 1: 10 pairs, separable at 0.3.
        let mut samples = Vec::new();
        let mut oof = Vec::new();
        let mut add = |source: usize, score: f32, y: bool| {
            samples.push(Sample {
                source,
                listing: format!("{source}-{}", samples.len()),
                banned: "b".into(),
                x: [0.0; N],
                y,
            });
            oof.push((score, y));
        };
        for i in 0..500 {
            add(0, 0.85 + (i % 10) as f32 / 100.0, true);
            add(0, 0.5 + (i % 10) as f32 / 100.0, false);
        }
        for i in 0..5 {
            add(1, 0.35 + i as f32 / 100.0, true);
            add(1, 0.1 + i as f32 / 100.0, false);
        }
        let t = review_for_every_source(&samples, &oof, 1.0);
        // Pooled, any cut in (0.6, 0.85] would do for 99 % of the pairs; only a cut in
        // (0.14, 0.35] serves both sources, and of those the highest is taken.
        assert!((0.14..=0.35).contains(&t), "{t}");
        assert!(t >= 0.3, "{t}");
    }

    /// Offers of one webcam (model WC-7310) and of one other product, as WDC Products pairs
    /// them: each webcam offer only in a negative pair against the other product's offers.
    fn sampled_offers(labelled: bool) -> Source {
        let mut s = source(0);
        for i in 0..5 {
            s.banned.push(record(json!({"id": format!("A-{i}"),
                "title": format!("Lumo WC-7310 webcam 1080p offer {i}")})));
            s.listings.insert(
                format!("B-{i}"),
                listing(json!({"id": format!("B-{i}"),
                    "title": format!("Lumo VX-{} speaker", 200 + i)})),
            );
            s.pairs.push((format!("A-{i}"), format!("B-{i}"), false));
            if labelled {
                s.products.insert(format!("A-{i}"), "webcam".into());
                s.products.insert(format!("B-{i}"), format!("speaker {i}"));
            }
        }
        s
    }

    #[test]
    fn offers_of_one_product_label_are_one_product_to_the_roles() {
        let key = crate::text::ident::model_key("WC-7310");
        // Unlabelled, five unlinked offers are five products: the code reads as an attribute.
        let roles = learn_roles(&[sampled_offers(false)]);
        assert_eq!(roles.spread(&key), 5);
        assert!(roles.is_attribute(&key, "wc-7310"));
        // Labelled as one product, the code names one product: identity, not an attribute.
        let roles = learn_roles(&[sampled_offers(true)]);
        assert!(roles.spread(&key) <= 1, "{}", roles.spread(&key));
        assert!(!roles.is_attribute(&key, "wc-7310"));
        // A label is read per source: the same label in two sources is two products.
        let roles = learn_roles(&[sampled_offers(true), sampled_offers(true)]);
        assert_eq!(roles.spread(&key), 2);
    }

    #[test]
    fn a_table_with_cluster_ids_labels_its_offers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tableA.csv"),
            "id,title,cluster_id\n0,Lumo WC-7310 webcam,77\n1,Lumo VX-200 speaker,\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("tableB.csv"),
            "id,title,cluster_id\n0,WC-7310 Lumo camera,77\n",
        )
        .unwrap();
        let ds = crate::pipeline::em::Dataset::load(dir.path()).unwrap();
        assert_eq!(ds.products.get("A-0").map(String::as_str), Some("77"));
        assert_eq!(ds.products.get("B-0").map(String::as_str), Some("77"));
        // An empty cluster id labels nothing.
        assert!(!ds.products.contains_key("A-1"));
        assert_eq!(ds.products.len(), 2);
    }

    #[test]
    fn trained_trees_learn_the_pairs_and_the_roles_of_their_offers() {
        let sources = [source(240)];
        let opts = TrainOptions {
            iterations: 20,
            ..TrainOptions::default()
        };
        let t = train(&sources, &Config::default(), &opts).unwrap();
        // DDR4-2666 is in every offer: an attribute, learned, not listed.
        assert!(
            t.model
                .roles
                .spread(&crate::text::ident::model_key("DDR4-2666"))
                >= 3
        );
        let (pos, neg): (Vec<_>, Vec<_>) = t.out_of_fold.iter().partition(|(_, y)| *y);
        let mean = |v: &[&(f32, bool)]| v.iter().map(|x| x.0).sum::<f32>() / v.len() as f32;
        assert!(
            mean(&pos) > mean(&neg) + 0.3,
            "{} {}",
            mean(&pos),
            mean(&neg)
        );
        let th = t.model.thresholds.clone().unwrap();
        assert!(th.review <= th.block);
        // The file it writes loads back and scores the same.
        let text = serde_json::to_string(&t.model.to_file().unwrap()).unwrap();
        let back = TreeModel::from_json(&text).unwrap();
        let x = [0.5; N];
        assert_eq!(back.score(&x), t.model.score(&x));
        // No variant words unless asked for.
        assert!(t.model.roles.variants().is_empty());
    }

    #[test]
    fn variant_words_are_learned_when_asked_and_ship_with_the_model() {
        let sources = [source(240)];
        let opts = TrainOptions {
            iterations: 20,
            variants: true,
            ..TrainOptions::default()
        };
        let t = train(&sources, &Config::default(), &opts).unwrap();
        // The other models' prefix differs only between two products.
        let v = t.model.roles.variants();
        assert!(v.weight("zx") > 0.0, "{v:?}");
        assert_eq!(v.weight("aquaboil"), 0.0);
        let (pos, neg): (Vec<_>, Vec<_>) = t.out_of_fold.iter().partition(|(_, y)| *y);
        let mean = |v: &[&(f32, bool)]| v.iter().map(|x| x.0).sum::<f32>() / v.len() as f32;
        assert!(mean(&pos) > mean(&neg) + 0.3);
        // Every labelled pair was featured once, in one of the folds.
        assert_eq!(t.samples.len(), 240);
        let text = serde_json::to_string(&t.model.to_file().unwrap()).unwrap();
        let back = TreeModel::from_json(&text).unwrap();
        assert_eq!(back.roles.variants(), v);
    }
}

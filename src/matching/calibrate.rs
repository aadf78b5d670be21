//! Fitting the fusion weights and thresholds on labelled pairs (logistic regression).
//!
//! Each sample is the feature vector of one listing–candidate pair and whether the candidate
//! is the listing's banned product. The fit is plain L2-regularised logistic regression by
//! Newton's method: one unknown per feature and the bias, so a hand-written solve is a few lines and needs no linear
//! algebra crate.

use crate::config::{Thresholds, Weights};

pub const FEATURES: usize = crate::matching::features::N;

/// Lowest block threshold `thresholds` proposes.
pub const BLOCK_FLOOR: f32 = 0.9;

#[derive(Debug, Clone)]
pub struct Sample {
    pub x: [f32; FEATURES],
    pub y: bool,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Solves `a x = b` for a small dense system (Gaussian elimination, partial pivoting).
#[allow(clippy::needless_range_loop)] // row operations read clearest with indexes
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..n {
            let f = a[r][c] / a[c][c];
            for k in c..n {
                a[r][k] -= f * a[c][k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    Some(x)
}

/// Fits `[bias, w1..]`, shrinking each weight towards `prior` with strength `l2` (the bias is
/// free). The prior keeps weights the data cannot tell apart where a person put them: a
/// calibration set without GTIN-only relistings says nothing about the GTIN weight.
pub fn fit(samples: &[Sample], l2: f64, prior: &[f64]) -> Vec<f64> {
    let d = FEATURES + 1;
    let prior: Vec<f64> = (0..d)
        .map(|i| prior.get(i).copied().unwrap_or(0.0))
        .collect();
    let rows: Vec<(Vec<f64>, f64)> = samples
        .iter()
        .map(|s| {
            let x = std::iter::once(1.0)
                .chain(s.x.iter().map(|v| *v as f64))
                .collect();
            (x, if s.y { 1.0 } else { 0.0 })
        })
        .collect();
    // Penalised negative log-likelihood, for the step-halving line search.
    let loss = |w: &[f64]| -> f64 {
        let mut l = 0.0;
        for (x, y) in &rows {
            let z: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
            // log(1 + e^z) - y z, computed without overflow.
            l += z.max(0.0) + (-z.abs()).exp().ln_1p() - y * z;
        }
        l + 0.5 * l2 * (1..d).map(|i| (w[i] - prior[i]).powi(2)).sum::<f64>()
    };
    let mut w = vec![0.0; d];
    let mut current = loss(&w);
    for _ in 0..100 {
        let mut grad = vec![0.0; d];
        let mut hess = vec![vec![0.0; d]; d];
        for (x, y) in &rows {
            let z: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
            let p = sigmoid(z);
            for i in 0..d {
                grad[i] += (p - y) * x[i];
                for j in 0..d {
                    hess[i][j] += p * (1.0 - p) * x[i] * x[j];
                }
            }
        }
        for i in 1..d {
            grad[i] += l2 * (w[i] - prior[i]);
            hess[i][i] += l2;
        }
        for (i, row) in hess.iter_mut().enumerate() {
            row[i] += 1e-9;
        }
        let Some(step) = solve(hess, grad) else { break };
        // Damped Newton: halve the step until the loss goes down.
        let mut t = 1.0;
        let mut next = w.clone();
        let mut improved = false;
        for _ in 0..30 {
            next = w.iter().zip(&step).map(|(a, s)| a - t * s).collect();
            let l = loss(&next);
            if l.is_finite() && l <= current {
                current = l;
                improved = true;
                break;
            }
            t /= 2.0;
        }
        if !improved {
            break;
        }
        let change = w
            .iter()
            .zip(&next)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        w = next;
        if change < 1e-7 {
            break;
        }
    }
    w
}

/// Config weights as a vector `[bias, w1..]` (the order of `features::FEATURES`).
pub fn from_weights(w: &Weights) -> Vec<f64> {
    std::iter::once(w.bias)
        .chain(w.values)
        .map(f64::from)
        .collect()
}

/// The fitted vector as config weights, rounded to three decimals.
pub fn to_weights(w: &[f64]) -> Weights {
    let f = |i: usize| (w[i] * 1000.0).round() as f32 / 1000.0;
    Weights {
        bias: f(0),
        values: std::array::from_fn(|i| f(i + 1)),
    }
}

/// Thresholds from scored pairs. Review: the middle of the range of thresholds where F-beta is
/// best
/// (where the fitting data is separable that range is wide, and its middle leaves the most room
/// on both sides). Block: where precision first reaches `block_precision`, at or above review.
/// `missed` counts true pairs no candidate list held: false negatives at every threshold.
pub fn thresholds(
    scored: &[(f32, bool)],
    missed: usize,
    block_precision: f64,
    beta: f64,
) -> Thresholds {
    let mut v: Vec<(f32, bool)> = scored.to_vec();
    v.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = v.iter().filter(|(_, y)| *y).count() + missed;
    let (mut tp, mut fp) = (0usize, 0usize);
    // (index of the last item above the cut, F1) at every cut between distinct scores.
    let mut cuts: Vec<(usize, f64)> = Vec::new();
    let mut block = 1.0f32;
    let mut block_found = false;
    for (i, (s, y)) in v.iter().enumerate() {
        if *y {
            tp += 1
        } else {
            fp += 1
        }
        // Only at the last of equal scores: a threshold cannot split ties.
        if i + 1 < v.len() && v[i + 1].0 == *s {
            continue;
        }
        let p = tp as f64 / (tp + fp) as f64;
        let r = tp as f64 / positives.max(1) as f64;
        // F-beta: beta > 1 weighs recall more (a review costs a person a look; a miss puts a
        // banned product back on sale).
        let b2 = beta * beta;
        let f = if p + r > 0.0 {
            (1.0 + b2) * p * r / (b2 * p + r)
        } else {
            0.0
        };
        cuts.push((i, f));
        if p >= block_precision {
            block = *s;
            block_found = true;
        }
    }
    let best = cuts.iter().map(|c| c.1).fold(-1.0, f64::max);
    let review = match cuts.iter().position(|c| c.1 >= best - 1e-12) {
        None => 0.5,
        Some(k) => {
            let mut end = k;
            while end + 1 < cuts.len() && cuts[end + 1].1 >= best - 1e-12 {
                end += 1;
            }
            // Every threshold in (score after the plateau, score at its start] is as good.
            let hi = v[cuts[k].0].0;
            let lo = v.get(cuts[end].0 + 1).map_or(0.0, |x| x.0);
            (hi + lo) / 2.0
        }
    };
    let review = ((review * 1000.0).floor() / 1000.0).max(0.001);
    // Blocking without a person is policy: even where the fitting data is separable, a
    // probability under BLOCK_FLOOR does not block by default.
    let block = if block_found {
        ((block * 1000.0).ceil() / 1000.0).max(review)
    } else {
        1.0
    };
    Thresholds {
        block: block.max(BLOCK_FLOOR).max(review),
        review,
        context_gap: crate::config::Thresholds::default_context_gap(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_separating_direction() {
        let mut samples = Vec::new();
        for i in 0..400 {
            let a = (i % 20) as f32 / 20.0;
            let mut x = [0.0; FEATURES];
            x[0] = a;
            x[3] = if i % 7 == 0 { 1.0 } else { 0.0 };
            samples.push(Sample {
                x,
                y: a > 0.6 || (i % 7 == 0 && a > 0.2),
            });
        }
        let w = fit(&samples, 0.1, &[0.0; FEATURES + 1]);
        assert!(w[1] > 1.0, "{w:?}");
        assert!(w[4] > 0.5, "{w:?}");
    }

    #[test]
    fn thresholds_follow_the_scores() {
        let scored = vec![
            (0.9, true),
            (0.8, true),
            (0.7, false),
            (0.6, true),
            (0.2, false),
        ];
        let t = thresholds(&scored, 0, 0.99, 1.0);
        assert!(t.review <= 0.6 && t.review > 0.2, "{t:?}");
        assert!((t.block - BLOCK_FLOOR).abs() < 1e-6, "{t:?}");
        let scored = vec![
            (0.99, true),
            (0.95, true),
            (0.93, false),
            (0.6, true),
            (0.2, false),
        ];
        assert!((thresholds(&scored, 0, 0.99, 1.0).block - 0.95).abs() < 1e-6);
    }
}

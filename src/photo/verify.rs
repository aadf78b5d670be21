//! Geometric verification: whether two photos' keypoints agree on one placement of the banned
//! photo inside the listing's (turned, scaled, moved, slightly warped), and how much of the
//! banned photo the agreeing keypoints cover.
//!
//! Descriptors are matched nearest-first with Lowe's ratio test, then RANSAC finds the similarity
//! (rotation, scale, shift) most matches agree with, refined as an affine map so that a slight
//! perspective or a stretch still fits. Look-alike products (two shirts on one background) share
//! descriptors by the dozen but not a placement: verification is what tells a copy from a twin.
//! Written here rather than taken from a crate: the rust-cv RANSAC crates are unmaintained and
//! bring nalgebra and a trait stack for a two-point model that is thirty lines.

use super::keypoints::{Descriptor, Keypoints};

/// Matches farther than this (of 256 bits) are not considered at all.
const MAX_MATCH_DISTANCE: u32 = 64;
/// Lowe's ratio test: the best match must beat the second best by this factor.
const RATIO: f32 = 0.8;
/// Distances from this up are all alike to [`matches`]: none is a match, and as the second
/// best any of them lets every match through the ratio test (64 < 0.8 × 81 in `f32`; at 80
/// it would not). A test holds it to the two constants above.
const INDIFFERENT: u32 = 81;
/// Distance, in working pixels (of [`super::keypoints::SIDE`]), within which a keypoint
/// agrees with the placement.
const TOLERANCE: f32 = 6.0;
/// How far (radians) a match's change of orientation may stray from the placement's rotation.
const ANGLE_TOLERANCE: f32 = 0.5;
/// Scales outside this range are not an edit anyone makes.
const SCALES: (f32, f32) = (0.2, 5.0);
const ITERATIONS: usize = 300;

/// What verification found between a listing photo and a banned photo.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Verified {
    /// Keypoints consistent with one placement.
    pub inliers: u32,
    /// Descriptor matches that passed the ratio test.
    pub matches: u32,
    /// Share of the banned photo's area inside the convex hull of the consistent keypoints.
    pub coverage: f32,
    /// The placement found: the affine map `[a, b, c, d, e, f]` taking a listing keypoint
    /// `(x, y)` (working pixels) to `(a x + b y + e, c x + d y + f)` in the banned photo's.
    pub placement: Option<[f32; 6]>,
    /// How the listing's pixels under the placement correlate with the banned photo's
    /// ([`super::aligned::agreement`]), when the caller had both thumbnails.
    pub aligned: Option<f32>,
    /// How well one colour edit explains the listing's colours under the placement
    /// ([`super::aligned::colour_agreement`]), when the caller had both colour thumbnails.
    pub colour: Option<f32>,
}

/// Consistent keypoints, and share of the banned photo they span, from which a verification is
/// as strong as any: a copy showing most of the banned photo with detail to spare. Edited copies
/// of the tests' drawn photos mostly verify with 30–100 inliers over 15–60 % of the photo;
/// look-alikes that pass (one logo on two products) with about 20 over a fifth.
const STRONG_INLIERS: u32 = 60;
const STRONG_COVERAGE: f32 = 0.4;

impl Verified {
    /// How strongly the keypoints confirm a copy, in [0, 1]: 0 at the least that confirms one
    /// (`least_inliers` over `least_coverage`), 1 from `STRONG_INLIERS` over
    /// `STRONG_COVERAGE` on; the mean of the two shares, so that strength needs both many
    /// consistent keypoints and a wide spread of them (a logo alone gives many in one spot).
    pub fn strength(&self, least_inliers: u32, least_coverage: f32) -> f32 {
        let share = |x: f32, lo: f32, hi: f32| {
            if hi > lo {
                ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
            } else {
                f32::from(u8::from(x >= lo))
            }
        };
        let s =
            0.5 * share(
                self.inliers as f32,
                least_inliers as f32,
                STRONG_INLIERS as f32,
            ) + 0.5 * share(self.coverage, least_coverage, STRONG_COVERAGE);
        if s.is_finite() { s } else { 0.0 }
    }
}

/// One descriptor match: the listing keypoint's position and angle, the banned one's.
#[derive(Debug, Clone, Copy)]
struct Pair {
    q: [f32; 2],
    b: [f32; 2],
    turn: f32,
}

/// Verifies a listing photo's keypoints (`query`) against a banned photo's (`banned`).
pub fn verify(query: &Keypoints, banned: &Keypoints) -> Verified {
    let pairs = matches(query, banned);
    let mut out = Verified {
        matches: pairs.len() as u32,
        ..Verified::default()
    };
    if pairs.len() < 3 {
        return out;
    }
    let Some((inliers, map)) = consensus(&pairs) else {
        return out;
    };
    out.inliers = inliers.len() as u32;
    out.placement = Some(map.0);
    let hull: Vec<[f32; 2]> = inliers.iter().map(|&i| pairs[i].b).collect();
    let area = banned.width as f32 * banned.height as f32;
    out.coverage = (hull_area(hull) / area).clamp(0.0, 1.0);
    out
}

/// Mutual nearest neighbours that pass the ratio test, at most one per banned keypoint.
fn matches(query: &Keypoints, banned: &Keypoints) -> Vec<Pair> {
    matches_by(query, banned, |qd, bd, d2| {
        // Three quarters of the bits are a lower bound of the distance: past the second best,
        // or past every distance the match and ratio tests can tell apart, the last quarter
        // cannot change what is kept (most pairs of unrelated descriptors stop here).
        let part = (qd[0] ^ bd[0]).count_ones()
            + (qd[1] ^ bd[1]).count_ones()
            + (qd[2] ^ bd[2]).count_ones();
        (part < d2.min(INDIFFERENT)).then(|| part + (qd[3] ^ bd[3]).count_ones())
    })
}

/// [`matches`] with the distance given by `distance(query's, banned's, second best so far)`:
/// `None` for a pair that cannot become the best or second best.
fn matches_by(
    query: &Keypoints,
    banned: &Keypoints,
    distance: impl Fn(&Descriptor, &Descriptor, u32) -> Option<u32>,
) -> Vec<Pair> {
    let mut best_for_banned: Vec<Option<(u32, usize)>> = vec![None; banned.len()];
    for (qi, qd) in query.descriptors.iter().enumerate() {
        let (mut d1, mut d2, mut j1) = (u32::MAX, u32::MAX, 0);
        for (bj, bd) in banned.descriptors.iter().enumerate() {
            let Some(d) = distance(qd, bd, d2) else {
                continue;
            };
            if d < d1 {
                (d2, d1, j1) = (d1, d, bj);
            } else if d < d2 {
                d2 = d;
            }
        }
        if d1 > MAX_MATCH_DISTANCE || (d2 != u32::MAX && d1 as f32 >= RATIO * d2 as f32) {
            continue;
        }
        if best_for_banned[j1].is_none_or(|(d, _)| d1 < d) {
            best_for_banned[j1] = Some((d1, qi));
        }
    }
    best_for_banned
        .iter()
        .enumerate()
        .filter_map(|(bj, m)| {
            let (_, qi) = (*m)?;
            let (q, b) = (&query.points[qi], &banned.points[bj]);
            Some(Pair {
                q: [q.x, q.y],
                b: [b.x, b.y],
                turn: b.angle - q.angle,
            })
        })
        .collect()
}

/// The angle `a` brought into (-π, π].
fn wrap(a: f32) -> f32 {
    let t = a.rem_euclid(std::f32::consts::TAU);
    if t > std::f32::consts::PI {
        t - std::f32::consts::TAU
    } else {
        t
    }
}

/// An affine map `b = [a b; c d] q + [e f]`.
#[derive(Debug, Clone, Copy)]
struct Affine([f32; 6]);

impl Affine {
    fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        let m = &self.0;
        [
            m[0] * p[0] + m[1] * p[1] + m[4],
            m[2] * p[0] + m[3] * p[1] + m[5],
        ]
    }

    /// The map taking `b` back to `q`, if this one is not (nearly) singular.
    fn inverse(&self) -> Option<Affine> {
        let [a, b, c, d, e, f] = self.0;
        let det = a * d - b * c;
        if !det.is_finite() || det.abs() < 1e-6 {
            return None;
        }
        let (ia, ib, ic, id) = (d / det, -b / det, -c / det, a / det);
        Some(Affine([
            ia,
            ib,
            ic,
            id,
            -(ia * e + ib * f),
            -(ic * e + id * f),
        ]))
    }

    /// The similarity taking `q1 → b1` and `q2 → b2`, if its scale is plausible.
    fn similarity(p1: &Pair, p2: &Pair) -> Option<(Affine, f32)> {
        let (dqx, dqy) = (p2.q[0] - p1.q[0], p2.q[1] - p1.q[1]);
        let (dbx, dby) = (p2.b[0] - p1.b[0], p2.b[1] - p1.b[1]);
        let n = dqx * dqx + dqy * dqy;
        if n < 64.0 {
            return None;
        }
        // (a + ib) = db / dq as complex numbers.
        let a = (dbx * dqx + dby * dqy) / n;
        let b = (dby * dqx - dbx * dqy) / n;
        let scale = (a * a + b * b).sqrt();
        if !(SCALES.0..=SCALES.1).contains(&scale) {
            return None;
        }
        let e = p1.b[0] - (a * p1.q[0] - b * p1.q[1]);
        let f = p1.b[1] - (b * p1.q[0] + a * p1.q[1]);
        Some((Affine([a, -b, b, a, e, f]), b.atan2(a)))
    }

    /// The least-squares affine map of the pairs `idx`, if they are not degenerate.
    fn fit(pairs: &[Pair], idx: &[usize]) -> Option<Affine> {
        // Normal equations for [x y 1] · (a b e) = bx and · (c d f) = by.
        let mut m = [[0f64; 3]; 3];
        let (mut rx, mut ry) = ([0f64; 3], [0f64; 3]);
        for &i in idx {
            let p = &pairs[i];
            let v = [p.q[0] as f64, p.q[1] as f64, 1.0];
            for r in 0..3 {
                for c in 0..3 {
                    m[r][c] += v[r] * v[c];
                }
                rx[r] += v[r] * p.b[0] as f64;
                ry[r] += v[r] * p.b[1] as f64;
            }
        }
        let x = solve3(m, rx)?;
        let y = solve3(m, ry)?;
        Some(Affine([
            x[0] as f32,
            x[1] as f32,
            y[0] as f32,
            y[1] as f32,
            x[2] as f32,
            y[2] as f32,
        ]))
    }
}

/// Cramer's rule for a 3×3 system; `None` when it is (nearly) singular.
fn solve3(m: [[f64; 3]; 3], r: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    if d.abs() < 1e-6 {
        return None;
    }
    let mut out = [0f64; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let mut mc = m;
        for row in 0..3 {
            mc[row][c] = r[row];
        }
        *o = det(&mc) / d;
    }
    Some(out)
}

/// Whether the map places pair `p` within [`TOLERANCE`] (and, for a similarity, its change of
/// orientation agrees with the rotation).
#[inline]
fn agrees(p: &Pair, map: &Affine, rotation: Option<f32>) -> bool {
    let at = map.apply(p.q);
    let (dx, dy) = (at[0] - p.b[0], at[1] - p.b[1]);
    dx * dx + dy * dy <= TOLERANCE * TOLERANCE
        && rotation.is_none_or(|r| wrap(p.turn - r).abs() <= ANGLE_TOLERANCE)
}

/// The pairs the map places within [`TOLERANCE`] (and, for a similarity, whose change of
/// orientation agrees with its rotation).
fn agreeing(pairs: &[Pair], map: &Affine, rotation: Option<f32>) -> Vec<usize> {
    (0..pairs.len())
        .filter(|&i| agrees(&pairs[i], map, rotation))
        .collect()
}

/// The largest set of pairs one placement agrees with (RANSAC over similarities, then refined
/// twice as an affine map); `None` when no placement is found.
fn consensus(pairs: &[Pair]) -> Option<(Vec<usize>, Affine)> {
    let n = pairs.len();
    // A fixed generator: the same photos give the same evidence on every run.
    let mut state = 0x2545_F491_4F6C_DD1D_u64 ^ n as u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut best: Vec<usize> = Vec::new();
    let mut best_map = Affine([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    for _ in 0..ITERATIONS {
        let i = (next() % n as u64) as usize;
        let j = (next() % n as u64) as usize;
        if i == j {
            continue;
        }
        let Some((map, rotation)) = Affine::similarity(&pairs[i], &pairs[j]) else {
            continue;
        };
        // Both samples must themselves agree on the orientation change.
        if wrap(pairs[i].turn - rotation).abs() > ANGLE_TOLERANCE
            || wrap(pairs[j].turn - rotation).abs() > ANGLE_TOLERANCE
        {
            continue;
        }
        // Counted first: most placements agree with fewer pairs than the best so far, and
        // listing them all was an allocation per iteration.
        let count = pairs
            .iter()
            .filter(|p| agrees(p, &map, Some(rotation)))
            .count();
        if count > best.len() {
            best = agreeing(pairs, &map, Some(rotation));
            best_map = map;
            if best.len() * 10 >= n * 9 {
                break;
            }
        }
    }
    if best.len() < 3 {
        return None;
    }
    for _ in 0..2 {
        let Some(map) = Affine::fit(pairs, &best) else {
            break;
        };
        let refined = agreeing(pairs, &map, None);
        if refined.len() < best.len() {
            break;
        }
        best = refined;
        best_map = map;
    }
    Some((best, best_map))
}

/// Working pixels near a photo's edge where no keypoint is found (the descriptor's patch must
/// fit): a banned keypoint placed there is not one a copy could show.
const EDGE: f32 = 18.0;

/// How many banned keypoints `placement` ([`Verified::placement`]) puts inside the listing
/// photo, clear of its edges: the most a copy showing that part of the banned photo could agree
/// on (a crop shows a part of them, a collage all of them small). No decision reads it (inliers
/// as a share of it did not tell copies from look-alikes); the bench's `verify-dump` prints it,
/// so verification does not compute it for every pair.
pub fn shown(query: &Keypoints, banned: &Keypoints, placement: [f32; 6]) -> u32 {
    let map = Affine(placement);
    let Some(inverse) = map.inverse() else {
        return 0;
    };
    let (qw, qh) = (f32::from(query.width), f32::from(query.height));
    banned
        .points
        .iter()
        .filter(|b| {
            let at = inverse.apply([b.x, b.y]);
            (EDGE..=qw - EDGE).contains(&at[0]) && (EDGE..=qh - EDGE).contains(&at[1])
        })
        .count() as u32
}

/// Area of the convex hull of `points` (Andrew's monotone chain).
pub(crate) fn hull_area(mut points: Vec<[f32; 2]>) -> f32 {
    points.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    points.dedup();
    if points.len() < 3 {
        return 0.0;
    }
    let cross = |o: [f32; 2], a: [f32; 2], b: [f32; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let mut hull: Vec<[f32; 2]> = Vec::with_capacity(points.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[f32; 2]>> = if pass == 0 {
            Box::new(points.iter())
        } else {
            Box::new(points.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    let mut area = 0.0;
    for i in 0..hull.len() {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        area += a[0] * b[1] - b[0] * a[1];
    }
    area.abs() / 2.0
}

#[cfg(test)]
mod tests {
    use super::super::keypoints::{BANNED_KEYPOINTS, QUERY_KEYPOINTS, extract};
    use super::*;
    use image::DynamicImage;

    fn textured(seed: u64) -> DynamicImage {
        super::super::keypoints::tests::textured(seed, 480, 480)
    }

    #[test]
    fn a_copy_verifies_and_another_photo_does_not() {
        let a = textured(11);
        let banned = extract(&a, BANNED_KEYPOINTS).unwrap();
        let same = verify(&extract(&a, QUERY_KEYPOINTS).unwrap(), &banned);
        assert!(same.inliers >= 40 && same.coverage > 0.5, "{same:?}");
        let other = verify(&extract(&textured(12), QUERY_KEYPOINTS).unwrap(), &banned);
        assert!(other.inliers < 8, "{other:?}");
    }

    #[test]
    fn strength_needs_both_many_keypoints_and_a_wide_spread() {
        let v = |inliers, coverage| Verified {
            inliers,
            matches: inliers,
            coverage,
            ..Verified::default()
        };
        let s = |x: Verified| x.strength(18, 0.08);
        assert_eq!(s(v(18, 0.08)), 0.0);
        assert_eq!(s(v(0, 0.0)), 0.0);
        assert_eq!(s(v(STRONG_INLIERS, STRONG_COVERAGE)), 1.0);
        assert_eq!(s(v(500, 1.0)), 1.0);
        // A logo that verifies on a look-alike, against a copy's usual verification.
        assert!(s(v(21, 0.2)) < 0.25 && s(v(64, 0.32)) > 0.8);
        // Many keypoints in one spot are half the strength, not all of it.
        assert_eq!(s(v(100, 0.08)), 0.5);
        assert!(s(v(40, 0.3)) > s(v(40, 0.2)) && s(v(40, 0.2)) > s(v(30, 0.2)));
        // Degenerate bounds do not divide by zero.
        assert!(v(5, f32::NAN).strength(60, 0.4).is_finite());
        assert_eq!(v(5, 0.1).strength(60, 0.4), 0.0);
    }

    #[test]
    fn a_crop_turned_a_little_still_verifies() {
        let a = textured(13);
        let banned = extract(&a, BANNED_KEYPOINTS).unwrap();
        let crop = a.crop_imm(60, 40, 360, 380);
        let turned = crop.rotate90();
        let v = verify(&extract(&turned, QUERY_KEYPOINTS).unwrap(), &banned);
        assert!(v.inliers >= 15, "{v:?}");
        assert!(v.coverage > 0.2 && v.coverage < 0.8, "{v:?}");
    }

    /// `matches` as it was before the partial-distance cut: every distance in full.
    fn matches_in_full(query: &Keypoints, banned: &Keypoints) -> Vec<Pair> {
        use super::super::keypoints::distance;
        matches_by(query, banned, |qd, bd, _| Some(distance(qd, bd)))
    }

    fn same_pairs(a: &[Pair], b: &[Pair]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.q == y.q && x.b == y.b && x.turn.to_bits() == y.turn.to_bits())
    }

    #[test]
    fn distances_from_indifferent_up_are_alike_to_the_tests() {
        for d1 in 0..=MAX_MATCH_DISTANCE {
            for d2 in INDIFFERENT..=256 {
                assert!((d1 as f32) < RATIO * d2 as f32, "{d1} {d2}");
            }
        }
        // The bound is the least one: one less would turn a match away.
        let d1 = MAX_MATCH_DISTANCE;
        assert!(d1 as f32 >= RATIO * (INDIFFERENT - 1) as f32);
        const { assert!(INDIFFERENT > MAX_MATCH_DISTANCE) };
    }

    #[test]
    fn matches_are_those_of_full_distances_on_photos() {
        for (a, b) in [(11, 11), (11, 12), (13, 14)] {
            let q = extract(&textured(a), QUERY_KEYPOINTS).unwrap();
            let banned = extract(&textured(b).rotate90(), BANNED_KEYPOINTS).unwrap();
            assert!(same_pairs(
                &matches(&q, &banned),
                &matches_in_full(&q, &banned)
            ));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]
        /// Descriptors near and far from each other (a few bits flipped, or any bits), ties
        /// included: the pairs kept are those of the full distances, in the same order.
        #[test]
        fn matches_are_those_of_full_distances(
            seed in proptest::prelude::any::<u64>(),
            nq in 0usize..40,
            nb in 0usize..40,
            flips in 0u32..60,
        ) {
            let mut rng = crate::pipeline::hardcases::Rng::new(seed);
            let mut rand = move || rng.next_u64();
            let point = |i: usize| super::super::keypoints::Keypoint {
                x: i as f32,
                y: (i * 7 % 13) as f32,
                angle: i as f32 * 0.1,
                level: 0,
            };
            let mut q = Keypoints::default();
            for i in 0..nq {
                q.descriptors.push(std::array::from_fn(|_| rand()));
                q.points.push(point(i));
            }
            let mut banned = Keypoints::default();
            for j in 0..nb {
                let mut d: [u64; 4] = std::array::from_fn(|_| rand());
                if nq > 0 && rand() % 4 != 0 {
                    // A near copy of a query descriptor (sometimes an exact one: ties).
                    d = q.descriptors[(rand() % nq as u64) as usize];
                    for _ in 0..rand() % u64::from(flips + 1) {
                        let bit = rand() % 256;
                        d[(bit / 64) as usize] ^= 1 << (bit % 64);
                    }
                }
                banned.descriptors.push(d);
                banned.points.push(point(j + 100));
            }
            proptest::prop_assert!(same_pairs(&matches(&q, &banned), &matches_in_full(&q, &banned)));
        }
    }

    #[test]
    fn the_hull_of_a_square_is_its_area() {
        let pts = vec![
            [0.0, 0.0],
            [10.0, 0.0],
            [10.0, 10.0],
            [0.0, 10.0],
            [5.0, 5.0],
        ];
        assert!((hull_area(pts) - 100.0).abs() < 1e-3);
        assert_eq!(hull_area(vec![[0.0, 0.0], [1.0, 1.0]]), 0.0);
    }
}

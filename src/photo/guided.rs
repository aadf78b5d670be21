//! A second verification guided by the first one's placement: banned keypoints are looked for
//! where the placement puts them in the listing, with a looser descriptor test than the first
//! pass's ratio test, and the placement is refitted on what is found there.
//!
//! Several edits at once (a turn, a crop, a caption and a low JPEG quality) leave a copy with
//! few keypoints that pass the ratio test against all of the banned photo's: a keypoint of a
//! repeated texture, or one blurred by the recompression, has a second-best match nearly as
//! close. Looked for only near where the placement puts it, the keypoint has one candidate or
//! two, and a descriptor within 64 bits of it is enough. The few first-pass inliers also
//! fit the placement loosely, which lowers the aligned-region check's agreement
//! ([`super::aligned`]); refitted on the guided pairs the placement is tighter.
//!
//! Look-alikes (the same kind of product on the same backdrop) also find many keypoints where
//! a rough placement puts them (benches/RESULTS.md, photo7's "echo" counts), so the count found
//! here is no evidence by itself: it only lets the aligned-region check judge the placement.

use super::keypoints::{Keypoints, distance};
use super::verify::Verified;

/// Radius (working pixels) around a banned keypoint's placed position within which a listing
/// keypoint is a candidate: the first placement, fitted on a few pairs, strays by a few pixels.
const SEARCH_RADIUS: f32 = 8.0;
/// Radius within which a refitted placement must put a guided pair to count it (as the first
/// pass's tolerance).
const TOLERANCE: f32 = 6.0;
/// Descriptor distance (of 256 bits) at most for a guided pair.
const MAX_DISTANCE: u32 = 64;
/// How far (radians) a guided pair's change of orientation may stray from the placement's.
const ANGLE_TOLERANCE: f32 = 0.5;
/// Refits of the placement on the guided pairs.
const REFITS: usize = 3;

/// Applies the affine map `m` (as [`Verified::placement`]) to `p`.
fn apply(m: &[f32; 6], p: [f32; 2]) -> [f32; 2] {
    [
        m[0] * p[0] + m[1] * p[1] + m[4],
        m[2] * p[0] + m[3] * p[1] + m[5],
    ]
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

/// The second verification of `query` against `banned` from the first one's placement
/// (`first`); `None` without a placement or when the guided pairs fit none. The result's
/// `inliers` and `coverage` are the guided pairs the refitted placement keeps, its `matches`
/// the guided pairs found, its `placement` the refitted map; `aligned` and `colour` are left
/// for the caller.
pub fn reverify(query: &Keypoints, banned: &Keypoints, first: &Verified) -> Option<Verified> {
    let mut map = first.placement?;
    if !map.iter().all(|v| v.is_finite()) {
        return None;
    }
    let mut kept: Vec<(usize, usize)> = Vec::new();
    let mut found = 0;
    for round in 0..=REFITS {
        let radius = if round == 0 { SEARCH_RADIUS } else { TOLERANCE };
        let pairs = guided_pairs(query, banned, &map, radius);
        found = found.max(pairs.len() as u32);
        if pairs.len() < 3 {
            break;
        }
        kept = pairs;
        let Some(refit) = fit(query, banned, &kept) else {
            break;
        };
        if refit == map {
            break;
        }
        map = refit;
    }
    if kept.len() < 3 {
        return None;
    }
    // The pairs the final placement keeps.
    let inliers: Vec<(usize, usize)> = kept
        .into_iter()
        .filter(|&(qi, bj)| {
            let q = &query.points[qi];
            let b = &banned.points[bj];
            let at = apply(&map, [q.x, q.y]);
            let (dx, dy) = (at[0] - b.x, at[1] - b.y);
            dx * dx + dy * dy <= TOLERANCE * TOLERANCE
        })
        .collect();
    let hull: Vec<[f32; 2]> = inliers
        .iter()
        .map(|&(_, bj)| [banned.points[bj].x, banned.points[bj].y])
        .collect();
    let area = f32::from(banned.width) * f32::from(banned.height);
    let coverage = super::verify::hull_area(hull) / area;
    Some(Verified {
        inliers: inliers.len() as u32,
        matches: found,
        coverage: if coverage.is_finite() {
            coverage.clamp(0.0, 1.0)
        } else {
            0.0
        },
        placement: Some(map),
        aligned: None,
        colour: None,
    })
}

/// Descriptor distances (of 256 bits) of the guided pairs that `placement` keeps (as
/// [`reverify`]'s final round finds them), sorted.
pub fn pair_distances(query: &Keypoints, banned: &Keypoints, placement: &[f32; 6]) -> Vec<u32> {
    let mut d: Vec<u32> = guided_pairs(query, banned, placement, TOLERANCE)
        .into_iter()
        .map(|(qi, bj)| distance(&query.descriptors[qi], &banned.descriptors[bj]))
        .collect();
    d.sort_unstable();
    d
}

/// For each banned keypoint, the listing keypoint the placement `map` puts within `radius` of
/// it with the closest descriptor (within [`MAX_DISTANCE`], its orientation turned as the
/// placement turns), each listing keypoint used once: `(listing, banned)` indexes.
fn guided_pairs(
    query: &Keypoints,
    banned: &Keypoints,
    map: &[f32; 6],
    radius: f32,
) -> Vec<(usize, usize)> {
    let rotation = map[2].atan2(map[0]);
    // Placed listing keypoints sorted across: each banned keypoint reads only the run within
    // `radius` of it across, not all of them.
    let mut placed: Vec<([f32; 2], usize)> = query
        .points
        .iter()
        .enumerate()
        .map(|(qi, q)| (apply(map, [q.x, q.y]), qi))
        .filter(|(at, _)| at[0].is_finite() && at[1].is_finite())
        .collect();
    placed.sort_by(|a, b| a.0[0].total_cmp(&b.0[0]));
    // Best banned keypoint of each listing keypoint, and its distance.
    let mut best_of_query: Vec<Option<(u32, usize)>> = vec![None; query.len()];
    for (bj, b) in banned.points.iter().enumerate() {
        let mut best: Option<(u32, usize)> = None;
        let from = placed.partition_point(|(at, _)| at[0] < b.x - radius);
        for &(at, qi) in &placed[from..] {
            if at[0] > b.x + radius {
                break;
            }
            let (dx, dy) = (at[0] - b.x, at[1] - b.y);
            if dx * dx + dy * dy > radius * radius {
                continue;
            }
            if wrap(b.angle - query.points[qi].angle - rotation).abs() > ANGLE_TOLERANCE {
                continue;
            }
            let d = distance(&query.descriptors[qi], &banned.descriptors[bj]);
            // Ties to the earlier listing keypoint, whatever the order read in.
            if d <= MAX_DISTANCE && best.is_none_or(|e| (d, qi) < e) {
                best = Some((d, qi));
            }
        }
        if let Some((d, qi)) = best
            && best_of_query[qi].is_none_or(|(e, _)| d < e)
        {
            best_of_query[qi] = Some((d, bj));
        }
    }
    best_of_query
        .iter()
        .enumerate()
        .filter_map(|(qi, m)| m.map(|(_, bj)| (qi, bj)))
        .collect()
}

/// The least-squares affine map taking the listing keypoints of `pairs` to their banned ones;
/// `None` when they are degenerate (all on a line).
fn fit(query: &Keypoints, banned: &Keypoints, pairs: &[(usize, usize)]) -> Option<[f32; 6]> {
    // Centred sums: better conditioned than the raw normal equations.
    let n = pairs.len() as f64;
    let (mut mq, mut mb) = ([0f64; 2], [0f64; 2]);
    for &(qi, bj) in pairs {
        let (q, b) = (&query.points[qi], &banned.points[bj]);
        mq[0] += q.x as f64;
        mq[1] += q.y as f64;
        mb[0] += b.x as f64;
        mb[1] += b.y as f64;
    }
    mq = mq.map(|v| v / n);
    mb = mb.map(|v| v / n);
    let (mut sxx, mut sxy, mut syy) = (0f64, 0f64, 0f64);
    let (mut ux, mut uy, mut vx, mut vy) = (0f64, 0f64, 0f64, 0f64);
    for &(qi, bj) in pairs {
        let (q, b) = (&query.points[qi], &banned.points[bj]);
        let (x, y) = (q.x as f64 - mq[0], q.y as f64 - mq[1]);
        let (u, v) = (b.x as f64 - mb[0], b.y as f64 - mb[1]);
        sxx += x * x;
        sxy += x * y;
        syy += y * y;
        ux += u * x;
        uy += u * y;
        vx += v * x;
        vy += v * y;
    }
    let det = sxx * syy - sxy * sxy;
    // Points nearly on a line (relative to their spread) fix no affine map.
    if !det.is_finite() || det <= 1e-6 * (sxx + syy).powi(2) || det <= 0.0 {
        return None;
    }
    let (ia, ib, id) = (syy / det, -sxy / det, sxx / det);
    let (a, b) = (ux * ia + uy * ib, ux * ib + uy * id);
    let (c, d) = (vx * ia + vy * ib, vx * ib + vy * id);
    let e = mb[0] - (a * mq[0] + b * mq[1]);
    let f = mb[1] - (c * mq[0] + d * mq[1]);
    let m = [a, b, c, d, e, f].map(|v| v as f32);
    m.iter().all(|v| v.is_finite()).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::super::keypoints::{BANNED_KEYPOINTS, QUERY_KEYPOINTS, extract};
    use super::super::verify::verify;
    use super::*;

    fn textured(seed: u64) -> image::DynamicImage {
        super::super::keypoints::tests::textured(seed, 480, 480)
    }

    #[test]
    fn a_copy_is_found_again_at_its_placement_and_nothing_without_one() {
        let a = textured(21);
        let banned = extract(&a, BANNED_KEYPOINTS).unwrap();
        let crop = a.crop_imm(50, 30, 380, 400).rotate90();
        let q = extract(&crop, QUERY_KEYPOINTS).unwrap();
        let first = verify(&q, &banned);
        let again = reverify(&q, &banned, &first).unwrap();
        assert!(again.inliers >= first.inliers, "{first:?} {again:?}");
        // The refitted placement still takes the listing's points where the first put them.
        let (m0, m1) = (first.placement.unwrap(), again.placement.unwrap());
        for p in [[40.0, 40.0], [200.0, 120.0], [100.0, 220.0]] {
            let (a, b) = (apply(&m0, p), apply(&m1, p));
            assert!((a[0] - b[0]).hypot(a[1] - b[1]) < 6.0, "{a:?} {b:?}");
        }
        assert_eq!(reverify(&q, &banned, &Verified::default()), None);
        let junk = Verified {
            placement: Some([f32::NAN, 0.0, 0.0, 1.0, 0.0, 0.0]),
            ..first
        };
        assert_eq!(reverify(&q, &banned, &junk), None);
        // A placement with nothing where it points finds nothing.
        let off = Verified {
            placement: Some([1.0, 0.0, 0.0, 1.0, 5000.0, 5000.0]),
            ..first
        };
        assert_eq!(reverify(&q, &banned, &off), None);
    }

    #[test]
    fn the_fit_recovers_a_known_map_and_refuses_a_line() {
        let a = textured(22);
        let k = extract(&a, BANNED_KEYPOINTS).unwrap();
        let m = [0.9, -0.2, 0.25, 1.1, 7.0, -3.0];
        let mut moved = k.clone();
        for p in &mut moved.points {
            let at = apply(&m, [p.x, p.y]);
            (p.x, p.y) = (at[0], at[1]);
        }
        let pairs: Vec<(usize, usize)> = (0..k.len()).map(|i| (i, i)).collect();
        let got = fit(&k, &moved, &pairs).unwrap();
        for (g, e) in got.iter().zip(m) {
            assert!((g - e).abs() < 1e-2, "{got:?}");
        }
        let mut line = k.clone();
        for (i, p) in line.points.iter_mut().enumerate() {
            (p.x, p.y) = (i as f32, 2.0 * i as f32);
        }
        assert_eq!(fit(&line, &moved, &pairs), None);
    }
}

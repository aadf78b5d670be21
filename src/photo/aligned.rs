//! The aligned-region check: once verification has placed a banned photo inside a listing's,
//! whether the listing's pixels under that placement look like the banned photo's.
//!
//! A crop or several edits at once leave a copy fewer of the banned photo's 128 stored
//! keypoints than verification's count needs; the pixels under the placement still agree
//! with the banned photo's, and those of a look-alike product under a chance placement do not.
//! A small grey thumbnail of each banned photo is stored at ingest (`thumb`, [`BANNED_SIDE`] a
//! side, a kilobyte), the listing photo's is made at check time, and the differences between
//! neighbouring cells of the banned thumbnail are correlated with those of the listing's
//! pixels the placement puts them on. Only the cells the listing shows count, so a crop is
//! judged on what it kept. Correlation rather than distance: a colour or brightness shift is a
//! copy still; differences rather than levels: two look-alikes on one backdrop share the
//! backdrop's levels.

use base64::Engine as _;
use image::{DynamicImage, imageops};

use super::keypoints::Keypoints;

/// Cells a side of a banned photo's stored thumbnail.
pub const BANNED_SIDE: u32 = 32;
/// Cells a side of a listing photo's thumbnail: finer than the banned one's, since a banned
/// photo placed in a collage or a crop spans a part of it.
pub const QUERY_SIDE: u32 = 64;
/// Banned cells the listing must show for the correlation to say anything: 6 % of them (a
/// crop keeping 60 % of each side shows 36 %).
const MIN_CELLS: usize = 64;

/// A grey thumbnail of a whole photo, stretched to a square: cell `(i, j)` covers the photo
/// between `i / side` and `(i + 1) / side` of its width, the same of its height.
#[derive(Debug, Clone, PartialEq)]
pub struct Thumb {
    side: u32,
    cells: Box<[u8]>,
}

impl Thumb {
    /// The photo's thumbnail, `side` cells a side (area averages).
    pub fn of(img: &DynamicImage, side: u32) -> Thumb {
        let grey = img.to_luma8();
        let t = imageops::thumbnail(&grey, side, side);
        Thumb {
            side,
            cells: t.into_raw().into_boxed_slice(),
        }
    }

    /// Compact text form, stored with a banned record's hashes: base64 of a version byte, the
    /// side and the cells.
    pub fn encode(&self) -> String {
        let mut out = Vec::with_capacity(2 + self.cells.len());
        out.push(1u8);
        out.push(self.side as u8);
        out.extend_from_slice(&self.cells);
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
    }

    /// [`Thumb::encode`]'s form read back; `None` for anything else.
    pub fn decode(s: &str) -> Option<Thumb> {
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(s)
            .ok()?;
        let (&[version, side], cells) = bytes.split_first_chunk::<2>()?;
        let side = u32::from(side);
        if version != 1 || side == 0 || cells.len() != (side * side) as usize {
            return None;
        }
        Some(Thumb {
            side,
            cells: cells.into(),
        })
    }

    /// The grey level at `(u, v)`, fractions of the photo's width and height, interpolated
    /// between cell centres.
    fn sample(&self, u: f32, v: f32) -> f32 {
        let s = self.side as f32;
        let (x, y) = (
            (u * s - 0.5).clamp(0.0, s - 1.0),
            (v * s - 0.5).clamp(0.0, s - 1.0),
        );
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let side = self.side as usize;
        let (x1, y1) = ((x0 + 1).min(side - 1), (y0 + 1).min(side - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let at = |x: usize, y: usize| f32::from(self.cells[y * side + x]);
        let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
        let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// The banned photo's thumbnail, as stored at ingest.
pub fn banned_thumb(img: &DynamicImage) -> Thumb {
    Thumb::of(img, BANNED_SIDE)
}

/// A listing photo's thumbnail.
pub fn query_thumb(img: &DynamicImage) -> Thumb {
    Thumb::of(img, QUERY_SIDE)
}

/// The correlation, in [-1, 1], between the differences of neighbouring banned thumbnail
/// cells the listing shows and those of the listing's pixels `map` puts them on. `map` takes the listing's working pixels
/// (`query`'s frame, mirrored when `mirrored`) to the banned photo's (`banned`'s frame), as
/// [`super::verify::Verified::placement`] gives it. `None` when the listing shows fewer than
/// 64 cells (`MIN_CELLS`), or either side is flat where it shows.
pub fn agreement(
    query: &Keypoints,
    query_thumb: &Thumb,
    mirrored: bool,
    banned: &Keypoints,
    banned_thumb: &Thumb,
    map: [f32; 6],
) -> Option<f32> {
    let [a, b, c, d, e, f] = map;
    let det = a * d - b * c;
    if !det.is_finite() || det.abs() < 1e-6 {
        return None;
    }
    let (ia, ib, ic, id) = (d / det, -b / det, -c / det, a / det);
    let (qw, qh) = (f32::from(query.width), f32::from(query.height));
    let (bw, bh) = (f32::from(banned.width), f32::from(banned.height));
    if qw < 1.0 || qh < 1.0 || bw < 1.0 || bh < 1.0 {
        return None;
    }
    let side = banned_thumb.side as usize;
    // The listing's grey level under each banned cell, where the listing shows it.
    let mut under = vec![f32::NAN; side * side];
    let mut shown = 0;
    for j in 0..side {
        for i in 0..side {
            // The cell's centre in banned working pixels, taken back to the listing's.
            let (bx, by) = (
                (i as f32 + 0.5) / side as f32 * bw,
                (j as f32 + 0.5) / side as f32 * bh,
            );
            let (dx, dy) = (bx - e, by - f);
            let (x, y) = (ia * dx + ib * dy, ic * dx + id * dy);
            if !(0.0..qw).contains(&x) || !(0.0..qh).contains(&y) {
                continue;
            }
            let x = if mirrored { qw - 1.0 - x } else { x };
            under[j * side + i] = query_thumb.sample(x / qw, y / qh);
            shown += 1;
        }
    }
    if shown < MIN_CELLS {
        return None;
    }
    let stored = |k: usize| f32::from(banned_thumb.cells[k]);
    // Differences between neighbouring cells, across then down: a smooth background (a
    // gradient, a vignette) is a constant difference, which the correlation's mean removes, so
    // the shapes are what must agree; two look-alikes on one backdrop agree on the backdrop.
    let across = (0..side * side).filter_map(|k| {
        let (i, _) = (k % side, k / side);
        let (a, b) = (under[k], *under.get(k + 1).filter(|_| i + 1 < side)?);
        (!a.is_nan() && !b.is_nan()).then(|| (stored(k + 1) - stored(k), b - a))
    });
    let down = (0..side * side).filter_map(|k| {
        let (a, b) = (under[k], *under.get(k + side)?);
        (!a.is_nan() && !b.is_nan()).then(|| (stored(k + side) - stored(k), b - a))
    });
    let (ca, cd) = (centred(across.clone()), centred(down.clone()));
    let pairs = across
        .map(move |(x, y)| (x - ca.0, y - ca.1))
        .chain(down.map(move |(x, y)| (x - cd.0, y - cd.1)));
    correlation(pairs, MIN_CELLS)
}

/// The means of a sequence of pairs (zero when it is empty).
fn centred(pairs: impl Iterator<Item = (f32, f32)>) -> (f32, f32) {
    let (mut n, mut sx, mut sy) = (0f64, 0f64, 0f64);
    for (x, y) in pairs {
        n += 1.0;
        sx += f64::from(x);
        sy += f64::from(y);
    }
    if n == 0.0 {
        (0.0, 0.0)
    } else {
        ((sx / n) as f32, (sy / n) as f32)
    }
}

/// Pearson's correlation of the pairs; `None` under `least` pairs or when either side is flat
/// (a plain background where it shows: no shape to agree on).
fn correlation(pairs: impl Iterator<Item = (f32, f32)>, least: usize) -> Option<f32> {
    let (mut n, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0usize, 0f64, 0f64, 0f64, 0f64, 0f64);
    for (x, y) in pairs {
        let (x, y) = (f64::from(x), f64::from(y));
        n += 1;
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
    }
    if n < least {
        return None;
    }
    let nf = n as f64;
    let (vx, vy) = (sxx - sx * sx / nf, syy - sy * sy / nf);
    if vx < nf || vy < nf {
        return None;
    }
    let r = (sxy - sx * sy / nf) / (vx * vy).sqrt();
    r.is_finite().then_some(r as f32)
}

#[cfg(test)]
mod tests {
    use super::super::keypoints::{BANNED_KEYPOINTS, QUERY_KEYPOINTS, extract};
    use super::super::verify::verify;
    use super::*;

    fn textured(seed: u64) -> DynamicImage {
        super::super::keypoints::tests::textured(seed, 480, 480)
    }

    fn agree(listing: &DynamicImage, banned: &DynamicImage) -> Option<f32> {
        let (bk, qk) = (
            extract(banned, BANNED_KEYPOINTS)?,
            extract(listing, QUERY_KEYPOINTS)?,
        );
        let v = verify(&qk, &bk);
        agreement(
            &qk,
            &query_thumb(listing),
            false,
            &bk,
            &banned_thumb(banned),
            v.placement?,
        )
    }

    #[test]
    fn a_copy_and_a_crop_agree_where_they_are_placed() {
        let a = textured(21);
        assert!(
            agree(&a, &a).is_some_and(|r| r > 0.9),
            "{:?}",
            agree(&a, &a)
        );
        let crop = a.crop_imm(100, 60, 300, 320);
        let r = agree(&crop, &a);
        assert!(r.is_some_and(|r| r > 0.8), "{r:?}");
        // Brighter and flatter is a copy still.
        let mut lighter = a.to_luma8();
        for p in lighter.pixels_mut() {
            p.0[0] = (u16::from(p.0[0]) / 2 + 100) as u8;
        }
        let r = agree(&DynamicImage::ImageLuma8(lighter), &a);
        assert!(r.is_some_and(|r| r > 0.8), "{r:?}");
    }

    #[test]
    fn stored_thumbs_round_trip_and_junk_is_refused() {
        let t = banned_thumb(&textured(3));
        assert_eq!(Thumb::decode(&t.encode()), Some(t));
        for junk in ["", "not base64!", "AQ", "AQIDBA"] {
            assert!(Thumb::decode(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn a_placement_outside_the_listing_says_nothing() {
        let a = textured(5);
        let k = extract(&a, BANNED_KEYPOINTS).unwrap();
        let (q, b) = (query_thumb(&a), banned_thumb(&a));
        // Shifted clean off the listing, singular, or not a number.
        for map in [
            [1.0, 0.0, 0.0, 1.0, 5000.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [f32::NAN, 0.0, 0.0, 1.0, 0.0, 0.0],
        ] {
            assert_eq!(agreement(&k, &q, false, &k, &b, map), None, "{map:?}");
        }
        let same = agreement(&k, &q, false, &k, &b, [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        assert!(same.is_some_and(|r| r > 0.95), "{same:?}");
    }
}

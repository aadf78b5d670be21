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
use image::{DynamicImage, GrayImage};

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
    /// The photo's colour without its grey level (see [`Chroma`]); none in thumbnails stored
    /// before it.
    chroma: Option<Chroma>,
}

/// Cells a side of a banned photo's stored colour thumbnail: coarser than the grey one (colour
/// changes over larger regions than shapes do), and two bytes a cell.
pub const BANNED_CHROMA_SIDE: u32 = 16;

/// The colour of a photo's cells without their grey level: `(red − luma, blue − luma)`, halved
/// to fit a byte each, `side` cells a side as [`Thumb`]'s.
#[derive(Debug, Clone, PartialEq)]
struct Chroma {
    side: u32,
    cells: Box<[[i8; 2]]>,
}

impl Chroma {
    fn of(img: &DynamicImage, side: u32) -> Chroma {
        let rgb;
        let rgb = match img.as_rgb8() {
            Some(r) => r,
            None => {
                rgb = img.to_rgb8();
                &rgb
            }
        };
        let t = super::resample::thumbnail_rgb(rgb, side, side);
        let cells = t
            .pixels()
            .map(|p| {
                let [r, g, b] = p.0.map(f32::from);
                let y = 0.299 * r + 0.587 * g + 0.114 * b;
                let half = |c: f32| ((c - y) / 2.0).round().clamp(-127.0, 127.0) as i8;
                [half(r), half(b)]
            })
            .collect();
        Chroma { side, cells }
    }

    /// The chroma at `(u, v)`, fractions of the photo's width and height, interpolated
    /// between cell centres.
    fn sample(&self, u: f32, v: f32) -> [f32; 2] {
        let at = |k: usize, c: usize| f32::from(self.cells[k][c]);
        bilinear(self.side, u, v, |k| [at(k, 0), at(k, 1)])
    }
}

/// `value` (of cell `y * side + x`) at `(u, v)`, fractions of the photo, interpolated between
/// cell centres.
fn bilinear<const N: usize>(
    side: u32,
    u: f32,
    v: f32,
    value: impl Fn(usize) -> [f32; N],
) -> [f32; N] {
    let s = side as f32;
    let (x, y) = (
        (u * s - 0.5).clamp(0.0, s - 1.0),
        (v * s - 0.5).clamp(0.0, s - 1.0),
    );
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let side = side as usize;
    let (x1, y1) = ((x0 + 1).min(side - 1), (y0 + 1).min(side - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let (a, b, c, d) = (
        value(y0 * side + x0),
        value(y0 * side + x1),
        value(y1 * side + x0),
        value(y1 * side + x1),
    );
    std::array::from_fn(|i| {
        let top = a[i] * (1.0 - fx) + b[i] * fx;
        let bottom = c[i] * (1.0 - fx) + d[i] * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

impl Thumb {
    /// The photo's thumbnail, `side` cells a side (area averages), with its colour
    /// `chroma_side` cells a side.
    pub fn of(img: &DynamicImage, side: u32, chroma_side: u32) -> Thumb {
        Thumb::of_with_grey(img, None, side, chroma_side)
    }

    /// [`Thumb::of`], given `img.to_luma8()` when the caller has it already.
    pub(crate) fn of_with_grey(
        img: &DynamicImage,
        grey: Option<&GrayImage>,
        side: u32,
        chroma_side: u32,
    ) -> Thumb {
        let t = match grey {
            Some(grey) => super::resample::thumbnail(grey, side, side),
            None => super::resample::thumbnail(&img.to_luma8(), side, side),
        };
        Thumb {
            side,
            cells: t.into_raw().into_boxed_slice(),
            chroma: Some(Chroma::of(img, chroma_side)),
        }
    }

    /// Compact text form, stored with a banned record's hashes: base64 of a version byte, the
    /// side and the cells, then the colour's side and cells.
    pub fn encode(&self) -> String {
        let mut out = Vec::with_capacity(3 + self.cells.len() * 3);
        out.push(if self.chroma.is_some() { 2u8 } else { 1 });
        out.push(self.side as u8);
        out.extend_from_slice(&self.cells);
        if let Some(c) = &self.chroma {
            out.push(c.side as u8);
            out.extend(c.cells.iter().flatten().map(|&v| v as u8));
        }
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
    }

    /// [`Thumb::encode`]'s form read back (and the grey-only form stored before colour);
    /// `None` for anything else.
    pub fn decode(s: &str) -> Option<Thumb> {
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(s)
            .ok()?;
        let (&[version, side], rest) = bytes.split_first_chunk::<2>()?;
        let side = u32::from(side);
        let n = (side * side) as usize;
        if side == 0 || rest.len() < n {
            return None;
        }
        let (cells, rest) = rest.split_at(n);
        let chroma = match (version, rest) {
            (1, []) => None,
            (2, [c, rest @ ..]) => {
                let c = u32::from(*c);
                if c == 0 || rest.len() != (c * c * 2) as usize {
                    return None;
                }
                let cells = rest
                    .chunks_exact(2)
                    .map(|p| [p[0] as i8, p[1] as i8])
                    .collect();
                Some(Chroma { side: c, cells })
            }
            _ => return None,
        };
        Some(Thumb {
            side,
            cells: cells.into(),
            chroma,
        })
    }

    /// The grey level at `(u, v)`, fractions of the photo's width and height, interpolated
    /// between cell centres.
    fn sample(&self, u: f32, v: f32) -> f32 {
        bilinear(self.side, u, v, |k| [f32::from(self.cells[k])])[0]
    }
}

/// The banned photo's thumbnail, as stored at ingest.
pub fn banned_thumb(img: &DynamicImage) -> Thumb {
    Thumb::of(img, BANNED_SIDE, BANNED_CHROMA_SIDE)
}

/// A listing photo's thumbnail.
pub fn query_thumb(img: &DynamicImage) -> Thumb {
    Thumb::of(img, QUERY_SIDE, QUERY_SIDE)
}

/// [`query_thumb`], given `img.to_luma8()` when the caller has it already.
pub(crate) fn query_thumb_with_grey(img: &DynamicImage, grey: Option<&GrayImage>) -> Thumb {
    Thumb::of_with_grey(img, grey, QUERY_SIDE, QUERY_SIDE)
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
    let under = grey_under(query, query_thumb, mirrored, banned, banned_thumb, map)?;
    let side = banned_thumb.side as usize;
    let shown = under.iter().filter(|v| !v.is_nan()).count();
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

/// The listing's grey level under each banned thumbnail cell (`NaN` where the listing does
/// not show it), as [`agreement`] samples it, and the banned thumbnail's side.
fn grey_under(
    query: &Keypoints,
    query_thumb: &Thumb,
    mirrored: bool,
    banned: &Keypoints,
    banned_thumb: &Thumb,
    map: [f32; 6],
) -> Option<Vec<f32>> {
    let back = back_map(query, mirrored, banned, map)?;
    let (bw, bh) = (f32::from(banned.width), f32::from(banned.height));
    let side = banned_thumb.side as usize;
    let mut under = vec![f32::NAN; side * side];
    for j in 0..side {
        for i in 0..side {
            let (bx, by) = (
                (i as f32 + 0.5) / side as f32 * bw,
                (j as f32 + 0.5) / side as f32 * bh,
            );
            if let Some((x, y)) = back(bx, by) {
                under[j * side + i] = query_thumb.sample(x, y);
            }
        }
    }
    Some(under)
}

/// Per block of `cells` × `cells` banned thumbnail cells (row by row), the mean absolute
/// residual of the listing's grey levels under the placement after one brightness and contrast
/// map (least squares over every shown cell) of the banned photo's; `NaN` for a block the
/// listing shows less than half of. `None` without a placement or under 64 shown cells.
pub fn block_residuals(
    query: &Keypoints,
    query_thumb: &Thumb,
    mirrored: bool,
    banned: &Keypoints,
    banned_thumb: &Thumb,
    map: [f32; 6],
    cells: usize,
) -> Option<Vec<f32>> {
    let under = grey_under(query, query_thumb, mirrored, banned, banned_thumb, map)?;
    let side = banned_thumb.side as usize;
    let stored = |k: usize| f64::from(banned_thumb.cells[k]);
    let shown: Vec<usize> = (0..side * side).filter(|&k| !under[k].is_nan()).collect();
    if shown.len() < MIN_CELLS || cells == 0 {
        return None;
    }
    let n = shown.len() as f64;
    let (mx, my) = (
        shown.iter().map(|&k| stored(k)).sum::<f64>() / n,
        shown.iter().map(|&k| f64::from(under[k])).sum::<f64>() / n,
    );
    let (mut sxx, mut sxy) = (0f64, 0f64);
    for &k in &shown {
        let (x, y) = (stored(k) - mx, f64::from(under[k]) - my);
        sxx += x * x;
        sxy += x * y;
    }
    let gain = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let blocks = side.div_ceil(cells);
    let mut out = vec![f32::NAN; blocks * blocks];
    for bj in 0..blocks {
        for bi in 0..blocks {
            let (mut sum, mut count, mut all) = (0f64, 0usize, 0usize);
            for j in bj * cells..((bj + 1) * cells).min(side) {
                for i in bi * cells..((bi + 1) * cells).min(side) {
                    all += 1;
                    let k = j * side + i;
                    if under[k].is_nan() {
                        continue;
                    }
                    let fitted = my + gain * (stored(k) - mx);
                    sum += (f64::from(under[k]) - fitted).abs();
                    count += 1;
                }
            }
            if 2 * count >= all && count > 0 {
                out[bj * blocks + bi] = (sum / count as f64) as f32;
            }
        }
    }
    Some(out)
}

/// Banned thumbnail cells a side of the blocks [`disagreement`] judges (4: an 8 × 8 grid over a
/// 32-cell thumbnail).
pub const BLOCK_CELLS: usize = 4;
/// Mean absolute residual (grey levels) from which a block disagrees strongly: at least this,
/// and [`STRONG_OVER_MEDIAN`] times the median block's.
const STRONG_FLOOR: f32 = 20.0;
const STRONG_OVER_MEDIAN: f32 = 3.0;

/// How the listing's pixels under a placement disagree with the banned photo's, block by
/// block ([`block_residuals`] over [`BLOCK_CELLS`]-cell blocks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Disagreement {
    /// The median block's mean absolute residual: how far the listing strays everywhere.
    pub median: f32,
    /// Blocks that disagree strongly (at least 20 grey levels and three times the median).
    pub strong: u32,
}

/// Where the listing disagrees with a placed banned photo once one brightness and contrast map
/// is allowed: a copy agrees to the noise level everywhere it is not covered, so its median
/// block is close and only an overlay's few blocks disagree strongly; a different product of
/// the same kind differs over its label and details, moderately everywhere or strongly in many
/// blocks, even where grey and colour edges agree overall. Arguments as [`agreement`]'s; `None`
/// as [`block_residuals`].
pub fn disagreement(
    query: &Keypoints,
    query_thumb: &Thumb,
    mirrored: bool,
    banned: &Keypoints,
    banned_thumb: &Thumb,
    map: [f32; 6],
) -> Option<Disagreement> {
    let blocks = block_residuals(
        query,
        query_thumb,
        mirrored,
        banned,
        banned_thumb,
        map,
        BLOCK_CELLS,
    )?;
    let mut shown: Vec<f32> = blocks.into_iter().filter(|v| !v.is_nan()).collect();
    if shown.is_empty() {
        return None;
    }
    shown.sort_by(f32::total_cmp);
    let median = shown[shown.len() / 2];
    let strong_from = STRONG_FLOOR.max(STRONG_OVER_MEDIAN * median);
    let strong = shown.iter().filter(|v| **v >= strong_from).count() as u32;
    Some(Disagreement { median, strong })
}

/// Banned colour cells the listing must show whole for [`colour_agreement`] to say anything:
/// an eighth of them.
const MIN_CHROMA_CELLS: usize = 32;
/// Mean squared chroma difference (halved units) under which a side has no colour edges to
/// agree on: a grey photo, or a grey copy of a coloured one.
const MIN_CHROMA_VARIANCE: f64 = 9.0;

/// How well one colour edit explains the listing's colour edges under a placed banned photo,
/// in [0, 1]: the share of the variance of the chroma differences between neighbouring cells
/// (those the listing shows whole) that one turn and scaling of the banned photo's accounts
/// for. A hue turn, a saturation change or a brightness or contrast change turns and scales
/// every colour edge alike (the `image` crate's hue turn is within 1.45 : 1 of a plain turn of
/// `(red − luma, blue − luma)` up to 60°), so a recoloured copy agrees; two look-alikes whose
/// parts are coloured each its own way do not, though their grey shapes agree. Edges rather
/// than colours: one body colour and a grey backdrop fit any turn. `map` as for [`agreement`].
/// `None` when either thumbnail has no colour, the listing shows under 32 (`MIN_CHROMA_CELLS`)
/// cells whole, or either side has no colour edges where it shows.
pub fn colour_agreement(
    query: &Keypoints,
    query_thumb: &Thumb,
    mirrored: bool,
    banned: &Keypoints,
    banned_thumb: &Thumb,
    map: [f32; 6],
) -> Option<f32> {
    let (bc, qc) = (banned_thumb.chroma.as_ref()?, query_thumb.chroma.as_ref()?);
    let back = back_map(query, mirrored, banned, map)?;
    let (bw, bh) = (f32::from(banned.width), f32::from(banned.height));
    let side = bc.side as usize;
    // A banned cell is compared with the listing's colour averaged over the cell's placed
    // area (3 × 3 samples), so a cell across an edge mixes alike on both sides.
    const SUB: usize = 3;
    let mut cells: Vec<Option<([f32; 2], [f32; 2])>> = vec![None; side * side];
    let mut shown = 0;
    'cells: for (k, stored) in bc.cells.iter().enumerate() {
        let (i, j) = ((k % side) as f32, (k / side) as f32);
        let mut sum = [0f32; 2];
        for s in 0..SUB * SUB {
            let (si, sj) = ((s % SUB) as f32, (s / SUB) as f32);
            let (bx, by) = (
                (i + (si + 0.5) / SUB as f32) / side as f32 * bw,
                (j + (sj + 0.5) / SUB as f32) / side as f32 * bh,
            );
            let Some((u, v)) = back(bx, by) else {
                continue 'cells;
            };
            let c = qc.sample(u, v);
            sum[0] += c[0];
            sum[1] += c[1];
        }
        let n = (SUB * SUB) as f32;
        cells[k] = Some((
            [f32::from(stored[0]), f32::from(stored[1])],
            [sum[0] / n, sum[1] / n],
        ));
        shown += 1;
    }
    if shown < MIN_CHROMA_CELLS {
        return None;
    }
    let cells = &cells;
    let edges: Vec<_> = (0..side * side)
        .flat_map(|k| {
            let right = (k % side + 1 < side).then_some(k + 1);
            let below = (k + side < side * side).then_some(k + side);
            let here = cells[k];
            [right, below].into_iter().flatten().filter_map(move |m| {
                let (a, b) = (here?, cells[m]?);
                Some((
                    [b.0[0] - a.0[0], b.0[1] - a.0[1]],
                    [b.1[0] - a.1[0], b.1[1] - a.1[1]],
                ))
            })
        })
        .collect();
    explained_by_a_turn(&edges)
}

/// Takes a point of the banned photo's working pixels to the listing's, as fractions of its
/// width and height (mirrored back when the keypoints were the mirror's); `None` off the
/// listing. `None` altogether for a degenerate placement.
fn back_map(
    query: &Keypoints,
    mirrored: bool,
    banned: &Keypoints,
    map: [f32; 6],
) -> Option<impl Fn(f32, f32) -> Option<(f32, f32)>> {
    let [a, b, c, d, e, f] = map;
    let det = a * d - b * c;
    if !det.is_finite() || det.abs() < 1e-6 {
        return None;
    }
    let (ia, ib, ic, id) = (d / det, -b / det, -c / det, a / det);
    let (qw, qh) = (f32::from(query.width), f32::from(query.height));
    if qw < 1.0 || qh < 1.0 || banned.width == 0 || banned.height == 0 {
        return None;
    }
    Some(move |bx: f32, by: f32| {
        let (dx, dy) = (bx - e, by - f);
        let (x, y) = (ia * dx + ib * dy, ic * dx + id * dy);
        if !(0.0..qw).contains(&x) || !(0.0..qh).contains(&y) {
            return None;
        }
        let x = if mirrored { qw - 1.0 - x } else { x };
        Some((x / qw, y / qh))
    })
}

/// The share of the listing side's variance (about its mean) that the least-squares turn and
/// scaling `q ≈ z b + w` (complex numbers) of the banned side accounts for, in [0, 1]; `None`
/// when either side is too flat ([`MIN_CHROMA_VARIANCE`]).
fn explained_by_a_turn(pairs: &[([f32; 2], [f32; 2])]) -> Option<f32> {
    let n = pairs.len() as f64;
    if pairs.is_empty() {
        return None;
    }
    let mean = |side: usize, c: usize| {
        pairs
            .iter()
            .map(|p| f64::from(if side == 0 { p.0[c] } else { p.1[c] }))
            .sum::<f64>()
            / n
    };
    let (mb, mq) = ([mean(0, 0), mean(0, 1)], [mean(1, 0), mean(1, 1)]);
    // Centred sums: |b|², |q|², and conj(b) q.
    let (mut bb, mut qq, mut re, mut im) = (0f64, 0f64, 0f64, 0f64);
    for (b, q) in pairs {
        let (b0, b1) = (f64::from(b[0]) - mb[0], f64::from(b[1]) - mb[1]);
        let (q0, q1) = (f64::from(q[0]) - mq[0], f64::from(q[1]) - mq[1]);
        bb += b0 * b0 + b1 * b1;
        qq += q0 * q0 + q1 * q1;
        re += b0 * q0 + b1 * q1;
        im += b0 * q1 - b1 * q0;
    }
    if bb / n < MIN_CHROMA_VARIANCE || qq / n < MIN_CHROMA_VARIANCE {
        return None;
    }
    // With z = conj(b)·q / |b|², the residual is |q|² − |conj(b)·q|² / |b|².
    let explained = (re * re + im * im) / (bb * qq);
    explained
        .is_finite()
        .then(|| explained.clamp(0.0, 1.0) as f32)
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
        assert!(t.chroma.is_some());
        assert_eq!(Thumb::decode(&t.encode()), Some(t.clone()));
        // A grey-only thumbnail (stored before colour) still reads, without colour.
        let grey = Thumb {
            chroma: None,
            ..t.clone()
        };
        let old = grey.encode();
        assert_eq!(Thumb::decode(&old), Some(grey));
        // Colour cut short, or a version 1 with colour after it: refused.
        let full = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(t.encode())
            .unwrap();
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD_NO_PAD.encode(b);
        assert!(Thumb::decode(&b64(&full[..full.len() - 1])).is_none());
        let mut v1 = full.clone();
        v1[0] = 1;
        assert!(Thumb::decode(&b64(&v1)).is_none());
        for junk in ["", "not base64!", "AQ", "AQIDBA"] {
            assert!(Thumb::decode(junk).is_none(), "{junk}");
        }
    }

    /// A drawn product photo: a grey backdrop, a body, a label and a logo in three colours.
    fn product(body: [u8; 3], label: [u8; 3], logo: [u8; 3]) -> DynamicImage {
        let mut img = image::RgbImage::from_pixel(320, 320, image::Rgb([200, 200, 200]));
        for (x, y, p) in img.enumerate_pixels_mut() {
            let (x, y) = (x as i32, y as i32);
            if (60..260).contains(&x) && (40..300).contains(&y) {
                p.0 = body;
            }
            if (90..230).contains(&x) && (120..220).contains(&y) {
                p.0 = label;
            }
            if (x - 160).pow(2) + (y - 80).pow(2) < 400 {
                p.0 = logo;
            }
        }
        DynamicImage::ImageRgb8(img)
    }

    fn colour_under_identity(listing: &DynamicImage, banned: &DynamicImage) -> Option<f32> {
        // Only the working size matters to the placement.
        let k = Keypoints {
            width: 320,
            height: 320,
            points: Vec::new(),
            descriptors: Vec::new(),
        };
        colour_agreement(
            &k,
            &query_thumb(listing),
            false,
            &k,
            &banned_thumb(banned),
            [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        )
    }

    #[test]
    fn a_recoloured_copy_agrees_in_colour_and_a_look_alike_in_other_colours_does_not() {
        let banned = product([200, 30, 60], [30, 60, 200], [240, 220, 40]);
        let same = colour_under_identity(&banned, &banned);
        assert!(same.is_some_and(|c| c > 0.95), "{same:?}");
        // A hue turn and a saturation change: one turn and scaling of every colour edge.
        let turned = DynamicImage::ImageRgb8(image::imageops::huerotate(&banned.to_rgb8(), 40));
        let r = colour_under_identity(&turned, &banned);
        assert!(r.is_some_and(|c| c > 0.8), "{r:?}");
        // The same shapes, each part its own colour: the grey edges may agree, colour not.
        let other = product([210, 40, 70], [240, 220, 40], [30, 60, 200]);
        let r = colour_under_identity(&other, &banned);
        assert!(r.is_some_and(|c| c < 0.5), "{r:?}");
        // A grey copy has no colour to agree on: no answer rather than a refusal.
        let grey = DynamicImage::ImageLuma8(banned.to_luma8());
        assert_eq!(colour_under_identity(&grey, &banned), None);
    }

    /// [`disagreement`] of `listing` with `banned` under the identity placement.
    fn disagreement_under_identity(
        listing: &DynamicImage,
        banned: &DynamicImage,
    ) -> Option<Disagreement> {
        let k = Keypoints {
            width: 320,
            height: 320,
            points: Vec::new(),
            descriptors: Vec::new(),
        };
        let identity = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let (q, b) = (query_thumb(listing), banned_thumb(banned));
        disagreement(&k, &q, false, &k, &b, identity)
    }

    /// [`product`] with dark lines of text across its label, two cells apart, from `first`.
    fn labelled(first: u32) -> DynamicImage {
        let mut img = product([200, 30, 60], [230, 230, 210], [240, 220, 40]).to_rgb8();
        for (x, y, p) in img.enumerate_pixels_mut() {
            if (100..220).contains(&x) && (first..210).contains(&y) && (y - first) % 20 < 10 {
                p.0 = [20, 20, 30];
            }
        }
        DynamicImage::ImageRgb8(img)
    }

    #[test]
    fn an_overlay_disagrees_in_a_few_blocks_and_another_label_in_many() {
        let banned = labelled(130);
        let same = disagreement_under_identity(&banned, &banned).unwrap();
        assert!(same.median < 2.0 && same.strong == 0, "{same:?}");
        // A sticker over a corner of the photo: a copy, strongly off in its few blocks only.
        let mut sticker = banned.to_rgb8();
        for (x, y, p) in sticker.enumerate_pixels_mut() {
            if (220..270).contains(&x) && (240..290).contains(&y) {
                p.0 = [250, 250, 0];
            }
        }
        let d = disagreement_under_identity(&DynamicImage::ImageRgb8(sticker), &banned).unwrap();
        assert!(d.median < 5.0 && (1..=4).contains(&d.strong), "{d:?}");
        // Brighter and lower in contrast: one map of the grey levels, still a copy.
        let mut dim = banned.to_rgb8();
        for p in dim.pixels_mut() {
            p.0 = p.0.map(|c| (f32::from(c) * 0.7 + 50.0) as u8);
        }
        let d = disagreement_under_identity(&DynamicImage::ImageRgb8(dim), &banned).unwrap();
        assert!(d.median < 5.0 && d.strong == 0, "{d:?}");
        // The same product with its text lines elsewhere: strongly off across the label.
        let other = labelled(140);
        let d = disagreement_under_identity(&other, &banned).unwrap();
        assert!(d.strong >= 5, "{d:?}");
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

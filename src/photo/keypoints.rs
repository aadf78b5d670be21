//! Local photo evidence: keypoints with binary descriptors, which survive the edits global hashes
//! do not (crops, small rotations, overlays, collages, perspective).
//!
//! ORB-like (Rublee et al. 2011): FAST-9 corners (imageproc) over a small pyramid, spread over
//! the photo by a grid, each oriented by its intensity centroid and described by 256 BRIEF tests
//! turned to that orientation. imageproc's `brief` is not steered (its tests do not turn with the
//! keypoint, so a rotated photo would not match) and no well-kept Rust crate has ORB, so the
//! orientation and the steered tests are written here; corners and integral images are
//! imageproc's.
//!
//! Work is bounded whatever the photo: it is brought to [`SIDE`] pixels on its longer side first,
//! and at most a fixed number of keypoints is kept.

use std::sync::OnceLock;

use base64::Engine as _;
use image::{DynamicImage, GrayImage};

/// Longer side, in pixels, a photo is brought to before keypoints are found: both sides of a
/// comparison work at the same scale, so an edited copy differs from its original only by the
/// edit. 256 keeps the detail of product labels; a listing photo decoded for its hashes (200 on
/// the shorter side) needs no second decode.
pub const SIDE: u32 = 256;
/// Keypoints kept per banned photo: stored in the index, so bounded tighter than a query's.
pub const BANNED_KEYPOINTS: usize = 128;
/// Keypoints found per listing photo (and as many in its mirror image).
pub const QUERY_KEYPOINTS: usize = 256;
/// Fewer keypoints than this and a photo is too plain for local evidence (a blank, a gradient).
pub const MIN_KEYPOINTS: usize = 16;

/// Pyramid levels and the scale between them: a crop to 60 % enlarges the product by 1.7, a
/// collage of two shrinks it by 2; three levels 1.4 apart on both sides cover both.
const LEVELS: usize = 3;
const SCALE_STEP: f32 = 1.4;
/// Radius of the described patch, and of the box each test averages over (smoothing, as ORB).
const PATCH: i32 = 15;
const BOX: i32 = 2;
/// Corners nearer the edge than this cannot be described in every orientation.
const EDGE: u32 = (PATCH + BOX + 1) as u32;
/// The grid (per side) keypoints are spread over, so that a crop or a sticker removes some of
/// them, not all: the strongest corners of a photo often sit in one place (a logo, a label).
const GRID: usize = 6;
/// FAST thresholds: the usual one, then a lower one for photos of low contrast.
const FAST_THRESHOLDS: [u8; 2] = [20, 8];

/// A keypoint, in the coordinates of the photo at [`SIDE`] pixels on its longer side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
    /// Orientation in radians (image axes: y down).
    pub angle: f32,
    /// Pyramid level it was found at (0 is full working size).
    pub level: u8,
}

/// 256 bits of steered BRIEF.
pub type Descriptor = [u64; 4];

/// Hamming distance between two descriptors.
#[inline]
pub fn distance(a: &Descriptor, b: &Descriptor) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// The keypoints of one photo and their descriptors, in the same order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keypoints {
    /// The working size the coordinates are in.
    pub width: u16,
    pub height: u16,
    pub points: Vec<Keypoint>,
    pub descriptors: Vec<Descriptor>,
}

/// Encoding version of [`Keypoints::encode`]: the first byte.
const ENCODING: u8 = 1;
/// Bytes per keypoint: x, y (u16, 1/64 px), angle (u8), level (u8), descriptor (32).
const POINT_BYTES: usize = 2 + 2 + 1 + 1 + 32;

impl Keypoints {
    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Compact text form, stored with a banned record's hashes (algorithm `orb`): base64 of a
    /// version byte, the working size and the points (about 6.5 KB for 128 keypoints).
    pub fn encode(&self) -> String {
        let mut out = Vec::with_capacity(7 + self.len() * POINT_BYTES);
        out.push(ENCODING);
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&(self.len() as u16).to_le_bytes());
        for (p, d) in self.points.iter().zip(&self.descriptors) {
            out.extend_from_slice(&((p.x * 64.0).round() as u16).to_le_bytes());
            out.extend_from_slice(&((p.y * 64.0).round() as u16).to_le_bytes());
            let turn = p.angle.rem_euclid(std::f32::consts::TAU) / std::f32::consts::TAU;
            out.push(((turn * 256.0).round() as u32 % 256) as u8);
            out.push(p.level);
            for w in d {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
    }

    /// Parses [`Keypoints::encode`]'s form; `None` for anything else (another version, a
    /// truncated or padded string).
    pub fn decode(s: &str) -> Option<Keypoints> {
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(s)
            .ok()?;
        let (head, rest) = bytes.split_at_checked(7)?;
        if head[0] != ENCODING {
            return None;
        }
        let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let (width, height, n) = (u16_at(head, 1), u16_at(head, 3), u16_at(head, 5) as usize);
        if rest.len() != n * POINT_BYTES || width == 0 || height == 0 {
            return None;
        }
        let mut k = Keypoints {
            width,
            height,
            points: Vec::with_capacity(n),
            descriptors: Vec::with_capacity(n),
        };
        for c in rest.chunks_exact(POINT_BYTES) {
            k.points.push(Keypoint {
                x: u16_at(c, 0) as f32 / 64.0,
                y: u16_at(c, 2) as f32 / 64.0,
                angle: c[4] as f32 / 256.0 * std::f32::consts::TAU,
                level: c[5],
            });
            let mut d = [0u64; 4];
            for (i, w) in d.iter_mut().enumerate() {
                let at = 6 + i * 8;
                *w = u64::from_le_bytes(c[at..at + 8].try_into().ok()?);
            }
            k.descriptors.push(d);
        }
        Some(k)
    }

    /// Keypoints of a photo and of its horizontal mirror image, found once: FAST corners and
    /// their neighbourhoods mirror exactly, so the mirror's keypoints are the photo's with
    /// x and the orientation reflected, described by the reflected tests.
    pub fn with_mirror(img: &DynamicImage, max: usize) -> Option<(Keypoints, Keypoints)> {
        let (k, mirrored) = extract_both(img, max, true)?;
        Some((k, mirrored?))
    }
}

/// The photo in grey at [`SIDE`] pixels on its longer side.
fn working(img: &DynamicImage) -> GrayImage {
    let (w, h) = (img.width().max(1), img.height().max(1));
    let scale = SIDE as f32 / w.max(h) as f32;
    let (tw, th) = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    let grey = grey_of(img);
    if (tw, th) == (w, h) {
        grey
    } else if tw < w {
        // Area averaging: several times faster than a filtered resize, and as good for
        // corners at this ratio.
        super::resample::thumbnail(&grey, tw, th)
    } else {
        super::resample::resize_triangle(&grey, tw, th)
    }
}

/// The photo in grey (Rec. 601 weights, in integers): the `image` crate's conversion goes
/// through its colour-space machinery, several times slower for the same bytes.
fn grey_of(img: &DynamicImage) -> GrayImage {
    match img {
        DynamicImage::ImageRgb8(rgb) => {
            let (w, h) = rgb.dimensions();
            let px: Vec<u8> = rgb
                .as_raw()
                .chunks_exact(3)
                .map(|p| ((p[0] as u32 * 77 + p[1] as u32 * 150 + p[2] as u32 * 29) >> 8) as u8)
                .collect();
            GrayImage::from_raw(w, h, px).unwrap_or_else(|| img.to_luma8())
        }
        DynamicImage::ImageLuma8(g) => g.clone(),
        other => other.to_luma8(),
    }
}

/// The keypoints of a photo, at most `max`, spread over it; `None` for a photo with fewer than
/// [`MIN_KEYPOINTS`] (too plain to tell by its details).
pub fn extract(img: &DynamicImage, max: usize) -> Option<Keypoints> {
    extract_both(img, max, false).map(|(k, _)| k)
}

/// [`extract`], and with `mirror` the keypoints of the photo's mirror image as well.
fn extract_both(
    img: &DynamicImage,
    max: usize,
    mirror: bool,
) -> Option<(Keypoints, Option<Keypoints>)> {
    let base = working(img);
    let (w0, h0) = base.dimensions();
    // The pyramid does not depend on the threshold, and a corner's score does not either:
    // one pass at the lowest threshold finds every corner, and a higher threshold's are those
    // of them scoring at least it (suppression by a neighbour that scores higher is the same
    // at both, since that neighbour passes both).
    let mut levels: Vec<GrayImage> = Vec::with_capacity(LEVELS);
    let mut all: Vec<Found> = Vec::new();
    let lowest = FAST_THRESHOLDS[FAST_THRESHOLDS.len() - 1];
    for level in 0..LEVELS {
        let scale = SCALE_STEP.powi(level as i32);
        let (w, h) = (
            (w0 as f32 / scale).round() as u32,
            (h0 as f32 / scale).round() as u32,
        );
        if w < 2 * EDGE + 8 || h < 2 * EDGE + 8 {
            break;
        }
        // Each level from the one before: a third of the work of shrinking the base each time.
        let img = match levels.last() {
            None => base.clone(),
            Some(prev) => super::resample::thumbnail(prev, w, h),
        };
        corners(&img, lowest, level as u8, w0 as f32 / w as f32, &mut all);
        levels.push(img);
    }
    let mut found = Vec::new();
    for threshold in FAST_THRESHOLDS {
        found.clear();
        found.extend(all.iter().filter(|f| f.score >= threshold).copied());
        if found.len() >= max {
            break;
        }
    }
    let chosen = spread(found, max, w0, h0);
    if chosen.len() < MIN_KEYPOINTS {
        return None;
    }
    // Box sums of the levels keypoints were chosen at only.
    let boxes: Vec<Option<Boxes>> = levels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            chosen
                .iter()
                .any(|f| f.level as usize == i)
                .then(|| Boxes::new(l))
        })
        .collect();
    let mut out = Keypoints {
        width: w0 as u16,
        height: h0 as u16,
        points: Vec::with_capacity(chosen.len()),
        descriptors: Vec::with_capacity(chosen.len()),
    };
    let mut mirrored = mirror.then(|| Keypoints {
        width: out.width,
        height: out.height,
        points: Vec::with_capacity(chosen.len()),
        descriptors: Vec::with_capacity(chosen.len()),
    });
    for f in chosen {
        let img = &levels[f.level as usize];
        let Some(ii) = &boxes[f.level as usize] else {
            continue;
        };
        let angle = orientation(img, f.lx, f.ly);
        out.descriptors.push(describe(ii, f.lx, f.ly, angle, false));
        out.points.push(Keypoint {
            x: f.x,
            y: f.y,
            angle,
            level: f.level,
        });
        if let Some(m) = mirrored.as_mut() {
            // Reflected about the vertical axis: x runs the other way, and an orientation θ
            // becomes π − θ.
            m.descriptors.push(describe(ii, f.lx, f.ly, angle, true));
            m.points.push(Keypoint {
                x: w0 as f32 - 1.0 - f.x,
                y: f.y,
                angle: std::f32::consts::PI - angle,
                level: f.level,
            });
        }
    }
    Some((out, mirrored))
}

/// A corner found at one level: where it is there (`lx`, `ly`) and at level 0 (`x`, `y`).
#[derive(Debug, Clone, Copy)]
struct Found {
    score: u8,
    level: u8,
    lx: u32,
    ly: u32,
    x: f32,
    y: f32,
}

/// FAST-9 corners of one level, away from its edge, kept where no neighbour scores higher (one
/// corner per bump, not a cluster of them).
fn corners(img: &GrayImage, threshold: u8, level: u8, to_base: f32, out: &mut Vec<Found>) {
    let (w, h) = img.dimensions();
    if w < 2 * EDGE + 1 || h < 2 * EDGE + 1 {
        return;
    }
    // Scores where corners can be kept, and one pixel beyond for their neighbours.
    let scores = fast9_scores(img, threshold, EDGE - 1);
    let (w, edge) = (w as usize, EDGE as usize);
    for y in edge..h as usize - edge {
        // The three rows sliced once: the scan over the row's mostly zero scores stays a
        // tight loop (it was a tenth of the instructions of FAST, callgrind).
        let (above, row, below) = (
            &scores[(y - 1) * w..y * w],
            &scores[y * w..(y + 1) * w],
            &scores[(y + 1) * w..(y + 2) * w],
        );
        for (x, &s) in row.iter().enumerate().take(w - edge).skip(edge) {
            if s == 0 {
                continue;
            }
            // Ties go to the first in scan order, so a plateau keeps one corner.
            let best = above[x - 1..x + 2].iter().all(|&n| n < s)
                && row[x - 1] < s
                && row[x + 1] <= s
                && below[x - 1..x + 2].iter().all(|&n| n <= s);
            if best {
                out.push(Found {
                    score: s,
                    level,
                    lx: x as u32,
                    ly: y as u32,
                    x: (x as f32 + 0.5) * to_base - 0.5,
                    y: (y as f32 + 0.5) * to_base - 0.5,
                });
            }
        }
    }
}

/// Whether the 16 bits of `mask` (a circle) hold 9 contiguous ones, the run allowed to wrap:
/// non-zero then (bit i set for a run from position i). Rotations within 16 bits, so that a
/// row's pixels are tested in vector lanes.
#[inline]
fn nine_in_a_row(mask: u16) -> u16 {
    let two = mask & mask.rotate_right(1);
    let four = two & two.rotate_right(2);
    let eight = four & four.rotate_right(4);
    eight & mask.rotate_right(8)
}

/// The best arc of 9 of the circle's differences `d`: the largest, over arcs, of the arc's
/// smallest difference (a corner at t has one above t).
#[inline]
fn arc_score(d: &[i16; 16]) -> i16 {
    // Minima of runs of 2, 4, 8 and 9 from each start, on the circle doubled.
    let mut two = [0i16; 24];
    for (i, v) in two.iter_mut().enumerate() {
        *v = d[i & 15].min(d[(i + 1) & 15]);
    }
    let mut best = i16::MIN;
    for i in 0..16 {
        let eight = two[i].min(two[i + 2]).min(two[i + 4]).min(two[i + 6]);
        best = best.max(eight.min(d[(i + 8) & 15]));
    }
    best
}

/// Offsets of FAST's circle of 16 (radius 3), clockwise from straight up.
const CIRCLE: [(i32, i32); 16] = [
    (0, -3),
    (1, -3),
    (2, -2),
    (3, -1),
    (3, 0),
    (3, 1),
    (2, 2),
    (1, 3),
    (0, 3),
    (-1, 3),
    (-2, 2),
    (-3, 1),
    (-3, 0),
    (-3, -1),
    (-2, -2),
    (-1, -3),
];

/// Pixels [`corner_kinds`] tests at once: a vector of bytes.
const LANES: usize = 16;

/// Which of the `len` (at most [`LANES`]) pixels from `at` on (in an image `w` wide, with room
/// for the circle around each) are corners at `threshold`, brighter (bit 0) or darker (bit 1).
/// Per pixel, which circle pixels are brighter than it by more than the threshold, and which
/// darker, as 16 bits kept in bytes (the first and second half of the circle apart, so that
/// they stay 16 pixels a vector; `p > c + t` is `p - t > c` saturated, in bytes), one circle
/// position at a time in registers, then nine of them in a row in vector lanes: most pixels
/// are no corner and cost no scalar work.
#[inline(always)]
fn corner_kinds(px: &[u8], w: usize, at: usize, len: usize, threshold: u8) -> [u8; LANES] {
    let load = |from: usize| {
        let mut v = [0u8; LANES];
        v[..len].copy_from_slice(&px[from..from + len]);
        v
    };
    let centre = load(at);
    // Each half of the circle's bits, brighter and darker, over 16 pixels.
    let half = |positions: &[(i32, i32)]| {
        let (mut up, mut down) = ([0u8; LANES], [0u8; LANES]);
        for (k, &(dx, dy)) in positions.iter().enumerate() {
            let ring = load((at as isize + dy as isize * w as isize + dx as isize) as usize);
            let bit = 1u8 << k;
            for j in 0..LANES {
                let (p, c) = (ring[j], centre[j]);
                up[j] |= if p.saturating_sub(threshold) > c {
                    bit
                } else {
                    0
                };
                down[j] |= if c.saturating_sub(threshold) > p {
                    bit
                } else {
                    0
                };
            }
        }
        (up, down)
    };
    let ((up_lo, down_lo), (up_hi, down_hi)) = (half(&CIRCLE[..8]), half(&CIRCLE[8..]));
    std::array::from_fn(|j| {
        let u = u16::from_le_bytes([up_lo[j], up_hi[j]]);
        let d = u16::from_le_bytes([down_lo[j], down_hi[j]]);
        u8::from(nine_in_a_row(u) != 0) | u8::from(nine_in_a_row(d) != 0) << 1
    })
}

/// FAST-9 scores of the pixels at least `margin` (≥ 3) from the edge, row-major over the whole
/// level; 0 for a pixel that is no corner at `threshold`. A pixel is a corner at t when 9
/// contiguous pixels of its circle are all brighter than it by more than t, or all darker; its
/// score is the largest such t (imageproc's `fast_corner_score`, clamped to 1..=255 as corners
/// kept it). imageproc's `corners_fast9` finds that by a binary search of up to eight more
/// corner tests per corner, most of the time FAST took here; the best arc's weakest pixel gives
/// it in one reading of the circle. The same corners and scores (tested against imageproc).
fn fast9_scores(img: &GrayImage, threshold: u8, margin: u32) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let (w, h, margin) = (w as usize, h as usize, margin.max(3) as usize);
    let mut scores = vec![0u8; w * h];
    if w <= 2 * margin || h <= 2 * margin {
        return scores;
    }
    let px = img.as_raw();
    let n = w - 2 * margin;
    let mut kind = vec![0u8; n];
    for y in margin..h - margin {
        let row = y * w + margin;
        // Whole chunks of 16 pixels, then the row's last 16 again (or the row, when shorter):
        // a pixel's kind depends on its pixels alone, so one done twice comes out the same.
        let mut i = 0;
        while i + LANES <= n {
            kind[i..i + LANES].copy_from_slice(&corner_kinds(px, w, row + i, LANES, threshold));
            i += LANES;
        }
        if i < n && n >= LANES {
            let kinds = corner_kinds(px, w, row + n - LANES, LANES, threshold);
            kind[n - LANES..].copy_from_slice(&kinds);
        } else if i < n {
            kind.copy_from_slice(&corner_kinds(px, w, row, n, threshold)[..n]);
        }
        for (i, &k) in kind.iter().enumerate() {
            if k == 0 {
                continue;
            }
            // A corner: its score from the differences to the circle, read once.
            let at = y * w + margin + i;
            let c = px[at] as i16;
            let diffs: [i16; 16] = std::array::from_fn(|k| {
                let (dx, dy) = CIRCLE[k];
                px[(at as isize + dy as isize * w as isize + dx as isize) as usize] as i16 - c
            });
            // The best arc of the other sign scores at most the threshold (each of its arcs
            // holds a pixel within it), below this sign's, and no circle has 9 in a row of
            // both: the score is this sign's alone.
            let best = if k & 1 != 0 {
                arc_score(&diffs)
            } else {
                arc_score(&diffs.map(|v| -v))
            };
            scores[at] = (best - 1).clamp(1, 255) as u8;
        }
    }
    scores
}

/// At most `max` corners, strongest first, no more than a fair share of them from one cell of
/// the grid until every cell has had its turn.
fn spread(mut found: Vec<Found>, max: usize, w: u32, h: u32) -> Vec<Found> {
    found.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.level.cmp(&b.level))
            .then(a.ly.cmp(&b.ly))
            .then(a.lx.cmp(&b.lx))
    });
    let cell = |f: &Found| {
        let cx = ((f.x.max(0.0) / w as f32) * GRID as f32) as usize;
        let cy = ((f.y.max(0.0) / h as f32) * GRID as f32) as usize;
        cy.min(GRID - 1) * GRID + cx.min(GRID - 1)
    };
    let share = max.div_ceil(GRID * GRID).max(2);
    let mut per_cell = [0usize; GRID * GRID];
    let mut chosen = Vec::with_capacity(max);
    let mut rest = Vec::new();
    for f in found {
        if chosen.len() == max {
            break;
        }
        let c = cell(&f);
        if per_cell[c] < share {
            per_cell[c] += 1;
            chosen.push(f);
        } else {
            rest.push(f);
        }
    }
    let room = max - chosen.len();
    chosen.extend(rest.into_iter().take(room));
    chosen
}

/// Half-widths of the rows of the disc of radius [`PATCH`], top to bottom.
fn disc_rows() -> &'static [i32; 2 * PATCH as usize + 1] {
    static R: OnceLock<[i32; 2 * PATCH as usize + 1]> = OnceLock::new();
    R.get_or_init(|| {
        std::array::from_fn(|i| {
            let dy = i as i32 - PATCH;
            (0..=PATCH)
                .take_while(|dx| dx * dx + dy * dy <= PATCH * PATCH)
                .last()
                .unwrap_or(0)
        })
    })
}

/// The angle of the intensity centroid of the disc of radius [`PATCH`] around a corner (which
/// sits at least [`EDGE`] from the level's edge).
fn orientation(img: &GrayImage, x: u32, y: u32) -> f32 {
    let (mut m10, mut m01) = (0i64, 0i64);
    let (w, px) = (img.width() as usize, img.as_raw());
    for (dy, &half) in (-PATCH..=PATCH).zip(disc_rows()) {
        let row = (y as i32 + dy) as usize * w;
        let (a, b) = ((x as i32 - half) as usize, (x as i32 + half) as usize);
        let Some(pixels) = px.get(row + a..=row + b) else {
            continue;
        };
        let (mut sum, mut moment) = (0i64, 0i64);
        for (dx, &v) in (-half..=half).zip(pixels) {
            sum += v as i64;
            moment += dx as i64 * v as i64;
        }
        m10 += moment;
        m01 += dy as i64 * sum;
    }
    (m01 as f32).atan2(m10 as f32)
}

/// A summed-area table of one level, for box averages in constant time.
struct Integral {
    stride: usize,
    sums: Vec<u32>,
}

impl Integral {
    fn new(img: &GrayImage) -> Integral {
        let sums: image::ImageBuffer<image::Luma<u32>, Vec<u32>> =
            imageproc::integral_image::integral_image(img);
        Integral {
            stride: sums.width() as usize,
            sums: sums.into_raw(),
        }
    }

    /// Sum of the box of radius [`BOX`] centred on (x, y); the caller keeps it inside.
    #[inline]
    fn boxed(&self, x: i32, y: i32) -> u32 {
        let (x0, y0) = ((x - BOX) as usize, (y - BOX) as usize);
        let (x1, y1) = ((x + BOX + 1) as usize, (y + BOX + 1) as usize);
        let s = &self.sums;
        let at = |x: usize, y: usize| s[y * self.stride + x];
        at(x1, y1) + at(x0, y0) - at(x0, y1) - at(x1, y0)
    }
}

/// The sum of the box of radius [`BOX`] around every pixel of a level at least [`BOX`] from its
/// edge (0 nearer): a test compares two of them, so a descriptor reads 512 sums, not the
/// 2,048 corners of an integral image's boxes. The same sums (at most 25 × 255, in 16 bits).
struct Boxes {
    stride: usize,
    sums: Vec<u16>,
}

impl Boxes {
    fn new(img: &GrayImage) -> Boxes {
        let (w, h) = (img.width() as i32, img.height() as i32);
        let ii = Integral::new(img);
        let mut sums = vec![0u16; (w.max(0) * h.max(0)) as usize];
        for y in BOX..h - BOX {
            for x in BOX..w - BOX {
                sums[(y * w + x) as usize] = ii.boxed(x, y) as u16;
            }
        }
        Boxes {
            stride: w as usize,
            sums,
        }
    }

    /// The box sum at (x, y); the caller keeps it inside.
    #[inline]
    fn at(&self, x: i32, y: i32) -> u16 {
        self.sums[y as usize * self.stride + x as usize]
    }
}

/// One BRIEF test: compare the box at `a` with the box at `b` (offsets from the keypoint).
type Test = ([f32; 2], [f32; 2]);

/// The 256 tests, learned as ORB learned its own (rBRIEF): of many random tests within the disc
/// of radius [`TEST_RADIUS`] (so that they stay inside the patch in any orientation), those whose
/// bit is most even over real keypoints and least correlated with the tests already chosen.
/// Steered tests drawn at random are not: once every patch is turned to its intensity centroid,
/// tests along that direction give the same bit everywhere, and the bits of near tests agree,
/// so unrelated photos share descriptor keys by the hundred. Learned by [`learn_tests`] on
/// drawn photos only (`cargo bench --bench photos -- learn-tests`, printed into
/// `brief_tests.rs`): the real photos the suite measures on took no part.
fn tests() -> &'static [Test; 256] {
    static TESTS: OnceLock<[Test; 256]> = OnceLock::new();
    TESTS.get_or_init(|| {
        std::array::from_fn(|i| {
            let [ax, ay, bx, by] = super::brief_tests::TESTS[i];
            ([ax as f32, ay as f32], [bx as f32, by as f32])
        })
    })
}

/// Radius the tests' points keep within (a box of radius 2 around each stays in the patch).
pub const TEST_RADIUS: i32 = PATCH - BOX;

/// Learns 256 tests from the keypoints of `photos` (see `tests`): 4,096 candidate tests drawn
/// uniformly in the disc by a fixed generator, ordered by how far their bit's mean is from one
/// half, then chosen greedily while their correlation with every chosen test stays under a
/// bound that is raised until 256 are found.
pub fn learn_tests(photos: &[DynamicImage]) -> Vec<[i8; 4]> {
    let mut state = 0x7E57_5EED_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let r = TEST_RADIUS;
    let mut point = || loop {
        let x = (next() % (2 * r as u64 + 1)) as i32 - r;
        let y = (next() % (2 * r as u64 + 1)) as i32 - r;
        if x * x + y * y <= r * r {
            return [x, y];
        }
    };
    let mut candidates: Vec<[i32; 4]> = Vec::new();
    while candidates.len() < 4096 {
        let (a, b) = (point(), point());
        if (a[0] - b[0]).abs() + (a[1] - b[1]).abs() >= 2 {
            candidates.push([a[0], a[1], b[0], b[1]]);
        }
    }
    // The bit of every candidate at every training keypoint, as bitsets per candidate.
    let mut bits: Vec<Vec<u64>> = vec![Vec::new(); candidates.len()];
    let mut n = 0usize;
    for img in photos {
        let base = working(img);
        let mut found = Vec::new();
        corners(&base, FAST_THRESHOLDS[0], 0, 1.0, &mut found);
        let chosen = spread(found, BANNED_KEYPOINTS, base.width(), base.height());
        let ii = Integral::new(&base);
        for f in &chosen {
            let (sn, cs) = orientation(&base, f.lx, f.ly).sin_cos();
            let turn = |px: i32, py: i32| {
                let (fx, fy) = (px as f32, py as f32);
                (
                    f.lx as i32 + (cs * fx - sn * fy).round() as i32,
                    f.ly as i32 + (sn * fx + cs * fy).round() as i32,
                )
            };
            for (c, t) in candidates.iter().enumerate() {
                let (ax, ay) = turn(t[0], t[1]);
                let (bx, by) = turn(t[2], t[3]);
                if n.is_multiple_of(64) {
                    bits[c].push(0);
                }
                if ii.boxed(ax, ay) < ii.boxed(bx, by) {
                    *bits[c].last_mut().expect("pushed") |= 1 << (n % 64);
                }
            }
            n += 1;
        }
    }
    if n < 2 {
        return Vec::new();
    }
    let ones: Vec<f64> = bits
        .iter()
        .map(|b| b.iter().map(|w| w.count_ones() as f64).sum::<f64>() / n as f64)
        .collect();
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| (ones[a] - 0.5).abs().total_cmp(&(ones[b] - 0.5).abs()));
    let corr = |a: usize, b: usize| {
        let both: f64 = bits[a]
            .iter()
            .zip(&bits[b])
            .map(|(x, y)| (x & y).count_ones() as f64)
            .sum::<f64>()
            / n as f64;
        let (pa, pb) = (ones[a], ones[b]);
        let var = (pa * (1.0 - pa) * pb * (1.0 - pb)).sqrt();
        if var <= 0.0 {
            1.0
        } else {
            ((both - pa * pb) / var).abs()
        }
    };
    let mut bound = 0.2;
    loop {
        let mut chosen: Vec<usize> = Vec::new();
        for &c in &order {
            if chosen.len() == 256 {
                break;
            }
            if chosen.iter().all(|&d| corr(c, d) < bound) {
                chosen.push(c);
            }
        }
        if chosen.len() == 256 {
            return chosen
                .into_iter()
                .map(|c| candidates[c].map(|v| v as i8))
                .collect();
        }
        bound += 0.05;
    }
}

/// Orientations the tests are turned to: steps of 360/32 degrees (ORB uses 30), close enough
/// for BRIEF, which tolerates about 15 degrees, and a table instead of trigonometry per test.
const ANGLE_BINS: usize = 32;

/// The 256 tests' integer offsets (both points) at one orientation.
type TurnedTests = [[(i32, i32); 2]; 256];

/// The tests' integer offsets turned to each orientation bin, as found and reflected.
fn turned_tests() -> &'static [TurnedTests; 2 * ANGLE_BINS] {
    static T: OnceLock<Box<[TurnedTests; 2 * ANGLE_BINS]>> = OnceLock::new();
    T.get_or_init(|| {
        let mut out = Box::new([[[(0, 0); 2]; 256]; 2 * ANGLE_BINS]);
        for (bin, table) in out.iter_mut().enumerate() {
            let reflect = bin >= ANGLE_BINS;
            let angle = (bin % ANGLE_BINS) as f32 * std::f32::consts::TAU / ANGLE_BINS as f32;
            let (s, c) = angle.sin_cos();
            for (slot, (a, b)) in table.iter_mut().zip(tests().iter()) {
                for (k, p) in [a, b].into_iter().enumerate() {
                    // The mirror image's test p, turned to π − θ, samples the photo at the
                    // reflection of where it lands: that is the test (p.x, −p.y) turned to θ.
                    let py = if reflect { -p[1] } else { p[1] };
                    let (x, y) = (c * p[0] - s * py, s * p[0] + c * py);
                    slot[k] = (x.round() as i32, y.round() as i32);
                }
            }
        }
        out
    })
}

/// The steered BRIEF descriptor of the keypoint at (x, y) of a level, oriented at `angle`; with
/// `reflect`, the descriptor the same point has in the mirror image of the photo (there
/// oriented at π − `angle`).
fn describe(ii: &Boxes, x: u32, y: u32, angle: f32, reflect: bool) -> Descriptor {
    let bin = ((angle.rem_euclid(std::f32::consts::TAU) / std::f32::consts::TAU * ANGLE_BINS as f32)
        .round() as usize)
        % ANGLE_BINS;
    let table = &turned_tests()[bin + if reflect { ANGLE_BINS } else { 0 }];
    let (x, y) = (x as i32, y as i32);
    let mut d = [0u64; 4];
    for (i, [(ax, ay), (bx, by)]) in table.iter().enumerate() {
        if ii.at(x + ax, y + ay) < ii.at(x + bx, y + by) {
            d[i / 64] |= 1 << (i % 64);
        }
    }
    d
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    /// A photo with detail everywhere: blobs of several sizes and grey levels.
    pub(crate) fn textured(seed: u64, w: u32, h: u32) -> DynamicImage {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        let mut img = RgbImage::from_pixel(w, h, Rgb([230, 230, 230]));
        for _ in 0..60 {
            let (cx, cy) = ((next() % w) as i32, (next() % h) as i32);
            let r = (next() % (w / 8).max(4) + 3) as i32;
            let col = Rgb([
                (next() % 256) as u8,
                (next() % 256) as u8,
                (next() % 256) as u8,
            ]);
            let square = next() % 2 == 0;
            for y in (cy - r).max(0)..(cy + r).min(h as i32) {
                for x in (cx - r).max(0)..(cx + r).min(w as i32) {
                    let (dx, dy) = (x - cx, y - cy);
                    if square || dx * dx + dy * dy <= r * r {
                        img.put_pixel(x as u32, y as u32, col);
                    }
                }
            }
        }
        // Light and sensor noise, as in any photo: flat regions are not flat to the bit.
        for (x, y, p) in img.enumerate_pixels_mut() {
            let shade = ((x * 7 + y * 13) % 17) as i32 - 8 + (next() % 9) as i32 - 4;
            for c in p.0.iter_mut() {
                *c = (*c as i32 + shade).clamp(0, 255) as u8;
            }
        }
        DynamicImage::ImageRgb8(img)
    }

    #[test]
    fn nine_in_a_row_is_nine_contiguous_of_the_circle() {
        for mask in 0..=u16::MAX {
            let runs = (0..16).any(|s| (0..9).all(|k| mask >> ((s + k) % 16) & 1 == 1));
            assert_eq!(nine_in_a_row(mask) != 0, runs, "{mask:016b}");
        }
    }

    #[test]
    fn fast_scores_are_imageprocs_at_any_threshold_on_noise() {
        // Sensor noise and hard edges, every pixel near a threshold somewhere: both signs'
        // corners, scored by the one arc that passes.
        let mut state = 7u32;
        let noisy = GrayImage::from_fn(90, 70, |x, y| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let edge = if (x / 9 + y / 7) % 3 == 0 { 140 } else { 60 };
            image::Luma([(edge + (state >> 16) % 40) as u8])
        });
        for threshold in [0u8, 1, 5, 8, 20, 60, 120] {
            let ours = fast9_scores(&noisy, threshold, 3);
            let mut theirs = vec![0u8; ours.len()];
            for c in imageproc::corners::corners_fast9(&noisy, threshold) {
                let (x, y) = (c.x, c.y);
                if x >= 3 && y >= 3 && x + 3 < noisy.width() && y + 3 < noisy.height() {
                    theirs[(y * noisy.width() + x) as usize] = (c.score as u32).clamp(1, 255) as u8;
                }
            }
            assert_eq!(ours, theirs, "threshold {threshold}");
        }
    }

    #[test]
    fn fast_scores_are_imageprocs_at_any_width() {
        // Rows shorter than a chunk of 16, a chunk and a bit, whole chunks: the last chunk
        // overlaps the one before it, or the row is one short chunk.
        let mut state = 11u32;
        for width in (7..=40).chain([47, 48, 55]) {
            let noisy = GrayImage::from_fn(width, 12, |x, y| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let edge = if (x / 5 + y / 4) % 3 == 0 { 150 } else { 50 };
                image::Luma([(edge + (state >> 16) % 50) as u8])
            });
            for threshold in [3u8, 20] {
                let ours = fast9_scores(&noisy, threshold, 3);
                let mut theirs = vec![0u8; ours.len()];
                for c in imageproc::corners::corners_fast9(&noisy, threshold) {
                    let (x, y) = (c.x, c.y);
                    if x >= 3 && y >= 3 && x + 3 < noisy.width() && y + 3 < noisy.height() {
                        theirs[(y * noisy.width() + x) as usize] =
                            (c.score as u32).clamp(1, 255) as u8;
                    }
                }
                assert_eq!(ours, theirs, "width {width}, threshold {threshold}");
            }
        }
    }

    #[test]
    fn fast_scores_are_imageprocs() {
        for (seed, threshold) in [(11, 20), (12, 8), (13, 40)] {
            let grey = working(&textured(seed, 300, 260));
            let ours = fast9_scores(&grey, threshold, 3);
            let mut theirs = vec![0u8; ours.len()];
            for c in imageproc::corners::corners_fast9(&grey, threshold) {
                let (x, y) = (c.x, c.y);
                if x >= 3 && y >= 3 && x + 3 < grey.width() && y + 3 < grey.height() {
                    theirs[(y * grey.width() + x) as usize] = (c.score as u32).clamp(1, 255) as u8;
                }
            }
            assert!(theirs.iter().filter(|&&v| v > 0).count() > 50);
            assert_eq!(ours, theirs, "seed {seed}, threshold {threshold}");
        }
    }

    #[test]
    fn box_sums_are_the_integral_images() {
        let grey = working(&textured(15, 280, 200));
        let (boxes, ii) = (Boxes::new(&grey), Integral::new(&grey));
        for y in BOX..grey.height() as i32 - BOX {
            for x in BOX..grey.width() as i32 - BOX {
                assert_eq!(boxes.at(x, y) as u32, ii.boxed(x, y));
            }
        }
    }

    #[test]
    fn the_orientation_is_the_discs_centroid() {
        let grey = working(&textured(14, 300, 300));
        for (x, y) in [(40, 40), (100, 57), (200, 180), (EDGE, EDGE)] {
            let (mut m10, mut m01) = (0i64, 0i64);
            for dy in -PATCH..=PATCH {
                for dx in -PATCH..=PATCH {
                    if dx * dx + dy * dy <= PATCH * PATCH {
                        let v = grey
                            .get_pixel((x as i32 + dx) as u32, (y as i32 + dy) as u32)
                            .0[0];
                        m10 += dx as i64 * v as i64;
                        m01 += dy as i64 * v as i64;
                    }
                }
            }
            assert_eq!(orientation(&grey, x, y), (m01 as f32).atan2(m10 as f32));
        }
    }

    #[test]
    fn keypoints_are_bounded_and_spread() {
        let k = extract(&textured(1, 640, 480), BANNED_KEYPOINTS).expect("detail");
        assert!(
            k.len() <= BANNED_KEYPOINTS && k.len() >= MIN_KEYPOINTS,
            "{}",
            k.len()
        );
        assert_eq!((k.width, k.height), (256, 192));
        let right = k.points.iter().filter(|p| p.x > 128.0).count();
        assert!(
            right > k.len() / 5 && right < k.len() * 4 / 5,
            "{right} of {}",
            k.len()
        );
    }

    #[test]
    fn a_plain_photo_has_no_keypoints() {
        let flat = DynamicImage::ImageRgb8(RgbImage::from_pixel(400, 300, Rgb([200, 10, 10])));
        assert!(extract(&flat, BANNED_KEYPOINTS).is_none());
        let tiny = DynamicImage::ImageRgb8(RgbImage::from_pixel(3, 2, Rgb([200, 10, 10])));
        assert!(extract(&tiny, BANNED_KEYPOINTS).is_none());
    }

    #[test]
    fn hostile_photos_give_bounded_work_and_no_panic() {
        // Noise makes every pixel a corner candidate: the count stays at the cap.
        let mut s = 7u32;
        let noise = RgbImage::from_fn(1600, 1200, |_, _| {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let v = (s >> 16) as u8;
            Rgb([v, v.wrapping_mul(3), v.wrapping_mul(7)])
        });
        let k = extract(&DynamicImage::ImageRgb8(noise), QUERY_KEYPOINTS).unwrap();
        assert!(k.len() <= QUERY_KEYPOINTS);
        assert!(k.width <= SIDE as u16 && k.height <= SIDE as u16);
        // Slivers and single lines: nothing to describe, and no panic.
        for (w, h) in [(1, 4000), (4000, 1), (2, 2), (40, 3000)] {
            let img = DynamicImage::ImageRgb8(textured(9, w, h).to_rgb8());
            let _ = extract(&img, QUERY_KEYPOINTS);
            let _ = Keypoints::with_mirror(&img, QUERY_KEYPOINTS);
        }
    }

    #[test]
    fn the_encoding_round_trips_and_refuses_garbage() {
        let k = extract(&textured(2, 500, 500), 64).unwrap();
        let back = Keypoints::decode(&k.encode()).unwrap();
        assert_eq!(back.descriptors, k.descriptors);
        assert_eq!(back.len(), k.len());
        for (a, b) in back.points.iter().zip(&k.points) {
            assert!((a.x - b.x).abs() < 0.02 && (a.y - b.y).abs() < 0.02);
        }
        let s = k.encode();
        assert!(Keypoints::decode(&s[..s.len() - 8]).is_none());
        assert!(Keypoints::decode("not base64!").is_none());
        assert!(Keypoints::decode("").is_none());
    }

    #[test]
    fn the_mirror_keypoints_match_the_mirror_image() {
        let img = textured(4, 400, 300);
        let (plain, mirrored) = Keypoints::with_mirror(&img, QUERY_KEYPOINTS).unwrap();
        let flipped = extract(&img.fliph(), BANNED_KEYPOINTS).unwrap();
        let v = crate::photo::verify::verify(&mirrored, &flipped);
        assert!(v.inliers >= 40 && v.coverage > 0.5, "{v:?}");
        // Not the photo itself: a mirror image is another arrangement of the same details.
        let w = crate::photo::verify::verify(&plain, &flipped);
        assert!(w.inliers < v.inliers / 2, "{w:?} against {v:?}");
    }

    #[test]
    fn the_same_photo_turned_keeps_its_descriptors() {
        let img = textured(3, 400, 400);
        let a = extract(&img, 128).unwrap();
        let b = extract(&img.rotate90(), 128).unwrap();
        // Each descriptor of the original has a close one in the turned photo.
        let close = a
            .descriptors
            .iter()
            .filter(|d| b.descriptors.iter().any(|e| distance(d, e) <= 40))
            .count();
        assert!(close * 2 > a.len(), "{close} of {}", a.len());
    }
}

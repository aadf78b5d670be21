//! Perceptual hashes of a photo: gradient dHash and DCT pHash, 64 bits each, via image_hasher.
//!
//! Before hashing, transparency is composited over white, uniform borders and padding are
//! trimmed and the photo is shrunk to a small grey thumbnail. A thumbnail too flat to carry
//! structure (blank, one colour, faint noise) gives no evidence (`None`): its hash would sit close
//! to every other flat photo's and match them all.
//!
//! Hashes are `u64` in reading order: the first bit the hash algorithm produces is the most
//! significant, as Python's imagehash prints them, so the hex forms read alike (the values of
//! the two libraries differ: their resizing and DCT differ).

use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, Rgb, RgbImage};
use image_hasher::{BitOrder, HashAlg, Hasher, HasherConfig};

/// Side of the grey working image trimming runs on: enough to place a border within a few
/// tenths of a percent, small enough to be cheap whatever the photo's size.
const WORK_SIDE: u32 = 256;
/// Side of the square thumbnail handed to the hashers (they shrink it to 9×8 and 16×16).
const HASH_SIDE: u32 = 64;
/// What is left after trimming must be at least this many working pixels a side.
const MIN_SIDE: u32 = 8;
/// A line (row or column) is uniform when all but [`TRIM_OUTLIERS`] of its pixels are within
/// this many grey levels of its median. Tight, so that peeling stops at faint content and a
/// ±20 % brightness change does not move where it stops. Tuned with [`TRIM_OUTLIERS`] on the
/// generated photos of the tests: looser tolerances, or fewer outliers allowed, missed more edits.
const TRIM_TOLERANCE: u8 = 6;
/// Fraction of a uniform line's pixels allowed outside [`TRIM_TOLERANCE`]: specks, dust, and
/// the JPEG ringing of quality 20 where content nearly touches the padding.
const TRIM_OUTLIERS: f32 = 0.04;
/// Below this standard deviation of grey levels (0–255) over a 16×16 thumbnail, a photo is too
/// flat to hash.
const FLAT_STDDEV: f32 = 3.0;

/// The hashes of one photo (or of one of its rotations and flips).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PhotoHashes {
    /// Gradient hash: each bit says whether a pixel of a 9×8 thumbnail is brighter than its left
    /// neighbour.
    pub dhash: u64,
    /// DCT hash: each bit says whether one of the 8×8 lowest frequencies of a 16×16 thumbnail is
    /// above their median.
    pub phash: u64,
}

impl PhotoHashes {
    /// Hamming distances (dHash, pHash) to another photo's hashes.
    pub fn distances(&self, other: &PhotoHashes) -> (u32, u32) {
        (
            (self.dhash ^ other.dhash).count_ones(),
            (self.phash ^ other.phash).count_ones(),
        )
    }
}

/// A hash as 16 lower-case hex digits.
pub fn hex64(h: u64) -> String {
    format!("{h:016x}")
}

/// Parses 16 hex digits (either case) back into a hash.
pub fn parse_hex64(s: &str) -> Option<u64> {
    if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

/// The 8 symmetries of a square photo (the dihedral group): the 4 rotations, then the same
/// mirrored left to right. Sellers mirror and rotate photos; the hashes do not survive it, so a
/// query photo is hashed in all 8 and the best match counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dihedral {
    Identity,
    Rotate90,
    Rotate180,
    Rotate270,
    FlipH,
    Rotate90FlipH,
    Rotate180FlipH,
    Rotate270FlipH,
}

impl Dihedral {
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Identity,
        Dihedral::Rotate90,
        Dihedral::Rotate180,
        Dihedral::Rotate270,
        Dihedral::FlipH,
        Dihedral::Rotate90FlipH,
        Dihedral::Rotate180FlipH,
        Dihedral::Rotate270FlipH,
    ];

    /// This symmetry applied to `img` (clockwise rotation, then the mirror).
    pub fn apply(self, img: &GrayImage) -> GrayImage {
        use Dihedral::*;
        let rotated = match self {
            Identity | FlipH => img.clone(),
            Rotate90 | Rotate90FlipH => imageops::rotate90(img),
            Rotate180 | Rotate180FlipH => imageops::rotate180(img),
            Rotate270 | Rotate270FlipH => imageops::rotate270(img),
        };
        match self {
            FlipH | Rotate90FlipH | Rotate180FlipH | Rotate270FlipH => {
                imageops::flip_horizontal(&rotated)
            }
            _ => rotated,
        }
    }
}

/// Hashes photos. Building the hashers plans their DCTs, so build one and reuse it.
pub struct PhotoHasher {
    dhash: Hasher<[u8; 8]>,
    phash: Hasher<[u8; 8]>,
}

impl Default for PhotoHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PhotoHasher {
    pub fn new() -> Self {
        // The thumbnail is already small and smooth: a triangle filter is enough to shrink it
        // further, and much cheaper than the default Lanczos.
        let config = || {
            HasherConfig::with_bytes_type::<[u8; 8]>()
                .hash_size(8, 8)
                .resize_filter(FilterType::Triangle)
                .bit_order(BitOrder::MsbFirst)
        };
        PhotoHasher {
            dhash: config().hash_alg(HashAlg::Gradient).to_hasher(),
            phash: config().hash_alg(HashAlg::Median).preproc_dct().to_hasher(),
        }
    }

    /// The photo's hashes, or `None` when it is too flat to be evidence.
    pub fn hash(&self, img: &DynamicImage) -> Option<PhotoHashes> {
        prepare(img).map(|t| self.hash_thumbnail(&t))
    }

    /// The hashes of the photo's 8 rotations and flips, in the order of [`Dihedral::ALL`]
    /// (the first is [`PhotoHasher::hash`]'s), or `None` when it is too flat to be evidence.
    pub fn dihedral(&self, img: &DynamicImage) -> Option<[PhotoHashes; 8]> {
        self.dihedral_with_grey(img, None)
    }

    /// [`PhotoHasher::dihedral`], given `img.to_luma8()` when the caller has it already.
    pub(crate) fn dihedral_with_grey(
        &self,
        img: &DynamicImage,
        grey: Option<&GrayImage>,
    ) -> Option<[PhotoHashes; 8]> {
        // Trimming happens once, before the symmetries: all 8 see the same content.
        let t = thumbnail(&trimmed_with_grey(img, grey)?)?;
        Some(Dihedral::ALL.map(|d| self.hash_thumbnail(&d.apply(&t))))
    }

    /// The hashes of the photo and of its [`CROPS`]: the whole first, then the crops that are
    /// not too flat. `None` when the whole is too flat to be evidence.
    pub fn with_crops(&self, img: &DynamicImage) -> Option<(PhotoHashes, Vec<PhotoHashes>)> {
        let region = trimmed(img)?;
        let whole = self.hash_thumbnail(&thumbnail(&region)?);
        let (w, h) = (region.width() as f32, region.height() as f32);
        let crops = CROPS
            .iter()
            .filter_map(|&(x, y, cw, ch)| {
                let crop = crop(
                    &region,
                    (x * w) as u32,
                    (y * h) as u32,
                    ((cw * w) as u32).max(1),
                    ((ch * h) as u32).max(1),
                );
                thumbnail(&crop).map(|t| self.hash_thumbnail(&t))
            })
            .filter(|c| *c != whole)
            .collect();
        Some((whole, crops))
    }

    /// The hashes of the top [`BANNER_KEEP`] of the photo as it is (cut before trimming: the
    /// band is not a uniform border), or `None` when that part is too flat.
    pub fn top_part(&self, img: &DynamicImage) -> Option<PhotoHashes> {
        self.top_part_with_grey(img, None)
    }

    /// [`PhotoHasher::top_part`], given `img.to_luma8()` when the caller has it already: the
    /// top part's grey is then its rows (the crate's grey is pixel by pixel, and a crop keeps
    /// the colour space), without a copy of the colour pixels.
    pub(crate) fn top_part_with_grey(
        &self,
        img: &DynamicImage,
        grey: Option<&GrayImage>,
    ) -> Option<PhotoHashes> {
        let h = ((img.height() as f32 * BANNER_KEEP) as u32).max(1);
        match grey {
            Some(grey) if !img.color().has_alpha() => {
                let top = crop(grey, 0, 0, img.width(), h);
                let t = thumbnail(&trim(&at_work_size(std::borrow::Cow::Owned(top)))?)?;
                Some(self.hash_thumbnail(&t))
            }
            _ => self.hash(&img.crop_imm(0, 0, img.width(), h)),
        }
    }

    fn hash_thumbnail(&self, t: &GrayImage) -> PhotoHashes {
        // The hashers shrink the thumbnail to 9×8 (dHash) and 16×16 (pHash's DCT) with the
        // `image` crate's generic triangle resize, after a grey-to-grey copy of all of it; given
        // the same bytes from `resize_triangle` at the size they want, they copy those instead
        // (the crate's resize returns a copy at the same size): the same hashes, for a fifth of
        // the instructions.
        let small = |w, h| super::resample::resize_triangle(t, w, h);
        PhotoHashes {
            dhash: u64::from_be_bytes(self.dhash.hash_image(&small(9, 8)).into_inner()),
            phash: u64::from_be_bytes(self.phash.hash_image(&small(16, 16)).into_inner()),
        }
    }
}

/// The square grey thumbnail the hashes are taken from: trimmed, `HASH_SIDE` a side. `None`
/// when nothing but uniform lines is left, what is left is a sliver, or it is too flat.
pub fn prepare(img: &DynamicImage) -> Option<GrayImage> {
    thumbnail(&trimmed(img)?)
}

/// The photo in grey at working size with its uniform borders trimmed; `None` when nothing but
/// uniform lines is left or what is left is a sliver.
fn trimmed(img: &DynamicImage) -> Option<GrayImage> {
    trimmed_with_grey(img, None)
}

/// [`trimmed`], given `img.to_luma8()` when the caller has it (used when `img` has no alpha).
fn trimmed_with_grey(img: &DynamicImage, grey: Option<&GrayImage>) -> Option<GrayImage> {
    match grey {
        Some(grey) if !img.color().has_alpha() => {
            trim(&at_work_size(std::borrow::Cow::Borrowed(grey)))
        }
        _ => trim(&grey_work_image(img)),
    }
}

/// A grey work image with its uniform borders trimmed (see [`trimmed`]).
fn trim(grey: &GrayImage) -> Option<GrayImage> {
    let (x0, y0, x1, y1) = trim_bounds(grey)?;
    if x1 - x0 < MIN_SIDE || y1 - y0 < MIN_SIDE {
        return None;
    }
    Some(crop(grey, x0, y0, x1 - x0, y1 - y0))
}

/// `imageops::crop_imm(img, x, y, w, h).to_image()` (the rectangle clipped to the image as
/// the crate clips it), copied a row at a time: the crate's copy reads pixel by pixel through
/// its generic view, most of what trimming cost (callgrind).
fn crop(img: &GrayImage, x: u32, y: u32, w: u32, h: u32) -> GrayImage {
    let (iw, ih) = img.dimensions();
    let (x, y) = (x.min(iw), y.min(ih));
    let (w, h) = (w.min(iw - x), h.min(ih - y));
    let (stride, (x, w)) = (iw as usize, (x as usize, w as usize));
    let mut pixels = Vec::with_capacity(w * h as usize);
    for row in img
        .as_raw()
        .chunks_exact(stride.max(1))
        .skip(y as usize)
        .take(h as usize)
    {
        pixels.extend_from_slice(&row[x..x + w]);
    }
    GrayImage::from_raw(w as u32, h, pixels).unwrap_or_else(|| GrayImage::new(w as u32, h))
}

/// `region` shrunk to the hash thumbnail, or `None` when it is too flat.
fn thumbnail(region: &GrayImage) -> Option<GrayImage> {
    let thumb = super::resample::resize_triangle(region, HASH_SIDE, HASH_SIDE);
    if stddev(&super::resample::thumbnail(&thumb, 16, 16)) < FLAT_STDDEV {
        return None;
    }
    Some(thumb)
}

/// The crops of a banned photo hashed beside the whole, as fractions `(x, y, width, height)`
/// of the trimmed photo. A global hash does not survive a crop (published: PDQ keeps 9 % recall
/// after a 5 % crop): a listing's photo cropped by up to 10 % of a side is instead close to the
/// stored crop that keeps about the same window. Windows of 90 % at offsets 0, 5 and 10 % (on
/// both axes, and on one axis with the other whole) leave at most 2.5 % of misalignment, which
/// the hashes absorb; 80 % centred covers a deeper crop of all four sides, and the top
/// [`BANNER_KEEP`] a banner ("SALE", a price) laid over the bottom of the photo. Stored on the banned side only,
/// so a query still costs 8 symmetries, not 8 × 17.
pub const CROPS: [(f32, f32, f32, f32); 17] = [
    (0.0, 0.0, 0.9, 0.9),
    (0.05, 0.0, 0.9, 0.9),
    (0.1, 0.0, 0.9, 0.9),
    (0.0, 0.05, 0.9, 0.9),
    (0.05, 0.05, 0.9, 0.9),
    (0.1, 0.05, 0.9, 0.9),
    (0.0, 0.1, 0.9, 0.9),
    (0.05, 0.1, 0.9, 0.9),
    (0.1, 0.1, 0.9, 0.9),
    (0.0, 0.0, 0.9, 1.0),
    (0.05, 0.0, 0.9, 1.0),
    (0.1, 0.0, 0.9, 1.0),
    (0.0, 0.0, 1.0, 0.9),
    (0.0, 0.05, 1.0, 0.9),
    (0.0, 0.1, 1.0, 0.9),
    (0.1, 0.1, 0.8, 0.8),
    (0.0, 0.0, 1.0, BANNER_KEEP),
];

/// The share of a photo's height kept above a banner: a listing photo's top part is hashed
/// beside the whole (see [`PhotoHasher::top_part`]) and compared with the same crop of the
/// banned photo, so a band laid over the bottom ("SALE -50 %") leaves both alike.
pub const BANNER_KEEP: f32 = 0.85;

/// The photo in grey, at most [`WORK_SIDE`] a side, transparency composited over white (a
/// product cut out on a transparent background is the same product on a white one).
fn grey_work_image(img: &DynamicImage) -> GrayImage {
    let large = img.width() > WORK_SIDE || img.height() > WORK_SIDE;
    if !img.color().has_alpha() {
        // Grey first: shrinking one channel costs a third of shrinking three.
        return at_work_size(std::borrow::Cow::Owned(img.to_luma8())).into_owned();
    }
    let small;
    let img = if large {
        small = img.thumbnail(WORK_SIDE, WORK_SIDE);
        &small
    } else {
        img
    };
    let rgba = img.to_rgba8();
    let over_white = RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend =
            |c: u8| ((u32::from(c) * u32::from(a) + 255 * (255 - u32::from(a))) / 255) as u8;
        Rgb([blend(r), blend(g), blend(b)])
    });
    DynamicImage::ImageRgb8(over_white).to_luma8()
}

/// A photo's grey (without alpha) at most [`WORK_SIDE`] a side, as [`grey_work_image`] makes
/// it: as it is when it fits.
fn at_work_size(grey: std::borrow::Cow<'_, GrayImage>) -> std::borrow::Cow<'_, GrayImage> {
    if grey.width() <= WORK_SIDE && grey.height() <= WORK_SIDE {
        return grey;
    }
    // `thumbnail` averages areas: every source pixel counts once, fast at any size.
    let (w, h) = fit(grey.width(), grey.height());
    std::borrow::Cow::Owned(super::resample::thumbnail(&grey, w, h))
}

/// `w × h` scaled to fit [`WORK_SIDE`] with its aspect kept, as `DynamicImage::thumbnail` does.
fn fit(w: u32, h: u32) -> (u32, u32) {
    let scale = f64::from(WORK_SIDE) / f64::from(w.max(h));
    (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    )
}

/// The region left after peeling uniform lines off each side, as `(x0, y0, x1, y1)` with the
/// ends exclusive; `None` when nothing is left.
///
/// Rounds peel one line per side, judged over what the other sides left, until no side has a
/// uniform line left; the four sides are treated alike, so a rotated or mirrored copy loses the
/// same content. A line is peeled when it is uniform in itself, whatever its colour, rather than
/// only when it matches the canvas colour: a photo padded onto a white canvas first loses the
/// canvas, then whatever uniform border the photo itself had (a studio background, a clear sky),
/// exactly as the unpadded original loses that border. Matching the canvas colour only would
/// keep that border in the padded copy and not in the original (measured on the generated
/// photos of the tests: far more misses). The price: peeling can reach into a large flat shape
/// touching the border; it does so alike in every copy, unless an edit changes which lines are
/// uniform, which is why [`TRIM_TOLERANCE`] is tight.
fn trim_bounds(g: &GrayImage) -> Option<(u32, u32, u32, u32)> {
    let (w, h) = g.dimensions();
    if w == 0 || h == 0 {
        return None;
    }
    let px = |x: u32, y: u32| g.get_pixel(x, y).0[0];
    let line_uniform = |values: &mut dyn Iterator<Item = u8>| {
        let v: Vec<u8> = values.collect();
        let m = median(v.clone());
        uniform(&v, m)
    };
    let (mut x0, mut y0, mut x1, mut y1) = (0, 0, w, h);
    loop {
        let round = (x0, y0, x1, y1);
        if line_uniform(&mut (x0..x1).map(|x| px(x, y0))) {
            y0 += 1;
        }
        if y0 < y1 && line_uniform(&mut (x0..x1).map(|x| px(x, y1 - 1))) {
            y1 -= 1;
        }
        if y0 < y1 && line_uniform(&mut (y0..y1).map(|y| px(x0, y))) {
            x0 += 1;
        }
        if y0 < y1 && x0 < x1 && line_uniform(&mut (y0..y1).map(|y| px(x1 - 1, y))) {
            x1 -= 1;
        }
        if y0 >= y1 || x0 >= x1 {
            return None;
        }
        if (x0, y0, x1, y1) == round {
            return Some((x0, y0, x1, y1));
        }
    }
}

/// Median of a non-empty line.
fn median(mut v: Vec<u8>) -> u8 {
    let mid = v.len() / 2;
    *v.select_nth_unstable(mid).1
}

/// Whether all but [`TRIM_OUTLIERS`] of the values are within [`TRIM_TOLERANCE`] of `median`.
fn uniform(v: &[u8], median: u8) -> bool {
    let outliers = v
        .iter()
        .filter(|&&p| p.abs_diff(median) > TRIM_TOLERANCE)
        .count();
    outliers as f32 <= v.len() as f32 * TRIM_OUTLIERS
}

fn stddev(g: &GrayImage) -> f32 {
    let n = g.as_raw().len() as f32;
    let mean = g.as_raw().iter().map(|&p| f32::from(p)).sum::<f32>() / n;
    let var = g
        .as_raw()
        .iter()
        .map(|&p| (f32::from(p) - mean).powi(2))
        .sum::<f32>()
        / n;
    var.sqrt()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::photo::decode::decode_bytes;
    use image::{ImageFormat, Rgba, RgbaImage};
    use std::io::Cursor;
    use std::path::Path;

    /// Largest distance (dHash, pHash) an edit of a photo may leave.
    const SAME: u32 = 10;
    /// Smallest distance two different photos may be apart (on the hash that keeps them
    /// furthest apart, see `different_photos_are_far_apart`).
    const DIFFERENT: u32 = 16;

    /// A small deterministic random generator (xorshift), so the test photos are the same on
    /// every run without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u32) -> u32 {
            (self.next() % u64::from(n.max(1))) as u32
        }
        fn colour(&mut self) -> [u8; 3] {
            [
                self.below(256) as u8,
                self.below(256) as u8,
                self.below(256) as u8,
            ]
        }
    }

    /// A synthetic "product photo": a diagonal two-colour gradient with a few rectangles and
    /// ellipses of random colours, sizes and places. Different seeds, different photos.
    pub(crate) fn scene(seed: u64, w: u32, h: u32) -> RgbImage {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let (c0, c1) = (rng.colour(), rng.colour());
        let (gx, gy) = (rng.below(100) as f32 + 20.0, rng.below(100) as f32 + 20.0);
        let shapes: Vec<(bool, [f32; 4], [u8; 3])> = (0..7)
            .map(|_| {
                let cx = rng.below(w) as f32;
                let cy = rng.below(h) as f32;
                let rx = (rng.below(w / 4) + w / 12) as f32;
                let ry = (rng.below(h / 4) + h / 12) as f32;
                (rng.below(2) == 0, [cx, cy, rx, ry], rng.colour())
            })
            .collect();
        RgbImage::from_fn(w, h, |x, y| {
            let (xf, yf) = (x as f32, y as f32);
            let mut c: [u8; 3] = {
                let t = ((xf * gx + yf * gy) / (w as f32 * gx + h as f32 * gy)).clamp(0.0, 1.0);
                std::array::from_fn(|i| (f32::from(c0[i]) * (1.0 - t) + f32::from(c1[i]) * t) as u8)
            };
            for (ellipse, [cx, cy, rx, ry], colour) in &shapes {
                let (dx, dy) = ((xf - cx) / rx, (yf - cy) / ry);
                let inside = if *ellipse {
                    dx * dx + dy * dy <= 1.0
                } else {
                    dx.abs() <= 1.0 && dy.abs() <= 1.0
                };
                if inside {
                    c = *colour;
                }
            }
            Rgb(c)
        })
    }

    fn jpeg(img: &RgbImage, quality: u8) -> DynamicImage {
        let mut buf = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality)
            .encode_image(img)
            .unwrap();
        decode_bytes(&buf, Path::new("edit.jpg")).unwrap()
    }

    fn pad(
        img: &RgbImage,
        colour: [u8; 3],
        left: u32,
        top: u32,
        right: u32,
        bottom: u32,
    ) -> RgbImage {
        let mut canvas = RgbImage::from_pixel(
            img.width() + left + right,
            img.height() + top + bottom,
            Rgb(colour),
        );
        imageops::replace(&mut canvas, img, i64::from(left), i64::from(top));
        canvas
    }

    fn scale_brightness(img: &RgbImage, factor: f32) -> RgbImage {
        let mut out = img.clone();
        for p in out.pixels_mut() {
            for c in p.0.iter_mut() {
                *c = (f32::from(*c) * factor).round().clamp(0.0, 255.0) as u8;
            }
        }
        out
    }

    /// The edits sellers make, each with the photo it gives.
    fn edits(img: &RgbImage) -> Vec<(&'static str, DynamicImage)> {
        let (w, h) = img.dimensions();
        let dynamic = DynamicImage::ImageRgb8(img.clone());
        vec![
            (
                "resize half",
                dynamic.resize_exact(w / 2, h / 2, FilterType::Triangle),
            ),
            (
                "resize double",
                dynamic.resize_exact(w * 2, h * 2, FilterType::Triangle),
            ),
            (
                "resize 250x250",
                dynamic.resize_exact(250, 250, FilterType::CatmullRom),
            ),
            ("jpeg q20", jpeg(img, 20)),
            ("flip", dynamic.fliph()),
            ("rotate 90", dynamic.rotate90()),
            ("rotate 270 + flip", dynamic.rotate270().fliph()),
            (
                "white padding",
                DynamicImage::ImageRgb8(pad(img, [255; 3], 40, 60, 40, 60)),
            ),
            (
                "black letterbox",
                DynamicImage::ImageRgb8(pad(img, [0; 3], 0, 40, 0, 40)),
            ),
            (
                "padding + jpeg q20",
                jpeg(&pad(img, [255; 3], 30, 30, 30, 30), 20),
            ),
            (
                "brighter 20%",
                DynamicImage::ImageRgb8(scale_brightness(img, 1.2)),
            ),
            (
                "darker 20%",
                DynamicImage::ImageRgb8(scale_brightness(img, 0.8)),
            ),
            ("grayscale", DynamicImage::ImageLuma8(dynamic.to_luma8())),
        ]
    }

    /// The smallest distances over the query's 8 symmetries to the stored hashes.
    fn best(query: &[PhotoHashes; 8], stored: &PhotoHashes) -> (u32, u32) {
        query
            .iter()
            .map(|q| q.distances(stored))
            .min_by_key(|&(d, p)| d + p)
            .unwrap()
    }

    /// Every edit of 20 generated photos, matched against the original's hashes (a match: both
    /// distances ≤ [`SAME`]). A global hash does not hold every time: a photo with large
    /// low-contrast areas can lose its pHash to JPEG at quality 20, or be trimmed differently
    /// once padded. The rate is the contract here; crop-resistant region hashes come later.
    #[test]
    fn edited_photos_stay_close() {
        let hasher = PhotoHasher::new();
        let (mut tried, mut missed) = (0, Vec::new());
        for seed in 1..=20 {
            let original = scene(seed, 320, 240);
            let stored = hasher
                .hash(&DynamicImage::ImageRgb8(original.clone()))
                .unwrap();
            for (name, edited) in edits(&original) {
                let q = hasher
                    .dihedral(&edited)
                    .unwrap_or_else(|| panic!("{name}: no hash"));
                let (d, p) = best(&q, &stored);
                tried += 1;
                if d > SAME || p > SAME {
                    missed.push(format!("seed {seed}, {name}: dhash {d}, phash {p}"));
                }
            }
        }
        eprintln!("{} of {tried} edits missed: {missed:#?}", missed.len());
        assert!(
            missed.len() * 50 <= tried,
            "more than 2 % of edits missed: {missed:#?}"
        );
    }

    #[test]
    fn crops_are_the_crates() {
        let img = GrayImage::from_fn(37, 23, |x, y| image::Luma([(x * 7 + y * 13) as u8]));
        for (x, y, w, h) in [
            (0, 0, 37, 23),
            (3, 4, 10, 9),
            (30, 20, 20, 20),
            (40, 1, 5, 5),
            (0, 22, 37, 1),
        ] {
            assert_eq!(
                crop(&img, x, y, w, h),
                imageops::crop_imm(&img, x, y, w, h).to_image(),
                "{x} {y} {w} {h}"
            );
        }
        let empty = GrayImage::new(0, 0);
        assert_eq!(crop(&empty, 1, 1, 3, 3).dimensions(), (0, 0));
    }

    /// The hashes are the hashers' own on the thumbnail: shrinking it here first (see
    /// `hash_thumbnail`) changes no bit, for photos, their symmetries, crops and noise.
    #[test]
    fn hashes_are_the_hashers_on_the_whole_thumbnail() {
        let hasher = PhotoHasher::new();
        let theirs = |t: &GrayImage| PhotoHashes {
            dhash: u64::from_be_bytes(hasher.dhash.hash_image(t).into_inner()),
            phash: u64::from_be_bytes(hasher.phash.hash_image(t).into_inner()),
        };
        let mut seen = 0;
        for seed in 1..=30 {
            let photo = DynamicImage::ImageRgb8(scene(seed, 300 + seed as u32 * 7, 240));
            let Some(t) = prepare(&photo) else { continue };
            for d in Dihedral::ALL {
                let turned = d.apply(&t);
                assert_eq!(
                    hasher.hash_thumbnail(&turned),
                    theirs(&turned),
                    "seed {seed}"
                );
                seen += 1;
            }
        }
        let mut rng = Rng(99);
        for _ in 0..30 {
            let noise = GrayImage::from_fn(HASH_SIDE, HASH_SIDE, |_, _| {
                image::Luma([rng.below(256) as u8])
            });
            assert_eq!(hasher.hash_thumbnail(&noise), theirs(&noise));
        }
        assert!(seen >= 200, "{seen}");
    }

    /// The plain edits (resize, flips and rotations, padding on a clean canvas, brightness) on
    /// photos without large flat areas always match.
    #[test]
    fn plain_edits_always_match() {
        let hasher = PhotoHasher::new();
        for seed in 1..=6 {
            let original = scene(seed, 320, 240);
            let stored = hasher
                .hash(&DynamicImage::ImageRgb8(original.clone()))
                .unwrap();
            for (name, edited) in edits(&original) {
                let q = hasher.dihedral(&edited).unwrap();
                let (d, p) = best(&q, &stored);
                assert!(
                    d <= SAME && p <= SAME,
                    "seed {seed}, {name}: dhash {d}, phash {p}"
                );
            }
        }
    }

    #[test]
    fn unedited_photo_matches_itself_in_the_first_symmetry() {
        let hasher = PhotoHasher::new();
        let img = DynamicImage::ImageRgb8(scene(9, 200, 150));
        let d = hasher.dihedral(&img).unwrap();
        assert_eq!(d[0], hasher.hash(&img).unwrap());
        // The 8 symmetries of a photo without symmetry hash differently.
        let distinct: std::collections::HashSet<_> = d.iter().collect();
        assert_eq!(distinct.len(), 8);
    }

    #[test]
    fn different_photos_are_far_apart() {
        let hasher = PhotoHasher::new();
        let photos: Vec<PhotoHashes> = (100..116)
            .map(|s| {
                hasher
                    .hash(&DynamicImage::ImageRgb8(scene(s, 320, 240)))
                    .unwrap()
            })
            .collect();
        let mut closest = u32::MAX;
        for (i, a) in photos.iter().enumerate() {
            for b in &photos[i + 1..] {
                let (d, p) = a.distances(b);
                closest = closest.min(d.max(p));
                assert!(d.max(p) >= DIFFERENT, "{i}: dhash {d}, phash {p}");
            }
        }
        eprintln!("closest different photos: {closest}");
    }

    #[test]
    fn flat_photos_give_no_evidence() {
        let hasher = PhotoHasher::new();
        let white = DynamicImage::ImageRgb8(RgbImage::from_pixel(300, 200, Rgb([255; 3])));
        assert_eq!(hasher.hash(&white), None);
        assert!(hasher.dihedral(&white).is_none());
        let grey_jpeg = jpeg(&RgbImage::from_pixel(300, 200, Rgb([128; 3])), 20);
        assert_eq!(hasher.hash(&grey_jpeg), None);
        // Faint noise of ±2 levels, and a faint gradient: nothing to hash either.
        let mut rng = Rng(7);
        let noise = RgbImage::from_fn(300, 200, |_, _| Rgb([126 + rng.below(5) as u8; 3]));
        assert_eq!(hasher.hash(&DynamicImage::ImageRgb8(noise)), None);
        let faint = RgbImage::from_fn(300, 200, |x, _| Rgb([(120 + x / 60) as u8; 3]));
        assert_eq!(hasher.hash(&DynamicImage::ImageRgb8(faint)), None);
        // A fully transparent image is white.
        let clear = RgbaImage::from_pixel(50, 50, Rgba([0, 0, 0, 0]));
        assert_eq!(hasher.hash(&DynamicImage::ImageRgba8(clear)), None);
        // A photo is not flat.
        assert!(
            hasher
                .hash(&DynamicImage::ImageRgb8(scene(1, 64, 64)))
                .is_some()
        );
    }

    #[test]
    fn trimming_finds_the_photo_on_its_canvas() {
        // A checkerboard: no line of it is uniform, so exactly the canvas goes.
        let img = RgbImage::from_fn(120, 80, |x, y| {
            if (x / 8 + y / 8) % 2 == 0 {
                Rgb([20, 20, 20])
            } else {
                Rgb([200, 40, 40])
            }
        });
        let padded = pad(&img, [250, 250, 250], 30, 10, 50, 20);
        let g = DynamicImage::ImageRgb8(padded).to_luma8();
        assert_eq!(trim_bounds(&g), Some((30, 10, 150, 90)));
        let g = DynamicImage::ImageRgb8(img).to_luma8();
        assert_eq!(trim_bounds(&g), Some((0, 0, 120, 80)));
    }

    #[test]
    fn transparent_background_counts_as_white() {
        let hasher = PhotoHasher::new();
        let img = scene(4, 160, 120);
        let mut cut_out = RgbaImage::from_pixel(200, 160, Rgba([0, 0, 0, 0]));
        imageops::replace(
            &mut cut_out,
            &DynamicImage::ImageRgb8(img.clone()).to_rgba8(),
            20,
            20,
        );
        let a = hasher.hash(&DynamicImage::ImageRgba8(cut_out)).unwrap();
        let b = hasher.hash(&DynamicImage::ImageRgb8(img)).unwrap();
        let (d, p) = a.distances(&b);
        assert!(d <= 4 && p <= 4, "dhash {d}, phash {p}");
    }

    #[test]
    fn a_photos_grey_given_gives_what_the_photo_alone_gives() {
        // A listing photo decoded at 200, a large one (shrunk to the work size), a grey one,
        // one with alpha (its grey is not used for the hashes), a collage of two scenes, a
        // flat one, one in another colour space (its grey weights are not sRGB's), slivers.
        let collage = {
            let (a, b) = (scene(5, 120, 200), scene(6, 120, 200));
            let mut c = RgbImage::from_pixel(250, 200, Rgb([255, 255, 255]));
            imageops::replace(&mut c, &a, 0, 0);
            imageops::replace(&mut c, &b, 130, 0);
            c
        };
        let mut p3 = DynamicImage::ImageRgb8(scene(8, 200, 150));
        p3.set_color_space(image::metadata::Cicp::DISPLAY_P3)
            .unwrap();
        let photos = [
            DynamicImage::ImageRgb8(scene(1, 200, 200)),
            jpeg(&scene(2, 640, 410), 85),
            DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(scene(3, 180, 300)).to_luma8()),
            DynamicImage::ImageRgba8(DynamicImage::ImageRgb8(scene(4, 200, 200)).to_rgba8()),
            DynamicImage::ImageRgb8(collage),
            DynamicImage::ImageRgb8(RgbImage::from_pixel(200, 200, Rgb([90, 90, 90]))),
            p3,
            DynamicImage::ImageRgb8(scene(9, 300, 9)),
            DynamicImage::ImageRgb8(scene(10, 1, 1)),
        ];
        let hasher = PhotoHasher::new();
        for (i, img) in photos.iter().enumerate() {
            let grey = img.to_luma8();
            let grey = Some(&grey);
            assert_eq!(
                hasher.dihedral_with_grey(img, grey),
                hasher.dihedral(img),
                "{i}"
            );
            assert_eq!(
                hasher.top_part_with_grey(img, grey),
                hasher.top_part(img),
                "{i}"
            );
            let (with, alone) = (
                super::super::panels::panels_with_grey(img, grey),
                super::super::panels::panels(img),
            );
            assert_eq!(with, alone, "{i}");
            let (with, alone) = (
                super::super::aligned::query_thumb_with_grey(img, grey),
                super::super::aligned::query_thumb(img),
            );
            assert_eq!(with.encode(), alone.encode(), "{i}");
        }
        assert_eq!(
            super::super::panels::panels(&photos[4]).len(),
            2,
            "the collage is split"
        );
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex64(0xab), "00000000000000ab");
        assert_eq!(parse_hex64("00000000000000AB"), Some(0xab));
        assert_eq!(parse_hex64("ab"), None);
        assert_eq!(parse_hex64("+0000000000000ab"), None);
        let img = DynamicImage::ImageRgb8(scene(5, 100, 100));
        let h = PhotoHasher::new().hash(&img).unwrap();
        assert_eq!(parse_hex64(&hex64(h.phash)), Some(h.phash));
    }

    #[test]
    fn tiny_and_odd_images_do_not_panic() {
        let hasher = PhotoHasher::new();
        for (w, h) in [(1, 1), (1, 500), (500, 1), (3, 3), (9, 9), (17, 2)] {
            let img = DynamicImage::ImageRgb8(scene(6, w, h));
            let _ = hasher.dihedral(&img);
        }
        let mut buf = Cursor::new(Vec::new());
        scene(8, 40, 30)
            .write_to(&mut buf, ImageFormat::Bmp)
            .unwrap();
        let img = decode_bytes(buf.get_ref(), Path::new("a.bmp")).unwrap();
        assert!(hasher.hash(&img).is_some());
    }
}

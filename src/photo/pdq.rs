//! PDQ, Meta's 256-bit perceptual hash with a quality score, for exchange with hash-sharing
//! systems (ThreatExchange and the platforms' own lists), written after the reference
//! implementation (facebook/ThreatExchange, `pdq/cpp/hashing/pdqhashing.cpp`).
//!
//! Written here rather than taken from crates.io: the one crate (`pdqhash` 0.1) is built on
//! `image` 0.23, a second, old copy of the image stack whose types do not interchange with the
//! `image` 0.25 this project decodes with; the algorithm itself is about a hundred lines.
//!
//! The steps, as in the reference: luminance (Rec. 601 weights) in floats; two passes of a
//! Jarosz box filter along rows then columns, with windows of about half the decimation step;
//! a 64×64 sample of the blurred image; the quality score from its gradients; the 16×16 lowest
//! non-constant frequencies of its DCT; one bit per frequency, set when it is above the median.
//! The hex form is the reference's: bit `16 i + j` (row `i`, column `j` of the 16×16) is bit
//! `16 i + j` of a 256-bit big-endian number.

use image::DynamicImage;

/// Side of the sample the DCT runs on.
const DOWNSAMPLE: usize = 64;
/// Side of the block of DCT frequencies kept.
const DCT_SIDE: usize = 16;
/// Passes of the box filter (the reference's `PDQ_NUM_JAROSZ_XY_PASSES`).
const JAROSZ_PASSES: usize = 2;
/// Quality at or above which the reference promises its hashes agree within distance 10, and
/// below which a photo is treated as too flat to be evidence.
pub const PDQ_MIN_QUALITY: u8 = 50;

/// A PDQ hash: 256 bits, as 4 words with the most significant first (the hex form's order).
pub type Pdq = [u64; 4];

/// A photo's PDQ hash and its quality (0–100; under about 50 the photo is too flat for the hash
/// to mean much).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PdqHash {
    pub hash: Pdq,
    pub quality: u8,
}

impl PdqHash {
    /// The hash as 64 lower-case hex digits.
    pub fn hex(&self) -> String {
        hex256(&self.hash)
    }

    /// Number of differing bits (of 256).
    pub fn distance(&self, other: &Pdq) -> u32 {
        crate::photo::hamming::distance(&self.hash, other)
    }
}

/// A 256-bit hash as 64 lower-case hex digits.
pub fn hex256(h: &Pdq) -> String {
    h.iter().map(|w| format!("{w:016x}")).collect()
}

/// Parses 64 hex digits (either case) into a 256-bit hash.
pub fn parse_hex256(s: &str) -> Option<Pdq> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u64; 4];
    for (i, w) in out.iter_mut().enumerate() {
        *w = u64::from_str_radix(&s[16 * i..16 * i + 16], 16).ok()?;
    }
    Some(out)
}

/// The PDQ hash of a photo as it is (no trimming: hashes exchanged with other systems must be
/// what their PDQ computes on the same photo). `None` for an empty image.
pub fn pdq(img: &DynamicImage) -> Option<PdqHash> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return None;
    }
    Some(pdq_from_luma(&mut luma_of(img), h, w))
}

/// The PDQ hashes of the photo's 8 rotations and flips, in the order of
/// [`super::Dihedral::ALL`]. The blur and sampling run once; the symmetries are applied to the
/// 64 × 64 sample (the reference's dihedral hashes do the same on the DCT), so the 8 cost
/// little more than one.
pub fn pdq_dihedral(img: &DynamicImage) -> Option<[PdqHash; 8]> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return None;
    }
    let (sample, quality) = sample_from_luma(&mut luma_of(img), h, w);
    let n = DOWNSAMPLE - 1;
    Some(super::Dihedral::ALL.map(|d| {
        use super::Dihedral::*;
        let mut t = [[0f32; DOWNSAMPLE]; DOWNSAMPLE];
        for (i, row) in t.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                // Mirror first (undoing the last step), then rotate back counter-clockwise.
                let j = match d {
                    FlipH | Rotate90FlipH | Rotate180FlipH | Rotate270FlipH => n - j,
                    _ => j,
                };
                *v = match d {
                    Identity | FlipH => sample[i][j],
                    Rotate90 | Rotate90FlipH => sample[n - j][i],
                    Rotate180 | Rotate180FlipH => sample[n - i][n - j],
                    Rotate270 | Rotate270FlipH => sample[j][n - i],
                };
            }
        }
        PdqHash {
            hash: bits(&dct_64_to_16(&t)),
            quality,
        }
    }))
}

fn luma_of(img: &DynamicImage) -> Vec<f32> {
    img.to_rgb8()
        .pixels()
        .map(|p| {
            let [r, g, b] = p.0;
            0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b)
        })
        .collect()
}

/// PDQ of a row-major luminance buffer of `rows × cols` (clobbered: it holds the blur).
pub fn pdq_from_luma(luma: &mut [f32], rows: usize, cols: usize) -> PdqHash {
    let (sample, quality) = sample_from_luma(luma, rows, cols);
    PdqHash {
        hash: bits(&dct_64_to_16(&sample)),
        quality,
    }
}

/// The blurred 64 × 64 sample of a luminance buffer, and the quality measured on it.
fn sample_from_luma(
    luma: &mut [f32],
    rows: usize,
    cols: usize,
) -> ([[f32; DOWNSAMPLE]; DOWNSAMPLE], u8) {
    debug_assert_eq!(luma.len(), rows * cols);
    let mut scratch = vec![0f32; luma.len()];
    let window_along_rows = jarosz_window(cols);
    let window_along_cols = jarosz_window(rows);
    for _ in 0..JAROSZ_PASSES {
        for r in 0..rows {
            box_1d(
                &luma[r * cols..(r + 1) * cols],
                1,
                &mut scratch[r * cols..(r + 1) * cols],
                window_along_rows,
            );
        }
        for c in 0..cols {
            box_column(&scratch, luma, rows, cols, c, window_along_cols);
        }
    }
    let mut sample = [[0f32; DOWNSAMPLE]; DOWNSAMPLE];
    for (i, row) in sample.iter_mut().enumerate() {
        let ini = (((i as f64 + 0.5) * rows as f64) / DOWNSAMPLE as f64) as usize;
        for (j, v) in row.iter_mut().enumerate() {
            let inj = (((j as f64 + 0.5) * cols as f64) / DOWNSAMPLE as f64) as usize;
            *v = luma[ini.min(rows - 1) * cols + inj.min(cols - 1)];
        }
    }
    let quality = quality(&sample);
    (sample, quality)
}

/// The reference's `computeJaroszFilterWindowSize`: half the decimation step, rounded up.
fn jarosz_window(old: usize) -> usize {
    old.div_ceil(2 * DOWNSAMPLE)
}

/// One column of `input` box-filtered into the same column of `out`.
fn box_column(input: &[f32], out: &mut [f32], rows: usize, cols: usize, c: usize, window: usize) {
    let column: Vec<f32> = (0..rows).map(|r| input[r * cols + c]).collect();
    let mut filtered = vec![0f32; rows];
    box_1d(&column, 1, &mut filtered, window);
    for (r, v) in filtered.into_iter().enumerate() {
        out[r * cols + c] = v;
    }
}

/// The reference's `box1DFloat`: a moving average whose window is centred and shrinks at the
/// ends, in four phases exactly as the reference runs them (the rounding of the running sum is
/// part of what the hashes agree on).
fn box_1d(input: &[f32], stride: usize, out: &mut [f32], full_window: usize) {
    let len = input.len() / stride;
    let full_window = full_window.clamp(1, len.max(1));
    let half = (full_window + 2) / 2;
    let phase1 = half - 1;
    let phase2 = full_window - half + 1;
    let phase3 = len - full_window;
    let phase4 = half - 1;
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut sum = 0f32;
    let mut current = 0usize;
    for _ in 0..phase1 {
        sum += input[ri];
        current += 1;
        ri += stride;
    }
    for _ in 0..phase2 {
        sum += input[ri];
        current += 1;
        out[oi] = sum / current as f32;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase3 {
        sum += input[ri];
        sum -= input[li];
        out[oi] = sum / current as f32;
        li += stride;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase4 {
        sum -= input[li];
        current -= 1;
        out[oi] = sum / current as f32;
        li += stride;
        oi += stride;
    }
}

/// The reference's image-domain quality: the sum of the absolute gradients in percent of the
/// grey range (truncated as integers, as there), over 90, capped at 100.
fn quality(s: &[[f32; DOWNSAMPLE]; DOWNSAMPLE]) -> u8 {
    let mut sum: i64 = 0;
    for pair in s.windows(2) {
        for (u, v) in pair[0].iter().zip(&pair[1]) {
            sum += (((u - v) * 100.0 / 255.0) as i64).abs();
        }
    }
    for row in s {
        for j in 0..DOWNSAMPLE - 1 {
            sum += (((row[j] - row[j + 1]) * 100.0 / 255.0) as i64).abs();
        }
    }
    (sum / 90).min(100) as u8
}

/// The 16 × 64 DCT matrix of the reference: rows 1..=16 of the DCT-II basis (row 0, the mean,
/// carries no structure and is skipped).
fn dct_matrix() -> &'static [[f32; DOWNSAMPLE]; DCT_SIDE] {
    static M: std::sync::OnceLock<[[f32; DOWNSAMPLE]; DCT_SIDE]> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let scale = (2.0f64 / DOWNSAMPLE as f64).sqrt();
        let mut m = [[0f32; DOWNSAMPLE]; DCT_SIDE];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (scale
                    * ((std::f64::consts::PI / 2.0 / DOWNSAMPLE as f64)
                        * (i + 1) as f64
                        * (2 * j + 1) as f64)
                        .cos()) as f32;
            }
        }
        m
    })
}

/// `D A Dᵀ`: the 16 × 16 low frequencies of the 64 × 64 sample.
fn dct_64_to_16(a: &[[f32; DOWNSAMPLE]; DOWNSAMPLE]) -> [[f32; DCT_SIDE]; DCT_SIDE] {
    let d = dct_matrix();
    let mut t = [[0f32; DOWNSAMPLE]; DCT_SIDE];
    for i in 0..DCT_SIDE {
        for j in 0..DOWNSAMPLE {
            let mut sum = 0f32;
            for k in 0..DOWNSAMPLE {
                sum += d[i][k] * a[k][j];
            }
            t[i][j] = sum;
        }
    }
    let mut b = [[0f32; DCT_SIDE]; DCT_SIDE];
    for i in 0..DCT_SIDE {
        for j in 0..DCT_SIDE {
            let mut sum = 0f32;
            for k in 0..DOWNSAMPLE {
                sum += t[i][k] * d[j][k];
            }
            b[i][j] = sum;
        }
    }
    b
}

/// One bit per frequency: set when above the median (the reference's Torben median of 256
/// values: the 128th smallest).
fn bits(b: &[[f32; DCT_SIDE]; DCT_SIDE]) -> Pdq {
    let mut flat: Vec<f32> = b.iter().flatten().copied().collect();
    let mid = flat.len().div_ceil(2) - 1;
    let median = *flat.select_nth_unstable_by(mid, f32::total_cmp).1;
    let mut out = [0u64; 4];
    for (i, row) in b.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v > median {
                let k = i * DCT_SIDE + j;
                // Bit k of a big-endian 256-bit number: word 3 holds bits 0..64.
                out[3 - k / 64] |= 1 << (k % 64);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::hash::tests::scene;

    #[test]
    fn box_filter_matches_a_direct_centred_average() {
        let input: Vec<f32> = (0..20).map(|i| ((i * 37) % 11) as f32).collect();
        for window in [1, 2, 3, 4, 7] {
            let mut out = vec![0f32; input.len()];
            box_1d(&input, 1, &mut out, window);
            let half = (window + 2) / 2;
            for (o, got) in out.iter().enumerate() {
                // Output o averages the inputs from o - (window - half) to o + half - 1.
                let lo = o.saturating_sub(window - half);
                let hi = (o + half - 1).min(input.len() - 1);
                let want = input[lo..=hi].iter().sum::<f32>() / (hi - lo + 1) as f32;
                assert!(
                    (got - want).abs() < 1e-4,
                    "window {window}, {o}: {got} {want}"
                );
            }
        }
    }

    #[test]
    fn hex_round_trips_and_half_the_bits_are_set() {
        let h = pdq(&DynamicImage::ImageRgb8(scene(3, 200, 160))).unwrap();
        assert_eq!(parse_hex256(&h.hex()), Some(h.hash));
        assert_eq!(h.hex().len(), 64);
        // Above the median: 128 of 256 bits.
        let ones: u32 = h.hash.iter().map(|w| w.count_ones()).sum();
        assert_eq!(ones, 128);
        // Large flat shapes: few gradients, a middling quality.
        assert!(h.quality > 20, "quality {}", h.quality);
        assert_eq!(parse_hex256("00"), None);
    }

    #[test]
    fn symmetries_of_the_sample_match_hashes_of_the_turned_photo() {
        // A photo with texture as well as shapes (PDQ quality 100, as camera photos have).
        let mut rgb = scene(5, 256, 256);
        for (x, y, p) in rgb.enumerate_pixels_mut() {
            let t = 40.0 * (x as f32 / 7.0).sin() * (y as f32 / 11.0).cos();
            p.0 = p.0.map(|c| (f32::from(c) + t).clamp(0.0, 255.0) as u8);
        }
        let img = DynamicImage::ImageRgb8(rgb);
        assert_eq!(pdq(&img).unwrap().quality, 100);
        let d = pdq_dihedral(&img).unwrap();
        assert_eq!(d[0], pdq(&img).unwrap());
        let turned = [
            img.clone(),
            img.rotate90(),
            img.rotate180(),
            img.rotate270(),
            img.fliph(),
            img.rotate90().fliph(),
            img.rotate180().fliph(),
            img.rotate270().fliph(),
        ];
        // Sampling and the box filter are not exactly symmetric (the sample sits a pixel off
        // centre, the even window leans right), so the hashes are close, not equal: nearest to
        // the right symmetry, and within the candidate radius (`features::PDQ_RADIUS`).
        for (k, t) in turned.iter().enumerate() {
            let h = pdq(t).unwrap();
            let dists: Vec<u32> = d.iter().map(|x| h.distance(&x.hash)).collect();
            let nearest = (0..8).min_by_key(|&i| dists[i]).unwrap();
            assert_eq!(nearest, k, "symmetry {k}: distances {dists:?}");
            assert!(dists[k] <= 40, "symmetry {k}: distances {dists:?}");
        }
    }

    #[test]
    fn a_flat_photo_has_low_quality_and_different_photos_differ() {
        let flat =
            DynamicImage::ImageRgb8(image::RgbImage::from_pixel(100, 100, image::Rgb([90; 3])));
        assert_eq!(pdq(&flat).unwrap().quality, 0);
        let a = pdq(&DynamicImage::ImageRgb8(scene(1, 300, 200))).unwrap();
        let b = pdq(&DynamicImage::ImageRgb8(scene(2, 300, 200))).unwrap();
        assert!(a.distance(&b.hash) > 60, "{}", a.distance(&b.hash));
        let small = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(1, 1, image::Rgb([9; 3])));
        assert!(pdq(&small).is_some());
    }
}

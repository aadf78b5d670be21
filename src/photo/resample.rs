//! Resizing of grey images: the `image` crate's `resize` with `FilterType::Triangle` and its
//! `thumbnail` (area averaging), to the bit, for one channel.
//!
//! The crate's resize is generic over pixel types: it reads every pixel through four channels
//! and a bounds check, which made the keypoints' working image (a listing photo decoded at 200
//! a side, brought to 256) a third as costly as verifying the photo against its 16 candidates
//! (callgrind, issue 14 session 6). The same weights, computed the same way, summed in the
//! same order in `f32`, give the same bytes: keypoints and hashes do not change, and a test
//! holds the two together.

use image::{GrayImage, RgbImage};

/// The crate's triangle kernel.
fn triangle(x: f32) -> f32 {
    if x.abs() < 1.0 { 1.0 - x.abs() } else { 0.0 }
}

/// For each of `to` output lines, the first input line it reads and its weights, as the
/// crate's `vertical_sample` / `horizontal_sample` compute them for a support of 1.
fn taps(from: u32, to: u32) -> Vec<(usize, Vec<f32>)> {
    let ratio = from as f32 / to as f32;
    let sratio = if ratio < 1.0 { 1.0 } else { ratio };
    let support = sratio;
    (0..to)
        .map(|out| {
            let input = (out as f32 + 0.5) * ratio;
            let left = ((input - support).floor() as i64).clamp(0, i64::from(from) - 1);
            let right = ((input + support).ceil() as i64).clamp(left + 1, i64::from(from));
            let input = input - 0.5;
            let mut ws: Vec<f32> = (left..right)
                .map(|i| triangle((i as f32 - input) / sratio))
                .collect();
            let mut sum = 0.0f32;
            for w in &ws {
                sum += w;
            }
            for w in ws.iter_mut() {
                *w /= sum;
            }
            (left as usize, ws)
        })
        .collect()
}

/// `img` resized to `width` × `height` with a triangle filter: what
/// `image::imageops::resize(img, width, height, FilterType::Triangle)` gives.
pub(crate) fn resize_triangle(img: &GrayImage, width: u32, height: u32) -> GrayImage {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 || width == 0 || height == 0 {
        return GrayImage::new(width, height);
    }
    if (width, height) == (w, h) {
        return img.clone();
    }
    let (w, nw) = (w as usize, width as usize);
    let src = img.as_raw();
    // Columns first, into floats kept unrounded, as the crate does; a row of the output at a
    // time, each tap's input row added in turn (the order each pixel's sum is taken in).
    let mut tmp = vec![0f32; w * height as usize];
    for ((left, ws), row) in taps(h, height).iter().zip(tmp.chunks_exact_mut(w)) {
        for (i, &weight) in ws.iter().enumerate() {
            let line = &src[(left + i) * w..(left + i + 1) * w];
            for (t, &p) in row.iter_mut().zip(line) {
                *t += f32::from(p) * weight;
            }
        }
    }
    let across = taps(w as u32, width);
    let mut out = vec![0u8; nw * height as usize];
    let most = across.iter().map(|(_, ws)| ws.len()).max().unwrap_or(0);
    let done = match most {
        0..=2 => across_fixed::<2>(&tmp, w, &across, &mut out, nw),
        3 => across_fixed::<3>(&tmp, w, &across, &mut out, nw),
        4 => across_fixed::<4>(&tmp, w, &across, &mut out, nw),
        5..=8 => across_fixed::<8>(&tmp, w, &across, &mut out, nw),
        9..=16 => across_fixed::<16>(&tmp, w, &across, &mut out, nw),
        _ => false,
    };
    if !done {
        for (line, row) in tmp.chunks_exact(w).zip(out.chunks_exact_mut(nw)) {
            for ((left, ws), o) in across.iter().zip(row.iter_mut()) {
                let mut t = 0.0f32;
                for (&v, &weight) in line[*left..].iter().zip(ws) {
                    t += v * weight;
                }
                *o = t.clamp(0.0, 255.0).round() as u8;
            }
        }
    }
    GrayImage::from_raw(width, height, out).unwrap_or_else(|| GrayImage::new(width, height))
}

/// The horizontal pass of [`resize_triangle`] with every output reading `K` inputs: its taps
/// moved left where they would run past the row's end and padded with zero weights. A zero
/// weight adds +0.0 to a sum that is never negative (pixels and weights are not), which leaves
/// it as it was, so the sums are the same, taken in the same order; the loop over a fixed `K`
/// unrolls, where the taps' own lengths kept it a loop of iterator steps. `false` (nothing
/// written) when a row is shorter than `K`.
fn across_fixed<const K: usize>(
    tmp: &[f32],
    w: usize,
    across: &[(usize, Vec<f32>)],
    out: &mut [u8],
    nw: usize,
) -> bool {
    if w < K {
        return false;
    }
    let taps: Vec<(usize, [f32; K])> = across
        .iter()
        .map(|(left, ws)| {
            let start = (*left).min(w - K);
            let mut fixed = [0f32; K];
            fixed[left - start..left - start + ws.len()].copy_from_slice(ws);
            (start, fixed)
        })
        .collect();
    for (line, row) in tmp.chunks_exact(w).zip(out.chunks_exact_mut(nw)) {
        for ((start, ws), o) in taps.iter().zip(row.iter_mut()) {
            let Some(src) = line.get(*start..*start + K) else {
                continue;
            };
            let mut t = 0.0f32;
            for (&v, &weight) in src.iter().zip(ws) {
                t += v * weight;
            }
            *o = t.clamp(0.0, 255.0).round() as u8;
        }
    }
    true
}

/// Where each output line of a `thumbnail` reads: the input lines `lo..hi` it covers whole,
/// and the fraction it blends when it covers none (`lo == hi`), as the crate computes them.
fn thumbnail_spans(from: u32, to: u32) -> Vec<(usize, usize, f32)> {
    let ratio = from as f32 / to as f32;
    // The crate's `clamp`: the lower bound first.
    let clamp = |a: u32, lo: u32, hi: u32| {
        if a < lo {
            lo
        } else if a > hi {
            hi
        } else {
            a
        }
    };
    (0..to)
        .map(|o| {
            let lf = o as f32 * ratio;
            let rf = lf + ratio;
            let lo = clamp(lf.ceil() as u32, 0, from - 1);
            let hi = clamp(rf.ceil() as u32, lo, from);
            (lo as usize, hi as usize, (lf.fract() + rf.fract()) / 2.)
        })
        .collect()
}

/// `img` shrunk (or enlarged) to `width` × `height` by area averaging: what
/// `image::imageops::thumbnail(img, width, height)` gives, read from rows of column sums instead
/// of pixel by pixel through the crate's four-channel generic path (five times the
/// instructions for the keypoints' pyramid and the collage finder's grey image). Whole-pixel
/// boxes are integer sums (any order gives the same), and the blended cases use the crate's
/// `f32` expressions term for term.
pub(crate) fn thumbnail(img: &GrayImage, width: u32, height: u32) -> GrayImage {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 || width == 0 || height == 0 {
        return GrayImage::new(width, height);
    }
    let (wu, nw) = (w as usize, width as usize);
    let src = img.as_raw();
    let px = |x: usize, y: usize| u32::from(src[y.min(h as usize - 1) * wu + x.min(wu - 1)]);
    let (cols, rows) = (thumbnail_spans(w, width), thumbnail_spans(h, height));
    let mut out = vec![0u8; nw * height as usize];
    // Per input column, the sum over the output row's input rows (or over input row `a`, `b`).
    let (mut sums, mut next) = (vec![0u32; wu], vec![0u32; wu]);
    for (&(bottom, top, fy), line) in rows.iter().zip(out.chunks_exact_mut(nw)) {
        if bottom != top {
            sums.fill(0);
            for y in bottom..top {
                for (s, &p) in sums.iter_mut().zip(&src[y * wu..(y + 1) * wu]) {
                    *s += u32::from(p);
                }
            }
            let n_rows = (top - bottom) as u32;
            for (&(left, right, fx), o) in cols.iter().zip(line.iter_mut()) {
                *o = if left != right {
                    let n = (right - left) as u32 * n_rows;
                    let sum: u32 = sums[left..right].iter().sum();
                    ((sum + n / 2) / n).min(255) as u8
                } else {
                    // The columns either side of the fraction, over the rows.
                    let l = right.saturating_sub(1);
                    let (sl, sr) = (sums[l], sums[(l + 1).min(wu - 1)]);
                    let fact_right = fx / n_rows as f32;
                    let fact_left = (1. - fx) / n_rows as f32;
                    (fact_left * sl as f32 + fact_right * sr as f32) as u8
                };
            }
        } else {
            // The rows either side of the fraction.
            let b = top.saturating_sub(1);
            let t = (b + 1).min(h as usize - 1);
            for ((s, n), (&p, &q)) in sums.iter_mut().zip(next.iter_mut()).zip(
                src[b * wu..(b + 1) * wu]
                    .iter()
                    .zip(&src[t * wu..(t + 1) * wu]),
            ) {
                (*s, *n) = (u32::from(p), u32::from(q));
            }
            for (&(left, right, fx), o) in cols.iter().zip(line.iter_mut()) {
                *o = if left != right {
                    let n = (right - left) as f32;
                    let bot: u32 = sums[left..right].iter().sum();
                    let top: u32 = next[left..right].iter().sum();
                    let fact_top = fy / n;
                    let fact_bot = (1. - fy) / n;
                    (fact_bot * bot as f32 + fact_top * top as f32) as u8
                } else {
                    let l = right.saturating_sub(1);
                    let (frac_v, frac_h) = (fy, fx);
                    let fact_tr = frac_v * frac_h;
                    let fact_tl = frac_v * (1. - frac_h);
                    let fact_br = (1. - frac_v) * frac_h;
                    let fact_bl = (1. - frac_v) * (1. - frac_h);
                    let (bl, tl) = (px(l, b), px(l, b + 1));
                    let (br, tr) = (px(l + 1, b), px(l + 1, b + 1));
                    (fact_br * br as f32
                        + fact_tr * tr as f32
                        + fact_bl * bl as f32
                        + fact_tl * tl as f32) as u8
                };
            }
        }
    }
    GrayImage::from_raw(width, height, out).unwrap_or_else(|| GrayImage::new(width, height))
}

/// [`thumbnail`] of each channel of an RGB image: what `image::imageops::thumbnail` gives on
/// the RGB image (the crate averages each channel on its own, with the same arithmetic), for
/// the aligned check's colour thumbnail, without the crate's generic pixel-by-pixel reads.
pub(crate) fn thumbnail_rgb(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let planes: [GrayImage; 3] = std::array::from_fn(|c| {
        let plane = img.as_raw().iter().skip(c).step_by(3).copied().collect();
        let plane = GrayImage::from_raw(w, h, plane).unwrap_or_else(|| GrayImage::new(w, h));
        thumbnail(&plane, width, height)
    });
    let [r, g, b] = planes.map(GrayImage::into_raw);
    let raw = r
        .iter()
        .zip(&g)
        .zip(&b)
        .flat_map(|((&r, &g), &b)| [r, g, b])
        .collect();
    RgbImage::from_raw(width, height, raw).unwrap_or_else(|| RgbImage::new(width, height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::imageops::{self, FilterType};
    use proptest::prelude::*;

    fn noise(seed: u64, w: u32, h: u32, smooth: bool) -> GrayImage {
        let mut s = seed | 1;
        let img = GrayImage::from_fn(w, h, |_, _| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            image::Luma([(s >> 24) as u8])
        });
        if smooth {
            imageops::blur(&img, 2.0)
        } else {
            img
        }
    }

    #[test]
    fn the_sizes_photos_are_brought_to_are_the_crates_to_the_bit() {
        // A listing photo decoded at 200 a side (or less on its longer one) to the keypoints'
        // 256, and trimmed regions to the hashes' 64; every tap count the fixed passes take.
        for (i, (w, h, nw, nh)) in [
            (200, 200, 256, 256),
            (200, 267, 192, 256),
            (150, 200, 192, 256),
            (256, 256, 64, 64),
            (231, 187, 64, 64),
            (512, 384, 64, 64),
            (17, 3, 64, 64),
            // The hashers' 9×8 and 16×16 of the 64 thumbnail (15 and 9 taps an output).
            (64, 64, 9, 8),
            (64, 64, 16, 16),
            (1, 1, 5, 7),
            (300, 1, 7, 1),
        ]
        .into_iter()
        .enumerate()
        {
            for smooth in [false, true] {
                let img = noise(i as u64 + 1, w, h, smooth);
                assert_eq!(
                    resize_triangle(&img, nw, nh),
                    imageops::resize(&img, nw, nh, FilterType::Triangle),
                    "{w}x{h} -> {nw}x{nh}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_size_is_the_crates_to_the_bit(
            seed in any::<u64>(), w in 1u32..90, h in 1u32..90, nw in 1u32..120, nh in 1u32..120,
        ) {
            let img = noise(seed, w, h, false);
            prop_assert_eq!(
                resize_triangle(&img, nw, nh),
                imageops::resize(&img, nw, nh, FilterType::Triangle)
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// The aligned check's colour thumbnail (64 and 16 a side, from photos of any size).
        #[test]
        fn rgb_thumbnails_are_the_crates_to_the_bit(
            seed in any::<u64>(), w in 1u32..160, h in 1u32..160, nw in 1u32..70, nh in 1u32..70,
        ) {
            let planes = [noise(seed, w, h, false), noise(seed ^ 7, w, h, true), noise(seed ^ 11, w, h, false)];
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb(planes.each_ref().map(|p| p.get_pixel(x, y)[0]))
            });
            prop_assert_eq!(thumbnail_rgb(&img, nw, nh), imageops::thumbnail(&img, nw, nh));
        }
    }

    #[test]
    fn thumbnails_of_the_sizes_used_are_the_crates_to_the_bit() {
        // The keypoints' pyramid (256 → 183 → 131, from 512 → 256), the collage finder's 200 →
        // 256, the hashes' 64 → 16, and sizes with every kind of output pixel.
        for (i, (w, h, nw, nh)) in [
            (256, 256, 183, 183),
            (183, 183, 131, 131),
            (256, 192, 183, 137),
            (512, 512, 256, 256),
            (200, 200, 256, 256),
            (150, 200, 192, 256),
            (64, 64, 16, 16),
            (3, 1, 7, 5),
            (1, 1, 4, 4),
            (300, 2, 9, 3),
        ]
        .into_iter()
        .enumerate()
        {
            for smooth in [false, true] {
                let img = noise(i as u64 + 7, w, h, smooth);
                assert_eq!(
                    thumbnail(&img, nw, nh),
                    imageops::thumbnail(&img, nw, nh),
                    "{w}x{h} -> {nw}x{nh}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_thumbnail_is_the_crates_to_the_bit(
            seed in any::<u64>(), w in 1u32..90, h in 1u32..90, nw in 1u32..120, nh in 1u32..120,
        ) {
            let img = noise(seed, w, h, false);
            // The crate reads past the last column or row for a few enlargements (and
            // panics); where it does not, the bytes are its.
            let theirs = std::panic::catch_unwind(|| imageops::thumbnail(&img, nw, nh));
            if let Ok(theirs) = theirs {
                prop_assert_eq!(thumbnail(&img, nw, nh), theirs);
            }
        }
    }

    #[test]
    fn empty_images_give_blank_ones() {
        assert_eq!(thumbnail(&GrayImage::new(0, 5), 3, 2), GrayImage::new(3, 2));
        assert_eq!(thumbnail(&noise(3, 4, 4, false), 0, 2).dimensions(), (0, 2));
        assert_eq!(
            resize_triangle(&GrayImage::new(0, 5), 3, 2),
            GrayImage::new(3, 2)
        );
        assert_eq!(
            resize_triangle(&noise(3, 4, 4, false), 0, 2).dimensions(),
            (0, 2)
        );
    }
}

//! Triangle-filter resizing of grey images: the `image` crate's `resize` with
//! `FilterType::Triangle`, to the bit, for one channel.
//!
//! The crate's resize is generic over pixel types: it reads every pixel through four channels
//! and a bounds check, which made the keypoints' working image (a listing photo decoded at 200
//! a side, brought to 256) a third as costly as verifying the photo against its 16 candidates
//! (callgrind, issue 14 session 6). The same weights, computed the same way, summed in the
//! same order in `f32`, give the same bytes: keypoints and hashes do not change, and a test
//! holds the two together.

use image::GrayImage;

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
    for (line, row) in tmp.chunks_exact(w).zip(out.chunks_exact_mut(nw)) {
        for ((left, ws), o) in across.iter().zip(row.iter_mut()) {
            let mut t = 0.0f32;
            for (&v, &weight) in line[*left..].iter().zip(ws) {
                t += v * weight;
            }
            *o = t.clamp(0.0, 255.0).round() as u8;
        }
    }
    GrayImage::from_raw(width, height, out).unwrap_or_else(|| GrayImage::new(width, height))
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
        // 256, and trimmed regions to the hashes' 64.
        for (i, (w, h, nw, nh)) in [
            (200, 200, 256, 256),
            (200, 267, 192, 256),
            (150, 200, 192, 256),
            (256, 256, 64, 64),
            (231, 187, 64, 64),
            (512, 384, 64, 64),
            (17, 3, 64, 64),
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

    #[test]
    fn empty_images_give_blank_ones() {
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

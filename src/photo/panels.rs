//! Collages: a listing photo made of several photos side by side (a variant shot, a "what you
//! get" sheet) is split at its gutters, so that each panel is hashed and described as a photo of
//! its own. A banned photo shrunk into one panel of four keeps a quarter of the keypoints and none
//! of its global hashes; as a panel it is the banned photo again.

use image::{DynamicImage, GrayImage};

/// Side the gutters are looked for at: a gutter a few pixels wide stays a pixel or more.
const SIDE: u32 = 256;
/// A line is uniform when its darkest and lightest pixels are this close.
const UNIFORM: u8 = 10;
/// A panel keeps at least this share of the photo's side, and this many pixels (at [`SIDE`]).
const MIN_SHARE: f32 = 0.2;
const MIN_PIXELS: u32 = 32;
/// Most panels kept: each costs a photo's hashing.
pub const MAX_PANELS: usize = 6;

/// The panels of a collage, as crops of `img`; empty when it is one photo.
pub fn panels(img: &DynamicImage) -> Vec<DynamicImage> {
    panels_with_grey(img, None)
}

/// [`panels`], given `img.to_luma8()` when the caller has it already.
pub(crate) fn panels_with_grey(img: &DynamicImage, grey: Option<&GrayImage>) -> Vec<DynamicImage> {
    let (w, h) = (img.width(), img.height());
    if w < 2 * MIN_PIXELS || h < 2 * MIN_PIXELS {
        return Vec::new();
    }
    let scale = SIDE as f32 / w.max(h) as f32;
    let (sw, sh) = (
        ((w as f32 * scale) as u32).max(1),
        ((h as f32 * scale) as u32).max(1),
    );
    let grey = match grey {
        Some(grey) => super::resample::thumbnail(grey, sw, sh),
        None => super::resample::thumbnail(&img.to_luma8(), sw, sh),
    };
    let mut out = Vec::new();
    for (x0, x1) in spans(&grey, 0, sw, 0, sh, true) {
        for (y0, y1) in spans(&grey, x0, x1, 0, sh, false) {
            out.push((x0, x1, y0, y1));
        }
    }
    if out.len() < 2 {
        return Vec::new();
    }
    out.truncate(MAX_PANELS);
    let back = |v: u32, full: u32, small: u32| ((v as u64 * full as u64) / small as u64) as u32;
    out.into_iter()
        .map(|(x0, x1, y0, y1)| {
            let (px, py) = (back(x0, w, sw), back(y0, h, sh));
            let (pw, ph) = (back(x1, w, sw) - px, back(y1, h, sh) - py);
            img.crop_imm(px, py, pw.max(1), ph.max(1))
        })
        .collect()
}

/// The runs between gutters along one axis (`columns`: x runs inside `y0..y1`; else y runs
/// inside `x0..x1`), each wide enough to be a panel. One run, the whole, when there is no gutter.
fn spans(g: &GrayImage, x0: u32, x1: u32, y0: u32, y1: u32, columns: bool) -> Vec<(u32, u32)> {
    let (from, to) = if columns { (x0, x1) } else { (y0, y1) };
    let uniform = |i: u32| {
        let (mut lo, mut hi) = (255u8, 0u8);
        let (a, b) = if columns { (y0, y1) } else { (x0, x1) };
        for j in a..b {
            let v = if columns {
                g.get_pixel(i, j).0[0]
            } else {
                g.get_pixel(j, i).0[0]
            };
            lo = lo.min(v);
            hi = hi.max(v);
        }
        hi.saturating_sub(lo) <= UNIFORM
    };
    let min_len = ((to - from) as f32 * MIN_SHARE).max(MIN_PIXELS as f32) as u32;
    let mut runs = Vec::new();
    let mut start: Option<u32> = None;
    for i in from..to {
        match (uniform(i), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                runs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, to));
    }
    runs.retain(|(a, b)| b - a >= min_len);
    if runs.is_empty() {
        vec![(from, to)]
    } else {
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, imageops};

    fn photo(seed: u32, w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = (x * 7 + y * 13 + seed * 31) % 97;
            Rgb([(v * 2) as u8, (255 - v) as u8, ((v * 3) % 255) as u8])
        })
    }

    #[test]
    fn a_collage_splits_into_its_panels() {
        let mut sheet = RgbImage::from_pixel(820, 410, Rgb([255, 255, 255]));
        imageops::overlay(&mut sheet, &photo(1, 380, 380), 10, 15);
        imageops::overlay(&mut sheet, &photo(2, 380, 380), 420, 15);
        let p = panels(&DynamicImage::ImageRgb8(sheet));
        assert_eq!(p.len(), 2);
        for panel in &p {
            assert!((360..=400).contains(&panel.width()), "{}", panel.width());
        }
        let grid = {
            let mut g = RgbImage::from_pixel(600, 600, Rgb([250, 250, 250]));
            for (i, (x, y)) in [(5, 5), (305, 5), (5, 305), (305, 305)]
                .into_iter()
                .enumerate()
            {
                imageops::overlay(&mut g, &photo(i as u32, 290, 290), x, y);
            }
            g
        };
        assert_eq!(panels(&DynamicImage::ImageRgb8(grid)).len(), 4);
    }

    #[test]
    fn one_photo_on_a_white_ground_is_not_split() {
        let mut one = RgbImage::from_pixel(600, 600, Rgb([255, 255, 255]));
        imageops::overlay(&mut one, &photo(3, 300, 400), 150, 100);
        assert!(panels(&DynamicImage::ImageRgb8(one)).is_empty());
        assert!(panels(&DynamicImage::ImageRgb8(RgbImage::new(10, 10))).is_empty());
    }
}

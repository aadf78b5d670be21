//! Bounded decoding of photos (JPEG, PNG, GIF, WebP, BMP) with EXIF orientation applied.
//!
//! Photos come from sellers and regulators alike, so every one is treated as hostile: a file over
//! [`MAX_FILE_BYTES`] is not read, a header announcing more than [`MAX_SIDE`] pixels a side or a
//! pixel buffer over [`MAX_ALLOC`] bytes is refused before anything is allocated for it, and a
//! truncated or corrupt file is an [`Error::Image`] naming the file, never a panic.
//!
//! Hashing needs a few hundred pixels a side at most, so [`decode_file_scaled`] decodes a JPEG
//! at reduced size through IDCT scaling (1/2 to 1/8 of each side, with `jpeg-decoder`): the
//! decoder skips most of the inverse DCT and never holds the full-size pixels, which is where
//! most of the time of hashing a photo goes otherwise.

use std::io::{Cursor, Read};
use std::path::Path;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};

use crate::error::{Error, Result};

/// Largest photo file read, in bytes. Marketplace photos are a few MiB at most.
pub const MAX_FILE_BYTES: u64 = 32 << 20;
/// Largest width or height accepted, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// Largest allocation the decoder may make, in bytes; the decoded pixels count towards it, so
/// a small file announcing 50000 × 50000 pixels (a decompression bomb) is refused up front.
pub const MAX_ALLOC: u64 = 256 << 20;

/// Shorter side, in pixels, a photo decoded for dHash and pHash keeps at least (see
/// [`decode_bytes_scaled`]): trimming works on 256 pixels a side, and a listing's photo
/// decoded much smaller than the banned one it is compared with is trimmed less precisely
/// (measured on the tests' photos: 128 turned a near-exact match, distance 2, into 4). An
/// 800 × 800 JPEG is decoded at 1/4, 200 a side.
pub const HASH_DECODE_SIDE: u32 = 200;

/// Shorter side, in pixels, a photo decoded for PDQ keeps at least: PDQ blurs before it samples
/// 64×64, and the hashes stay within the reference's agreement (distance 10, see the `photos`
/// bench) only when the blur sees most of the photo's resolution.
pub const PDQ_DECODE_SIDE: u32 = 512;

/// Reads and decodes a photo at full size; errors name `path`.
pub fn decode_file(path: &Path) -> Result<DynamicImage> {
    decode_bytes(&read_bounded(path)?, path)
}

/// Reads and decodes a photo for hashing: a JPEG at the smallest IDCT scale that keeps
/// `min_side` pixels on its shorter side (or its full size), anything else at full size.
pub fn decode_file_scaled(path: &Path, min_side: u32) -> Result<DynamicImage> {
    decode_bytes_scaled(&read_bounded(path)?, path, min_side)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let announced = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if announced > MAX_FILE_BYTES {
        return Err(too_big(path, announced));
    }
    // `take` bounds the read even if the size announced was wrong (a file still growing, a pipe).
    let mut bytes = Vec::with_capacity(announced as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// [`decode_bytes`] for hashing: a JPEG is decoded at reduced size (see [`decode_file_scaled`]).
/// A JPEG the scaling decoder cannot read (CMYK, or a file it finds corrupt) goes through the
/// full decoder, which then gives the error, or the pixels if it is more lenient; so does one
/// cut short, for its error.
pub fn decode_bytes_scaled(bytes: &[u8], path: &Path, min_side: u32) -> Result<DynamicImage> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(path, bytes.len() as u64));
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        && !jpeg_cut_short(bytes)
        && let Ok(Some(img)) = std::panic::catch_unwind(|| decode_jpeg_scaled(bytes, min_side))
    {
        return Ok(img);
    }
    decode_bytes(bytes, path)
}

/// A JPEG decoded at reduced size with its EXIF orientation applied; `None` when this decoder
/// cannot (the caller falls back to the full decoder).
fn decode_jpeg_scaled(bytes: &[u8], min_side: u32) -> Option<DynamicImage> {
    use jpeg_decoder::PixelFormat;
    let mut d = jpeg_decoder::Decoder::new(bytes);
    d.set_max_decoding_buffer_size(MAX_ALLOC as usize);
    d.read_info().ok()?;
    let info = d.info()?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return None;
    }
    // `scale` picks the smallest factor giving at least the size asked for on either axis: ask
    // on the shorter side's axis, and for more than can be had on the other.
    let min_side = min_side.clamp(1, u32::from(u16::MAX));
    let (rw, rh) = if w <= h {
        (min_side.min(w), u32::from(u16::MAX))
    } else {
        (u32::from(u16::MAX), min_side.min(h))
    };
    let (sw, sh) = d.scale(rw as u16, rh as u16).ok()?;
    let pixels = d.decode().ok()?;
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    let mut img = match d.info()?.pixel_format {
        PixelFormat::L8 => DynamicImage::ImageLuma8(image::GrayImage::from_raw(sw, sh, pixels)?),
        PixelFormat::RGB24 => DynamicImage::ImageRgb8(image::RgbImage::from_raw(sw, sh, pixels)?),
        // 16-bit (lossless) and CMYK JPEGs are rare in listings: the full decoder handles them.
        PixelFormat::L16 | PixelFormat::CMYK32 => return None,
    };
    let orientation = d
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    img.apply_orientation(orientation);
    Some(img)
}

/// Decodes a photo held in memory (an HTTP body, say); `path` names it in errors.
pub fn decode_bytes(bytes: &[u8], path: &Path) -> Result<DynamicImage> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(path, bytes.len() as u64));
    }
    // The decoders are fuzzed upstream, but a panic in one must not take a whole sweep down with
    // it: it becomes this photo's error like any other corrupt file.
    match std::panic::catch_unwind(|| decode_unchecked(bytes, path)) {
        Ok(result) => result,
        Err(_) => Err(Error::image(path, "the image decoder failed on this file")),
    }
}

fn decode_unchecked(bytes: &[u8], path: &Path) -> Result<DynamicImage> {
    if bytes.is_empty() {
        return Err(Error::image(path, "empty file"));
    }
    // Both JPEG decoders pad a file cut short with grey instead of failing: a photo half
    // downloaded would hash as another photo.
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && jpeg_cut_short(bytes) {
        return Err(Error::image(
            path,
            "truncated JPEG image (no end-of-image marker after its last scan)",
        ));
    }
    // The content decides the format, not the file name: sellers' files are often misnamed.
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    let Some(format) = reader.format() else {
        return Err(Error::image(
            path,
            "not an image (JPEG, PNG, GIF, WebP or BMP expected)",
        ));
    };
    reader.limits(limits());
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| decode_error(path, format, e))?;
    // `into_decoder` checks width and height but, unlike `ImageReader::decode`, not the buffer
    // the pixels will need; a 16384 × 16384 RGBA image passes the first check and not this one.
    let (w, h) = decoder.dimensions();
    if decoder.total_bytes() > MAX_ALLOC {
        return Err(Error::image(
            path,
            format!(
                "image too large: {w}×{h} pixels need {} MiB decoded (limit {} MiB)",
                decoder.total_bytes() >> 20,
                MAX_ALLOC >> 20
            ),
        ));
    }
    // A broken EXIF block loses the orientation, not the photo.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(path, format, e))?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Whether a JPEG has no end-of-image marker (FF D9) after the start of its last scan
/// (FF DA). Entropy-coded data never holds FF D9 (an FF there is followed by 00), and the
/// thumbnail an EXIF block may embed ends before the main image's scans begin.
///
/// Read from the end: the last end-of-image marker is the file's last two bytes in most files,
/// then only what follows it is searched for a later scan, and the first scan (in the header)
/// from the start; the answer is the one of finding the last scan first, which read the whole
/// file twice (1.6 M instructions an 80 KB photo, callgrind).
fn jpeg_cut_short(bytes: &[u8]) -> bool {
    let at = |marker: u8| move |w: &[u8]| w == [0xFF, marker];
    let Some(end) = bytes.windows(2).rposition(at(0xD9)) else {
        return true;
    };
    // A scan after the last end marker has none after it; else the file is whole when it has a
    // scan at all (that scan is before `end`).
    bytes[end..].windows(2).any(at(0xDA)) || !bytes[..end].windows(2).any(at(0xDA))
}

/// [`jpeg_cut_short`] as first written (the last scan found first), which it must agree with.
#[cfg(test)]
fn jpeg_cut_short_reference(bytes: &[u8]) -> bool {
    let Some(last_scan) = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]) else {
        return true;
    };
    !bytes[last_scan..].windows(2).any(|w| w == [0xFF, 0xD9])
}

fn limits() -> Limits {
    // `Limits` is non-exhaustive: start from the defaults and tighten.
    let mut l = Limits::default();
    l.max_image_width = Some(MAX_SIDE);
    l.max_image_height = Some(MAX_SIDE);
    l.max_alloc = Some(MAX_ALLOC);
    l
}

fn too_big(path: &Path, len: u64) -> Error {
    Error::image(
        path,
        format!(
            "file too large: {len} bytes (limit {} MiB)",
            MAX_FILE_BYTES >> 20
        ),
    )
}

fn decode_error(path: &Path, format: image::ImageFormat, e: ImageError) -> Error {
    let what = format!("{format:?}").to_uppercase();
    match e {
        ImageError::Limits(e) => Error::image(
            path,
            format!(
                "{what} image too large: {e} (limits: {MAX_SIDE}×{MAX_SIDE} pixels, {} MiB decoded)",
                MAX_ALLOC >> 20
            ),
        ),
        ImageError::Unsupported(e) => Error::image(path, format!("unsupported image: {e}")),
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::image(path, format!("truncated {what} image"))
        }
        e => Error::image(path, format!("corrupt or truncated {what} image: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, ImageFormat, Rgb, RgbImage};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Byte strings made of markers (scan starts, end markers, lone FFs) and other bytes,
        /// in any order: read from the end or the start, the same answer.
        #[test]
        fn a_cut_short_jpeg_is_told_from_either_end(
            parts in proptest::collection::vec(0u8..6, 0..40),
        ) {
            let bytes: Vec<u8> = parts
                .iter()
                .flat_map(|p| match p {
                    0 => vec![0xFF, 0xDA],
                    1 => vec![0xFF, 0xD9],
                    2 => vec![0xFF],
                    3 => vec![0xDA],
                    4 => vec![0xD9],
                    _ => vec![0x12, 0x00],
                })
                .collect();
            prop_assert_eq!(jpeg_cut_short(&bytes), jpeg_cut_short_reference(&bytes));
        }
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x * 7) as u8, (y * 5) as u8, 90]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    /// A small valid PNG whose header (with a correct checksum) claims `w × h` pixels: what a
    /// decompression bomb looks like before its data is inflated.
    pub(crate) fn png_claiming(w: u32, h: u32) -> Vec<u8> {
        let mut bytes = png(4, 4);
        // Signature (8 bytes), then the IHDR chunk: length (4), type (4), width (4), height (4).
        bytes[16..20].copy_from_slice(&w.to_be_bytes());
        bytes[20..24].copy_from_slice(&h.to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
        bytes
    }

    #[test]
    fn decodes_a_png() {
        let img = decode_bytes(&png(40, 30), Path::new("a.png")).unwrap();
        assert_eq!((img.width(), img.height()), (40, 30));
    }

    #[test]
    fn a_bomb_is_refused_naming_the_file() {
        let e = decode_bytes(&png_claiming(50_000, 50_000), Path::new("bomb.png")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("bomb.png: "), "{msg}");
        assert!(msg.contains("too large"), "{msg}");
        // Within the side limit but over the allocation limit.
        let e = decode_bytes(&png_claiming(16_000, 16_000), Path::new("b.png")).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
    }

    #[test]
    fn truncated_and_foreign_files_are_errors_naming_the_file() {
        let full = png(64, 64);
        for cut in [8, 33, full.len() / 2, full.len() - 40] {
            let e = decode_bytes(&full[..cut], Path::new("cut.png")).unwrap_err();
            assert!(e.to_string().starts_with("cut.png: "), "{cut}: {e}");
        }
        let e = decode_bytes(b"%PDF-1.4 not a photo", Path::new("x.jpg")).unwrap_err();
        assert!(e.to_string().contains("x.jpg: not an image"), "{e}");
        let e = decode_bytes(b"", Path::new("empty.png")).unwrap_err();
        assert!(e.to_string().contains("empty.png"), "{e}");
    }

    #[test]
    fn oversized_file_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("huge.jpg");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        let e = decode_file(&p).unwrap_err();
        assert!(e.to_string().contains("file too large"), "{e}");
        let e = decode_file(&dir.path().join("missing.png")).unwrap_err();
        assert!(e.to_string().contains("missing.png"), "{e}");
    }

    #[test]
    fn exif_orientation_is_applied() {
        // A JPEG 40 wide and 20 high whose EXIF says "rotate 90°": decoded 20 wide, 40 high.
        let img = RgbImage::from_fn(40, 20, |x, _| Rgb([(x * 6) as u8, 0, 0]));
        let mut buf = Vec::new();
        {
            let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 90);
            enc.set_exif_metadata(exif_orientation(6)).unwrap();
            enc.encode_image(&img).unwrap();
        }
        let out = decode_bytes(&buf, Path::new("o.jpg")).unwrap();
        assert_eq!((out.width(), out.height()), (20, 40));
    }

    #[test]
    fn jpegs_are_decoded_at_reduced_size_with_their_orientation() {
        let img = RgbImage::from_fn(800, 600, |x, y| Rgb([(x / 4) as u8, (y / 3) as u8, 60]));
        let mut buf = Vec::new();
        {
            let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 90);
            enc.set_exif_metadata(exif_orientation(6)).unwrap();
            enc.encode_image(&img).unwrap();
        }
        // 1/4 keeps 150 of the 600 rows: enough for 128, not for 200 (then 1/2).
        let small = decode_bytes_scaled(&buf, Path::new("s.jpg"), 128).unwrap();
        assert_eq!((small.width(), small.height()), (150, 200));
        let half = decode_bytes_scaled(&buf, Path::new("s.jpg"), 200).unwrap();
        assert_eq!((half.width(), half.height()), (300, 400));
        // Smaller than asked for: full size.
        let full = decode_bytes_scaled(&buf, Path::new("s.jpg"), 1000).unwrap();
        assert_eq!((full.width(), full.height()), (600, 800));
        // The same pixels, roughly, as the full decode shrunk.
        let reference = decode_bytes(&buf, Path::new("s.jpg"))
            .unwrap()
            .resize_exact(150, 200, image::imageops::FilterType::Triangle)
            .to_rgb8();
        let diff: f64 = small
            .to_rgb8()
            .pixels()
            .zip(reference.pixels())
            .map(|(a, b)| f64::from(a.0[0].abs_diff(b.0[0])))
            .sum::<f64>()
            / (150.0 * 200.0);
        assert!(diff < 4.0, "mean difference {diff}");
        // Cut short: an error naming the file, not grey padding.
        let e = decode_bytes_scaled(&buf[..buf.len() / 2], Path::new("cut.jpg"), 128).unwrap_err();
        assert!(e.to_string().starts_with("cut.jpg: "), "{e}");
    }

    /// A minimal little-endian TIFF block with one IFD entry: Orientation (0x0112) = `o`.
    fn exif_orientation(o: u16) -> Vec<u8> {
        let mut v = b"II*\0".to_vec();
        v.extend_from_slice(&8u32.to_le_bytes()); // offset of the first IFD
        v.extend_from_slice(&1u16.to_le_bytes()); // one entry
        v.extend_from_slice(&0x0112u16.to_le_bytes());
        v.extend_from_slice(&3u16.to_le_bytes()); // SHORT
        v.extend_from_slice(&1u32.to_le_bytes()); // count
        v.extend_from_slice(&o.to_le_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
        v
    }
}

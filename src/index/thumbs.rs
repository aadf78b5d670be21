//! Small JPEG thumbnails of record and listing photos, kept beside the index for the web page
//! and the sweep report.
//!
//! A thumbnail lives in `DIR/thumbs/<fnv64 of the id>.jpg`, outside tantivy: the stored record
//! stays small (every candidate fetch decompresses it), and a thumbnail is only ever shown, never
//! matched on. It is written before the ingest's commit, so a crash leaves at worst a thumbnail
//! without a record (never shown: pages look records up first), and `index export` carries the
//! folder along with the rest of the directory.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::DynamicImage;
use image::codecs::jpeg::JpegEncoder;

use crate::error::{Error, Result};

/// Longest side of a thumbnail, in pixels.
pub const THUMB_SIDE: u32 = 160;
/// JPEG quality of thumbnails: small files that still show the product.
const QUALITY: u8 = 80;

/// The folder of thumbnails in an index directory.
pub fn dir(index: &Path) -> PathBuf {
    index.join("thumbs")
}

/// Where the thumbnail of record `id` lives. The id is hashed (FNV-1a, 64 bits) so that ids
/// with slashes or dots can never name a path outside the folder.
pub fn path(index: &Path, id: &str) -> PathBuf {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    dir(index).join(format!("{h:016x}.jpg"))
}

/// A JPEG of at most [`THUMB_SIDE`] pixels a side.
pub fn encode(img: &DynamicImage) -> Result<Vec<u8>> {
    let small = img.thumbnail(THUMB_SIDE, THUMB_SIDE).to_rgb8();
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, QUALITY)
        .encode_image(&small)
        .map_err(|e| Error::Invalid(format!("thumbnail: {e}")))?;
    Ok(out.into_inner())
}

/// The thumbnail of the first of `images` (paths relative to `base`; addresses are skipped)
/// that decodes, through the bounded decoder. `None` when no photo could be read: the hashing
/// of the same photos reports why.
pub fn from_images(images: &[String], base: &Path) -> Option<Vec<u8>> {
    images
        .iter()
        .filter(|i| !i.starts_with("http://") && !i.starts_with("https://"))
        .find_map(|i| {
            let img = crate::photo::decode_file(&base.join(i)).ok()?;
            encode(&img).ok()
        })
}

/// Stores the thumbnail of record `id` (replacing an older one).
pub fn put(index: &Path, id: &str, jpeg: &[u8]) -> Result<()> {
    let d = dir(index);
    std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
    let p = path(index, id);
    // Written aside and renamed: a reader never sees half a file.
    let tmp = p.with_extension("jpg.tmp");
    std::fs::write(&tmp, jpeg).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &p).map_err(|e| Error::io(&p, e))
}

/// The thumbnail of record `id`, if it has one.
pub fn get(index: &Path, id: &str) -> Option<Vec<u8>> {
    std::fs::read(path(index, id)).ok()
}

/// Forgets the thumbnail of record `id` (a removed record).
pub fn remove(index: &Path, id: &str) {
    let _ = std::fs::remove_file(path(index, id));
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    #[test]
    fn thumbnails_are_small_jpegs_stored_by_hashed_id() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(800, 400, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 40])
        }));
        let jpeg = encode(&img).unwrap();
        let back = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (160, 80));
        let dir = tempfile::tempdir().unwrap();
        put(dir.path(), "../../etc/passwd", &jpeg).unwrap();
        assert!(path(dir.path(), "../../etc/passwd").starts_with(dir.path().join("thumbs")));
        assert_eq!(get(dir.path(), "../../etc/passwd").unwrap(), jpeg);
        assert!(get(dir.path(), "other").is_none());
        remove(dir.path(), "../../etc/passwd");
        assert!(get(dir.path(), "../../etc/passwd").is_none());
    }
}

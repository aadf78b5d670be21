//! Photo hashes of records and listings: from files (hashed here) or sent precomputed.

use std::path::Path;

use super::{PhotoHasher, PhotoHashes, decode_file, hex64, parse_hex64};
use crate::model::ImageHashRef;

/// Whether an image reference is a remote address (kept as a reference, never fetched).
fn is_url(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// Hashes a record's local `images` (relative to `base`) into `hashes` as dhash/phash pairs.
/// Returns one message per image that could not be used; remote addresses are skipped.
pub fn hash_images(images: &[String], base: &Path, hashes: &mut Vec<ImageHashRef>) -> Vec<String> {
    let hasher = PhotoHasher::new();
    let mut problems = Vec::new();
    for img in images.iter().filter(|i| !is_url(i)) {
        let path = base.join(img);
        match decode_file(&path) {
            Ok(pixels) => match hasher.hash(&pixels) {
                Some(h) => {
                    hashes.push(ImageHashRef {
                        algo: "dhash".into(),
                        hash: hex64(h.dhash),
                    });
                    hashes.push(ImageHashRef {
                        algo: "phash".into(),
                        hash: hex64(h.phash),
                    });
                }
                None => problems.push(format!(
                    "image '{img}': too flat to hash; no photo evidence"
                )),
            },
            Err(e) => problems.push(format!("image '{img}': {e}")),
        }
    }
    problems
}

/// The photos of a record: dhash and phash in the order they were given, paired.
pub fn photos(hashes: &[ImageHashRef]) -> Vec<PhotoHashes> {
    let d: Vec<u64> = hashes
        .iter()
        .filter(|h| h.algo == "dhash")
        .filter_map(|h| parse_hex64(&h.hash))
        .collect();
    let p: Vec<u64> = hashes
        .iter()
        .filter(|h| h.algo == "phash")
        .filter_map(|h| parse_hex64(&h.hash))
        .collect();
    d.into_iter()
        .zip(p)
        .map(|(dhash, phash)| PhotoHashes { dhash, phash })
        .collect()
}

/// A listing's photos for searching: its precomputed hashes, and its local files hashed in all
/// 8 rotations and flips. Files that cannot be read give no evidence (and are reported).
pub fn query_photos(
    images: &[String],
    hashes: &[ImageHashRef],
) -> (Vec<(usize, PhotoHashes)>, Vec<String>) {
    let mut out: Vec<(usize, PhotoHashes)> = photos(hashes)
        .into_iter()
        .enumerate()
        .map(|(i, h)| (i + 1, h))
        .collect();
    let hasher = PhotoHasher::new();
    let mut problems = Vec::new();
    let first = out.len() + 1;
    for (i, img) in images.iter().filter(|i| !is_url(i)).enumerate() {
        match decode_file(Path::new(img)) {
            Ok(pixels) => {
                if let Some(variants) = hasher.dihedral(&pixels) {
                    out.extend(variants.into_iter().map(|h| (first + i, h)));
                }
            }
            Err(e) => problems.push(format!("image '{img}': {e}")),
        }
    }
    (out, problems)
}

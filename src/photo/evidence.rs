//! Photo hashes of records and listings: from files (hashed here) or sent precomputed.
//!
//! A banned record's photo is stored as its dHash and pHash, the same of its [`super::CROPS`]
//! (`dhash-crop`, `phash-crop`: crop-resistant evidence, never sent by callers) and its PDQ.
//! A listing's photo file is hashed in its 8 rotations and flips (dHash, pHash and PDQ).
//! Both sides also get keypoints ([`super::keypoints`]): a banned photo's stored as `orb`, a
//! listing's found in the photo and in its mirror image.

use std::path::Path;

use super::keypoints::{self, BANNED_KEYPOINTS, Keypoints, QUERY_KEYPOINTS};
use super::{
    PDQ_DECODE_SIDE, PDQ_MIN_QUALITY, Pdq, PhotoHasher, PhotoHashes, decode_file_scaled, hex64,
    parse_hex64, parse_hex256, pdq, pdq_dihedral,
};
use crate::model::ImageHashRef;

/// Algorithm names of the crop hashes stored beside a banned photo's own.
pub const DHASH_CROP: &str = "dhash-crop";
pub const PHASH_CROP: &str = "phash-crop";
/// Algorithm name of a banned photo's keypoints ([`Keypoints::encode`]); its `photo` field
/// numbers the photo.
pub const KEYPOINTS: &str = "orb";

/// Shorter side, in pixels, a listing's photo is decoded at least: what the hashes need
/// ([`super::HASH_DECODE_SIDE`]), and near what keypoints work at ([`keypoints::SIDE`] on the
/// longer side). An 800 × 800 JPEG is decoded at 1/4.
pub const QUERY_DECODE_SIDE: u32 = super::HASH_DECODE_SIDE;

/// Whether an image reference is a remote address (kept as a reference, never fetched).
fn is_url(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

fn href(algo: &str, hash: String) -> ImageHashRef {
    ImageHashRef {
        algo: algo.into(),
        hash,
        photo: None,
    }
}

/// Hashes a record's local `images` (relative to `base`) into `hashes`: dhash/phash pairs, the
/// pairs of its crops, and PDQ. Returns one message per image that could not be used; remote
/// addresses are skipped.
pub fn hash_images(images: &[String], base: &Path, hashes: &mut Vec<ImageHashRef>) -> Vec<String> {
    let hasher = PhotoHasher::new();
    let mut problems = Vec::new();
    for (i, img) in images.iter().filter(|i| !is_url(i)).enumerate() {
        let path = base.join(img);
        // One decode serves both: PDQ needs the larger one (see `PDQ_DECODE_SIDE`).
        let pixels = match decode_file_scaled(&path, PDQ_DECODE_SIDE) {
            Ok(p) => p,
            Err(e) => {
                problems.push(format!("image '{img}': {e}"));
                continue;
            }
        };
        let pdq = pdq(&pixels).filter(|p| p.quality >= PDQ_MIN_QUALITY);
        match hasher.with_crops(&pixels) {
            Some((whole, crops)) => {
                hashes.push(href("dhash", hex64(whole.dhash)));
                hashes.push(href("phash", hex64(whole.phash)));
                for c in crops {
                    hashes.push(href(DHASH_CROP, hex64(c.dhash)));
                    hashes.push(href(PHASH_CROP, hex64(c.phash)));
                }
            }
            None => problems.push(format!(
                "image '{img}': too flat to hash; no photo evidence"
            )),
        }
        if let Some(p) = pdq {
            hashes.push(href("pdq", p.hex()));
        }
        if let Some(k) = keypoints::extract(&pixels, BANNED_KEYPOINTS) {
            hashes.push(ImageHashRef {
                algo: KEYPOINTS.into(),
                hash: k.encode(),
                photo: Some(i as u32 + 1),
            });
        }
    }
    problems
}

/// The keypoints stored with a record's photos: `(photo number, keypoints)`.
pub fn record_keypoints(hashes: &[ImageHashRef]) -> Vec<(usize, Keypoints)> {
    hashes
        .iter()
        .filter(|h| h.algo == KEYPOINTS)
        .enumerate()
        .filter_map(|(i, h)| {
            let n = h.photo.map_or(i + 1, |p| p as usize);
            Some((n, Keypoints::decode(&h.hash)?))
        })
        .collect()
}

/// A banned record's photos as a listing's photos are weighed against them, without the rest
/// of the record: its hash pairs (photos, then their crops, as [`photos`] and [`crop_photos`]),
/// its PDQs and each photo's keypoint prints ([`super::descriptors::prints`]). The index keeps
/// one per banned photo in memory, so that a record met only by a far photo hash is weighed
/// before its record is read and prepared, which costs far more than weighing it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BannedPhotoPrints {
    pub pairs: Box<[PhotoHashes]>,
    pub pdqs: Box<[Pdq]>,
    pub prints: Box<[Box<[u64]>]>,
}

impl BannedPhotoPrints {
    /// From a record's stored hashes and its keypoints ([`record_keypoints`], decoded once by
    /// the caller, which indexes them too).
    pub fn new(hashes: &[ImageHashRef], keypoints: &[(usize, Keypoints)]) -> BannedPhotoPrints {
        let mut pairs = photos(hashes);
        pairs.extend(crop_photos(hashes));
        BannedPhotoPrints {
            pairs: pairs.into(),
            pdqs: pdqs(hashes).into(),
            prints: keypoints
                .iter()
                .map(|(_, k)| super::descriptors::prints(k).into())
                .collect(),
        }
    }
}

fn pairs(hashes: &[ImageHashRef], d_algo: &str, p_algo: &str) -> Vec<PhotoHashes> {
    let of = |algo: &str| -> Vec<u64> {
        hashes
            .iter()
            .filter(|h| h.algo == algo)
            .filter_map(|h| parse_hex64(&h.hash))
            .collect()
    };
    of(d_algo)
        .into_iter()
        .zip(of(p_algo))
        .map(|(dhash, phash)| PhotoHashes { dhash, phash })
        .collect()
}

/// The photos of a record: dhash and phash in the order they were given, paired.
pub fn photos(hashes: &[ImageHashRef]) -> Vec<PhotoHashes> {
    pairs(hashes, "dhash", "phash")
}

/// The crop hashes stored beside a banned record's photos (see [`super::CROPS`]).
pub fn crop_photos(hashes: &[ImageHashRef]) -> Vec<PhotoHashes> {
    pairs(hashes, DHASH_CROP, PHASH_CROP)
}

/// The PDQ hashes of a record, in the order given.
pub fn pdqs(hashes: &[ImageHashRef]) -> Vec<Pdq> {
    hashes
        .iter()
        .filter(|h| h.algo == "pdq")
        .filter_map(|h| parse_hex256(&h.hash))
        .collect()
}

/// A listing's photos ready to search: `(photo number, hashes)`, a file in its 8 symmetries.
#[derive(Debug, Default, Clone)]
pub struct QueryPhotos {
    pub pairs: Vec<(usize, PhotoHashes)>,
    pub pdq: Vec<(usize, Pdq)>,
    /// Keypoints of the photos decoded here (precomputed hashes have none).
    pub keypoints: Vec<QueryKeypoints>,
    /// Photos that could not be used, and why.
    pub problems: Vec<String>,
}

/// A listing's photos for searching: its precomputed hashes, and its local files hashed in all
/// 8 rotations and flips. Files that cannot be read give no evidence (and are reported).
pub fn query_evidence(images: &[String], hashes: &[ImageHashRef]) -> QueryPhotos {
    // A hash names its photo when it says so (`photo`), else it is the N-th of its kind.
    let numbers = |algo: &str, valid: fn(&str) -> bool| -> Vec<usize> {
        hashes
            .iter()
            .filter(|h| h.algo == algo && valid(&h.hash))
            .enumerate()
            .map(|(i, h)| h.photo.map_or(i + 1, |p| p as usize))
            .collect()
    };
    let mut out = QueryPhotos {
        pairs: numbers("dhash", |h| parse_hex64(h).is_some())
            .into_iter()
            .zip(photos(hashes))
            .collect(),
        pdq: numbers("pdq", |h| parse_hex256(h).is_some())
            .into_iter()
            .zip(pdqs(hashes))
            .collect(),
        keypoints: Vec::new(),
        problems: Vec::new(),
    };
    let files: Vec<&String> = images.iter().filter(|i| !is_url(i)).collect();
    if files.is_empty() {
        // Most listings come without photo files: planning the hashers' DCTs would be most of
        // their photo work.
        return out;
    }
    let hasher = PhotoHasher::new();
    let first = out.next_number();
    for (i, img) in files.into_iter().enumerate() {
        match decode_file_scaled(Path::new(img), QUERY_DECODE_SIDE) {
            Ok(pixels) => out.add_photo(&hasher, first + i, &pixels),
            Err(e) => out.problems.push(format!("image '{img}': {e}")),
        }
    }
    out
}

impl QueryPhotos {
    /// A listing's photos: its precomputed hashes and its local photo files (read here).
    pub fn of_listing(l: &crate::model::Listing) -> QueryPhotos {
        query_evidence(&l.images, &l.image_hashes)
    }

    /// Precomputed hashes only: no file is read, whatever `images` names.
    pub fn from_hashes(hashes: &[ImageHashRef]) -> QueryPhotos {
        query_evidence(&[], hashes)
    }

    /// The number the next photo added gets: after every photo already numbered.
    pub fn next_number(&self) -> usize {
        self.pairs
            .iter()
            .map(|(n, _)| *n)
            .chain(self.pdq.iter().map(|(n, _)| *n))
            .max()
            .unwrap_or(0)
            + 1
    }

    /// Adds photo number `n`, decoded (see [`decode_query_photo`]): its 8 rotations and flips,
    /// its top part (for a banner laid over the bottom of a banned photo), PDQ and keypoints;
    /// and the same of each panel when it is a collage ([`super::panels`]).
    pub fn add_photo(&mut self, hasher: &PhotoHasher, n: usize, pixels: &image::DynamicImage) {
        self.add_one(hasher, n, pixels);
        for panel in super::panels::panels(pixels) {
            self.add_one(hasher, n, &panel);
        }
    }

    fn add_one(&mut self, hasher: &PhotoHasher, n: usize, pixels: &image::DynamicImage) {
        // The hashes and the keypoints read the same pixels and nothing of each other: on 2
        // cores they run side by side (keypoints cost about as much as the rest together).
        let ((variants, top, pdq), keypoints) = rayon::join(
            || {
                (
                    hasher.dihedral(pixels),
                    hasher.top_part(pixels),
                    pdq_dihedral(pixels),
                )
            },
            // Keypoints turn with the photo; a mirror image needs its own.
            || Keypoints::with_mirror(pixels, QUERY_KEYPOINTS),
        );
        if let Some(variants) = variants {
            self.pairs.extend(variants.into_iter().map(|h| (n, h)));
        }
        if let Some(top) = top {
            self.pairs.push((n, top));
        }
        if let Some(variants) = pdq {
            self.pdq.extend(
                variants
                    .into_iter()
                    .filter(|p| p.quality >= PDQ_MIN_QUALITY)
                    .map(|p| (n, p.hash)),
            );
        }
        if let Some((k, mirrored)) = keypoints {
            let (k, mirrored) = rayon::join(
                || QueryKeypoints::new(n, false, k),
                || QueryKeypoints::new(n, true, mirrored),
            );
            self.keypoints.push(k);
            self.keypoints.push(mirrored);
        }
    }
}

/// A listing photo sent as bytes (the server's uploads), decoded as files are for a query: at
/// reduced size, bounded.
pub fn decode_query_photo(bytes: &[u8], label: &Path) -> crate::Result<image::DynamicImage> {
    crate::photo::decode_bytes_scaled(bytes, label, QUERY_DECODE_SIDE)
}

/// The keypoints of one listing photo, as found or in its mirror image, with their retrieval
/// entries ([`super::descriptors::QueryPrints`]) for the cheap test of whether to verify a pair.
#[derive(Debug, Clone)]
pub struct QueryKeypoints {
    pub photo: usize,
    pub mirrored: bool,
    pub points: Keypoints,
    pub prints: super::descriptors::QueryPrints,
}

impl QueryKeypoints {
    fn new(photo: usize, mirrored: bool, points: Keypoints) -> QueryKeypoints {
        let prints = super::descriptors::QueryPrints::new(&points);
        QueryKeypoints {
            photo,
            mirrored,
            points,
            prints,
        }
    }
}

/// [`query_evidence`]'s dHash/pHash pairs and problems (the form callers used before PDQ).
pub fn query_photos(
    images: &[String],
    hashes: &[ImageHashRef],
) -> (Vec<(usize, PhotoHashes)>, Vec<String>) {
    let q = query_evidence(images, hashes);
    (q.pairs, q.problems)
}

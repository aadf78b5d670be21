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
/// Algorithm name of a banned photo's grey thumbnail ([`super::aligned::Thumb::encode`]), for
/// the aligned-region check of a verified placement; its `photo` field numbers the photo.
pub const THUMB: &str = "thumb";

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
            // Only where keypoints are: the check it serves follows a verification.
            hashes.push(ImageHashRef {
                algo: THUMB.into(),
                hash: super::aligned::banned_thumb(&pixels).encode(),
                photo: Some(i as u32 + 1),
            });
        }
    }
    problems
}

/// The keypoints stored with a record's photos: `(photo number, keypoints)`.
pub fn record_keypoints(hashes: &[ImageHashRef]) -> Vec<(usize, Keypoints)> {
    stored(hashes, KEYPOINTS, Keypoints::decode)
}

/// The thumbnails stored with a record's photos: `(photo number, thumbnail)`.
pub fn record_thumbs(hashes: &[ImageHashRef]) -> Vec<(usize, super::aligned::Thumb)> {
    stored(hashes, THUMB, super::aligned::Thumb::decode)
}

/// The stored values of one per-photo algorithm, numbered by their `photo` field (by their
/// order where it is missing); a value that does not decode is left out, not an error.
fn stored<T>(
    hashes: &[ImageHashRef],
    algo: &str,
    decode: impl Fn(&str) -> Option<T>,
) -> Vec<(usize, T)> {
    hashes
        .iter()
        .filter(|h| h.algo == algo)
        .enumerate()
        .filter_map(|(i, h)| {
            let n = h.photo.map_or(i + 1, |p| p as usize);
            Some((n, decode(&h.hash)?))
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
    query_evidence_searched(images, hashes, |_, _| ()).0
}

/// [`query_evidence`], with `search` run on all of the listing's photo hashes (dHash/pHash
/// pairs, PDQs; precomputed and from files) as soon as they are made, beside the keypoints
/// still being found: the hashes take about half as long as the keypoints, and on 2 cores the
/// hash search fills the core that would wait for them. `None` when no file was read (the
/// caller searches the precomputed hashes itself, when there are any).
pub fn query_evidence_searched<T: Send>(
    images: &[String],
    hashes: &[ImageHashRef],
    search: impl FnOnce(&[(usize, PhotoHashes)], &[(usize, Pdq)]) -> T + Send,
) -> (QueryPhotos, Option<T>) {
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
        return (out, None);
    }
    let first = out.next_number();
    let hasher = PhotoHasher::new();
    let (count, mut search, mut found) = (files.len(), Some(search), None);
    // A photo at a time (a PNG is decoded at full size: one is held, not all of them); the
    // search runs beside the last photo's keypoints.
    for (i, img) in files.into_iter().enumerate() {
        let pixels = match decode_file_scaled(Path::new(img), QUERY_DECODE_SIDE) {
            Ok(p) => p,
            Err(e) => {
                out.problems.push(format!("image '{img}': {e}"));
                continue;
            }
        };
        let last = (i + 1 == count).then(|| search.take()).flatten();
        found = found.or(out.add_photo_searched(&hasher, first + i, &pixels, last));
    }
    // The last photo could not be read: the hashes of the others are searched now.
    let found = found.or_else(|| search.map(|search| search(&out.pairs, &out.pdq)));
    (out, found)
}

/// A photo's hashes in its 8 rotations and flips, its top part (for a banner laid over the
/// bottom of a banned photo) and its PDQs, added to `pairs` and `pdq` as photo `n`'s.
fn add_hashes(
    hasher: &PhotoHasher,
    n: usize,
    pixels: &image::DynamicImage,
    grey: Option<&image::GrayImage>,
    pairs: &mut Vec<(usize, PhotoHashes)>,
    pdqs: &mut Vec<(usize, Pdq)>,
) {
    if let Some(variants) = hasher.dihedral_with_grey(pixels, grey) {
        pairs.extend(variants.into_iter().map(|h| (n, h)));
    }
    if let Some(top) = hasher.top_part_with_grey(pixels, grey) {
        pairs.push((n, top));
    }
    if let Some(variants) = pdq_dihedral(pixels) {
        pdqs.extend(
            variants
                .into_iter()
                .filter(|p| p.quality >= PDQ_MIN_QUALITY)
                .map(|p| (n, p.hash)),
        );
    }
}

/// A photo's keypoints and its mirror image's, added to `out` as photo `n`'s.
fn add_keypoints(
    n: usize,
    pixels: &image::DynamicImage,
    grey: Option<&image::GrayImage>,
    out: &mut Vec<QueryKeypoints>,
) {
    // Keypoints turn with the photo; a mirror image needs its own.
    if let Some((k, mirrored)) = Keypoints::with_mirror(pixels, QUERY_KEYPOINTS) {
        let ((k, mirrored), thumb) = rayon::join(
            || {
                rayon::join(
                    || QueryKeypoints::new(n, false, k),
                    || QueryKeypoints::new(n, true, mirrored),
                )
            },
            || std::sync::Arc::new(super::aligned::query_thumb_with_grey(pixels, grey)),
        );
        out.push(QueryKeypoints {
            thumb: Some(thumb.clone()),
            ..k
        });
        out.push(QueryKeypoints {
            thumb: Some(thumb),
            ..mirrored
        });
    }
}

impl QueryPhotos {
    /// A listing's photos: its precomputed hashes and its local photo files (read here).
    pub fn of_listing(l: &crate::model::Listing) -> QueryPhotos {
        query_evidence(&l.images, &l.image_hashes)
    }

    /// [`QueryPhotos::of_listing`], with `search` run on the photos' hashes beside their
    /// keypoints (see [`query_evidence_searched`]).
    pub fn of_listing_searched<T: Send>(
        l: &crate::model::Listing,
        search: impl FnOnce(&[(usize, PhotoHashes)], &[(usize, Pdq)]) -> T + Send,
    ) -> (QueryPhotos, Option<T>) {
        query_evidence_searched(&l.images, &l.image_hashes, search)
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
        type NoSearch = fn(&[(usize, PhotoHashes)], &[(usize, Pdq)]);
        self.add_photo_searched(hasher, n, pixels, None::<NoSearch>);
    }

    /// [`QueryPhotos::add_photo`], then `search` run on every hash so far as soon as this
    /// photo's are made, beside its keypoints still being found.
    fn add_photo_searched<T: Send>(
        &mut self,
        hasher: &PhotoHasher,
        n: usize,
        pixels: &image::DynamicImage,
        search: Option<impl FnOnce(&[(usize, PhotoHashes)], &[(usize, Pdq)]) -> T + Send>,
    ) -> Option<T> {
        // The photo, then each panel of it when it is a collage ([`super::panels`]), numbered
        // as the photo.
        // The photo's grey (the `image` crate's), made once for the collage finder, the
        // hashes and the aligned check's thumbnail; a panel's is made where it is needed.
        let grey = pixels.to_luma8();
        let panels = super::panels::panels_with_grey(pixels, Some(&grey));
        let parts: Vec<(&image::DynamicImage, Option<&image::GrayImage>)> =
            std::iter::once((pixels, Some(&grey)))
                .chain(panels.iter().map(|p| (p, None)))
                .collect();
        let (pairs, pdq) = (&mut self.pairs, &mut self.pdq);
        // The hashes and the keypoints read the same pixels and nothing of each other: on 2
        // cores they run side by side (keypoints cost about as much as the rest together).
        let (searched, keypoints) = rayon::join(
            || {
                for &(p, grey) in &parts {
                    add_hashes(hasher, n, p, grey, pairs, pdq);
                }
                search.map(|search| search(pairs, pdq))
            },
            || {
                let mut keypoints = Vec::new();
                for &(p, grey) in &parts {
                    add_keypoints(n, p, grey, &mut keypoints);
                }
                keypoints
            },
        );
        self.keypoints.extend(keypoints);
        searched
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
    /// The photo's thumbnail (unmirrored; shared with its mirror's keypoints), for the
    /// aligned-region check ([`super::aligned`]).
    pub thumb: Option<std::sync::Arc<super::aligned::Thumb>>,
}

impl QueryKeypoints {
    fn new(photo: usize, mirrored: bool, points: Keypoints) -> QueryKeypoints {
        let prints = super::descriptors::QueryPrints::new(&points);
        QueryKeypoints {
            photo,
            mirrored,
            points,
            prints,
            thumb: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What a search run beside the keypoints is given, and the photos it comes with.
    fn searched(images: &[String], hashes: &[ImageHashRef]) -> (QueryPhotos, Option<Seen>) {
        query_evidence_searched(images, hashes, |pairs, pdq| (pairs.to_vec(), pdq.to_vec()))
    }

    type Seen = (Vec<(usize, PhotoHashes)>, Vec<(usize, Pdq)>);

    fn same(a: &QueryPhotos, b: &QueryPhotos) {
        assert_eq!(a.pairs, b.pairs);
        assert_eq!(a.pdq, b.pdq);
        assert_eq!(a.problems, b.problems);
        let kp = |q: &QueryPhotos| -> Vec<(usize, bool, Keypoints)> {
            q.keypoints
                .iter()
                .map(|k| (k.photo, k.mirrored, k.points.clone()))
                .collect()
        };
        assert_eq!(kp(a), kp(b));
    }

    #[test]
    fn the_hash_search_beside_the_keypoints_sees_every_hash_of_the_listing() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        for (i, name) in ["a.jpg", "b.jpg"].iter().enumerate() {
            crate::pipeline::photo_suite::drawn_photo(4242 + i as u64, i)
                .to_rgb8()
                .save(path(name))
                .unwrap();
        }
        std::fs::write(path("broken.jpg"), b"\xFF\xD8\xFFnot a photo").unwrap();
        // A photo sent as hashes beside the files: numbered first, searched too.
        let sent = vec![
            href("dhash", "0f0f0f0f0f0f0f0f".into()),
            href("phash", "f0f0f0f0f0f0f0f0".into()),
        ];
        for images in [
            vec![path("a.jpg"), path("b.jpg")],
            // The last file unreadable: the others' hashes are still searched.
            vec![path("a.jpg"), path("broken.jpg")],
            vec![path("broken.jpg"), path("b.jpg")],
        ] {
            let plain = query_evidence(&images, &sent);
            let (q, seen) = searched(&images, &sent);
            same(&q, &plain);
            let (pairs, pdq) = seen.expect("files were read: searched here");
            assert_eq!((pairs, pdq), (plain.pairs.clone(), plain.pdq.clone()));
            assert!(plain.pairs.len() > 1 && !plain.keypoints.is_empty());
        }
        // No file: nothing is searched here (the caller searches the hashes sent).
        let (q, seen) = searched(&["https://example.com/a.jpg".into()], &sent);
        same(&q, &query_evidence(&[], &sent));
        assert!(seen.is_none());
    }

    #[test]
    fn a_banned_photo_with_keypoints_stores_its_thumbnail_and_a_listing_photo_makes_one() {
        let dir = tempfile::tempdir().unwrap();
        let img = crate::pipeline::photo_suite::drawn_photo(77, 3);
        img.to_rgb8().save(dir.path().join("a.jpg")).unwrap();
        image::DynamicImage::new_luma8(300, 300)
            .save(dir.path().join("flat.png"))
            .unwrap();
        let mut hashes = Vec::new();
        let problems = hash_images(
            &["flat.png".into(), "a.jpg".into()],
            dir.path(),
            &mut hashes,
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        // One thumbnail, numbered as the photo's keypoints are; the flat photo has neither.
        let thumbs = record_thumbs(&hashes);
        let kps = record_keypoints(&hashes);
        assert_eq!(thumbs.len(), 1);
        assert_eq!(thumbs[0].0, 2);
        assert_eq!(kps.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![2]);
        // A listing's photo and its mirror share one thumbnail.
        let q = query_evidence(&[dir.path().join("a.jpg").display().to_string()], &[]);
        assert_eq!(q.keypoints.len(), 2);
        let (a, b) = (&q.keypoints[0].thumb, &q.keypoints[1].thumb);
        assert!(a.is_some() && a == b);
        // A damaged stored thumbnail is no thumbnail, not an error.
        let damaged = vec![ImageHashRef {
            algo: THUMB.into(),
            hash: "AQI".into(),
            photo: Some(1),
        }];
        assert!(record_thumbs(&damaged).is_empty());
    }
}

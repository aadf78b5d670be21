//! Photos for the pipelines: a file or an uploaded photo in, hashes (and a thumbnail) out. The
//! command line and the server reach the photo code ([`crate::photo`], [`crate::index::thumbs`])
//! only through these functions, so the decoding limits and the hash sets each use has are
//! chosen here, once.
//!
//! Three hash sets exist, for three jobs: a banned record's photo (its own hashes, its crops
//! and PDQ: [`record_photos`]); a listing's or a query's photo, in all 8 rotations and flips
//! (so that a turned or mirrored copy matches from either side: [`probe_hashes`]); and the
//! plain hashes `relist hash` prints ([`hash_file`]).

use std::path::Path;

use image::DynamicImage;

use crate::error::{Error, Result};
use crate::model::ImageHashRef;
use crate::photo::{self, PDQ_DECODE_SIDE, PdqHash, PhotoHashes};

/// The hasher and hex form front ends need to hash and print: one hasher serves many photos.
pub use crate::photo::{PhotoHasher, QueryPhotos, hex64};

/// What `relist hash` says of one file.
#[derive(Debug, Clone)]
pub struct FileHashes {
    /// dHash and pHash; `None` for a photo too flat (blank, one colour) to be evidence.
    pub hashes: Option<PhotoHashes>,
    /// PDQ with its quality, whatever the quality: a hash-sharing system decides by it.
    pub pdq: Option<PdqHash>,
}

impl FileHashes {
    /// The fields `relist hash` prints for the photo (its `path` aside): `dhash` and `phash`
    /// (16 hex digits), or for a photo too flat to be evidence an `error` saying so; then `pdq`
    /// (64) and `pdq_quality`, whatever the quality: a hash-sharing system decides by it.
    pub fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value;
        let mut o = serde_json::Map::new();
        match &self.hashes {
            Some(h) => {
                o.insert("dhash".into(), Value::from(hex64(h.dhash)));
                o.insert("phash".into(), Value::from(hex64(h.phash)));
            }
            // Not a failure: the photo is read, it just says nothing.
            None => {
                o.insert(
                    "error".into(),
                    Value::from("no evidence: too flat to hash (blank or a single colour)"),
                );
            }
        }
        if let Some(p) = &self.pdq {
            o.insert("pdq".into(), Value::from(p.hex()));
            o.insert("pdq_quality".into(), Value::from(p.quality));
        }
        o
    }
}

/// The hashes of one photo file, decoded once at the size PDQ needs.
pub fn hash_file(hasher: &PhotoHasher, path: &Path) -> Result<FileHashes> {
    let img = photo::decode_file_scaled(path, PDQ_DECODE_SIDE)?;
    Ok(file_hashes(hasher, &img))
}

/// [`hash_file`] of a photo's bytes (errors name `name`): the same limits and hashes.
pub fn hash_bytes(hasher: &PhotoHasher, bytes: &[u8], name: &str) -> Result<FileHashes> {
    let img = photo::decode_bytes_scaled(bytes, Path::new(name), PDQ_DECODE_SIDE)?;
    Ok(file_hashes(hasher, &img))
}

fn file_hashes(hasher: &PhotoHasher, img: &DynamicImage) -> FileHashes {
    FileHashes {
        hashes: hasher.hash(img),
        pdq: photo::pdq(img),
    }
}

/// Hashes a banned record's local `images` (relative to `base`) into `hashes`: dHash/pHash, its
/// crops and PDQ. Returns one message per photo that could not be used; addresses are skipped.
pub fn record_photos(
    images: &[String],
    base: &Path,
    hashes: &mut Vec<ImageHashRef>,
) -> Vec<String> {
    photo::hash_images(images, base, hashes)
}

/// The thumbnail of the first of `images` (relative to `base`, addresses skipped) that decodes.
pub fn thumbnail(images: &[String], base: &Path) -> Option<Vec<u8>> {
    crate::index::thumbs::from_images(images, base)
}

/// Whether record `id` of the index (or catalog) at `dir` has a stored thumbnail.
pub fn has_thumbnail(dir: &Path, id: &str) -> bool {
    crate::index::thumbs::path(dir, id).is_file()
}

/// The stored thumbnail (JPEG) of record `id` of the index (or catalog) at `dir`.
pub fn stored_thumbnail(dir: &Path, id: &str) -> Option<Vec<u8>> {
    crate::index::thumbs::get(dir, id)
}

/// A photo as probe hashes: dHash and pHash pairs of its 8 rotations and flips. Errors name
/// `name` (a file, or an upload); a photo too flat to tell apart is an error too, since it would
/// match everything.
pub fn probe_hashes(img: &DynamicImage, name: &str) -> Result<Vec<ImageHashRef>> {
    let variants = PhotoHasher::new().dihedral(img).ok_or_else(|| {
        Error::image(
            name,
            "too flat to hash (blank or one colour); no photo to look for",
        )
    })?;
    Ok(variants
        .iter()
        .flat_map(|h| {
            [
                ImageHashRef {
                    algo: "dhash".into(),
                    hash: photo::hex64(h.dhash),
                    photo: None,
                },
                ImageHashRef {
                    algo: "phash".into(),
                    hash: photo::hex64(h.phash),
                    photo: None,
                },
            ]
        })
        .collect())
}

/// A photo file as probe hashes (`relist query --catalog DIR --image PHOTO`).
pub fn probe_file(path: &Path) -> Result<Vec<ImageHashRef>> {
    let img = photo::decode_file(path)?;
    probe_hashes(&img, &path.display().to_string())
}

/// An uploaded photo (the web page's search) as probe hashes and a JPEG thumbnail to show it
/// back; decoded at reduced size, as listing photos are for a check. Nothing is kept.
pub fn probe_upload(bytes: &[u8], name: &str) -> Result<(Vec<ImageHashRef>, Vec<u8>)> {
    let img = photo::decode_query_photo(bytes, Path::new(name))?;
    let hashes = probe_hashes(&img, name)?;
    let jpeg = crate::index::thumbs::encode(&img)?;
    Ok((hashes, jpeg))
}

/// Adds an uploaded listing photo (bytes sent with a check) to `out` as photo number `n`: its 8
/// rotations and flips, its top part and PDQ. Errors name `label`.
pub fn add_upload(
    hasher: &PhotoHasher,
    bytes: &[u8],
    label: &str,
    n: usize,
    out: &mut QueryPhotos,
) -> Result<()> {
    let pixels = photo::decode_query_photo(bytes, Path::new(label))?;
    out.add_photo(hasher, n, &pixels);
    Ok(())
}

/// A listing's local photo files read for a catalog (paths relative to `base`, addresses
/// skipped): per file in order, its probe hashes (empty for a photo too flat to hash, with a
/// message), and the thumbnail of the first file that decodes.
pub struct ListingPhotos {
    /// `(file number from 1, probe hashes)` for each file that decoded.
    pub hashed: Vec<(usize, Vec<ImageHashRef>)>,
    pub thumb: Option<Vec<u8>>,
    /// One message per file that could not be used.
    pub problems: Vec<String>,
}

/// Reads and hashes a listing's photo files for the catalog (see [`ListingPhotos`]).
pub fn listing_photos(images: &[String], base: &Path) -> ListingPhotos {
    let mut out = ListingPhotos {
        hashed: Vec::new(),
        thumb: None,
        problems: Vec::new(),
    };
    let files = images
        .iter()
        .filter(|i| !i.starts_with("http://") && !i.starts_with("https://"));
    for (i, img) in files.enumerate() {
        let pixels = match photo::decode_file(&base.join(img)) {
            Ok(p) => p,
            Err(e) => {
                out.problems.push(format!("image '{img}': {e}"));
                continue;
            }
        };
        if out.thumb.is_none() {
            out.thumb = crate::index::thumbs::encode(&pixels).ok();
        }
        match probe_hashes(&pixels, img) {
            Ok(h) => out.hashed.push((i + 1, h)),
            Err(_) => out.problems.push(format!(
                "image '{img}': too flat to hash; no photo evidence"
            )),
        }
    }
    out
}

//! Photos as evidence: bounded decoding and perceptual hashes robust to the edits sellers make.
//!
//! [`decode_file`] turns a file into pixels within fixed limits; [`PhotoHasher`] turns pixels
//! into dHash and pHash after trimming borders (and [`pdq`] into PDQ for exchange), or into nothing for a photo too flat to tell
//! apart from others. Hashes are searched with [`crate::photo::hamming`].

pub mod aligned;
mod brief_tests;
mod decode;
pub mod descriptors;
mod evidence;
pub mod guided;
pub mod hamming;
mod hash;
pub mod keypoints;
pub mod panels;
mod pdq;
mod resample;
pub mod verify;

pub use decode::{
    HASH_DECODE_SIDE, MAX_ALLOC, MAX_FILE_BYTES, MAX_SIDE, PDQ_DECODE_SIDE, decode_bytes,
    decode_bytes_scaled, decode_file, decode_file_scaled,
};
pub use evidence::{
    BannedPhotoPrints, DHASH_CROP, KEYPOINTS, PHASH_CROP, QUERY_DECODE_SIDE, QueryKeypoints,
    QueryPhotos, THUMB, crop_photos, decode_query_photo, hash_images, pdqs, photos, query_evidence,
    query_evidence_searched, query_photos, record_keypoints, record_thumbs,
};
pub use hash::{
    BANNER_KEEP, CROPS, Dihedral, PhotoHasher, PhotoHashes, hex64, parse_hex64, prepare,
};
pub use pdq::{
    PDQ_MIN_QUALITY, Pdq, PdqHash, hex256, parse_hex256, pdq, pdq_dihedral, pdq_from_luma,
};

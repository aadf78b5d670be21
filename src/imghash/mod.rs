//! Photos as evidence: bounded decoding and perceptual hashes robust to the edits sellers make.
//!
//! [`decode_file`] turns a file into pixels within fixed limits; [`PhotoHasher`] turns pixels
//! into dHash and pHash after trimming borders, or into nothing for a photo too flat to tell
//! apart from others. Hashes are searched with [`crate::hamming`].

mod decode;
mod evidence;
mod hash;

pub use decode::{MAX_ALLOC, MAX_FILE_BYTES, MAX_SIDE, decode_bytes, decode_file};
pub use evidence::{hash_images, photos, query_photos};
pub use hash::{Dihedral, PhotoHasher, PhotoHashes, hex64, parse_hex64, prepare};

//! Photo decoding (JPEG, PNG, GIF, WebP, BMP, with EXIF orientation) within the limits, then
//! the perceptual hashes in all eight orientations.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use relist::photo::{PhotoHasher, decode_bytes};

fuzz_target!(|data: &[u8]| {
    let Ok(img) = decode_bytes(data, Path::new("fuzz.img")) else {
        return;
    };
    let _ = PhotoHasher::new().dihedral(&img);
});

//! A listing record as `relist check` reads it (JSON bytes → validated listing), then checked
//! against an index of the fixtures: parsing, preparation, retrieval, features and scoring.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relist::engine::CheckOptions;
use relist::model::Listing;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(mut listing) = Listing::from_value(v) else {
        return;
    };
    // `images` are files the CLI would read; the image target covers decoding.
    listing.images.clear();
    let engine = relist_fuzz::engine();
    let _ = engine.check(&listing, CheckOptions::top(5));
});

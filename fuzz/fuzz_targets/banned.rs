//! A banned record as every reader parses it (JSON bytes → validated record), then prepared
//! for the index and compared with itself as a listing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relist::matching::features::{Features, PreparedBanned, PreparedListing, Uniform};
use relist::model::{BannedRecord, Listing};

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(parsed) = BannedRecord::from_value(v.clone()) else {
        return;
    };
    let _ = relist::index::IndexTerms::of(&parsed.record);
    let banned = PreparedBanned::new(parsed.record, &Uniform);
    if let Ok(mut listing) = Listing::from_value(v) {
        listing.images.clear();
        let prepared = PreparedListing::new(&listing, Default::default(), &Uniform);
        // With the identifier roles of the shipped model, as `check` compares.
        let roles = &relist::matching::trees::TreeModel::shipped().roles;
        let f = Features::compute(&prepared, &banned, &Uniform, roles);
        let _ = f.vector();
    }
});

//! The Consumer24 ingest adapter on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relist::feeds::Format;

fuzz_target!(|data: &[u8]| {
    relist_fuzz::ingest_bytes("feed.xml", data, Format::Consumer24);
});

//! The Parquet ingest adapter on a file of arbitrary bytes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use relist::feeds::{self, Format};

fuzz_target!(|data: &[u8]| {
    relist_fuzz::tolerate_panics_in(&["/parquet-", "/arrow-"]);
    // Parquet is read from a file (its footer comes first), so the input goes to disk.
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("temporary directory"));
    let path = dir.path().join("feed.parquet");
    std::fs::write(&path, data).expect("write the input");
    let _ = feeds::read_records(
        &path,
        &b""[..],
        Format::Parquet,
        relist::model::BannedRecord::from_value,
        |_| {},
    );
});

//! Format detection (`--format auto`) and the adapter it picks, on a file of arbitrary bytes:
//! the first byte chooses the file's extension, the rest is its content.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use relist::feeds::{self, Format};

const EXTENSIONS: [&str; 7] = ["json", "jsonl", "xml", "rss", "csv", "parquet", "txt"];

fuzz_target!(|data: &[u8]| {
    relist_fuzz::tolerate_panics_in(&["/parquet-", "/arrow-"]);
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    // Detection reads the file itself, so the input goes to disk (one directory per process).
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("temporary directory"));
    let ext = EXTENSIONS[pick as usize % EXTENSIONS.len()];
    let path = dir.path().join(format!("feed.{ext}"));
    std::fs::write(&path, content).expect("write the input");
    let format = feeds::sniff(&path, Format::Auto);
    let Ok(input) = feeds::open(&path) else {
        return;
    };
    let _ = feeds::read_records(
        &path,
        input,
        format,
        relist::model::BannedRecord::from_value,
        |_| {},
    );
});

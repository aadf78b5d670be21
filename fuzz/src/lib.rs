//! Shared setup of the fuzz targets: an index of the repository's fixtures and the feed runner.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use relist::config::Config;
use relist::engine::Engine;
use relist::matching::features::{PreparedBanned, Uniform};
use relist::feeds::{self, Format};
use relist::model::BannedRecord;
use relist::index::Store;

/// The repository's fixtures directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// An engine over `fixtures/banned.jsonl`, built once per fuzzing process in a temporary
/// directory that lives as long as the process.
pub fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<(tempfile::TempDir, Arc<Engine>)> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temporary directory");
            let store = Store::open_or_create(&dir.path().join("index")).expect("index");
            let path = fixtures().join("banned.jsonl");
            let input = feeds::open(&path).expect("fixtures/banned.jsonl");
            let mut records = Vec::new();
            feeds::read_records(&path, input, Format::Jsonl, BannedRecord::from_value, |r| {
                if let Ok((_, p)) = r {
                    records.push(p.record)
                }
            })
            .expect("read fixtures");
            store.ingest(records).expect("ingest fixtures");
            let engine = Arc::new(Engine::new(store, Config::default()).expect("engine"));
            (dir, engine)
        })
        .1
        .clone()
}

/// Runs one ingest adapter over `data` the way `relist ingest` does: every record parsed,
/// validated and prepared for the index. Errors are fine; panics, hangs and runaway memory
/// are the findings.
pub fn ingest_bytes(name: &str, data: &[u8], format: Format) {
    let path = Path::new(name);
    let _ = feeds::read_records(path, data, format, BannedRecord::from_value, |r| {
        if let Ok((_, parsed)) = r {
            let _ = PreparedBanned::new(parsed.record, &Uniform);
        }
    });
}

/// Lets panics raised inside the named dependencies (matched against the panic's source path,
/// e.g. "/parquet-") unwind, so that relist's own `catch_unwind` around them is what gets
/// fuzzed; any other panic aborts as libFuzzer needs. libfuzzer-sys aborts on every panic,
/// caught or not, which would report the parquet crate's known panics on corrupt metadata
/// (caught and reported per file by `relist::feeds`) as crashes of relist.
pub fn tolerate_panics_in(crates: &'static [&'static str]) {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map(|l| l.file()).unwrap_or("");
            if crates.iter().any(|c| file.contains(c)) {
                return;
            }
            eprintln!("{info}");
            std::process::abort();
        }));
    });
}

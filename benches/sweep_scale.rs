//! Sweep throughput and peak memory at catalog scale, with planted relistings.
//!
//!     cargo bench --bench sweep_scale                                   # 100k banned × 200k listings
//!     RELIST_SCALE_BANNED=100000 RELIST_SCALE_LISTINGS=1000000 cargo bench --bench sweep_scale
//!     RELIST_SCALE_PHOTOS=1 cargo bench --bench sweep_scale    # precomputed photo hashes too
//!
//! The catalog is generated on the fly (benches/synth, a reader thread producing JSON Lines), so
//! the harness itself holds no catalog in memory: peak RSS (VmHWM) measures relist's sweep. Peak
//! memory is printed after each tenth of the catalog to show it stays flat. The index is built
//! once into target/bench-index/ (shared with check_latency).

#[path = "synth/mod.rs"]
mod synth;

use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::time::Instant;

use relist::config::Config;
use relist::engine::Engine;
use relist::index::Store;
use relist::model::BannedRecord;
use relist::pipeline::stream::{SweepOptions, sweep_with_progress};
use relist::present::output::Sink;

// The allocator of the relist binary (src/main.rs).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: u64 = 42;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// JSON Lines of synthetic listings, generated as they are read.
struct Catalog {
    vocab: synth::Vocab,
    banned: usize,
    next: usize,
    total: usize,
    buf: Vec<u8>,
    pos: usize,
    /// Every listing and banned record carries precomputed photo hashes.
    photos: bool,
}

impl Read for Catalog {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Catalog {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos == self.buf.len() && self.next < self.total {
            self.buf.clear();
            self.pos = 0;
            while self.buf.len() < 1 << 16 && self.next < self.total {
                let (line, planted) =
                    synth::listing(&self.vocab, SEED, SEED + 7, self.banned, self.next);
                let line = match (self.photos, planted) {
                    (false, _) => line,
                    // A relisting reuses the banned photo, recompressed: 3 bits away.
                    (true, Some(id)) => {
                        let i: u64 = id.trim_start_matches("SYN-").parse().unwrap_or(0);
                        synth::with_photo(&line, i, 3)
                    }
                    (true, None) => synth::with_photo(&line, (1 << 40) + self.next as u64, 0),
                };
                self.buf.extend_from_slice(line.as_bytes());
                self.buf.push(b'\n');
                self.next += 1;
            }
        }
        Ok(&self.buf[self.pos..])
    }
    fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

/// Counts hits without keeping them.
struct Count {
    planted_found: u64,
    rows: u64,
}

impl Sink for Count {
    fn result(&mut self, res: &relist::model::CheckResult) -> relist::Result<()> {
        self.rows += 1;
        // Planted relistings are the even listings (synth::listing); their match is SYN-*.
        let j: usize = res.listing_id.trim_start_matches("L-").parse().unwrap_or(1);
        if j.is_multiple_of(2) && res.matches.iter().any(|m| m.banned_id.starts_with("SYN-")) {
            self.planted_found += 1;
        }
        Ok(())
    }
    fn flush(&mut self) -> relist::Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> relist::Result<()> {
        Ok(())
    }
}

fn main() {
    let banned = env("RELIST_SCALE_BANNED", 100_000);
    let listings = env("RELIST_SCALE_LISTINGS", 200_000);
    let vocab = synth::Vocab::new(SEED);
    let photos = env("RELIST_SCALE_PHOTOS", 0) == 1;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "target/bench-index/syn-{banned}{}",
        if photos { "-photos" } else { "" }
    ));
    // An index from an older build of relist is rebuilt.
    let existing = dir
        .join("complete")
        .exists()
        .then(|| Store::open(&dir).ok())
        .flatten();
    let store = if let Some(store) = existing {
        store
    } else {
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open_or_create(&dir).expect("create");
        for start in (0..banned).step_by(100_000) {
            let recs: Vec<BannedRecord> = (start..(start + 100_000).min(banned))
                .map(|i| {
                    let (mut line, ..) = synth::banned(&vocab, SEED, i);
                    if photos {
                        line = synth::with_photo(&line, i as u64, 0);
                    }
                    BannedRecord::from_value(serde_json::from_str(&line).unwrap())
                        .unwrap()
                        .record
                })
                .collect();
            store.ingest(recs).expect("ingest");
        }
        std::fs::write(dir.join("complete"), "").unwrap();
        store
    };
    let engine = Engine::new(store, Config::default()).expect("engine");
    let before = peak_rss_mib();
    let catalog = Catalog {
        vocab: synth::Vocab::new(SEED),
        banned,
        next: 0,
        total: listings,
        buf: Vec::new(),
        pos: 0,
        photos,
    };
    let mut sink = Count {
        planted_found: 0,
        rows: 0,
    };
    let start = Instant::now();
    let mut next_report = listings / 10;
    let s = sweep_with_progress(
        &engine,
        std::path::Path::new("<synthetic>"),
        Box::new(catalog),
        &mut sink,
        &SweepOptions::default(),
        |e| panic!("{e}"),
        |s| {
            if s.listings as usize >= next_report {
                println!(
                    "  {:>9} listings  {:>7.0}/s  peak RSS {:>7.1} MiB",
                    s.listings,
                    s.per_second(),
                    peak_rss_mib()
                );
                next_report += listings / 10;
            }
        },
    )
    .expect("sweep");
    println!(
        "banned {banned}, listings {}, {:.1} s, {:.0} listings/s on {} threads; peak RSS {:.1} MiB \
         (after opening the index {:.1} MiB); hits written {}; planted relistings found {} of {} ({:.1} %)",
        s.listings,
        start.elapsed().as_secs_f64(),
        s.per_second(),
        rayon::current_num_threads(),
        peak_rss_mib(),
        before,
        sink.rows,
        sink.planted_found,
        listings / 2,
        100.0 * sink.planted_found as f64 / (listings / 2).max(1) as f64
    );
}

//! Reverse queries (`relist query --catalog DIR --banned ID`): latency and recall of finding
//! the relistings of one banned record in an indexed catalog, against the way to answer the same
//! question without a catalog index, measured in the same run: every listing of the catalog
//! checked against that one record (a sweep restricted to it, as `--banned-since` does).
//!
//!     cargo bench --bench reverse_query
//!     RELIST_BENCH_CATALOG=100000 cargo bench --bench reverse_query
//!
//! The banned side is 10k synthetic records, the catalog synthetic listings (half of them
//! relistings of a random banned record, with evasions). Indexes are built once into
//! `target/bench-index/` and reused.

#[path = "synth/mod.rs"]
mod synth;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use relist::config::Config;
use relist::engine::{CheckOptions, Engine};
use relist::index::Store;
use relist::model::{BannedRecord, Decision, Listing};
use relist::pipeline::reverse::{Judge, find_listings, listing_record};

const SEED: u64 = 42;
const BANNED: usize = 10_000;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn build(dir: &Path, records: impl Fn(usize) -> BannedRecord, n: usize) -> Store {
    if dir.join("complete").exists()
        && let Ok(store) = Store::open(dir)
    {
        return store;
    }
    let _ = std::fs::remove_dir_all(dir);
    let store = Store::open_or_create(dir).expect("create bench index");
    let t = Instant::now();
    for start in (0..n).step_by(50_000) {
        store
            .ingest((start..(start + 50_000).min(n)).map(&records).collect())
            .expect("ingest");
    }
    eprintln!(
        "  built {} ({n} records) in {:.1} s",
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    std::fs::write(dir.join("complete"), "").unwrap();
    store
}

fn main() {
    let catalog_size: usize = std::env::var("RELIST_BENCH_CATALOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50_000);
    let vocab = synth::Vocab::new(SEED);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-index");
    let banned_rec = |i: usize| {
        let (line, ..) = synth::banned(&vocab, SEED, i);
        BannedRecord::from_value(serde_json::from_str(&line).unwrap())
            .unwrap()
            .record
    };
    let listing = |j: usize| {
        let (line, planted) = synth::listing(&vocab, SEED, SEED + 1, BANNED, j);
        (
            Listing::from_value(serde_json::from_str(&line).unwrap()).unwrap(),
            planted,
        )
    };
    let banned = Engine::new(
        build(&root.join(format!("syn-{BANNED}")), banned_rec, BANNED),
        Config::default(),
    )
    .unwrap();
    let catalog = Engine::new(
        build(
            &root.join(format!("catalog-{catalog_size}")),
            |j| listing_record(&listing(j).0).unwrap(),
            catalog_size,
        ),
        Config::default(),
    )
    .unwrap();
    // Which listings relist which banned record.
    let mut planted: HashMap<String, HashSet<String>> = HashMap::new();
    let mut listings = Vec::with_capacity(catalog_size);
    for j in 0..catalog_size {
        let (l, p) = listing(j);
        if let Some(id) = p {
            planted.entry(id).or_default().insert(l.id.clone());
        }
        listings.push(l);
    }
    let mut asked: Vec<&String> = planted.keys().collect();
    asked.sort();
    asked.truncate(300);

    // Reverse queries: the catalog index.
    let limit = 20;
    for id in asked.iter().take(30) {
        let r = banned.snapshot().get(id).unwrap().unwrap();
        find_listings(&catalog, &[r], Judge::Index(&banned), limit).unwrap();
    }
    let mut times = Vec::new();
    let (mut found, mut total) = (0usize, 0usize);
    for id in &asked {
        let r = banned.snapshot().get(id).unwrap().unwrap();
        let t = Instant::now();
        let hits = find_listings(&catalog, &[r], Judge::Index(&banned), limit).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        let want = &planted[*id];
        let got: HashSet<&String> = hits
            .iter()
            .filter(|h| h.matched.decision >= Decision::Review)
            .map(|h| &h.listing.id)
            .collect();
        total += want.len().min(limit);
        found += want.iter().filter(|l| got.contains(l)).count().min(limit);
    }
    times.sort_by(f64::total_cmp);

    // Baseline: the catalog swept against the one record (an index of it, in memory).
    let mut scan = Vec::new();
    let mut scan_found = (0usize, 0usize);
    for id in asked.iter().take(3) {
        let r = banned.snapshot().get(id).unwrap().unwrap();
        let t = Instant::now();
        let one = Engine::in_memory(vec![r], Config::default()).unwrap();
        let mut hits = HashSet::new();
        for l in &listings {
            let res = one.check(l, CheckOptions::top(1)).unwrap();
            if res.decision >= Decision::Review {
                hits.insert(l.id.clone());
            }
        }
        scan.push(t.elapsed().as_secs_f64() * 1e3);
        scan_found.0 += planted[*id].iter().filter(|l| hits.contains(*l)).count();
        scan_found.1 += planted[*id].len();
    }
    scan.sort_by(f64::total_cmp);
    let scan_p50 = percentile(&scan, 0.5);
    println!(
        "{:>8} {:>8} {:>8} {:>8} {:>8} {:>13} {:>10} {:>11} {:>12}",
        "banned",
        "catalog",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "scan p50 ms",
        "scan/query",
        "recall",
        "scan recall"
    );
    println!(
        "{:>8} {:>8} {:>8.2} {:>8.2} {:>8.2} {:>13.0} {:>9.0}x {:>11.3} {:>12.3}",
        BANNED,
        catalog_size,
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.99),
        scan_p50,
        scan_p50 / percentile(&times, 0.5),
        found as f64 / total.max(1) as f64,
        scan_found.0 as f64 / scan_found.1.max(1) as f64,
    );
    println!(
        "  {} reverse queries (top {limit}, recall = planted relistings decided review or block \
         among them); scan over {} records",
        times.len(),
        scan.len()
    );
}

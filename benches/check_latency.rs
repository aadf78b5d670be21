//! `check` latency and sweep throughput at 10k, 100k (and, on request, 1M) banned records.
//!
//!     cargo bench --bench check_latency                      # 10k and 100k
//!     RELIST_BENCH_SIZES=10000,100000,1000000 cargo bench --bench check_latency
//!
//! Per size: one-thread `check` latency percentiles over relistings and unrelated listings, the
//! same listings against a linear scan with strsim (the baseline a script would use, measured in
//! the same run), and `sweep` throughput on all cores. Indexes are built once into
//! `target/bench-index/` and reused.

#[path = "synth/mod.rs"]
mod synth;

use std::io::Cursor;
use std::path::PathBuf;
use std::time::Instant;

use relist::config::Config;
use relist::engine::{CheckOptions, Engine};
use relist::model::{Decision, Listing};
use relist::pipeline::stream::{SweepOptions, sweep};

const SEED: u64 = 42;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let sizes: Vec<usize> = std::env::var("RELIST_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let vocab = synth::Vocab::new(SEED);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-index");
    println!(
        "{:>9} {:>9} {:>9} {:>9} {:>9} {:>11} {:>12} {:>10} {:>8}",
        "banned",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "mean ms",
        "scan p50 ms",
        "scan/relist",
        "sweep/s",
        "caught"
    );
    for &n in &sizes {
        let store = synth::build_index(&root.join(format!("syn-{n}")), &vocab, SEED, n);
        let engine = Engine::new(store, Config::default()).expect("engine");
        let listings: Vec<(Listing, Option<String>)> = (0..3000)
            .map(|j| {
                let (line, planted) = synth::listing(&vocab, SEED, SEED, n, j);
                (
                    Listing::from_value(serde_json::from_str(&line).unwrap()).unwrap(),
                    planted,
                )
            })
            .collect();
        // Warm the page cache and the record cache.
        for (l, _) in listings.iter().take(300) {
            engine.check(l, CheckOptions::default()).unwrap();
        }
        let mut times = Vec::with_capacity(listings.len());
        let mut caught = 0;
        let mut planted = 0;
        for (l, p) in &listings {
            let t = Instant::now();
            let r = engine.check(l, CheckOptions::default()).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            if let Some(id) = p {
                planted += 1;
                caught += usize::from(
                    r.matches
                        .iter()
                        .any(|m| &m.banned_id == id && m.decision >= Decision::Review),
                );
            }
        }
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;

        // Baseline: score every banned title with strsim, keep the best (what a script does).
        let titles: Vec<String> = (0..n)
            .map(|i| synth::banned(&vocab, SEED, i).1.to_lowercase())
            .collect();
        let scan_n = (2_000_000 / n).clamp(5, 200);
        let mut scan = Vec::new();
        for (l, _) in listings.iter().take(scan_n) {
            let t = Instant::now();
            let q = l.title.to_lowercase();
            let best = titles
                .iter()
                .map(|b| strsim::normalized_levenshtein(&q, b))
                .fold(0.0, f64::max);
            std::hint::black_box(best);
            scan.push(t.elapsed().as_secs_f64() * 1e3);
        }
        scan.sort_by(f64::total_cmp);
        let scan_p50 = percentile(&scan, 0.5);

        // Sweep throughput on all cores over 20k listings.
        let mut catalog = String::new();
        for j in 0..20_000 {
            catalog.push_str(&synth::listing(&vocab, SEED, SEED + 1, n, j).0);
            catalog.push('\n');
        }
        let mut sink = std::io::sink();
        let s = sweep(
            &engine,
            std::path::Path::new("<synthetic>"),
            Box::new(Cursor::new(catalog.into_bytes())),
            &mut sink,
            &SweepOptions::default(),
            |e| panic!("{e}"),
        )
        .unwrap();
        println!(
            "{:>9} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>11.2} {:>11.0}x {:>10.0} {:>7.1}%",
            n,
            percentile(&times, 0.5),
            percentile(&times, 0.9),
            percentile(&times, 0.99),
            mean,
            scan_p50,
            scan_p50 / percentile(&times, 0.5),
            s.per_second(),
            100.0 * caught as f64 / planted.max(1) as f64
        );
    }
}

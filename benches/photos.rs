//! Photo measurements: PDQ against the reference hashes, hashing speed, Hamming search speed.
//!
//!     cargo bench --bench photos -- pdq ../shared/data/pdq
//!     cargo bench --bench photos -- speed DIR_OF_JPEGS [N]
//!     cargo bench --bench photos -- search [N_HASHES]
//!     cargo bench --bench photos -- check DIR_OF_JPEGS [N]
//!     cargo bench --bench photos -- stages DIR_OF_JPEGS [N]
//!     cargo bench --bench photos -- learn-tests [N] > src/photo/brief_tests.rs
//!
//! `pdq`: every "orig" row of `expected/expected_hashes.csv` whose image is there, hashed from
//! the full decode and from the reduced (IDCT-scaled) decode relist hashes with; distance to the
//! expected hash, and the reference's promise checked: distance ≤ 10 when quality ≥ 80.
//! `speed`: photos per second, one thread and all cores (rayon), for what `relist hash` does
//! (reduced decode, dHash + pHash, PDQ) against the full decode of the same files, and the 8
//! symmetries a listing's photo is hashed in. `search`: radius queries over N random 64-bit
//! hashes (1M by default) with the multi-index against a linear scan, results compared.
//! `check`: one-thread `check` latency of listings with one photo (the first N/2 JPEGs banned,
//! every JPEG a listing), beside the same listings without their photo. `stages`: one thread,
//! per listing photo, what the check path spends on each stage: the reduced decode, the hashes
//! (8 symmetries, top part, PDQ), the keypoints (and their mirror), one verification.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use relist::photo::hamming::{HammingIndex, distance};
use relist::photo::{
    HASH_DECODE_SIDE, PDQ_DECODE_SIDE, PhotoHasher, decode_file, decode_file_scaled, parse_hex256,
    pdq,
};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args.first().map(String::as_str) {
        Some("pdq") => pdq_reference(Path::new(args.get(1).expect("pdq DIR"))),
        Some("speed") => speed(
            Path::new(args.get(1).expect("speed DIR")),
            args.get(2).map_or(400, |n| n.parse().expect("N")),
        ),
        Some("search") => search(args.get(1).map_or(1_000_000, |n| n.parse().expect("N"))),
        Some("check") => check(
            Path::new(args.get(1).expect("check DIR")),
            args.get(2).map_or(400, |n| n.parse().expect("N")),
        ),
        Some("learn-tests") => learn_tests(args.get(1).map_or(400, |n| n.parse().expect("N"))),
        Some("desc-stats") => desc_stats(Path::new(args.get(1).expect("DIR"))),
        Some("stages") => stages(
            Path::new(args.get(1).expect("stages DIR")),
            args.get(2).map_or(200, |n| n.parse().expect("N")),
        ),
        _ => eprintln!(
            "usage: photos pdq DIR | speed DIR [N] | search [N] | check DIR [N] | stages DIR [N]"
        ),
    }
}

fn pdq_reference(dir: &Path) {
    let mut rdr = csv::Reader::from_path(dir.join("expected/expected_hashes.csv")).expect("csv");
    println!(
        "{:<52} {:<28} {:>5} {:>5} {:>6} {:>8}",
        "image", "implementation", "q.ref", "q", "d.full", "d.scaled"
    );
    let (mut rows, mut promised, mut kept, mut kept_scaled) = (0, 0, 0, 0);
    let mut worst = (0, 0);
    for rec in rdr.records() {
        let rec = rec.expect("row");
        if &rec[1] != "orig" {
            continue;
        }
        let image = rec[0].split(" (").next().unwrap().to_string();
        let path = dir.join(&image);
        let Some(expected) = parse_hex256(&rec[2]) else {
            continue;
        };
        if !path.exists() {
            continue;
        }
        let full = decode_file(&path).ok().and_then(|i| pdq(&i));
        let scaled = decode_file_scaled(&path, PDQ_DECODE_SIDE)
            .ok()
            .and_then(|i| pdq(&i));
        let (Some(full), Some(scaled)) = (full, scaled) else {
            println!("{image:<52} could not be hashed");
            continue;
        };
        let (d, ds) = (full.distance(&expected), scaled.distance(&expected));
        rows += 1;
        let impl_name: String = rec[4].chars().take(28).collect();
        println!(
            "{image:<52} {impl_name:<28} {:>5} {:>5} {d:>6} {ds:>8}",
            &rec[3], full.quality
        );
        // The reference's quality where the row gives it, else ours.
        let q = rec[3].parse::<u8>().unwrap_or(full.quality);
        if q >= 80 {
            promised += 1;
            kept += usize::from(d <= 10);
            kept_scaled += usize::from(ds <= 10);
            worst = (worst.0.max(d), worst.1.max(ds));
        }
    }
    println!(
        "{rows} reference hashes; {promised} with quality >= 80: within distance 10 {kept} (full decode), {kept_scaled} (reduced decode); worst {} / {}",
        worst.0, worst.1
    );
}

fn jpegs(dir: &Path, n: usize) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "jpeg"))
        .collect();
    out.sort();
    out.truncate(n);
    out
}

fn speed(dir: &Path, n: usize) {
    let files = jpegs(dir, n);
    let hasher = PhotoHasher::new();
    // What `relist hash` and ingest do: one decode large enough for PDQ.
    let relist_hash = |p: &PathBuf| {
        let img = decode_file_scaled(p, PDQ_DECODE_SIDE).unwrap();
        (hasher.hash(&img), pdq(&img))
    };
    let full_hash = |p: &PathBuf| {
        let img = decode_file(p).unwrap();
        (hasher.hash(&img), pdq(&img))
    };
    let dihedral = |p: &PathBuf| {
        let img = decode_file_scaled(p, HASH_DECODE_SIDE).unwrap();
        hasher.dihedral(&img)
    };
    let dhash_phash = |p: &PathBuf| {
        let img = decode_file_scaled(p, HASH_DECODE_SIDE).unwrap();
        hasher.hash(&img)
    };
    // Warm the page cache and the DCT plans.
    for p in &files {
        std::hint::black_box(relist_hash(p));
    }
    println!(
        "{} JPEGs from {}; photos/s (1 thread, p50 ms per photo) and photos/s on {} threads",
        files.len(),
        dir.display(),
        rayon::current_num_threads()
    );
    let run = |name: &str, f: &(dyn Fn(&PathBuf) + Sync)| {
        let mut times: Vec<f64> = files
            .iter()
            .map(|p| {
                let t = Instant::now();
                f(p);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let total: f64 = times.iter().sum();
        times.sort_by(f64::total_cmp);
        let t = Instant::now();
        files.par_iter().for_each(f);
        let par = t.elapsed().as_secs_f64();
        println!(
            "{name:<44} {:>8.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  {:>8.0}/s all threads",
            files.len() as f64 / (total / 1e3),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            files.len() as f64 / par
        );
    };
    run("reduced decode only (shorter side >= 200)", &|p| {
        std::hint::black_box(decode_file_scaled(p, HASH_DECODE_SIDE).unwrap());
    });
    run("1/8 decode only", &|p| {
        std::hint::black_box(decode_file_scaled(p, 1).unwrap());
    });
    run("full decode only", &|p| {
        std::hint::black_box(decode_file(p).unwrap());
    });
    run("reduced decode (>= 200) + dHash/pHash", &|p| {
        std::hint::black_box(dhash_phash(p));
    });
    run("decode (>= 512) + dHash/pHash + PDQ (hash, ingest)", &|p| {
        std::hint::black_box(relist_hash(p));
    });
    run("reduced decode (>= 200) + 8 symmetries (check)", &|p| {
        std::hint::black_box(dihedral(p));
    });
    run("full decode + dHash/pHash + PDQ", &|p| {
        std::hint::black_box(full_hash(p));
    });
}

/// xorshift: the same hashes on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn search(n: usize) {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let hashes: Vec<u64> = (0..n).map(|_| rng.next()).collect();
    let t = Instant::now();
    let mut index = HammingIndex::<1>::new();
    for (i, &h) in hashes.iter().enumerate() {
        index.insert(i as u32, [h]);
    }
    println!(
        "{n} random 64-bit hashes indexed in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    // Queries: stored hashes with a few bits flipped (a hit to find), and fresh random ones.
    let queries: Vec<u64> = (0..400)
        .map(|i| {
            if i % 2 == 0 {
                let mut q = hashes[(rng.next() % n as u64) as usize];
                for _ in 0..(i % 9) {
                    q ^= 1 << (rng.next() % 64);
                }
                q
            } else {
                rng.next()
            }
        })
        .collect();
    println!(
        "{:<8} {:>12} {:>12} {:>12} {:>10} {:>8}",
        "radius", "MIH p50 µs", "MIH p99 µs", "scan p50 µs", "speed-up", "hits"
    );
    for radius in [4u32, 8, 10, 12, 16] {
        let (mut mih, mut scan) = (Vec::new(), Vec::new());
        let mut hits = 0;
        for q in &queries {
            let t = Instant::now();
            let mut got: Vec<(u32, u32)> = index.radius(&[*q], radius);
            mih.push(t.elapsed().as_secs_f64() * 1e6);
            let t = Instant::now();
            let mut want: Vec<(u32, u32)> = hashes
                .iter()
                .enumerate()
                .filter_map(|(i, h)| {
                    let d = distance(&[*h], &[*q]);
                    (d <= radius).then_some((i as u32, d))
                })
                .collect();
            scan.push(t.elapsed().as_secs_f64() * 1e6);
            got.sort();
            want.sort();
            assert_eq!(got, want, "radius {radius}: MIH and the scan disagree");
            hits += got.len();
        }
        mih.sort_by(f64::total_cmp);
        scan.sort_by(f64::total_cmp);
        println!(
            "{radius:<8} {:>12.1} {:>12.1} {:>12.1} {:>9.0}× {hits:>8}",
            percentile(&mih, 0.5),
            percentile(&mih, 0.99),
            percentile(&scan, 0.5),
            percentile(&scan, 0.5) / percentile(&mih, 0.5)
        );
    }
    // A listing photo is searched in 9 hashes (8 rotations and flips, and its top part): one
    // `radius_any` against 9 `radius` calls, at the radius the engine uses.
    let (mut one, mut nine) = (Vec::new(), Vec::new());
    for q in queries.chunks(9).filter(|c| c.len() == 9) {
        let q: Vec<[u64; 1]> = q.iter().map(|h| [*h]).collect();
        let t = Instant::now();
        let mut apart: Vec<(u32, u32)> = q.iter().flat_map(|h| index.radius(h, 16)).collect();
        nine.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        let together = index.radius_any(&q, 16);
        one.push(t.elapsed().as_secs_f64() * 1e6);
        apart.sort_unstable();
        apart.dedup_by_key(|(id, _)| *id);
        assert_eq!(
            together.len(),
            apart.len(),
            "radius_any and 9 radius calls disagree"
        );
    }
    one.sort_by(f64::total_cmp);
    nine.sort_by(f64::total_cmp);
    println!(
        "9 hashes at radius 16: radius_any p50 {:.1} µs, 9 × radius p50 {:.1} µs ({:.1}×)",
        percentile(&one, 0.5),
        percentile(&nine, 0.5),
        percentile(&nine, 0.5) / percentile(&one, 0.5)
    );
}

fn check(dir: &Path, n: usize) {
    use relist::config::Config;
    use relist::engine::{CheckOptions, Engine};
    use relist::model::{BannedRecord, Listing};
    let files = jpegs(dir, n);
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = relist::index::Store::open_or_create(tmp.path()).expect("index");
    let banned: Vec<BannedRecord> = files[..files.len() / 2]
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let mut r = BannedRecord::from_value(serde_json::json!({
                "id": format!("B-{i}"), "title": format!("recalled thing {i}"),
                "images": [p.display().to_string()]}))
            .unwrap()
            .record;
            let images = r.images.clone();
            relist::photo::hash_images(&images, Path::new("/"), &mut r.image_hashes);
            r
        })
        .collect();
    store.ingest(banned).expect("ingest");
    let engine = Engine::new(store, Config::default()).expect("engine");
    let listing = |i: usize, p: &PathBuf, photo: bool| {
        let mut v = serde_json::json!({"id": format!("L-{i}"), "title": "shop offer"});
        if photo {
            v["images"] = serde_json::json!([p.display().to_string()]);
        }
        Listing::from_value(v).unwrap()
    };
    let time = |photo: bool| {
        let listings: Vec<Listing> = files
            .iter()
            .enumerate()
            .map(|(i, p)| listing(i, p, photo))
            .collect();
        for l in listings.iter().take(50) {
            engine.check(l, CheckOptions::default()).unwrap();
        }
        let mut times: Vec<f64> = listings
            .iter()
            .map(|l| {
                let t = Instant::now();
                std::hint::black_box(engine.check(l, CheckOptions::default()).unwrap());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        (percentile(&times, 0.5), percentile(&times, 0.99))
    };
    let (p50, p99) = time(true);
    let (t50, t99) = time(false);
    println!(
        "{} banned photos; one-thread check of {} listings",
        files.len() / 2,
        files.len()
    );
    println!("with one 800x800 JPEG photo   p50 {p50:.2} ms  p99 {p99:.2} ms");
    println!("the same, without the photo   p50 {t50:.2} ms  p99 {t99:.2} ms");
}

fn stages(dir: &Path, n: usize) {
    use relist::photo::keypoints::{BANNED_KEYPOINTS, Keypoints, QUERY_KEYPOINTS, extract};
    use relist::photo::{QUERY_DECODE_SIDE, pdq_dihedral};
    let files = jpegs(dir, n);
    let hasher = PhotoHasher::new();
    let banned: Vec<Keypoints> = files
        .iter()
        .filter_map(|p| {
            extract(
                &decode_file_scaled(p, PDQ_DECODE_SIDE).ok()?,
                BANNED_KEYPOINTS,
            )
        })
        .collect();
    let mut t: [Vec<f64>; 6] = Default::default();
    for (i, p) in files.iter().enumerate() {
        let t0 = Instant::now();
        let img = decode_file_scaled(p, QUERY_DECODE_SIDE).expect("decode");
        let t1 = Instant::now();
        std::hint::black_box(hasher.dihedral(&img));
        std::hint::black_box(hasher.top_part(&img));
        let t2 = Instant::now();
        std::hint::black_box(pdq_dihedral(&img));
        let t3 = Instant::now();
        let k = Keypoints::with_mirror(&img, QUERY_KEYPOINTS);
        let t4 = Instant::now();
        if let Some((k, _)) = &k {
            std::hint::black_box(relist::photo::verify::verify(
                k,
                &banned[(i + 1) % banned.len()],
            ));
        }
        let t5 = Instant::now();
        for (v, (a, b)) in
            t.iter_mut()
                .zip([(t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5), (t0, t5)])
        {
            v.push((b - a).as_secs_f64() * 1e3);
        }
    }
    println!(
        "{} photos, one thread, ms per photo: p50 / p99",
        files.len()
    );
    for (name, v) in [
        "decode",
        "dhash+phash x9",
        "pdq x8",
        "keypoints+mirror",
        "verify one",
        "all",
    ]
    .iter()
    .zip(t.iter_mut())
    {
        v.sort_by(f64::total_cmp);
        println!(
            "{name:<18} {:>7.2} {:>7.2}",
            percentile(v, 0.5),
            percentile(v, 0.99)
        );
    }
}

/// Learns the descriptor tests on N drawn photos of the suite's training seeds (never on the
/// real photos the suite measures with) and prints them as `src/photo/brief_tests.rs`.
fn learn_tests(n: usize) {
    let photos: Vec<_> = (0..n as u64)
        .map(|i| relist::pipeline::photo_suite::drawn_photo(1 + i, i as usize))
        .collect();
    let tests = relist::photo::keypoints::learn_tests(&photos);
    println!(
        "//! The 256 steered BRIEF tests keypoint descriptors are made of: learned, not drawn (see"
    );
    println!(
        "//! `keypoints::tests`); regenerate with `cargo bench --bench photos -- learn-tests`."
    );
    println!();
    println!(
        "/// `[ax, ay, bx, by]`: compare the box at (ax, ay) with the box at (bx, by), offsets from the"
    );
    println!("/// keypoint before turning. Learned on {n} drawn photos (seeds 1..={n}).");
    println!("#[rustfmt::skip]");
    println!("pub const TESTS: [[i8; 4]; 256] = [");
    for row in tests.chunks(6) {
        let cells: Vec<String> = row
            .iter()
            .map(|t| format!("[{}, {}, {}, {}]", t[0], t[1], t[2], t[3]))
            .collect();
        println!("    {},", cells.join(", "));
    }
    println!("];");
}

fn desc_stats(dir: &Path) {
    use relist::photo::keypoints::{BANNED_KEYPOINTS, distance, extract};
    let files = jpegs(dir, 40);
    let ks: Vec<_> = files
        .iter()
        .filter_map(|p| extract(&decode_file_scaled(p, 200).ok()?, BANNED_KEYPOINTS))
        .collect();
    let mut hist = [0usize; 9];
    let mut ones = vec![0usize; 256];
    let mut total = 0;
    for (i, a) in ks.iter().enumerate() {
        let b = &ks[(i + 1) % ks.len()];
        for d in &a.descriptors {
            for e in &b.descriptors {
                hist[(distance(d, e) / 32) as usize] += 1;
            }
            for bit in 0..256 {
                if d[bit / 64] >> (bit % 64) & 1 == 1 {
                    ones[bit] += 1;
                }
            }
            total += 1;
        }
    }
    println!("unrelated pair distance histogram (/32): {hist:?}");
    let means: Vec<f64> = ones.iter().map(|&o| o as f64 / total as f64).collect();
    let off: f64 = means.iter().map(|m| (m - 0.5).abs()).sum::<f64>() / 256.0;
    println!(
        "mean |p-0.5| per bit {off:.3}; first 16 means {:?}",
        &means[..16]
            .iter()
            .map(|m| (m * 100.0).round() / 100.0)
            .collect::<Vec<_>>()
    );
}

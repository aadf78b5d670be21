//! Photo measurements: PDQ against the reference hashes, hashing speed, Hamming search speed.
//!
//!     cargo bench --bench photos -- pdq ../shared/data/pdq
//!     cargo bench --bench photos -- speed DIR_OF_JPEGS [N]
//!     cargo bench --bench photos -- search [N_HASHES]
//!     cargo bench --bench photos -- check DIR_OF_JPEGS [N]
//!     cargo bench --bench photos -- stages DIR_OF_JPEGS [N]
//!     cargo bench --bench photos -- scale PHOTO_TREE [N_BANNED] [N_LISTINGS]
//!     cargo bench --bench photos -- learn-tests [N] > src/photo/brief_tests.rs
//!     cargo bench --bench photos -- diagnose SUITE_DIR LISTING_ID...
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
//! `scale`: `check` latency against N_BANNED (100k by default) banned photos, each with its
//! hashes and keypoints; see [`scale`] for how the index is made.

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
        Some("scale") => scale(
            Path::new(args.get(1).expect("scale PHOTO_TREE")),
            args.get(2)
                .map_or(100_000, |n| n.parse().expect("N_BANNED")),
            args.get(3).map_or(400, |n| n.parse().expect("N_LISTINGS")),
        ),
        Some("diagnose") => diagnose(
            Path::new(args.get(1).expect("diagnose SUITE_DIR")),
            &args[2..],
        ),
        Some("checkpath") => checkpath(
            Path::new(args.get(1).expect("checkpath DIR")),
            args.get(2).map_or(40, |n| n.parse().expect("N")),
        ),
        Some("verify-dump") => verify_dump(Path::new(args.get(1).expect("verify-dump SUITE_DIR"))),
        Some("stages") => stages(
            Path::new(args.get(1).expect("stages DIR")),
            args.get(2).map_or(200, |n| n.parse().expect("N")),
        ),
        _ => eprintln!(
            "usage: photos pdq DIR | speed DIR [N] | search [N] | check DIR [N] | stages DIR [N] | checkpath DIR [N] | diagnose SUITE_DIR LISTING... | verify-dump SUITE_DIR | scale TREE [N_BANNED] [N_LISTINGS]"
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
    // All a listing photo costs `check` before the index is searched: what `check` reads a
    // file into (reduced decode, hashes in 8 symmetries and the top part, PDQ in 8, keypoints
    // and their mirror, the same of each panel of a collage).
    run("check path: decode + hashes + PDQ + keypoints", &|p| {
        let images = [p.display().to_string()];
        std::hint::black_box(relist::photo::query_evidence(&images, &[]));
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
    // As a snapshot's index is, once built.
    index.freeze();
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
    for radius in [4u32, 8, 9, 10, 12, 16] {
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
    let r = relist::engine::PHOTO_CANDIDATE_RADIUS;
    for q in queries.chunks(9).filter(|c| c.len() == 9) {
        let q: Vec<[u64; 1]> = q.iter().map(|h| [*h]).collect();
        let t = Instant::now();
        let mut apart: Vec<(u32, u32)> = q.iter().flat_map(|h| index.radius(h, r)).collect();
        nine.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        let together = index.radius_any(&q, r);
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
        "9 hashes at radius {r}: radius_any p50 {:.1} µs, 9 × radius p50 {:.1} µs ({:.1}×)",
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

/// The check path's photo work alone (`query_evidence` on each file, one after the other):
/// what callgrind counts for a listing photo, without the rest of the bench.
fn checkpath(dir: &Path, n: usize) {
    for p in jpegs(dir, n) {
        let images = [p.display().to_string()];
        std::hint::black_box(relist::photo::query_evidence(&images, &[]));
    }
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

/// A saved suite's file (`relist eval --photos SEED --save DIR`), one JSON value a line.
fn suite_lines(dir: &Path, name: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(name))
        .expect("suite file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

/// A saved suite's banned records hashed as ingest hashes them: `(id, stored hashes)`, and each
/// record's keypoints.
#[allow(clippy::type_complexity)]
fn suite_banned(
    dir: &Path,
) -> (
    Vec<(String, Vec<relist::model::ImageHashRef>)>,
    Vec<Vec<(usize, relist::photo::keypoints::Keypoints)>>,
) {
    let banned: Vec<_> = suite_lines(dir, "banned.jsonl")
        .into_par_iter()
        .map(|v| {
            let mut r = relist::model::BannedRecord::from_value(v).unwrap().record;
            let images = std::mem::take(&mut r.images);
            relist::photo::hash_images(&images, Path::new("/"), &mut r.image_hashes);
            (r.id, r.image_hashes)
        })
        .collect();
    let kps = banned
        .iter()
        .map(|(_, h)| relist::photo::record_keypoints(h))
        .collect();
    (banned, kps)
}

/// Where a photo suite's listing (`relist eval --photos SEED --save SUITE_DIR`) and its banned
/// photo part: the banned photo's rank in keypoint retrieval over the suite's banned photos,
/// the pair votes, and the verification of the photo and of its mirror image; the hashes'
/// distances (dHash/pHash over the symmetries and the banned photo's crops, PDQ).
fn diagnose(dir: &Path, ids: &[String]) {
    use relist::photo::descriptors::{DescriptorIndexBuilder, prints};
    use relist::photo::verify::verify;
    let read = |name: &str| suite_lines(dir, name);
    let (banned, kps) = suite_banned(dir);
    let mut b = DescriptorIndexBuilder::new();
    for (i, k) in kps.iter().enumerate() {
        for (_, k) in k {
            b.insert(i as u32, k);
        }
    }
    let index = b.build();
    let listings = read("listings.jsonl");
    for id in ids {
        let Some(l) = listings.iter().find(|l| l["id"] == id.as_str()) else {
            println!("{id}: not in the suite");
            continue;
        };
        let expected = l["expected"].as_str().unwrap_or("");
        let image = l["images"][0].as_str().unwrap().to_string();
        let q = relist::photo::query_evidence(&[image], &[]);
        let Some(bi) = banned.iter().position(|(b, _)| b == expected) else {
            println!("{id}: no expected record");
            continue;
        };
        let kp: Vec<&relist::photo::keypoints::Keypoints> =
            q.keypoints.iter().map(|k| &k.points).collect();
        let ranked = index.candidates(&kp, 64);
        let rank = ranked.iter().position(|(c, _)| *c == bi as u32);
        let pairs = relist::photo::photos(&banned[bi].1);
        let crops = relist::photo::crop_photos(&banned[bi].1);
        let d = q
            .pairs
            .iter()
            .flat_map(|(_, p)| pairs.iter().chain(&crops).map(|b| p.distances(b)))
            .min_by_key(|(a, b)| (*a).max(*b));
        let pdq = relist::photo::pdqs(&banned[bi].1);
        let dq = q
            .pdq
            .iter()
            .flat_map(|(_, p)| {
                pdq.iter()
                    .map(move |b| relist::photo::hamming::distance(p, b))
            })
            .min();
        print!(
            "{id}: banned {expected}; query photos {} (keypoints {:?}); retrieval rank {rank:?} of {} (top votes {:?}); hash d {d:?} pdq {dq:?}",
            q.keypoints.len() / 2,
            q.keypoints
                .iter()
                .map(|k| k.points.len())
                .collect::<Vec<_>>(),
            ranked.len(),
            &ranked[..ranked.len().min(3)],
        );
        for (_, bk) in &kps[bi] {
            let p = prints(bk);
            for k in &q.keypoints {
                let v = verify(&k.points, bk);
                print!(
                    "\n    photo {} mirrored {}: votes {} verify inliers {} matches {} coverage {:.3} (banned keypoints {})",
                    k.photo,
                    k.mirrored,
                    k.prints.votes(&p),
                    v.inliers,
                    v.matches,
                    v.coverage,
                    bk.len()
                );
            }
        }
        println!();
    }
}

/// Every listing of a saved suite verified against every banned photo of it (photo and
/// mirror, the better kept): one CSV line a pair, `listing,slice,banned,expected,inliers,
/// matches,coverage,shown,aligned,colour` (-9: no aligned or colour check). What a verification rule is tuned on: the expected pairs
/// are copies, every other pair is not (an upper bound on what the engine verifies, which is
/// the 16 most voted).
/// An aligned-region judgement ([`relist::photo::aligned`]) of a verified placement.
type Judge = fn(
    &relist::photo::keypoints::Keypoints,
    &relist::photo::aligned::Thumb,
    bool,
    &relist::photo::keypoints::Keypoints,
    &relist::photo::aligned::Thumb,
    [f32; 6],
) -> Option<f32>;

fn verify_dump(dir: &Path) {
    use relist::photo::verify::verify;
    let read = |name: &str| suite_lines(dir, name);
    let (banned, kps) = suite_banned(dir);
    let listings = read("listings.jsonl");
    let labels: std::collections::HashMap<String, String> = read("labels.jsonl")
        .into_iter()
        .filter_map(|v| {
            Some((
                v["listing_id"].as_str()?.to_string(),
                v["slice"].as_str()?.to_string(),
            ))
        })
        .collect();
    let lines: Vec<String> = listings
        .par_iter()
        .flat_map_iter(|l| {
            let id = l["id"].as_str().unwrap_or("").to_string();
            let expected = l["expected"].as_str().unwrap_or("").to_string();
            let slice = labels.get(&id).cloned().unwrap_or_default();
            let image = l["images"][0].as_str().unwrap_or("").to_string();
            let q = relist::photo::query_evidence(&[image], &[]);
            let mut out = Vec::new();
            for (bi, (bid, hashes)) in banned.iter().enumerate() {
                let thumbs = relist::photo::record_thumbs(hashes);
                let best = kps[bi]
                    .iter()
                    .flat_map(|(n, bk)| {
                        q.keypoints
                            .iter()
                            .map(move |k| (verify(&k.points, bk), k, *n, bk))
                    })
                    .max_by_key(|(v, ..)| v.inliers);
                if let Some((v, k, n, bk)) = best {
                    // An agreement of the pair under one placement (the first verification's
                    // or the guided one's).
                    let judge = |f: Judge, placement: Option<[f32; 6]>| {
                        let t = thumbs.iter().find(|(m, _)| *m == n)?;
                        f(
                            &k.points,
                            k.thumb.as_deref()?,
                            k.mirrored,
                            bk,
                            &t.1,
                            placement?,
                        )
                    };
                    let aligned = judge(relist::photo::aligned::agreement, v.placement);
                    let colour = judge(relist::photo::aligned::colour_agreement, v.placement);
                    // The guided second verification ([`relist::photo::guided`]) and its
                    // placement's agreements.
                    let g = relist::photo::guided::reverify(&k.points, bk, &v);
                    let gmap = g.and_then(|g| g.placement);
                    let gd = gmap
                        .map(|m| relist::photo::guided::pair_distances(&k.points, bk, &m))
                        .unwrap_or_default();
                    let under = |t: u32| gd.iter().filter(|d| **d <= t).count();
                    let median = gd.get(gd.len() / 2).copied().unwrap_or(999);
                    let gshown = gmap.map_or(0, |m| relist::photo::verify::shown(&k.points, bk, m));
                    let blocks = gmap
                        .and_then(|m| {
                            let t = thumbs.iter().find(|(x, _)| *x == n)?;
                            relist::photo::aligned::block_residuals(
                                &k.points,
                                k.thumb.as_deref()?,
                                k.mirrored,
                                bk,
                                &t.1,
                                m,
                                4,
                            )
                        })
                        .map(|b| {
                            b.iter()
                                .map(|v| {
                                    if v.is_nan() {
                                        "-1".into()
                                    } else {
                                        format!("{v:.1}")
                                    }
                                })
                                .collect::<Vec<String>>()
                                .join(" ")
                        })
                        .unwrap_or_default();
                    let guided = format!(
                        "{},{:.4},{:.3},{:.3},{},{},{},{},{},{},{},{blocks}",
                        g.map_or(0, |g| g.inliers),
                        g.map_or(0.0, |g| g.coverage),
                        judge(relist::photo::aligned::agreement, gmap).unwrap_or(-9.0),
                        judge(relist::photo::aligned::colour_agreement, gmap).unwrap_or(-9.0),
                        gd.len(),
                        under(24),
                        under(32),
                        under(40),
                        under(48),
                        median,
                        gshown
                    );
                    out.push(format!(
                        "{id},{slice},{bid},{},{},{},{:.4},{},{:.3},{:.3},{guided}",
                        u8::from(*bid == expected),
                        v.inliers,
                        v.matches,
                        v.coverage,
                        v.placement
                            .map_or(0, |m| relist::photo::verify::shown(&k.points, bk, m)),
                        aligned.unwrap_or(-9.0),
                        colour.unwrap_or(-9.0)
                    ));
                }
            }
            out
        })
        .collect();
    println!(
        "listing,slice,banned,expected,inliers,matches,coverage,shown,aligned,colour,g_inliers,g_coverage,g_aligned,g_colour,g_pairs,g_d24,g_d32,g_d40,g_d48,g_median,g_shown,g_blocks"
    );
    for l in lines {
        println!("{l}");
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

/// Resident memory of this process, in MB (Linux; 0 elsewhere).
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn dir_mb(dir: &Path) -> f64 {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                total += e.metadata().map_or(0, |m| m.len());
            }
        }
    }
    total as f64 / 1e6
}

/// `check` latency with one 800 × 800 JPEG against `n_banned` banned photos.
///
/// The photos of `tree` (`Class/Product/photo.jpg`, sorted by path) are split: every sixth (at
/// most `n_listings`) is held out, resized to 800 × 800 and written as a JPEG (quality 90); the
/// first half of those are banned for real (hashed from the file, as ingest does) and every
/// held-out photo is a listing. The other photos are the sources of the rest of the index: each
/// source is hashed and described once, and each synthetic record takes one source's keypoints
/// with every descriptor bit flipped with probability 0.1 (about 26 of 256: farther than two
/// shots of one detail, a dozen bits, yet in the same region of descriptor space, so buckets
/// are as crowded as real photos make them) and its positions jittered by up to a pixel, and
/// its hashes with each bit flipped with probability 7/16 (near no photo: the hash indexes
/// hold as many entries, and hits are as rare, as among unrelated products). Titles are the
/// product's folder names plus a number, and a listing's title is its product's name, so
/// text retrieval brings candidates with photos (the pairs `PhotoCheck` judges) as a
/// marketplace title would. The index is built once into `target/bench-index/photos-N` and
/// reused. Printed: index size on disk, resident memory the opened engine added, one-thread
/// `check` percentiles with the photo, the same listings as text only and with an unrelated
/// title, the relistings found, and two threads' throughput.
fn scale(tree: &Path, n_banned: usize, n_listings: usize) {
    use relist::config::Config;
    use relist::engine::{CheckOptions, Engine};
    use relist::model::{BannedRecord, Decision, ImageHashRef, Listing};
    use relist::photo::keypoints::Keypoints;
    let mut all: Vec<String> = Vec::new();
    let mut stack = vec![std::fs::canonicalize(tree).expect("photo tree")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "jpg" || e == "jpeg") {
                all.push(p.display().to_string());
            }
        }
    }
    all.sort();
    let product = |p: &str| -> (String, String) {
        let path = Path::new(p);
        let name = |q: Option<&Path>| {
            q.and_then(|q| q.file_name())
                .map_or(String::new(), |n| n.to_string_lossy().replace('_', " "))
        };
        let prod = path.parent();
        (name(prod), name(prod.and_then(Path::parent)))
    };
    let held: Vec<&String> = all.iter().step_by(6).take(n_listings).collect();
    let sources: Vec<&String> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 6 != 0 || i / 6 >= n_listings)
        .map(|(_, p)| p)
        .collect();
    let work = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/bench-index/photos-{n_banned}"));
    let jpeg_dir = work.join("listings");
    std::fs::create_dir_all(&jpeg_dir).expect("bench dir");
    let files: Vec<PathBuf> = held
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let out = jpeg_dir.join(format!("{i:04}.jpg"));
            if !out.exists() {
                let img = image::open(p).expect("photo").resize_exact(
                    800,
                    800,
                    image::imageops::FilterType::Triangle,
                );
                let mut f = std::io::BufWriter::new(std::fs::File::create(&out).expect("jpeg"));
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut f, 90)
                    .encode_image(&img.to_rgb8())
                    .expect("encode");
            }
            out
        })
        .collect();
    let n_real = files.len() / 2;
    let index_dir = work.join("index");
    let built = index_dir.join("built");
    let t = Instant::now();
    if !built.exists() {
        let _ = std::fs::remove_dir_all(&index_dir);
        let store = relist::index::Store::open_or_create(&index_dir).expect("index");
        let with_hashes = |id: String, title: String, image: &Path| {
            let mut r = BannedRecord::from_value(serde_json::json!({
                "id": id, "title": title, "images": [image.display().to_string()]}))
            .unwrap()
            .record;
            let images = std::mem::take(&mut r.images);
            relist::photo::hash_images(&images, Path::new("/"), &mut r.image_hashes);
            r
        };
        let real: Vec<BannedRecord> = files[..n_real]
            .par_iter()
            .enumerate()
            .map(|(i, f)| {
                let (prod, class) = product(held[i]);
                with_hashes(format!("B-{i}"), format!("{prod} {class} banned {i}"), f)
            })
            .collect();
        store.ingest(real).expect("ingest");
        let described: Vec<(String, Vec<ImageHashRef>)> = sources
            .par_iter()
            .map(|p| {
                let (prod, class) = product(p);
                let r = with_hashes("S".into(), "source".into(), Path::new(p.as_str()));
                (format!("{prod} {class}"), r.image_hashes)
            })
            .filter(|(_, h)| h.iter().any(|h| h.algo == relist::photo::KEYPOINTS))
            .collect();
        assert!(!described.is_empty(), "no source photo has keypoints");
        println!(
            "{} sources described in {:.1} s",
            described.len(),
            t.elapsed().as_secs_f64()
        );
        let mut state = 0x5CA1_AB1E_u64;
        let mut rand = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        // A mask with each bit set with probability 1/10 (of 1024 by 102).
        let sparse = |rand: &mut dyn FnMut() -> u64| {
            let mut m = 0u64;
            for b in 0..64 {
                if rand() % 1024 < 102 {
                    m |= 1 << b;
                }
            }
            m
        };
        let mut batch = Vec::with_capacity(10_000);
        for j in 0..n_banned.saturating_sub(n_real) {
            let (title, hashes) = &described[j % described.len()];
            let mut h = Vec::with_capacity(hashes.len());
            for x in hashes {
                let mut x = x.clone();
                match x.algo.as_str() {
                    relist::photo::KEYPOINTS => {
                        if let Some(mut k) = Keypoints::decode(&x.hash) {
                            for d in k.descriptors.iter_mut() {
                                for w in d.iter_mut() {
                                    *w ^= sparse(&mut rand);
                                }
                            }
                            for p in k.points.iter_mut() {
                                p.x = (p.x + (rand() % 3) as f32 - 1.0)
                                    .clamp(0.0, k.width as f32 - 1.0);
                                p.y = (p.y + (rand() % 3) as f32 - 1.0)
                                    .clamp(0.0, k.height as f32 - 1.0);
                            }
                            x.hash = k.encode();
                        }
                    }
                    "pdq" => {
                        if let Some(mut q) = relist::photo::parse_hex256(&x.hash) {
                            for w in q.iter_mut() {
                                *w ^= rand() & rand() | rand() & rand();
                            }
                            x.hash = relist::photo::hex256(&q);
                        }
                    }
                    _ => {
                        if let Some(v) = relist::photo::parse_hex64(&x.hash) {
                            x.hash = relist::photo::hex64(v ^ (rand() & rand() | rand() & rand()));
                        }
                    }
                }
                h.push(x);
            }
            let mut r = BannedRecord::from_value(
                serde_json::json!({"id": format!("S-{j}"), "title": format!("{title} lot {j}")}),
            )
            .unwrap()
            .record;
            r.image_hashes = h;
            batch.push(r);
            if batch.len() == 10_000 {
                store.ingest(std::mem::take(&mut batch)).expect("ingest");
            }
        }
        store.ingest(batch).expect("ingest");
        std::fs::write(&built, b"").expect("marker");
        println!(
            "index of {n_banned} built in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let before = rss_mb();
    let t = Instant::now();
    let engine = Engine::open(&index_dir, Config::default()).expect("engine");
    let opened = t.elapsed().as_secs_f64();
    let after = rss_mb();
    let snap = engine.snapshot();
    println!(
        "{} banned records ({} with a real photo); index {:.0} MB on disk; opened in {:.1} s, resident memory +{:.0} MB (process {:.0} MB)",
        snap.num_docs(),
        n_real,
        dir_mb(&index_dir),
        opened,
        after - before,
        after
    );
    let listings = |title: &dyn Fn(usize) -> String, photo: bool| -> Vec<Listing> {
        files
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut v = serde_json::json!({"id": format!("L-{i}"), "title": title(i)});
                if photo {
                    v["images"] = serde_json::json!([p.display().to_string()]);
                }
                Listing::from_value(v).unwrap()
            })
            .collect()
    };
    let named = |i: usize| format!("{} offer", product(held[i]).0);
    let time = |ls: &[Listing]| {
        for l in ls.iter().take(20) {
            engine.check(l, CheckOptions::default()).unwrap();
        }
        let mut times = Vec::with_capacity(ls.len());
        let mut found = 0;
        for (i, l) in ls.iter().enumerate() {
            let t = Instant::now();
            let r = engine.check(l, CheckOptions::default()).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            if i < n_real
                && r.decision != Decision::Allow
                && r.matches.iter().any(|m| m.banned_id == format!("B-{i}"))
            {
                found += 1;
            }
        }
        times.sort_by(f64::total_cmp);
        (
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1],
            found,
        )
    };
    println!(
        "one-thread check of {} listings (the first {n_real} relist a banned photo); ms",
        files.len()
    );
    for (name, ls) in [
        ("product title + 800x800 JPEG", listings(&named, true)),
        ("product title, no photo", listings(&named, false)),
        (
            "unrelated title + 800x800 JPEG",
            listings(&|_| "shop offer".into(), true),
        ),
    ] {
        let (p50, p99, max, found) = time(&ls);
        println!(
            "{name:<32} p50 {p50:>7.2}  p99 {p99:>7.2}  max {max:>7.2}   relistings found {found} of {n_real}"
        );
    }
    if std::env::var_os("RELIST_SCALE_STAGES").is_some() {
        // Where a check's time goes, stage by stage, one listing at a time (each stage
        // timed alone, so a stage's rayon joins have both cores; the check overlaps them).
        use relist::photo::QueryPhotos;
        let ls = listings(&named, true);
        let snap = engine.snapshot();
        let mut t: Vec<Vec<f64>> = vec![Vec::new(); 6];
        let ms = |s: Instant| s.elapsed().as_secs_f64() * 1e3;
        for l in &ls {
            let s = Instant::now();
            let photos = QueryPhotos::of_listing(l);
            t[0].push(ms(s));
            let dh: Vec<[u64; 1]> = photos.pairs.iter().map(|(_, p)| [p.dhash]).collect();
            let pq: Vec<relist::photo::Pdq> = photos.pdq.iter().map(|(_, q)| *q).collect();
            let s = Instant::now();
            std::hint::black_box(snap.photo_hits(&dh, relist::engine::PHOTO_CANDIDATE_RADIUS));
            t[1].push(ms(s));
            let s = Instant::now();
            std::hint::black_box(snap.pdq_hits_each(&pq, relist::matching::features::PDQ_RADIUS));
            t[2].push(ms(s));
            let kp: Vec<&Keypoints> = photos.keypoints.iter().map(|k| &k.points).collect();
            let s = Instant::now();
            std::hint::black_box(snap.keypoint_hits(&kp, 64));
            t[3].push(ms(s));
            let s = Instant::now();
            std::hint::black_box(
                engine
                    .check_with_photos(l, photos, CheckOptions::default())
                    .unwrap(),
            );
            t[4].push(ms(s));
            let s = Instant::now();
            std::hint::black_box(engine.check(l, CheckOptions::default()).unwrap());
            t[5].push(ms(s));
        }
        for (name, v) in [
            "photo work (decode, hashes, keypoints)",
            "dHash search (radius 12)",
            "PDQ search (radius 48)",
            "keypoint votes",
            "check given the photo's hashes",
            "whole check",
        ]
        .iter()
        .zip(t.iter_mut())
        {
            v.sort_by(f64::total_cmp);
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            println!(
                "stage {name:<40} p50 {:>6.2}  p90 {:>6.2}  mean {mean:>6.2} ms",
                percentile(v, 0.5),
                percentile(v, 0.9)
            );
        }
    }
    let ls = listings(&named, true);
    let t = Instant::now();
    ls.par_iter().for_each(|l| {
        std::hint::black_box(engine.check(l, CheckOptions::default()).unwrap());
    });
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{} threads, product title + photo: {:.0} checks/s",
        rayon::current_num_threads(),
        ls.len() as f64 / secs
    );
}

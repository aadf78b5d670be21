//! Crash safety: `relist ingest` and `relist serve` killed with SIGKILL at many points while
//! writing. After each kill the index must open, its text and photo-hash views must agree, and
//! every acknowledged write must be there.
//!
//! "Acknowledged" means: for `relist ingest`, the run printed its final
//! `ingested into DIR: ...` line on stderr (printed after the commit is durable) or exited 0;
//! a run killed before that acknowledged nothing and is all or nothing. For the server, a
//! `POST /v1/banned` or `DELETE` that was answered 2xx.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::http::Server;
use common::{Env, s};
use relist::index::Store;
use relist::model::BannedRecord;

/// Records of the big ingest.
const BIG: usize = 10_000;

/// A deterministic 64-bit hash (splitmix64) for photo hashes.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `n` banned records `PREFIX-i`, a quarter of them with photo hashes; `version` goes into
/// the title so that a replacing ingest can be told from the one it replaces.
fn records(prefix: &str, n: usize, version: u32) -> String {
    let mut out = String::new();
    for i in 0..n {
        let mut r = serde_json::json!({
            "id": format!("{prefix}-{i:05}"),
            "title": format!("Brand{} heater ZX-{i} v{version}", i % 500),
            "brand": format!("Brand{}", i % 500),
            "models": [format!("ZX-{i}")],
            "source": "TEST",
        });
        if i % 4 == 0 {
            r["image_hashes"] = serde_json::json!([
                {"algo": "dhash", "hash": format!("{:016x}", mix(i as u64))},
                {"algo": "phash", "hash": format!("{:016x}", mix(!(i as u64)))},
            ]);
        }
        out.push_str(&r.to_string());
        out.push('\n');
    }
    out
}

/// Opens the index as every command does, reads every record, and checks that the text
/// records and the photo-hash index agree: each record with photos is found by its own
/// hash, and the photo index finds nothing else. Returns the records by id.
fn open_and_audit(env: &Env) -> HashMap<String, BannedRecord> {
    let stats = env.run(&["stats", "--json"]);
    assert_eq!(stats.code, 0, "the index does not open: {}", stats.stderr);
    let store = Store::open(&env.index()).expect("index opens");
    let snap = store.snapshot().expect("snapshot");
    let mut by_id = HashMap::new();
    let mut addr_of = HashMap::new();
    for addr in snap.all_addresses() {
        let r = snap.record(addr).expect("stored record");
        addr_of.insert(r.id.clone(), addr);
        assert!(
            by_id.insert(r.id.clone(), r).is_none(),
            "a record is stored twice"
        );
    }
    let reported = stats.json_lines()[0]["records"].as_u64().unwrap();
    assert_eq!(
        reported as usize,
        by_id.len(),
        "stats and the records disagree"
    );
    let mut with_photos = 0;
    for (id, r) in &by_id {
        let photos = relist::photo::photos(&r.image_hashes);
        for p in &photos {
            let found = snap.photo_candidates(&[[p.dhash]], 0);
            assert!(
                found.contains(&addr_of[id]),
                "{id}: its photo hash is not in the photo index"
            );
        }
        with_photos += usize::from(!photos.is_empty());
    }
    // Every photo in the index belongs to a record that has it.
    let mut indexed = HashSet::new();
    for r in by_id.values() {
        for p in relist::photo::photos(&r.image_hashes) {
            for a in snap.photo_candidates(&[[p.dhash]], 0) {
                indexed.insert(a);
            }
        }
    }
    assert_eq!(
        indexed.len(),
        with_photos,
        "photo index and records disagree"
    );
    by_id
}

/// Runs `relist ingest FILE` and SIGKILLs it after `delay` (unless it ends first). Returns
/// whether the run acknowledged its records (the final line, or exit 0).
fn ingest_killed_after(env: &Env, file: &Path, delay: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relist"))
        .current_dir(env.dir.path())
        .env_remove("RELIST_INDEX")
        .env_remove("RELIST_CONFIG")
        .args(["ingest", s(file)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let end = Instant::now() + delay;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() >= end {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let text = stderr.join().unwrap();
    assert!(!text.contains("panicked"), "{text}");
    if let Some(st) = status {
        assert!(st.success(), "ingest failed on its own: {text}");
    }
    status.is_some() || text.contains("ingested into")
}

fn count_prefix(by_id: &HashMap<String, BannedRecord>, prefix: &str) -> usize {
    by_id.keys().filter(|k| k.starts_with(prefix)).count()
}

fn count_version(by_id: &HashMap<String, BannedRecord>, version: u32) -> usize {
    let tag = format!(" v{version}");
    by_id
        .values()
        .filter(|r| r.id.starts_with("BIG-") && r.title.ends_with(&tag))
        .count()
}

#[test]
fn ingest_killed_at_many_points_loses_no_acknowledged_record() {
    let env = Env::new();
    // An earlier, completed ingest: acknowledged.
    let base = env.write("base.jsonl", records("BASE", 500, 1));
    let r = env.run(&["ingest", s(&base)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let big = env.write("big.jsonl", records("BIG", BIG, 1));

    // Adding 20,000 new records, killed ever later until a run completes on its own.
    let mut delay = Duration::from_millis(100);
    let mut kills = 0;
    let full = loop {
        let started = Instant::now();
        let acked = ingest_killed_after(&env, &big, delay);
        let took = started.elapsed();
        let by_id = open_and_audit(&env);
        assert_eq!(
            count_prefix(&by_id, "BASE-"),
            500,
            "an earlier ingest lost records"
        );
        let n = count_prefix(&by_id, "BIG-");
        assert!(
            n == 0 || n == BIG,
            "a killed ingest left {n} of {BIG} records"
        );
        if acked {
            assert_eq!(n, BIG, "an acknowledged ingest is not all there");
            break took;
        }
        kills += 1;
        delay *= 2;
        assert!(kills < 16, "ingest never completed");
    };

    // Replacing them (a new title version each time), killed at points spread over a full
    // run's time, the commit included: every record stays, all in one version, the new one
    // if the run was acknowledged.
    let mut current = 1;
    for (i, frac) in [0.3, 0.6, 0.8, 0.9, 0.97, 1.05].into_iter().enumerate() {
        let next = i as u32 + 2;
        let file = env.write("big_next.jsonl", records("BIG", BIG, next));
        let acked = ingest_killed_after(&env, &file, full.mul_f64(frac));
        let by_id = open_and_audit(&env);
        assert_eq!(count_prefix(&by_id, "BASE-"), 500);
        assert_eq!(
            count_prefix(&by_id, "BIG-"),
            BIG,
            "a killed replace lost records"
        );
        let (old, new) = (count_version(&by_id, current), count_version(&by_id, next));
        assert!(
            (old, new) == (BIG, 0) || (old, new) == (0, BIG),
            "a killed replace is half applied: {old} old, {new} new of {BIG}"
        );
        if acked {
            assert_eq!(new, BIG, "an acknowledged replace is not all there");
        }
        if new == BIG {
            current = next;
        }
        kills += 1;
    }
    // A rerun after the kills completes.
    let r = env.run(&["ingest", s(&big)]);
    assert_eq!(r.code, 0, "a rerun after the kills failed: {}", r.stderr);
    assert_eq!(count_version(&open_and_audit(&env), 1), BIG);
    assert!(kills >= 8, "only {kills} kills");
}

/// The writes the server acknowledged: ids added (and not removed since), ids removed.
#[derive(Default)]
struct Books {
    acked: Vec<String>,
    removed: Vec<String>,
}

#[test]
fn server_killed_mid_writes_keeps_every_acknowledged_write() {
    let env = Env::new();
    let base = env.write("base.jsonl", records("BASE", 300, 1));
    let r = env.run(&["ingest", s(&base)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let books = Arc::new(Mutex::new(Books::default()));
    for (round, kill_after_ms) in [700u64, 1500, 2600].into_iter().enumerate() {
        let server = Server::start(&env, &[], &[]);
        let addr = server.addr.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        // Checks in parallel with the writes: they must keep answering 200 until the kill.
        for _ in 0..2 {
            let (addr, stop) = (addr.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                let mut ok = 0;
                let listing = br#"{"id":"L","title":"Brand7 heater ZX-7 portable"}"#;
                while !stop.load(Ordering::Relaxed) {
                    match common::http::try_http(&addr, "POST", "/v1/check", None, listing) {
                        Some(r) => {
                            assert_eq!(r.status, 200, "a check failed: {}", r.body);
                            ok += 1;
                        }
                        None => break, // the server is gone
                    }
                }
                ok
            }));
        }
        for w in 0..2 {
            let (addr, stop, books) = (addr.clone(), stop.clone(), books.clone());
            threads.push(std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let ids: Vec<String> = (0..20)
                        .map(|k| format!("W{round}-{w}-{n:04}-{k:02}"))
                        .collect();
                    n += 1;
                    let body: String = ids
                        .iter()
                        .map(|id| {
                            format!("{{\"id\":\"{id}\",\"title\":\"Brand{n} kettle {id}\",\"image_hashes\":[{{\"algo\":\"dhash\",\"hash\":\"{:016x}\"}},{{\"algo\":\"phash\",\"hash\":\"{:016x}\"}}]}}\n", mix(n as u64 * 100 + w), mix(n as u64))
                        })
                        .collect();
                    match common::http::try_http(&addr, "POST", "/v1/banned", None, body.as_bytes())
                    {
                        Some(r) if r.status == 200 => books.lock().unwrap().acked.extend(ids),
                        Some(r) => panic!("a write failed: {} {}", r.status, r.body),
                        None => break,
                    }
                    // Now and then, remove one acknowledged earlier.
                    if n % 5 == 0 {
                        let victim = books.lock().unwrap().acked.first().cloned();
                        if let Some(v) = victim {
                            let path = format!("/v1/banned/{v}");
                            let answer =
                                common::http::try_http(&addr, "DELETE", &path, None, b"");
                            let mut b = books.lock().unwrap();
                            match answer {
                                Some(r) if r.status == 200 => {
                                    b.acked.retain(|x| x != &v);
                                    b.removed.push(v);
                                }
                                // Killed before it answered: the removal may be committed or
                                // not, so the record is neither owed nor forbidden afterwards.
                                None => b.acked.retain(|x| x != &v),
                                Some(_) => {}
                            }
                        }
                    }
                }
                0
            }));
        }
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        let checks: i32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert!(
            checks > 0,
            "round {round}: no check answered before the kill"
        );

        // Restarted: every acknowledged write is there, every acknowledged removal stays.
        let by_id = open_and_audit(&env);
        let b = books.lock().unwrap();
        assert!(!b.acked.is_empty(), "round {round}: no write acknowledged");
        for id in &b.acked {
            assert!(
                by_id.contains_key(id),
                "round {round}: acknowledged {id} is missing"
            );
        }
        for id in &b.removed {
            assert!(
                !by_id.contains_key(id),
                "round {round}: removed {id} is back"
            );
        }
        assert_eq!(count_prefix(&by_id, "BASE-"), 300);
        let server = Server::start(&env, &[], &[]);
        let probe = b.acked.last().unwrap();
        let r = server.get(&format!("/v1/banned/{probe}"));
        assert_eq!(r.status, 200, "{}", r.body);
        drop(b);
        server.stop();
    }
}

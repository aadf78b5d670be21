//! The command line, end to end: the real binary in a temporary directory.

mod common;

use common::{Env, fixture, s};
use serde_json::Value;

const BANNED: &str = r#"{"id":"B-1","title":"VoltMax HB-2210X 20000mAh Portable Power Bank","brand":"VoltMax","models":["HB-2210X"],"gtins":["036000291452"],"source":"CPSC","hazard":"fire"}
{"id":"B-2","title":"Sony Bravia KDL-40V4100 40-inch LCD HDTV","brand":"Sony","models":["KDL-40V4100"],"source":"CPSC"}
{"id":"T-1","kind":"term","title":"Melatonin (prescription-only in KR)","terms":["melatonin","멜라토닌","褪黑素"],"jurisdictions":["KR"],"source":"KFTC"}
"#;

fn setup() -> Env {
    let env = Env::new();
    let f = env.write("banned.jsonl", BANNED);
    let r = env.run(&["ingest", s(&f)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("3 added, 0 replaced, 0 rejected"),
        "{}",
        r.stderr
    );
    env
}

fn check(env: &Env, listing: &str) -> (i32, Value) {
    let r = env.run_with(&["check"], Some(listing), &[]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    (r.code, r.json_lines().remove(0))
}

#[test]
fn homoglyph_brand_and_reformatted_model_block_naming_the_model() {
    let env = setup();
    let (code, res) = check(
        &env,
        r#"{"id":"L-1","title":"Vоltmаx hb 2210x portable charger"}"#,
    );
    assert_eq!(code, 1);
    assert_eq!(res["decision"], "block");
    assert_eq!(res["matches"][0]["banned_id"], "B-1");
    let reasons = res["matches"][0]["reasons"].to_string();
    assert!(reasons.contains("HB-2210X"), "{reasons}");
}

#[test]
fn same_brand_other_model_is_not_blocked() {
    let env = setup();
    let (code, res) = check(
        &env,
        r#"{"id":"L-2","title":"Sony Bravia KDL-46V4100 46-inch LCD HDTV"}"#,
    );
    assert_eq!(code, 0);
    assert_ne!(res["decision"], "block");
}

#[test]
fn gtin_in_a_description_blocks() {
    let env = setup();
    let (code, res) = check(
        &env,
        r#"{"id":"L-3","title":"portable battery","description":"UPC 0-36000-29145-2"}"#,
    );
    assert_eq!(code, 1, "{res}");
    assert!(
        res["matches"][0]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("GTIN")
    );
}

#[test]
fn term_rules_apply_only_in_their_markets() {
    let env = setup();
    let kr = r#"{"id":"L-4","title":"수면 젤리 멜라토닌 5mg","market":"KR"}"#;
    let (code, res) = check(&env, kr);
    assert_eq!(
        (code, res["matches"][0]["banned_id"].as_str()),
        (1, Some("T-1"))
    );
    let us = r#"{"id":"L-5","title":"Sleep gummies m e l a t o n i n 5mg","market":"US"}"#;
    assert_eq!(check(&env, us).1["decision"], "allow");
    let none = r#"{"id":"L-6","title":"Sleep gummies m e l a t o n i n 5mg"}"#;
    assert_eq!(check(&env, none).1["decision"], "block");
}

#[test]
fn check_reads_json_lines_and_pretty_objects() {
    let env = setup();
    let lines =
        "{\"id\":\"a\",\"title\":\"garden hose\"}\n{\"id\":\"b\",\"title\":\"VoltMax HB-2210X\"}\n";
    let r = env.run_with(&["check"], Some(lines), &[]);
    assert_eq!(r.code, 1);
    let out = r.json_lines();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["listing_id"], "a");
    assert_eq!(out[0]["decision"], "allow");
    let pretty = "{\n  \"id\": \"c\",\n  \"title\": \"garden hose\"\n}\n";
    let r = env.run_with(&["check", "-"], Some(pretty), &[]);
    assert_eq!((r.code, r.json_lines().len()), (0, 1));
}

#[test]
fn bad_lines_are_reported_and_the_rest_ingested() {
    let env = Env::new();
    let f = env.write(
        "mixed.jsonl",
        "{\"id\":\"G-1\",\"title\":\"Good record one\"}\n\
         {\"id\": \"broken\"\n\
         {\"id\":\"M-1\"}\n\
         {\"id\":\"W-1\",\"title\":\"wrong type\",\"models\":{\"a\":1}}\n\
         [1,2]\n\
         {\"id\":\"G-2\",\"title\":\"Good record two\",\"gtins\":[\"036000291453\"]}\n",
    );
    let r = env.run(&["ingest", s(&f)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let name = s(&f);
    assert!(
        r.stderr.contains(&format!("{name}:2: invalid JSON")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains(&format!("{name}:3: field `title` is missing")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("{name}:4: field `models`")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains(&format!("{name}:5: expected a JSON object")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains(&format!("{name}:6: warning: field `gtins`")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("2 added, 0 replaced, 4 rejected"),
        "{}",
        r.stderr
    );
    let stats = env.run(&["stats", "--json"]);
    let v: Value = serde_json::from_str(&stats.stdout).unwrap();
    assert_eq!(v["records"], 2);
    // Every message is one line.
    for line in r.stderr.lines() {
        assert!(!line.is_empty());
    }
}

#[test]
fn strict_aborts_without_writing() {
    let env = Env::new();
    let f = env.write("m.jsonl", "{\"id\":\"G-1\",\"title\":\"ok\"}\nnot json\n");
    let r = env.run(&["ingest", "--strict", s(&f)]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(&format!("{}:2:", s(&f))), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let stats = env.run(&["stats", "--json"]);
    let v: Value = serde_json::from_str(&stats.stdout).unwrap();
    assert_eq!(v["records"], 0);
}

#[test]
fn empty_and_binary_files_fail_with_their_names() {
    let env = Env::new();
    let empty = env.write("empty.jsonl", "");
    let r = env.run(&["ingest", s(&empty)]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!("{}: no records", s(&empty))),
        "{}",
        r.stderr
    );
    let bin = env.write(
        "photo.jsonl",
        [0xffu8, 0xd8, 0xff, 0xe0, 0, 1, 2, 10, 0x89, 0x50, 10],
    );
    let r = env.run(&["ingest", s(&bin)]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!("{}:1: not UTF-8 text", s(&bin))),
        "{}",
        r.stderr
    );
    let missing = env.run(&["ingest", "nope.jsonl"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("nope.jsonl"), "{}", missing.stderr);
    assert_eq!(missing.stderr.lines().count(), 1);
}

#[test]
fn reingest_replaces_and_remove_removes() {
    let env = setup();
    let f = env.write(
        "update.jsonl",
        r#"{"id":"B-1","title":"Zephyr ZX-9000 desk fan","models":["ZX-9000"]}"#,
    );
    let r = env.run(&["ingest", s(&f)]);
    assert!(r.stderr.contains("0 added, 1 replaced"), "{}", r.stderr);
    assert_eq!(
        check(&env, r#"{"id":"a","title":"VoltMax HB-2210X"}"#).1["decision"],
        "allow"
    );
    assert_eq!(
        check(&env, r#"{"id":"b","title":"zephyr zx9000 fan"}"#).1["decision"],
        "block"
    );
    let r = env.run(&["remove", "B-1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        check(&env, r#"{"id":"b","title":"zephyr zx9000 fan"}"#).1["decision"],
        "allow"
    );
    let r = env.run(&["remove", "NOPE"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("NOPE"));
}

#[test]
fn sweep_writes_hits_or_everything() {
    let env = setup();
    let mut catalog = String::new();
    for i in 0..600 {
        let title = match i % 3 {
            0 => format!("VoltMax HB-2210X power bank lot {i}"),
            1 => format!("garden hose {i} meters"),
            _ => "bad line".to_string(),
        };
        if i % 3 == 2 {
            catalog.push_str("{not json}\n");
        } else {
            catalog.push_str(&format!("{{\"id\":\"L{i}\",\"title\":\"{title}\"}}\n"));
        }
    }
    let cat = env.write("catalog.jsonl", &catalog);
    let r = env.run(&["sweep", s(&cat), "--threads", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = r.json_lines();
    assert_eq!(hits.len(), 200);
    assert!(hits.iter().all(|h| h["decision"] == "block"));
    // Input order is kept.
    assert_eq!(hits[0]["listing_id"], "L0");
    assert_eq!(hits[1]["listing_id"], "L3");
    assert!(r.stderr.contains("200 bad lines"), "{}", r.stderr);
    // Not a terminal: no progress bar, no escape codes.
    assert!(!r.stderr.contains('\u{1b}'), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("{}:3: invalid JSON", s(&cat))),
        "{}",
        r.stderr
    );
    let out = env.path("all.jsonl");
    let r = env.run(&["sweep", s(&cat), "--all", "--out", s(&out), "--top", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all = std::fs::read_to_string(&out).unwrap();
    assert_eq!(all.lines().count(), 400);
}

#[test]
fn query_by_model_text_and_source() {
    let env = setup();
    let r = env.run(&["query", "--model", "kdl40v4100", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json_lines()[0]["banned_id"], "B-2");
    let r = env.run(&["query", "power bank", "--source", "cpsc", "--format", "csv"]);
    assert!(r.stdout.starts_with("rank,banned_id,score"), "{}", r.stdout);
    assert!(r.stdout.contains("B-1"), "{}", r.stdout);
    let r = env.run(&["query", "power bank", "--source", "EU"]);
    assert!(!r.stdout.contains("B-1"), "{}", r.stdout);
    let r = env.run(&["query", "--gtin", "036000291452"]);
    assert!(r.stdout.contains("B-1"), "{}", r.stdout);
}

#[test]
fn settings_flags_over_environment_over_file() {
    let env = setup();
    let listing = r#"{"id":"L","title":"VoltMax power bank"}"#;
    let base = check(&env, listing).1;
    let score = base["score"].as_f64().unwrap();
    assert!(score > 0.1 && score < 0.99, "{base}");
    let cfg = env.write(
        "strict.toml",
        format!("[thresholds]\nreview = {}\nblock = 0.999\n", score + 0.001),
    );
    let r = env.run_with(&["check", "--config", s(&cfg)], Some(listing), &[]);
    assert_eq!(r.json_lines()[0]["decision"], "allow");
    let low = format!("{}", score - 0.001);
    let r = env.run_with(
        &["check", "--config", s(&cfg)],
        Some(listing),
        &[("RELIST_REVIEW_THRESHOLD", &low)],
    );
    assert_eq!(r.json_lines()[0]["decision"], "review");
    let r = env.run_with(
        &["check", "--config", s(&cfg), "--review-threshold", "0.998"],
        Some(listing),
        &[("RELIST_REVIEW_THRESHOLD", &low)],
    );
    assert_eq!(r.json_lines()[0]["decision"], "allow");
    let bad = env.write("bad.toml", "[thresholds]\nblok = 1\n");
    let r = env.run_with(&["check", "--config", s(&bad)], Some(listing), &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("bad.toml") && r.stderr.contains("blok"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_or_foreign_index_is_refused_clearly() {
    let env = Env::new();
    let r = env.run_with(&["check"], Some(r#"{"id":"a","title":"x"}"#), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("relist ingest"), "{}", r.stderr);
    let env = setup();
    let manifest = env.index().join("manifest.json");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("\"version\": 1", "\"version\": 99");
    std::fs::write(&manifest, text).unwrap();
    let r = env.run(&["stats"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("version 99"), "{}", r.stderr);
}

#[test]
fn malformed_listings_name_their_field() {
    let env = setup();
    let r = env.run_with(&["check"], Some(r#"{"id":"a"}"#), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("`title`"), "{}", r.stderr);
    let r = env.run_with(
        &["check"],
        Some(r#"{"id":"a","title":"x","price":"cheap"}"#),
        &[],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("`price`"), "{}", r.stderr);
}

#[test]
fn csv_ingest_uses_the_same_fields() {
    let env = Env::new();
    let f = env.write(
        "b.csv",
        "id,kind,title,brand,models,gtins,terms,jurisdictions\n\
         C-1,product,Kidoozie KZ-100 rattle,Kidoozie,KZ-100;KZ-100B,036000291452,,\n\
         C-2,term,DMAA,,,,dmaa;1;3-dimethylamylamine,KR;JP\n\
         C-3,product,,,,,,\n",
    );
    let r = env.run(&["ingest", s(&f)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("{}:4: field `title`", s(&f))),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("2 added"), "{}", r.stderr);
    assert_eq!(
        check(&env, r#"{"id":"a","title":"rattle kz100b"}"#).1["decision"],
        "block"
    );
}

#[test]
fn the_shipped_sample_listing_blocks_and_its_near_miss_does_not() {
    let env = Env::new();
    env.ingest_fixtures();
    let r = env.run(&["check", fixture("listing.json").to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let res = &r.json_lines()[0];
    assert!(
        res["matches"][0]["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("model"),
        "{res}"
    );
    let r = env.run(&["check", fixture("listing_near_miss.json").to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn shards_together_equal_the_whole_sweep() {
    let env = Env::new();
    env.ingest_fixtures();
    let catalog = fixture("catalog.jsonl");
    let whole = env.run(&["sweep", s(&catalog), "--all"]);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let mut expected: Vec<String> = whole.stdout.lines().map(str::to_string).collect();
    let mut union: Vec<String> = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let r = env.run(&["sweep", s(&catalog), "--all", "--shard", &shard]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let lines: Vec<String> = r.stdout.lines().map(str::to_string).collect();
        assert!(
            !lines.is_empty() && lines.len() < expected.len(),
            "shard {shard}: {}",
            lines.len()
        );
        union.extend(lines);
    }
    expected.sort();
    union.sort();
    assert_eq!(union, expected);
    let bad = env.run(&["sweep", s(&catalog), "--shard", "3/3"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--shard"), "{}", bad.stderr);
}

#[test]
fn incremental_sweep_finds_what_a_full_sweep_finds_for_new_records() {
    let env = Env::new();
    env.ingest_fixtures();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(env.index().join("manifest.json")).unwrap())
            .unwrap();
    let t0 = manifest["updated_at"].as_u64().unwrap();
    // The next ingest must land in a later second.
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        <= t0
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let banned = std::fs::read_to_string(fixture("banned.jsonl")).unwrap();
    let mut new = String::new();
    for (old, id) in [("CPSC-26-0412", "NEW-1"), ("KFTC-2026-0173", "NEW-2")] {
        let line = banned
            .lines()
            .find(|l| l.contains(&format!("\"{old}\"")))
            .unwrap();
        new.push_str(&line.replace(old, id));
        new.push('\n');
    }
    let f = env.write("new.jsonl", new);
    assert_eq!(env.run(&["ingest", s(&f)]).code, 0);
    let catalog = fixture("catalog.jsonl");
    let hits = |out: &str| -> Vec<(String, String, String)> {
        let mut v = Vec::new();
        for line in out.lines() {
            let r: Value = serde_json::from_str(line).unwrap();
            for m in r["matches"].as_array().unwrap() {
                let id = m["banned_id"].as_str().unwrap();
                if id.starts_with("NEW-") {
                    v.push((
                        r["listing_id"].as_str().unwrap().to_string(),
                        id.to_string(),
                        format!("{} {}", m["decision"], m["score"]),
                    ));
                }
            }
        }
        v.sort();
        v
    };
    let full = env.run(&["sweep", s(&catalog), "--all", "--top", "50"]);
    let since = (t0 + 1).to_string();
    let inc = env.run(&[
        "sweep",
        s(&catalog),
        "--all",
        "--top",
        "50",
        "--banned-since",
        &since,
    ]);
    assert_eq!(inc.code, 0, "{}", inc.stderr);
    let (full_hits, inc_hits) = (hits(&full.stdout), hits(&inc.stdout));
    assert!(full_hits.len() >= 5, "{full_hits:?}");
    assert_eq!(inc_hits, full_hits);
    // Nothing else is reported by the incremental sweep.
    for line in inc.stdout.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        for m in r["matches"].as_array().unwrap() {
            assert!(m["banned_id"].as_str().unwrap().starts_with("NEW-"), "{m}");
        }
    }
}

#[test]
fn a_killed_sweep_resumes_to_the_same_output() {
    let env = Env::new();
    env.ingest_fixtures();
    let mut big = String::new();
    let catalog = std::fs::read_to_string(fixture("catalog.jsonl")).unwrap();
    for k in 0..6 {
        for line in catalog.lines() {
            big.push_str(&line.replacen("\"id\": \"L-", &format!("\"id\": \"K{k}-"), 1));
            big.push('\n');
        }
    }
    let cat = env.write("big.jsonl", big);
    let full = env.path("full.jsonl");
    assert_eq!(
        env.run(&["sweep", s(&cat), "--all", "--out", s(&full)])
            .code,
        0
    );

    let part = env.path("part.jsonl");
    let checkpoint = env.path("part.jsonl.checkpoint");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_relist"))
        .current_dir(env.dir.path())
        .args(["-q", "sweep", s(&cat), "--all", "--out", s(&part)])
        .spawn()
        .unwrap();
    // Kill it once it is well under way, mid-catalog.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let lines = std::fs::read_to_string(&checkpoint)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v["lines"].as_u64())
            .unwrap_or(0);
        if lines > 1000 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no checkpoint");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep ended before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = std::fs::read_to_string(&part).unwrap();
    let expected = std::fs::read_to_string(&full).unwrap();
    assert!(partial.len() < expected.len());

    let r = env.run(&["sweep", s(&cat), "--all", "--out", s(&part), "--resume"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("resuming after line"), "{}", r.stderr);
    assert!(
        std::fs::read_to_string(&part).unwrap() == expected,
        "resumed output differs"
    );
    assert!(!checkpoint.exists());
    // A resume with other flags is refused.
    let cp = env.path("x.jsonl");
    std::fs::write(
        env.path("x.jsonl.checkpoint"),
        r#"{"catalog":"other","settings":"","lines":1,"out_bytes":0}"#,
    )
    .unwrap();
    std::fs::write(&cp, "").unwrap();
    let r = env.run(&["sweep", s(&cat), "--out", s(&cp), "--resume"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("resume with the same catalog"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_exported_index_imports_elsewhere_and_sweeps_the_same() {
    let env = Env::new();
    env.ingest_fixtures();
    let archive = env.path("index.tar.gz");
    let r = env.run(&["index", "export", s(&archive)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let other = env.path("worker-index");
    let r = env.run(&["--index", s(&other), "index", "import", s(&archive)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("imported 245 records"), "{}", r.stderr);
    let catalog = fixture("catalog.jsonl");
    let here = env.run(&["sweep", s(&catalog)]);
    let there = env.run(&["--index", s(&other), "sweep", s(&catalog)]);
    assert_eq!(here.stdout, there.stdout);
    // Never over an existing index; never from a file that is not an archive.
    let r = env.run(&["--index", s(&other), "index", "import", s(&archive)]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("already holds an index"), "{}", r.stderr);
    let junk = env.write("junk.tar.gz", "not an archive");
    let r = env.run(&["--index", s(&env.path("x")), "index", "import", s(&junk)]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("junk.tar.gz"), "{}", r.stderr);
}

#[test]
fn sweep_writes_csv_rows_per_match() {
    let env = setup();
    let cat = env.write(
        "c.jsonl",
        "{\"id\":\"a\",\"title\":\"VoltMax HB-2210X, \\\"quoted\\\" lot\"}\n{\"id\":\"b\",\"title\":\"garden hose\"}\n",
    );
    let out = env.path("hits.csv");
    let r = env.run(&["sweep", s(&cat), "--all", "--out", s(&out)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let headers = rows.headers().unwrap().clone();
    assert_eq!(&headers[0], "listing_id");
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert!(
        rows.iter()
            .any(|r| &r[0] == "a" && &r[3] == "B-1" && &r[1] == "block"),
        "{text}"
    );
    assert!(
        rows.iter().any(|r| &r[0] == "b" && &r[1] == "allow"),
        "{text}"
    );
}

/// The fixture catalog's first listings as a Parquet file (lists as list<utf8> columns).
fn parquet_catalog(env: &Env, n: usize) -> (std::path::PathBuf, std::path::PathBuf) {
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let text = std::fs::read_to_string(fixture("catalog.jsonl")).unwrap();
    let rows: Vec<Value> = text
        .lines()
        .take(n)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let strs = |k: &str| -> ArrayRef {
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r[k].as_str().map(str::to_string)),
        ))
    };
    let mut models = ListBuilder::new(StringBuilder::new());
    for r in &rows {
        for m in r["models"].as_array().into_iter().flatten() {
            models.values().append_value(m.as_str().unwrap());
        }
        models.append(true);
    }
    let price: ArrayRef = Arc::new(Float64Array::from_iter(
        rows.iter().map(|r| r["price"].as_f64()),
    ));
    let batch = RecordBatch::try_from_iter(vec![
        ("id", strs("id")),
        ("title", strs("title")),
        ("description", strs("description")),
        ("brand", strs("brand")),
        ("models", Arc::new(models.finish()) as ArrayRef),
        ("price", price),
        ("market", strs("market")),
    ])
    .unwrap();
    let path = env.path("catalog.parquet");
    let f = std::fs::File::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    // The same listings with the same fields, as JSON Lines.
    let keep = [
        "id",
        "title",
        "description",
        "brand",
        "models",
        "price",
        "market",
    ];
    let mut lines = String::new();
    for r in &rows {
        let o: serde_json::Map<String, Value> = keep
            .iter()
            .filter(|k| !r[**k].is_null())
            .map(|k| (k.to_string(), r[*k].clone()))
            .collect();
        lines.push_str(&Value::Object(o).to_string());
        lines.push('\n');
    }
    let jsonl = env.write("catalog-part.jsonl", lines);
    (path, jsonl)
}

#[test]
fn parquet_catalogs_in_and_parquet_results_out() {
    let env = Env::new();
    env.ingest_fixtures();
    let (pq, jsonl) = parquet_catalog(&env, 400);
    let from_pq = env.run(&["sweep", s(&pq)]);
    assert_eq!(from_pq.code, 0, "{}", from_pq.stderr);
    let from_jsonl = env.run(&["sweep", s(&jsonl)]);
    assert!(!from_jsonl.stdout.is_empty());
    let first_difference = from_pq
        .stdout
        .lines()
        .zip(from_jsonl.stdout.lines())
        .find(|(a, b)| a != b);
    assert!(first_difference.is_none(), "{first_difference:?}");
    assert_eq!(
        from_pq.stdout.lines().count(),
        from_jsonl.stdout.lines().count()
    );

    let out = env.path("hits.parquet");
    let r = env.run(&["sweep", s(&jsonl), "--out", s(&out)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = std::fs::File::open(&out).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    let csv_out = env.path("hits.csv");
    assert_eq!(env.run(&["sweep", s(&jsonl), "--out", s(&csv_out)]).code, 0);
    let csv_rows = std::fs::read_to_string(&csv_out).unwrap().lines().count() - 1;
    assert!(rows > 0);
    assert_eq!(rows, csv_rows);
    let r = env.run(&["sweep", s(&jsonl), "--out", s(&out), "--resume"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("Parquet"), "{}", r.stderr);
}

#[test]
fn cpsc_feeds_ingest_with_models_from_prose() {
    let env = Env::new();
    let feed = fixture("cpsc_recalls.json");
    let r = env.run(&["ingest", s(&feed)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Cpsc feed: 2 records, 3 model numbers, 1 valid GTINs"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("field `gtins`: '123'"), "{}", r.stderr);
    let (code, res) = check(
        &env,
        r#"{"id":"L","title":"BW1500H heater 1500W","market":"US"}"#,
    );
    assert_eq!(
        (code, res["matches"][0]["banned_id"].as_str()),
        (1, Some("CPSC-26901"))
    );
    // Bans from a US regulator apply to the US market (and listings with no market).
    let (_, res) = check(
        &env,
        r#"{"id":"L","title":"BW1500H heater 1500W","market":"KR"}"#,
    );
    assert_eq!(res["decision"], "allow");
    let error = env.write(
        "error.json",
        r#"[{"RecallID":0,"RecallNumber":null,"Title":"Error retrieving Recalls: down"}]"#,
    );
    let r = env.run(&["ingest", "--format", "cpsc", s(&error)]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("CPSC API answered with an error"),
        "{}",
        r.stderr
    );
}

/// The real CPSC records beside the repository (`../shared`), when they are there.
#[test]
fn real_cpsc_records_ingest_without_loss() {
    let root = common::repo().join("../shared/data/recalls");
    if !root.exists() {
        eprintln!("skipped: {} is not here", root.display());
        return;
    }
    for (file, count) in [
        ("cpsc-second-look/recalls.json", 885),
        ("cpsc-python-samples-2013/cpsc_recalls.json", 50),
    ] {
        let env = Env::new();
        let r = env.run(&["ingest", s(&root.join(file))]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("{count} added, 0 replaced, 0 rejected")),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn health_canada_and_safetykorea_feeds_ingest() {
    let env = Env::new();
    let r = env.run(&[
        "ingest",
        s(&fixture("healthcanada_recalls.json")),
        s(&fixture("safetykorea_recalls.json")),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("HealthCanada feed: 2 records"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("SafetyKorea feed: 2 records, 3 model numbers, 1 valid GTINs"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("4 added"), "{}", r.stderr);
    let (code, res) = check(
        &env,
        r#"{"id":"L","title":"아쿠아키즈 물놀이 튜브 AK310 특가","market":"KR"}"#,
    );
    assert_eq!(
        (code, res["matches"][0]["banned_id"].as_str()),
        (1, Some("KATS-7001"))
    );
    let q = env.run(&["query", "SplashSafe bath seat", "--format", "json"]);
    let hit = &q.json_lines()[0];
    assert_eq!(hit["banned_id"], "HC-90101");
    assert_eq!(
        hit["url"],
        "https://recalls-rappels.canada.ca/en/alert-recall/toddler-bath-seats-recalled-due-drowning-hazard"
    );
    let err = env.write(
        "kats-error.json",
        r#"{"resultCode":"4010","resultMsg":"Invalid AuthKey","resultData":[]}"#,
    );
    let r = env.run(&["ingest", "--format", "safetykorea", s(&err)]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("Invalid AuthKey"), "{}", r.stderr);
}

#[test]
fn safety_gate_and_consumer24_xml_feeds_ingest() {
    let env = Env::new();
    let r = env.run(&[
        "ingest",
        s(&fixture("safetygate_weekly.xml")),
        s(&fixture("consumer24_recalls.xml")),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("SafetyGate feed: 2 records, 3 model numbers, 1 valid GTINs"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("Consumer24 feed: 1 records, 1 model numbers, 0 valid GTINs"),
        "{}",
        r.stderr
    );
    let (code, res) = check(
        &env,
        r#"{"id":"L","title":"GlitterGoo slime kit gg460","market":"FR"}"#,
    );
    assert_eq!(
        (code, res["matches"][0]["banned_id"].as_str()),
        (1, Some("EU-SR/09001/26"))
    );
    // An EU alert does not apply in Korea; the Consumer24 recall does.
    let (_, res) = check(
        &env,
        r#"{"id":"L","title":"GlitterGoo slime kit gg460","market":"KR"}"#,
    );
    assert_eq!(res["decision"], "allow");
    let (code, _) = check(
        &env,
        r#"{"id":"L","title":"씽씽라이드 어린이 전동 킥보드 SR77","market":"KR"}"#,
    );
    assert_eq!(code, 1);
    let q = env.run(&["query", "--model", "GG-450", "--format", "json"]);
    let hit = &q.json_lines()[0];
    assert!(
        hit["title"].as_str().unwrap().contains("GlitterGoo"),
        "{hit}"
    );
    let err = env.write("c24.xml", "<selectCntntsForOpenAPIResponse><channel><return><code>30</code><codeMsg>SERVICE KEY IS NOT REGISTERED</codeMsg></return></channel></selectCntntsForOpenAPIResponse>");
    let r = env.run(&["ingest", s(&err)]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("SERVICE KEY IS NOT REGISTERED"),
        "{}",
        r.stderr
    );
    let broken = env.write(
        "sg.xml",
        "<Safety-Gate><notifications><name>x</notifications>",
    );
    let r = env.run(&["ingest", "--format", "safetygate", s(&broken)]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("sg.xml"), "{}", r.stderr);
}

#[test]
fn accc_rss_recalls_ingest_from_their_html_fields() {
    let env = Env::new();
    let r = env.run(&["ingest", s(&fixture("accc_recalls.rss"))]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Accc feed: 1 records, 1 model numbers, 1 valid GTINs"),
        "{}",
        r.stderr
    );
    let q = env.run(&["query", "--model", "SD-BS-410", "--format", "json"]);
    let hit = &q.json_lines()[0];
    assert_eq!(hit["banned_id"], "ACCC-2026/22001");
    assert_eq!(hit["jurisdictions"], serde_json::json!(["AU"]));
    let (code, _) = check(
        &env,
        r#"{"id":"L","title":"baby bath seat sdbs410 suction","market":"AU"}"#,
    );
    assert_eq!(code, 1);
}

/// A photo-like test image: gradients and a few shapes, deterministic per seed.
fn photo(seed: u32, w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let s = seed as f32;
        let r = (128.0 + 100.0 * ((fx * 6.0 + s).sin() * (fy * 3.0 + s * 0.7).cos())) as u8;
        let g = (128.0 + 90.0 * ((fx * 2.0 - fy * 5.0 + s * 1.3).sin())) as u8;
        let inside = (fx - 0.3 - 0.05 * s % 0.4).powi(2) + (fy - 0.6).powi(2) < 0.04;
        let b = if inside {
            230
        } else {
            (60.0 + 120.0 * fy) as u8
        };
        image::Rgb([r, g, b])
    })
}

#[test]
fn photos_are_evidence_even_under_unrelated_text() {
    let env = Env::new();
    let original = photo(3, 640, 480);
    original.save(env.path("banned-photo.png")).unwrap();
    let f = env.write(
        "banned.jsonl",
        r#"{"id":"P-1","title":"Kiddo night light lamp KL-2000","images":["banned-photo.png"]}
{"id":"P-2","title":"Garden hose reel","images":["missing.png"]}
"#,
    );
    let r = env.run(&["ingest", s(&f)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("image 'missing.png'"), "{}", r.stderr);
    // The same photo, resized and re-encoded as JPEG, under a title that shares nothing.
    let copy = env.path("relisted.jpg");
    image::DynamicImage::ImageRgb8(original.clone())
        .resize(400, 300, image::imageops::FilterType::Triangle)
        .to_rgb8()
        .save(&copy)
        .unwrap();
    let listing = format!(
        r#"{{"id":"L-1","title":"cute bedroom decor","images":["{}"]}}"#,
        s(&copy)
    );
    let (code, res) = check(&env, &listing);
    assert_eq!(res["matches"][0]["banned_id"], "P-1", "{res}");
    assert_eq!(code, 1, "{res}");
    let reasons = res["matches"][0]["reasons"].to_string();
    assert!(
        reasons.contains("photo 1 matches a banned photo"),
        "{reasons}"
    );
    assert!(
        res["matches"][0]["signals"]["image_distance"]
            .as_u64()
            .unwrap()
            <= 4,
        "{res}"
    );
    // Mirrored: found through the rotations and flips of the query.
    let mirrored = env.path("mirrored.png");
    image::imageops::flip_horizontal(&original)
        .save(&mirrored)
        .unwrap();
    let listing = format!(
        r#"{{"id":"L-2","title":"cute bedroom decor","images":["{}"]}}"#,
        s(&mirrored)
    );
    assert_eq!(check(&env, &listing).1["matches"][0]["banned_id"], "P-1");
    // Precomputed hashes instead of pixels, as `relist hash` prints them.
    let h = env.run(&["hash", s(&copy)]);
    let hv = &h.json_lines()[0];
    let listing = format!(
        r#"{{"id":"L-3","title":"cute bedroom decor","image_hashes":[{{"algo":"dhash","hash":{}}},{{"algo":"phash","hash":{}}}]}}"#,
        hv["dhash"], hv["phash"]
    );
    assert_eq!(check(&env, &listing).1["matches"][0]["banned_id"], "P-1");
    // Another photo: no photo evidence.
    let other = env.path("other.png");
    photo(11, 640, 480).save(&other).unwrap();
    let listing = format!(
        r#"{{"id":"L-4","title":"cute bedroom decor","images":["{}"]}}"#,
        s(&other)
    );
    assert_eq!(check(&env, &listing).1["decision"], "allow");
    // A broken photo is reported with the listing, which is still judged on its text.
    let broken = env.write("broken.jpg", [0xff, 0xd8, 0xff, 0xe0, 0, 16]);
    let listing = format!(
        r#"{{"id":"L-5","title":"Kiddo night light lamp KL-2000","images":["{}"]}}"#,
        s(&broken)
    );
    let (code, res) = check(&env, &listing);
    assert_eq!(
        (code, res["matches"][0]["banned_id"].as_str()),
        (1, Some("P-1"))
    );
    assert!(
        res["error"].as_str().unwrap().contains("broken.jpg"),
        "{res}"
    );
}

#[test]
fn feed_photos_downloaded_beside_are_hashed_by_file_name() {
    let env = Env::new();
    std::fs::create_dir(env.path("photos")).unwrap();
    let original = photo(5, 500, 500);
    original.save(env.path("photos/BW1500H.jpg")).unwrap();
    let r = env.run(&[
        "ingest",
        s(&fixture("cpsc_recalls.json")),
        "--images",
        s(&env.path("photos")),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let copy = env.path("listing.png");
    image::imageops::flip_horizontal(&original)
        .save(&copy)
        .unwrap();
    let listing = format!(
        r#"{{"id":"L","title":"warm heater for the office","images":["{}"]}}"#,
        s(&copy)
    );
    let (_, res) = check(&env, &listing);
    assert_eq!(res["matches"][0]["banned_id"], "CPSC-26901", "{res}");
    assert!(
        res["matches"][0]["reasons"]
            .to_string()
            .contains("photo 1 matches"),
        "{res}"
    );
}

/// Every match of `check`, `sweep`, `query` and the catalog query carries its evidence as typed
/// items, and its reasons are exactly those items rendered.
#[test]
fn every_match_carries_the_evidence_its_reasons_are_rendered_from() {
    use relist::matching::evidence::{Evidence, Voice, reasons};
    let env = setup();
    let listings = env.write(
        "listings.jsonl",
        r#"{"id":"L-1","title":"Vоltmаx hb 2210x portable charger"}
{"id":"L-2","title":"Sony Bravia KDL-46V4100 46-inch LCD HDTV"}
{"id":"L-3","title":"sleep gummies melatonin 5mg","market":"KR"}
{"id":"L-4","title":"power bank","gtins":["036000291452"]}
"#,
    );
    let check_all = |m: &Value, voice: Voice| {
        let items: Vec<Evidence> =
            serde_json::from_value(m["evidence"].clone()).unwrap_or_else(|e| panic!("{e}: {m}"));
        assert!(!items.is_empty(), "{m}");
        assert!(
            m["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["kind"].is_string()),
            "{m}"
        );
        let rendered: Vec<Value> = reasons(&items, voice)
            .into_iter()
            .map(Value::from)
            .collect();
        assert_eq!(m["reasons"].as_array().unwrap(), &rendered, "{m}");
    };
    let mut seen = 0;
    let r = env.run(&["sweep", s(&listings), "--all"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for res in r.json_lines() {
        for m in res["matches"].as_array().unwrap() {
            check_all(m, Voice::BANNED);
            seen += 1;
        }
    }
    assert!(seen >= 3, "{}", r.stdout);
    let kinds: Vec<String> = r
        .json_lines()
        .iter()
        .flat_map(|res| res["matches"].as_array().unwrap().clone())
        .flat_map(|m| m["evidence"].as_array().unwrap().clone())
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    for k in ["model", "gtin", "term", "shared_words"] {
        assert!(kinds.iter().any(|x| x == k), "no `{k}` item in {kinds:?}");
    }
    let (_, res) = check(
        &env,
        r#"{"id":"L-1","title":"Vоltmаx hb 2210x portable charger"}"#,
    );
    check_all(&res["matches"][0], Voice::BANNED);
    let r = env.run(&["query", "hb-2210x", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    check_all(&r.json_lines()[0], Voice::BANNED);
    // The catalog query, by a banned record and by an ad-hoc text (then the other side is the
    // query).
    let r = env.run(&["catalog", "index", s(&listings), "--catalog", "cat"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = env.run(&[
        "query",
        "--catalog",
        "cat",
        "--banned",
        "B-1",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = r.json_lines();
    assert!(!hits.is_empty(), "{}", r.stdout);
    for h in &hits {
        check_all(h, Voice::BANNED);
    }
    let r = env.run(&[
        "query",
        "--catalog",
        "cat",
        "VoltMax HB-2210X",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = r.json_lines();
    assert!(!hits.is_empty(), "{}", r.stdout);
    for h in &hits {
        check_all(h, Voice::QUERY);
        assert!(h["reasons"].to_string().contains("queried"), "{h}");
    }
}

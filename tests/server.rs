//! `relist serve` end to end: the real binary on a loopback port, spoken to over plain
//! HTTP/1.1 by a minimal client (no HTTP client dependency).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::http::{Server, http, http_typed};
use common::{Env, s};
use serde_json::{Value, json};

const BANNED: &str = r#"{"id":"B-1","title":"VoltMax HB-2210X 20000mAh Portable Power Bank","brand":"VoltMax","models":["HB-2210X"],"gtins":["036000291452"],"source":"CPSC","hazard":"fire"}
{"id":"B-2","title":"Sony Bravia KDL-40V4100 40-inch LCD HDTV","brand":"Sony","models":["KDL-40V4100"],"source":"CPSC"}
{"id":"T-1","kind":"term","title":"Melatonin (prescription-only in KR)","terms":["melatonin","멜라토닌","褪黑素"],"jurisdictions":["KR"],"source":"KFTC"}
"#;

const RELISTING: &str = r#"{"id":"L-1","title":"Vоltmаx hb 2210x portable charger"}"#;

fn setup() -> Env {
    let env = Env::new();
    let f = env.write("banned.jsonl", BANNED);
    let r = env.run(&["ingest", s(&f)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    env
}

#[test]
fn check_blocks_a_relisting_like_the_cli() {
    let env = setup();
    let srv = Server::start(&env, &[], &[]);
    let r = srv.post("/v1/check", RELISTING);
    assert_eq!(r.status, 200, "{}", r.body);
    let res = r.json();
    assert_eq!(res["listing_id"], "L-1");
    assert_eq!(res["decision"], "block");
    assert_eq!(res["matches"][0]["banned_id"], "B-1");
    assert!(
        res["matches"][0]["evidence"][0]["kind"].is_string(),
        "{res}"
    );
    // The same JSON as `relist check` prints.
    let cli = env.run_with(&["check"], Some(RELISTING), &[]);
    assert_eq!(cli.code, 1, "{}", cli.stderr);
    assert_eq!(cli.json_lines()[0], res);

    let r = srv.post("/v1/check", r#"{"id":"L-2","title":"garden hose 20 m"}"#);
    assert_eq!(
        (r.status, r.json()["decision"].clone()),
        (200, json!("allow"))
    );
}

#[test]
fn batch_answers_in_order_with_bad_items_marked() {
    let env = setup();
    let srv = Server::start(&env, &[], &[]);
    let body = json!([
        {"id": "a", "title": "garden hose"},
        {"id": "b"},
        {"id": "c", "title": "VoltMax HB-2210X"},
        {"id": "d", "title": "Sleep gummies m e l a t o n i n 5mg", "market": "KR"},
    ]);
    let r = srv.post("/v1/check/batch", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    let out = r.json();
    let out = out.as_array().unwrap();
    let ids: Vec<&str> = out
        .iter()
        .map(|r| r["listing_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    assert_eq!(out[0]["decision"], "allow");
    assert!(out[1]["error"].as_str().unwrap().contains("`title`"));
    assert_eq!(out[2]["decision"], "block");
    assert_eq!(out[3]["matches"][0]["banned_id"], "T-1");
    let r = srv.post("/v1/check/batch", r#"{"id":"a","title":"x"}"#);
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));
}

#[test]
fn banned_records_are_written_read_queried_and_removed() {
    let env = setup();
    let srv = Server::start(&env, &[], &[]);
    let r = srv.get("/v1/banned/B-2");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["models"], json!(["KDL-40V4100"]));
    let r = srv.get("/v1/banned/NOPE");
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));

    // A JSON array: one new, one replacing, one rejected.
    let body = json!([
        {"id": "N-1", "title": "Kidzy Loop baby sling carrier", "brand": "Kidzy", "models": ["KZ-7781"], "source": "EU-SafetyGate"},
        {"id": "B-2", "title": "Sony Bravia KDL-40V4100 40-inch LCD HDTV (2009)", "models": ["KDL-40V4100"], "source": "CPSC"},
        {"id": "N-bad"},
    ]);
    let r = srv.post("/v1/banned", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    let rep = r.json();
    assert_eq!(
        (
            rep["added"].clone(),
            rep["replaced"].clone(),
            rep["rejected"].clone()
        ),
        (json!(1), json!(1), json!(1))
    );
    assert_eq!(rep["errors"][0]["item"], 3);
    assert!(
        rep["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("`title`")
    );
    assert_eq!(
        srv.get("/v1/banned/B-2").json()["title"],
        "Sony Bravia KDL-40V4100 40-inch LCD HDTV (2009)"
    );

    // JSON Lines, with a bad line reported by number.
    let lines = "{\"id\":\"N-2\",\"title\":\"Aqua Glow bath seat AG-220\",\"models\":[\"AG-220\"]}\n{broken\n";
    let r = srv.post("/v1/banned", lines);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.json()["added"].clone(),
            r.json()["errors"][0]["item"].clone()
        ),
        (json!(1), json!(2))
    );
    // Strict: nothing written when a line is bad.
    let r = srv.post(
        "/v1/banned?strict=true",
        "{\"id\":\"N-3\",\"title\":\"Strict one\"}\n{\"id\":\"N-4\"}\n",
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_record"),
        "{}",
        r.body
    );
    assert_eq!(r.json()["details"][0]["item"], 2);
    assert_eq!(srv.get("/v1/banned/N-3").status, 404);

    // Query: the semantics of `relist query`.
    let r = srv.get("/v1/query?model=kz7781&limit=3");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()[0]["banned_id"], "N-1");
    let r = srv.get("/v1/query?text=baby%20sling&source=cpsc");
    assert!(
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["source"] == "CPSC"),
        "{}",
        r.body
    );
    let r = srv.get("/v1/query?gtin=036000291452");
    assert_eq!(r.json()[0]["banned_id"], "B-1");
    // Filters alone (or nothing) list the banned records, newest recall first.
    let r = srv.get("/v1/query?limit=3");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json().as_array().map(Vec::len), Some(3), "{}", r.body);
    assert_eq!(r.json()[0]["rank"], 1);
    assert!(r.json()[0].get("decision").is_none(), "{}", r.body);
    let r = srv.get("/v1/query?text=x&colour=red");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));

    // Remove: gone for checks and reads; a second remove is 404.
    assert_eq!(
        srv.post("/v1/check", r#"{"id":"x","title":"Kidzy KZ-7781 sling"}"#)
            .json()["decision"],
        "block"
    );
    let r = srv.req("DELETE", "/v1/banned/N-1", None, "");
    assert_eq!((r.status, r.json()["removed"].clone()), (200, json!("N-1")));
    assert_eq!(srv.get("/v1/banned/N-1").status, 404);
    assert_ne!(
        srv.post("/v1/check", r#"{"id":"x","title":"Kidzy KZ-7781 sling"}"#)
            .json()["decision"],
        "block"
    );
    let r = srv.req("DELETE", "/v1/banned/N-1", None, "");
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
}

#[test]
fn ops_endpoints_health_ready_metrics_openapi() {
    let env = setup();
    let srv = Server::start(&env, &[], &[]);
    assert_eq!(srv.get("/healthz").json()["status"], "ok");
    let r = srv.get("/readyz");
    assert_eq!((r.status, r.json()["records"].clone()), (200, json!(3)));
    assert_eq!(srv.post("/v1/check", RELISTING).status, 200);

    let m = srv.get("/metrics");
    assert_eq!(m.status, 200);
    for needle in [
        "relist_http_requests_total{route=\"/v1/check\",method=\"POST\",status=\"200\"} 1",
        "relist_http_request_duration_seconds_bucket{route=\"/v1/check\",le=\"+Inf\"} 1",
        "relist_decisions_total{decision=\"block\"} 1",
        "relist_index_records_total 3",
    ] {
        assert!(m.body.contains(needle), "{needle} not in\n{}", m.body);
    }

    let doc = srv.get("/openapi.json");
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    for p in [
        "/v1/check",
        "/v1/check/batch",
        "/v1/banned",
        "/v1/banned/{id}",
        "/v1/query",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            doc["paths"].get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"].get("CheckResult").is_some());

    let r = srv.get("/nowhere");
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
    let r = srv.req("PUT", "/v1/check", None, "");
    assert_eq!((r.status, r.code().as_str()), (405, "method_not_allowed"));
}

#[test]
fn tokens_gate_checks_and_writes() {
    let env = setup();
    let srv = Server::start(
        &env,
        &["--check-token", "chk-1"],
        &[("RELIST_ADMIN_TOKENS", "adm-1, adm-2")],
    );
    let check = |token: Option<&str>| srv.req("POST", "/v1/check", token, RELISTING);
    let r = check(None);
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    let r = check(Some("chk-2"));
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    assert_eq!(check(Some("chk-1")).status, 200);
    assert_eq!(check(Some("adm-2")).status, 200);
    assert_eq!(srv.req("GET", "/v1/banned/B-1", None, "").status, 401);
    assert_eq!(
        srv.req("GET", "/v1/banned/B-1", Some("chk-1"), "").status,
        200
    );
    assert_eq!(srv.get("/metrics").status, 401);

    let rec = r#"[{"id":"N-9","title":"Tokened thing"}]"#;
    let r = srv.req("POST", "/v1/banned", Some("chk-1"), rec);
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = srv.req("DELETE", "/v1/banned/B-1", Some("chk-1"), "");
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = srv.req("POST", "/v1/banned", None, rec);
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    let r = srv.req("POST", "/v1/banned", Some("adm-1"), rec);
    assert_eq!(r.status, 200, "{}", r.body);

    // Health, readiness and the document stay open.
    assert_eq!(srv.get("/healthz").status, 200);
    assert_eq!(srv.get("/readyz").status, 200);
    assert_eq!(srv.get("/openapi.json").status, 200);
}

#[test]
fn oversized_and_malformed_bodies_are_refused_with_codes() {
    let env = setup();
    let srv = Server::start(
        &env,
        &["--max-body-bytes", "16384", "--max-batch", "2"],
        &[],
    );
    let big = format!(r#"{{"id":"L","title":"{}"}}"#, "x".repeat(40_000));
    let r = srv.post("/v1/check", &big);
    assert_eq!(
        (r.status, r.code().as_str()),
        (413, "payload_too_large"),
        "{}",
        r.body
    );

    let long_title = format!(r#"{{"id":"L","title":"{}"}}"#, "y".repeat(5000));
    let r = srv.post("/v1/check", &long_title);
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_record"),
        "{}",
        r.body
    );
    assert!(r.json()["message"].as_str().unwrap().contains("`title`"));

    let r = srv.post("/v1/check", r#"{"id": "L", "title": "#);
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("invalid JSON")
    );
    let r = srv.post("/v1/check", r#"{"id":"L","title":"ok","market":"Korea"}"#);
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_record"));
    let r = srv.post("/v1/check", "[]");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));

    let three = r#"[{"id":"a","title":"x"},{"id":"b","title":"y"},{"id":"c","title":"z"}]"#;
    let r = srv.post("/v1/check/batch", three);
    assert_eq!((r.status, r.code().as_str()), (413, "payload_too_large"));

    let r = srv.post("/v1/banned", "[{\"id\":\"x\"}]");
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_record"));
    assert_eq!(r.json()["details"][0]["item"], 1);
    let r = srv.post("/v1/banned", "   ");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));

    // Listings never make the server read a file or fetch an address.
    let r = srv.post(
        "/v1/check",
        r#"{"id":"L","title":"VoltMax HB-2210X","images":["/etc/shadow","http://169.254.169.254/latest"]}"#,
    );
    assert_eq!(
        (r.status, r.json()["decision"].clone()),
        (200, json!("block"))
    );
}

#[test]
fn a_write_during_a_stream_of_checks_fails_none_and_shows_at_once() {
    let env = setup();
    let srv = Server::start(&env, &[], &[]);
    let addr = srv.addr.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..3 {
        let (addr, stop, done) = (addr.clone(), stop.clone(), done.clone());
        workers.push(std::thread::spawn(move || {
            let mut failures = Vec::new();
            let start = Instant::now();
            while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(60) {
                let body = format!(r#"{{"id":"S-{w}","title":"VoltMax HB-2210X power bank"}}"#);
                let r = http(&addr, "POST", "/v1/check", None, body.as_bytes());
                if r.status != 200 || r.json()["decision"] != "block" {
                    failures.push(format!("{} {}", r.status, r.body));
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            failures
        }));
    }
    while done.load(Ordering::Relaxed) < 10 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let rec = r#"{"id":"LIVE-1","title":"Zephyrion ZX-4410 electric scooter","brand":"Zephyrion","models":["ZX-4410"]}"#;
    let r = srv.post("/v1/banned", rec);
    assert_eq!(r.status, 200, "{}", r.body);
    // Visible to the very next check.
    let r = srv.post(
        "/v1/check",
        r#"{"id":"L-z","title":"Zephyrion zx 4410 scooter"}"#,
    );
    assert_eq!(r.json()["decision"], "block", "{}", r.body);
    assert_eq!(r.json()["matches"][0]["banned_id"], "LIVE-1");
    let before = done.load(Ordering::Relaxed);
    while done.load(Ordering::Relaxed) < before + 10 {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(failures.is_empty(), "failed checks: {failures:?}");
}

#[test]
fn restart_on_the_same_index_keeps_acknowledged_writes() {
    let env = setup();
    let srv = Server::start(&env, &[], &[]);
    let r = srv.post(
        "/v1/banned",
        r#"{"id":"KEEP-1","title":"Durable Duck bath toy DD-12","models":["DD-12"]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = srv.req("DELETE", "/v1/banned/B-2", None, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let status = srv.stop();
    assert!(
        status.success(),
        "SIGTERM should drain and exit 0: {status:?}"
    );

    let srv = Server::start(&env, &[], &[]);
    let r = srv.get("/v1/banned/KEEP-1");
    assert_eq!(
        (r.status, r.json()["models"].clone()),
        (200, json!(["DD-12"]))
    );
    assert_eq!(srv.get("/v1/banned/B-2").status, 404);
    assert_eq!(srv.get("/readyz").json()["records"], 3);
}

#[test]
fn refuses_a_public_address_without_tokens() {
    let env = setup();
    let r = env.run(&["serve", "--addr", "0.0.0.0:0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let msg = r.stderr.trim();
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert!(
        msg.contains("refusing to listen on 0.0.0.0:0 without tokens"),
        "{msg}"
    );
}

#[test]
fn a_missing_index_is_refused_unless_asked_to_create() {
    let env = Env::new();
    let r = env.run(&["serve", "--addr", "127.0.0.1:0"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no index here yet"), "{}", r.stderr);
    let srv = Server::start(&env, &["--create"], &[]);
    assert_eq!(srv.get("/readyz").json()["records"], 0);
    let r = srv.post("/v1/banned", r#"{"id":"F-1","title":"First record"}"#);
    assert_eq!(r.json()["added"], 1, "{}", r.body);
}

/// Opens a request whose body never finishes arriving: it holds its place in flight.
fn hold_open(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /v1/check HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 100\r\n\
         Content-Type: application/json\r\nConnection: close\r\n\r\n{{\"id\":"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

/// Waits until the server counts `n` API requests in flight (metrics are outside the limit).
fn wait_in_flight(srv: &Server, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let want = format!("relist_http_in_flight {n}\n");
    while !srv.get("/metrics").body.contains(&want) {
        assert!(Instant::now() < deadline, "never {n} in flight");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn overload_is_shed_with_503_and_slow_requests_time_out() {
    let env = setup();
    let srv = Server::start(&env, &["--max-in-flight", "1", "--timeout-ms", "3000"], &[]);
    let slow = hold_open(&srv.addr);
    wait_in_flight(&srv, 1);
    // The held request takes the only place: the next is shed at once, not queued.
    let shed = srv.post("/v1/check", RELISTING);
    assert_eq!((shed.status, shed.code().as_str()), (503, "overloaded"));
    // Health still answers while shedding.
    assert_eq!(srv.get("/healthz").status, 200);
    // The held request runs out of time: 503 timeout, and its place is free again.
    let mut slow = slow;
    let mut raw = String::new();
    let _ = slow.read_to_string(&mut raw);
    assert!(raw.starts_with("HTTP/1.1 503"), "{raw}");
    assert!(raw.contains("\"code\":\"timeout\""), "{raw}");
    assert_eq!(srv.post("/v1/check", RELISTING).status, 200);
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_then_exits() {
    let env = setup();
    let srv = Server::start(&env, &[], &[]);
    let body = format!("{:<100}", r#"{"id":"L-d","title":"VoltMax HB-2210X"}"#);
    let mut held = TcpStream::connect(&srv.addr).unwrap();
    let head =
        "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nConnection: close\r\n\r\n";
    held.write_all(head.as_bytes()).unwrap();
    held.write_all(&body.as_bytes()[..10]).unwrap();
    wait_in_flight(&srv, 1);
    let pid = srv.child.as_ref().unwrap().id().to_string();
    let ok = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(ok.success());
    std::thread::sleep(Duration::from_millis(300));
    // Still draining: the held request completes normally.
    held.write_all(&body.as_bytes()[10..]).unwrap();
    let mut raw = String::new();
    held.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("\"decision\":\"block\""), "{raw}");
    let status = srv.stop_waiting();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_stuck_connection_does_not_keep_the_server_alive() {
    let env = setup();
    let srv = Server::start(&env, &["--drain-ms", "500", "--timeout-ms", "60000"], &[]);
    let _stuck = hold_open(&srv.addr);
    wait_in_flight(&srv, 1);
    let start = Instant::now();
    let status = srv.stop();
    assert!(status.success(), "{status:?}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn the_openapi_document_is_whole() {
    let env = setup();
    let srv = Server::start(&env, &[], &[]);
    let doc = srv.get("/openapi.json").body;
    let parsed: Value = serde_json::from_str(&doc).unwrap();
    let schemas = parsed["components"]["schemas"].as_object().unwrap();
    // Every reference resolves.
    for part in doc.split("\"#/components/schemas/").skip(1) {
        let name = &part[..part.find('"').unwrap()];
        assert!(
            schemas.contains_key(name),
            "{name} is referenced but not defined"
        );
    }
    let strict = &parsed["paths"]["/v1/banned"]["post"]["parameters"][0];
    assert_eq!(
        (strict["name"].clone(), strict["in"].clone()),
        (json!("strict"), json!("query"))
    );
    assert_eq!(
        parsed["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Photos: JSON with inline photos, or a form.
    let content = &parsed["paths"]["/v1/check"]["post"]["requestBody"]["content"];
    assert!(content.get("multipart/form-data").is_some(), "{content}");
    assert!(schemas.contains_key("InlinePhoto"));
    // The error codes come from the one table, new ones included.
    let about = parsed["info"]["description"].as_str().unwrap();
    for code in [
        "invalid_image (400)",
        "index_busy (503)",
        "overloaded (503)",
    ] {
        assert!(about.contains(code), "{code} missing from: {about}");
    }
}

#[test]
fn commits_by_another_process_are_seen_within_seconds() {
    let env = setup();
    let srv = Server::start(&env, &[], &[]);
    assert_eq!(srv.get("/v1/banned/OUT-1").status, 404);
    let f = env.write(
        "more.jsonl",
        "{\"id\":\"OUT-1\",\"title\":\"Outside Otter night light OT-55\",\"models\":[\"OT-55\"]}\n",
    );
    let r = env.run(&["ingest", s(&f)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let deadline = Instant::now() + Duration::from_secs(10);
    while srv.get("/v1/banned/OUT-1").status != 200 {
        assert!(
            Instant::now() < deadline,
            "an outside commit was never picked up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = srv.post(
        "/v1/check",
        r#"{"id":"L-o","title":"Otter OT-55 night light"}"#,
    );
    assert_eq!(r.json()["matches"][0]["banned_id"], "OUT-1", "{}", r.body);
    assert_ne!(r.json()["decision"], "allow", "{}", r.body);
}

/// A photo-like picture: gradients and a disc, deterministic per seed.
fn picture(seed: u32, w: u32, h: u32) -> image::RgbImage {
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

fn encoded(img: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A `multipart/form-data` body: (part name, file name, bytes) in order.
fn form(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "relist-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match file {
            Some(f) => format!("form-data; name=\"{name}\"; filename=\"{f}\""),
            None => format!("form-data; name=\"{name}\""),
        };
        body.extend_from_slice(format!("Content-Disposition: {disposition}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// An index with P-1, whose photo is `picture(3, 640, 480)`, hashed at ingest.
fn photo_setup() -> (Env, image::RgbImage) {
    let env = setup();
    let original = picture(3, 640, 480);
    original.save(env.path("banned-photo.png")).unwrap();
    let f = env.write(
        "photo.jsonl",
        r#"{"id":"P-1","title":"Kiddo night light lamp KL-2000","images":["banned-photo.png"]}
"#,
    );
    let r = env.run(&["ingest", s(&f)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (env, original)
}

#[test]
fn photos_inline_or_as_multipart_parts_are_evidence() {
    let (env, original) = photo_setup();
    let srv = Server::start(&env, &[], &[]);
    // The banned photo resized and re-encoded as JPEG, under a title that shares nothing.
    let small = image::imageops::resize(&original, 400, 300, image::imageops::FilterType::Triangle);
    let jpeg = encoded(&small, image::ImageFormat::Jpeg);
    let body = json!({"id": "L-p1", "title": "cute bedroom decor",
        "photos": [{"name": "front.jpg", "data": b64(&jpeg)}]});
    let r = srv.post("/v1/check", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    let res = r.json();
    assert_eq!(res["matches"][0]["banned_id"], "P-1", "{res}");
    assert_ne!(res["decision"], "allow", "{res}");
    assert!(
        res["matches"][0]["reasons"]
            .to_string()
            .contains("photo 1 matches a banned photo"),
        "{res}"
    );
    assert!(
        res["matches"][0]["signals"]["image_distance"]
            .as_u64()
            .unwrap()
            <= 4
    );
    // The listing's own `photos` field is not echoed or kept: the result is the usual one.
    assert!(
        res.get("photos").is_none() && res.get("error").is_none(),
        "{res}"
    );

    // A data: URL, and a precomputed hash numbered before it: the photo is number 2.
    let body = json!({"id": "L-p2", "title": "cute bedroom decor",
        "image_hashes": [{"algo": "dhash", "hash": "0123456789abcdef"}, {"algo": "phash", "hash": "fedcba9876543210"}],
        "photos": [{"data": format!("data:image/jpeg;base64,{}", b64(&jpeg))}]});
    let res = srv.post("/v1/check", &body.to_string()).json();
    assert_eq!(res["matches"][0]["banned_id"], "P-1", "{res}");
    assert!(
        res["matches"][0]["reasons"]
            .to_string()
            .contains("photo 2 matches"),
        "{res}"
    );

    // Multipart: the listing as one part, the photo (mirrored: found through the flips) as a file.
    let mirrored = encoded(
        &image::imageops::flip_horizontal(&original),
        image::ImageFormat::Png,
    );
    let listing = br#"{"id":"L-p3","title":"cute bedroom decor"}"#;
    let (ct, body) = form(&[
        ("listing", None, listing),
        ("photo", Some("side.png"), &mirrored),
    ]);
    let r = http_typed(&srv.addr, "POST", "/v1/check", None, &ct, &body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["matches"][0]["banned_id"], "P-1", "{}", r.body);
    assert_eq!(r.json()["listing_id"], "L-p3");

    // Another picture: no photo evidence, and the text alone allows it.
    let other = encoded(&picture(11, 640, 480), image::ImageFormat::Jpeg);
    let (ct, body) = form(&[
        ("listing", None, listing),
        ("photo", Some("other.jpg"), &other),
    ]);
    let r = http_typed(&srv.addr, "POST", "/v1/check", None, &ct, &body);
    assert_eq!(r.json()["decision"], "allow", "{}", r.body);

    // Both at once: the form's files come first, then the listing part's inline photos.
    let listing_inline = json!({"id": "L-p4", "title": "cute bedroom decor",
        "photos": [{"name": "inline.jpg", "data": b64(&jpeg)}]})
    .to_string();
    let (ct, body) = form(&[
        ("listing", None, listing_inline.as_bytes()),
        ("photo", Some("other.jpg"), &other),
    ]);
    let r = http_typed(&srv.addr, "POST", "/v1/check", None, &ct, &body);
    assert_eq!(r.json()["matches"][0]["banned_id"], "P-1", "{}", r.body);
    assert!(r.body.contains("photo 2 matches"), "{}", r.body);

    // In a batch, inline photos count per listing.
    let batch = json!([
        {"id": "b1", "title": "cute bedroom decor", "photos": [{"data": b64(&jpeg)}]},
        {"id": "b2", "title": "cute bedroom decor", "photos": [{"data": b64(&other)}]},
    ]);
    let out = srv.post("/v1/check/batch", &batch.to_string()).json();
    assert_eq!(out[0]["matches"][0]["banned_id"], "P-1", "{out}");
    assert_eq!(out[1]["decision"], "allow", "{out}");
}

#[test]
fn hostile_photos_are_refused_with_stable_codes_and_the_server_goes_on() {
    let (env, original) = photo_setup();
    let srv = Server::start(
        &env,
        &["--max-photos", "2", "--max-photo-bytes", "200000"],
        &[],
    );
    let png = encoded(&original, image::ImageFormat::Png);
    let truncated = png[..png.len() / 2].to_vec();
    let not_an_image = b"<html>this is not a photo</html>".repeat(10);
    let inline = |data: &str| {
        json!({"id": "L-h", "title": "VoltMax HB-2210X", "photos": [{"name": "x.png", "data": data}]})
            .to_string()
    };
    for (what, bytes) in [
        ("truncated", truncated.as_slice()),
        ("not an image", not_an_image.as_slice()),
        (
            "decompression bomb",
            common::png_claiming(50_000, 50_000).as_slice(),
        ),
    ] {
        let r = srv.post("/v1/check", &inline(&b64(bytes)));
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "invalid_image"),
            "{what}: {}",
            r.body
        );
        let msg = r.json()["message"].as_str().unwrap().to_string();
        assert!(msg.starts_with("photo 1 (x.png): "), "{what}: {msg}");
        assert_eq!(msg.lines().count(), 1, "{msg}");
        // The same bytes as a multipart part.
        let (ct, body) = form(&[
            (
                "listing",
                None,
                br#"{"id":"L-h","title":"VoltMax HB-2210X"}"#,
            ),
            ("photo", Some("y.png"), bytes),
        ]);
        let r = http_typed(&srv.addr, "POST", "/v1/check", None, &ct, &body);
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "invalid_image"),
            "{what}"
        );
    }
    let r = srv.post("/v1/check", &inline("@@not base64@@"));
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_image"));
    assert!(r.json()["message"].as_str().unwrap().contains("base64"));

    // Limits: photo count and photo bytes, inline and multipart.
    let small = b64(&encoded(&picture(5, 64, 48), image::ImageFormat::Png));
    let three = json!({"id": "L", "title": "x", "photos": [{"data": small}, {"data": small}, {"data": small}]});
    let r = srv.post("/v1/check", &three.to_string());
    assert_eq!(
        (r.status, r.code().as_str()),
        (413, "payload_too_large"),
        "{}",
        r.body
    );
    let noise: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let r = srv.post("/v1/check", &inline(&b64(&noise)));
    assert_eq!(
        (r.status, r.code().as_str()),
        (413, "payload_too_large"),
        "{}",
        r.body
    );
    assert!(
        r.json()["message"].as_str().unwrap().contains("photos[0]"),
        "{}",
        r.body
    );
    let (ct, body) = form(&[
        ("listing", None, br#"{"id":"L","title":"x"}"#),
        ("photo", Some("big.jpg"), &noise),
    ]);
    let r = http_typed(&srv.addr, "POST", "/v1/check", None, &ct, &body);
    assert_eq!(
        (r.status, r.code().as_str()),
        (413, "payload_too_large"),
        "{}",
        r.body
    );

    // Malformed forms.
    let (ct, body) = form(&[("photo", Some("a.png"), &png[..100])]);
    let r = http_typed(&srv.addr, "POST", "/v1/check", None, &ct, &body);
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "bad_request"),
        "{}",
        r.body
    );
    let (ct, body) = form(&[("listing", None, b"{}"), ("colour", None, b"red")]);
    let r = http_typed(&srv.addr, "POST", "/v1/check", None, &ct, &body);
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "bad_request"),
        "{}",
        r.body
    );
    let r = http_typed(
        &srv.addr,
        "POST",
        "/v1/check",
        None,
        "multipart/form-data",
        b"x",
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "bad_request"),
        "{}",
        r.body
    );

    // In a batch, a hostile photo fails its own item only.
    let batch = json!([
        {"id": "ok", "title": "VoltMax HB-2210X"},
        {"id": "bad", "title": "VoltMax HB-2210X", "photos": [{"data": b64(&common::png_claiming(50_000, 50_000))}]},
    ]);
    let out = srv.post("/v1/check/batch", &batch.to_string()).json();
    assert_eq!(out[0]["decision"], "block", "{out}");
    assert!(
        out[1]["error"].as_str().unwrap().contains("too large"),
        "{out}"
    );

    // And the server goes on.
    let r = srv.post("/v1/check", RELISTING);
    assert_eq!(
        (r.status, r.json()["decision"].clone()),
        (200, json!("block"))
    );
    assert_eq!(srv.get("/healthz").status, 200);
}

#[test]
fn tokens_from_the_config_file_under_env_and_flags() {
    let env = setup();
    let cfg = env.write(
        "serve.toml",
        "[server]\ncheck_tokens = [\"file-chk\"]\nadmin_tokens = [\"file-adm\"]\n",
    );
    let rec = r#"[{"id":"N-8","title":"Filed thing"}]"#;
    let srv = Server::start(&env, &["--config", s(&cfg)], &[]);
    let check = |srv: &Server, t: Option<&str>| srv.req("POST", "/v1/check", t, RELISTING).status;
    assert_eq!(check(&srv, None), 401);
    assert_eq!(check(&srv, Some("file-chk")), 200);
    assert_eq!(
        srv.req("POST", "/v1/banned", Some("file-chk"), rec).status,
        403
    );
    assert_eq!(
        srv.req("POST", "/v1/banned", Some("file-adm"), rec).status,
        200
    );
    drop(srv);

    // The environment replaces the file's check tokens; the file's admin tokens still hold.
    let srv = Server::start(
        &env,
        &["--config", s(&cfg)],
        &[("RELIST_CHECK_TOKENS", "env-chk")],
    );
    assert_eq!(check(&srv, Some("file-chk")), 401);
    assert_eq!(check(&srv, Some("env-chk")), 200);
    assert_eq!(check(&srv, Some("file-adm")), 200);
    drop(srv);

    // A flag replaces both.
    let srv = Server::start(
        &env,
        &["--config", s(&cfg), "--check-token", "flag-chk"],
        &[("RELIST_CHECK_TOKENS", "env-chk")],
    );
    assert_eq!(check(&srv, Some("env-chk")), 401);
    assert_eq!(check(&srv, Some("flag-chk")), 200);
    drop(srv);

    // A misspelt key is a one-line start-up error naming it.
    let bad = env.write("bad.toml", "[server]\ncheck_token = [\"x\"]\n");
    let r = env.run(&["serve", "--addr", "127.0.0.1:0", "--config", s(&bad)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("check_token"), "{}", r.stderr);
}

#[test]
fn a_write_while_another_process_holds_the_writer_is_503_index_busy() {
    let env = setup();
    let srv = Server::start(&env, &[], &[]);
    // What `relist ingest` in another process holds while it writes: tantivy's flock.
    let lock = std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(env.index().join("text/.tantivy-writer.lock"))
        .unwrap();
    lock.lock().unwrap();
    let rec = r#"{"id":"BUSY-1","title":"Busy Bee hair dryer BB-77","models":["BB-77"]}"#;
    let r = srv.post("/v1/banned", rec);
    assert_eq!(
        (r.status, r.code().as_str()),
        (503, "index_busy"),
        "{}",
        r.body
    );
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("another process")
    );
    let r = srv.req("DELETE", "/v1/banned/B-2", None, "");
    assert_eq!(
        (r.status, r.code().as_str()),
        (503, "index_busy"),
        "{}",
        r.body
    );
    // Checks and reads go on meanwhile.
    assert_eq!(srv.post("/v1/check", RELISTING).json()["decision"], "block");
    assert_eq!(srv.get("/v1/banned/B-2").status, 200);
    lock.unlock().unwrap();
    let r = srv.post("/v1/banned", rec);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(srv.get("/v1/banned/BUSY-1").status, 200);
}

//! `relist explain` and `POST /v1/explain` end to end: the real binary in a temporary
//! directory. An explained pair must say exactly what `check` says of that record.

mod common;

use common::http::Server;
use common::{Env, fixture, s};
use serde_json::{Value, json};

/// The fields an explanation shares with a match of `check`.
const SAME: [&str; 6] = [
    "banned_id",
    "score",
    "decision",
    "reasons",
    "evidence",
    "signals",
];

fn fixtures_env() -> Env {
    let env = Env::new();
    env.ingest_fixtures();
    env
}

/// Every `step`-th listing of the fixture catalog, as JSON objects.
fn sample(step: usize) -> Vec<Value> {
    std::fs::read_to_string(fixture("catalog.jsonl"))
        .unwrap()
        .lines()
        .step_by(step)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn jsonl(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

#[test]
fn every_match_sweep_names_is_explained_the_same() {
    let env = fixtures_env();
    let listings = sample(37);
    let cat = env.write("sample.jsonl", jsonl(&listings));
    let r = env.run(&["sweep", s(&cat), "--all"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let results = r.json_lines();
    assert_eq!(results.len(), listings.len());
    let mut pairs = Vec::new();
    let mut expected = Vec::new();
    for (l, res) in listings.iter().zip(&results) {
        assert_eq!(l["id"], res["listing_id"]);
        for m in res["matches"].as_array().unwrap() {
            pairs.push(json!({"banned_id": m["banned_id"], "listing": l}));
            expected.push((res["listing_id"].clone(), m.clone()));
        }
    }
    let flagged = expected
        .iter()
        .filter(|(_, m)| m["decision"] != "allow")
        .count();
    assert!(flagged >= 20, "{flagged} review or block matches");
    let file = env.write("pairs.jsonl", jsonl(&pairs));
    let r = env.run(&["explain", s(&file), "--threads", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = r.json_lines();
    assert_eq!(lines.len(), expected.len());
    for (x, (listing_id, m)) in lines.iter().zip(&expected) {
        assert_eq!(&x["listing_id"], listing_id);
        for k in SAME {
            assert_eq!(x[k], m[k], "{listing_id}: `{k}` of {m} vs {x}");
        }
        assert_eq!(x["named"], true, "{x}");
        assert!(x.get("error").is_none() && x.get("note").is_none(), "{x}");
    }

    // One listing against one record, as `check` prints it: the same again.
    let one = env.write(
        "one.json",
        serde_json::to_string_pretty(&listings[0]).unwrap(),
    );
    let checked = env.run(&["check", s(&one)]);
    let m = &checked.json_lines()[0]["matches"][0];
    let r = env.run(&[
        "explain",
        "--banned",
        m["banned_id"].as_str().unwrap(),
        s(&one),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let x = &r.json_lines()[0];
    for k in SAME {
        assert_eq!(x[k], m[k], "`{k}`");
    }
}

#[test]
fn a_pair_check_does_not_name_is_allowed_with_its_low_score_and_evidence() {
    let env = fixtures_env();
    // A power bank named with its brand, against a banned record of another brand.
    let listing =
        r#"{"id":"L-1","title":"VoltMax 20000mAh portable power bank","brand":"VoltMax"}"#;
    let r = env.run_with(&["check"], Some(listing), &[]);
    let named: Vec<Value> = r.json_lines()[0]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["banned_id"].clone())
        .collect();
    let records: Vec<Value> = std::fs::read_to_string(fixture("banned.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let other = records
        .iter()
        .find(|b| {
            b["brand"].is_string()
                && b["brand"] != "VoltMax"
                && b["jurisdictions"].as_array().is_none_or(|j| j.is_empty())
                && !named.contains(&b["id"])
        })
        .expect("a record of another brand");
    let id = other["id"].as_str().unwrap();
    let r = env.run_with(&["explain", "--banned", id, "-"], Some(listing), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let x = &r.json_lines()[0];
    assert_eq!(
        (x["listing_id"].as_str(), x["banned_id"].as_str()),
        (Some("L-1"), Some(id))
    );
    assert_eq!(x["decision"], "allow", "{x}");
    assert_eq!(x["named"], false, "{x}");
    assert!(x["score"].as_f64().unwrap() < 0.05, "{x}");
    assert!(x["note"].is_string(), "{x}");
    // The brands disagree: that is evidence, and a reason.
    let evidence = x["evidence"].as_array().unwrap();
    assert!(
        evidence
            .iter()
            .any(|e| e["kind"] == "brand" && e["relation"] == "mismatch"),
        "{x}"
    );
    assert_eq!(
        x["reasons"].as_array().unwrap().len(),
        evidence.len(),
        "{x}"
    );
}

#[test]
fn bad_pairs_are_lines_with_errors_and_the_run_goes_on_to_exit_2() {
    let env = fixtures_env();
    let relisting = json!({"id": "L-1", "title": "Vоltmax hb 2210x portable charger"});
    let pairs = [
        json!({"banned_id": "CPSC-26-0412", "listing": relisting}).to_string(),
        json!({"banned_id": "NOPE-1", "listing": {"id": "L-2", "title": "garden hose"}})
            .to_string(),
        "{not json".to_string(),
        String::new(),
        json!({"banned_id": "CPSC-26-0412", "listing": {"id": "L-5"}}).to_string(),
        json!({"listing": {"id": "L-6", "title": "x"}}).to_string(),
        json!({"banned_id": "CPSC-26-0412", "listing": {"id": "L-7", "title": "garden hose"}})
            .to_string(),
    ];
    let text = pairs.join("\n") + "\n";
    let file = env.write("pairs.jsonl", &text);
    // A file, then stdin: the same lines, named by the file or `-`.
    for (args, stdin, name) in [
        (vec!["explain", s(&file)], None, s(&file).to_string()),
        (vec!["explain", "-"], Some(text.as_str()), "-".to_string()),
        (vec!["explain"], Some(text.as_str()), "-".to_string()),
    ] {
        let r = env.run_with(&args, stdin, &[]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("{name}: 4 of 6 pairs could not be explained")),
            "{}",
            r.stderr
        );
        let lines = r.json_lines();
        assert_eq!(lines.len(), 6, "{}", r.stdout);
        assert_eq!(lines[0]["decision"], "block", "{}", lines[0]);
        assert_eq!(lines[0]["banned_id"], "CPSC-26-0412");
        let err = |i: usize| lines[i]["error"].as_str().unwrap_or_default().to_string();
        assert_eq!(
            (
                lines[1]["listing_id"].as_str(),
                lines[1]["banned_id"].as_str(),
                lines[1]["line"].as_u64()
            ),
            (Some("L-2"), Some("NOPE-1"), Some(2))
        );
        assert_eq!(
            err(1),
            format!("{name}:2: no banned record with id 'NOPE-1'")
        );
        assert_eq!(lines[2]["line"], 3);
        assert!(
            err(2).starts_with(&format!("{name}:3: invalid JSON")),
            "{}",
            err(2)
        );
        assert!(!err(2).contains('\n'));
        assert_eq!(
            (lines[3]["line"].as_u64(), lines[3]["listing_id"].as_str()),
            (Some(5), Some("L-5"))
        );
        assert!(
            err(3).ends_with("field `listing`: field `title` is missing or empty"),
            "{}",
            err(3)
        );
        assert_eq!(lines[4]["line"], 6);
        assert!(err(4).contains("`banned_id`"), "{}", err(4));
        // The run went on past the bad lines.
        assert_eq!(lines[5]["listing_id"], "L-7");
        assert_eq!(lines[5]["decision"], "allow");
        assert!(lines[5].get("error").is_none());
    }
    // --banned with an unknown id: a line per listing, and exit 2.
    let r = env.run_with(
        &["explain", "--banned", "NOPE-1"],
        Some(&relisting.to_string()),
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let x = &r.json_lines()[0];
    assert_eq!(
        (x["listing_id"].as_str(), x["banned_id"].as_str()),
        (Some("L-1"), Some("NOPE-1"))
    );
    assert!(
        x["error"]
            .as_str()
            .unwrap()
            .contains("no banned record with id 'NOPE-1'")
    );
}

#[test]
fn listing_photos_are_read_as_check_reads_them() {
    let env = Env::new();
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([
            (x * 255 / 320) as u8,
            (y * 255 / 240) as u8,
            ((x ^ y) & 0xff) as u8,
        ])
    });
    img.save(env.path("banned.png")).unwrap();
    let b = env.write(
        "b.jsonl",
        r#"{"id":"P-1","title":"Kiddo night light lamp KL-2000","images":["banned.png"]}
"#,
    );
    assert_eq!(env.run(&["ingest", s(&b)]).code, 0);
    std::fs::create_dir(env.path("listings")).unwrap();
    img.save(env.path("listings/photo.png")).unwrap();
    let l = env.write(
        "listings/l.json",
        r#"{"id":"L-1","title":"cute bedroom decor","images":["photo.png"]}"#,
    );
    let checked = env.run(&["check", s(&l)]);
    let m = checked.json_lines()[0]["matches"][0].clone();
    assert_eq!(m["banned_id"], "P-1", "{}", checked.stdout);
    let r = env.run(&["explain", "--banned", "P-1", s(&l)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let x = &r.json_lines()[0];
    for k in SAME {
        assert_eq!(x[k], m[k], "`{k}`");
    }
    assert!(x["evidence"].to_string().contains("\"photo\""), "{x}");
}

const BANNED: &str = r#"{"id":"B-1","title":"VoltMax HB-2210X 20000mAh Portable Power Bank","brand":"VoltMax","models":["HB-2210X"],"gtins":["036000291452"],"source":"CPSC","hazard":"fire"}
{"id":"B-2","title":"Sony Bravia KDL-40V4100 40-inch LCD HDTV","brand":"Sony","models":["KDL-40V4100"],"source":"CPSC"}
{"id":"T-1","kind":"term","title":"Melatonin (prescription-only in KR)","terms":["melatonin"],"jurisdictions":["KR"],"source":"KFTC"}
"#;

fn server_env() -> Env {
    let env = Env::new();
    let f = env.write("banned.jsonl", BANNED);
    assert_eq!(env.run(&["ingest", s(&f)]).code, 0);
    env
}

#[test]
fn the_server_explains_one_pair_or_many_like_the_cli() {
    let env = server_env();
    let srv = Server::start(&env, &[], &[]);
    let relisting = json!({"id": "L-1", "title": "Vоltmаx hb 2210x portable charger"});
    let pair = json!({"banned_id": "B-1", "listing": relisting});
    let r = srv.post("/v1/explain", &pair.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    let x = r.json();
    assert_eq!(
        (x["banned_id"].as_str(), x["decision"].as_str()),
        (Some("B-1"), Some("block"))
    );
    // The same JSON as a `relist explain` line, and as the match of /v1/check.
    let cli = env.run_with(&["explain", "-"], Some(&pair.to_string()), &[]);
    assert_eq!(cli.json_lines()[0], x);
    let checked = srv.post("/v1/check", &relisting.to_string()).json();
    for k in SAME {
        assert_eq!(x[k], checked["matches"][0][k], "`{k}`");
    }
    // A record the check does not name.
    let other = json!({"banned_id": "B-2", "listing": relisting});
    let x = srv.post("/v1/explain", &other.to_string()).json();
    assert_eq!(
        (x["decision"].as_str(), x["named"].as_bool()),
        (Some("allow"), Some(false))
    );

    // Many pairs: results in order, a failing pair marked by its item.
    let body = json!({"pairs": [
        pair,
        {"banned_id": "NOPE", "listing": {"id": "L-2", "title": "garden hose"}},
        {"banned_id": "B-1", "listing": {"id": "L-3"}},
        {"banned_id": "T-1", "listing": {"id": "L-4", "title": "sleep gummies melatonin", "market": "KR"}},
        "not a pair",
    ]});
    let r = srv.post("/v1/explain", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    let out = r.json()["results"].as_array().unwrap().clone();
    assert_eq!(out.len(), 5);
    assert_eq!(out[0]["decision"], "block");
    assert_eq!(
        (out[1]["item"].as_u64(), out[1]["banned_id"].as_str()),
        (Some(2), Some("NOPE"))
    );
    assert_eq!(out[1]["error"], "item 2: no banned record with id 'NOPE'");
    assert_eq!(out[2]["listing_id"], "L-3");
    assert!(
        out[2]["error"].as_str().unwrap().contains("`title`"),
        "{}",
        out[2]
    );
    assert_eq!(
        (out[3]["banned_id"].as_str(), out[3]["decision"].as_str()),
        (Some("T-1"), Some("block"))
    );
    assert_eq!(out[4]["item"], 5);
}

#[test]
fn the_server_answers_unknown_ids_bad_bodies_and_missing_tokens_with_codes() {
    let env = server_env();
    let srv = Server::start(&env, &["--check-token", "chk-1", "--max-batch", "2"], &[]);
    let pair = json!({"banned_id": "B-1", "listing": {"id": "L", "title": "VoltMax HB-2210X"}});
    let post = |token: Option<&str>, body: &str| srv.req("POST", "/v1/explain", token, body);
    let r = post(None, &pair.to_string());
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    let r = post(Some("wrong"), &pair.to_string());
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    assert_eq!(post(Some("chk-1"), &pair.to_string()).status, 200);
    let tok = Some("chk-1");
    let unknown = json!({"banned_id": "NOPE", "listing": {"id": "L", "title": "x"}});
    let r = post(tok, &unknown.to_string());
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
    assert!(r.json()["message"].as_str().unwrap().contains("'NOPE'"));
    for (body, status, code) in [
        ("{not json", 400, "bad_request"),
        ("[1, 2]", 400, "bad_request"),
        (
            r#"{"listing": {"id": "L", "title": "x"}}"#,
            400,
            "bad_request",
        ),
        (r#"{"banned_id": "B-1"}"#, 400, "bad_request"),
        (
            r#"{"banned_id": "B-1", "listing": {"id": "L"}}"#,
            400,
            "invalid_record",
        ),
        (r#"{"pairs": "x"}"#, 400, "bad_request"),
    ] {
        let r = post(tok, body);
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "{body}: {}",
            r.body
        );
    }
    let three = json!({"pairs": [pair, pair, pair]});
    let r = post(tok, &three.to_string());
    assert_eq!((r.status, r.code().as_str()), (413, "payload_too_large"));
    // A long title is over the server's listing limit, as for /v1/check.
    let long = json!({"banned_id": "B-1", "listing": {"id": "L", "title": "x".repeat(5000)}});
    let r = post(tok, &long.to_string());
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_record"));
    let doc: Value = serde_json::from_str(&srv.get("/openapi.json").body).unwrap();
    assert!(doc["paths"]["/v1/explain"]["post"].is_object());
}

#[test]
fn the_server_takes_inline_photos_and_never_reads_a_path() {
    let env = server_env();
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([
            (x * 255 / 320) as u8,
            (y * 255 / 240) as u8,
            ((x ^ y) & 0xff) as u8,
        ])
    });
    img.save(env.path("banned.png")).unwrap();
    let b = env.write(
        "p.jsonl",
        r#"{"id":"P-1","title":"Kiddo night light lamp KL-2000","images":["banned.png"]}
"#,
    );
    assert_eq!(env.run(&["ingest", s(&b)]).code, 0);
    let srv = Server::start(&env, &[], &[]);
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let data = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(png.into_inner())
    };
    let listing = json!({"id": "L", "title": "cute bedroom decor",
                         "photos": [{"name": "front.png", "data": data}]});
    let checked = srv.post("/v1/check", &listing.to_string()).json();
    assert_eq!(checked["matches"][0]["banned_id"], "P-1", "{checked}");
    let x = srv
        .post(
            "/v1/explain",
            &json!({"banned_id": "P-1", "listing": listing}).to_string(),
        )
        .json();
    for k in SAME {
        assert_eq!(x[k], checked["matches"][0][k], "`{k}`");
    }
    // A path named by the caller is not read: no photo evidence.
    let by_path = json!({"banned_id": "P-1",
                         "listing": {"id": "L", "title": "cute bedroom decor", "images": [s(&env.path("banned.png"))]}});
    let x = srv.post("/v1/explain", &by_path.to_string()).json();
    assert_eq!(x["decision"], "allow", "{x}");
    assert!(!x["evidence"].to_string().contains("\"photo\""), "{x}");
    let bad = json!({"banned_id": "P-1",
                     "listing": {"id": "L", "title": "x", "photos": [{"data": "aGVsbG8="}]}});
    let r = srv.post("/v1/explain", &bad.to_string());
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_image"));
}

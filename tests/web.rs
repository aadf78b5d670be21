//! Regulators' tools end to end: reverse queries over a catalog (`relist catalog index`,
//! `relist query --catalog`), the web page of `relist serve` and the sweep report, the last two
//! also in headless Chromium (tests/e2e/browser.mjs through chromedriver).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Env, fixture, s};
use image::{DynamicImage, Rgb, RgbImage};
use serde_json::Value;

/// Rectangles and a disc on a gradient: a product photo with structure for the hashes.
fn kettle() -> RgbImage {
    RgbImage::from_fn(320, 240, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        if (xf - 210.0).powi(2) + (yf - 80.0).powi(2) < 1600.0 {
            Rgb([220, 50, 40])
        } else if (40..150).contains(&x) && (110..210).contains(&y) {
            Rgb([30, 70, 190])
        } else if (160..300).contains(&x) && (160..185).contains(&y) {
            Rgb([245, 215, 40])
        } else {
            let t = (xf + yf) / 560.0;
            Rgb([(50.0 + 140.0 * t) as u8, (190.0 - 110.0 * t) as u8, 100])
        }
    })
}

/// Another product: stripes and a square, nothing like the kettle.
fn charger() -> RgbImage {
    RgbImage::from_fn(300, 300, |x, y| {
        if (100..200).contains(&x) && (60..240).contains(&y) {
            Rgb([20, 20, 20])
        } else if (y / 30) % 2 == 0 {
            Rgb([240, 240, 250])
        } else {
            Rgb([150, 200, 230])
        }
    })
}

fn save_jpeg(img: &RgbImage, path: &Path, quality: u8) {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality)
        .encode_image(img)
        .unwrap();
    std::fs::write(path, buf).unwrap();
}

const RECALLS: &str = r#"{"id":"TEST-KETTLE-1","title":"Brewsmith Glass Electric Kettle KT-9000","brand":"Brewsmith","category":"Kitchen","models":["KT-9000"],"hazard":"Scald hazard: the lid opens while pouring","source":"CPSC","recalled_at":"2026-05-01","url":"https://www.cpsc.gov/Recalls/2026/brewsmith-kettle","images":["photos/kettle.png"]}
{"id":"TEST-SHADY-1","title":"Sparkler Toy Lantern LT-77","models":["LT-77"],"hazard":"Burn hazard","source":"EU-SafetyGate","recalled_at":"2025-02-01","url":"javascript:alert(1)"}
"#;

const CATALOG: &str = r#"{"id":"L-K1","title":"Glass electric kettle 1.7 L fast boil","seller":"KitchenWorld","platform":"Shopora","price":39.9,"currency":"USD","images":["photos/listing-kettle.jpg"]}
{"id":"L-K2","title":"Brewsmith KT9000 kettle, glass","seller":"HomeDeals","platform":"MegaMart"}
{"id":"L-V1","title":"Vоltmax hb 2210x portable charger","seller":"TechHub","platform":"Shopora","url":"https://shop.example/l-v1","images":["photos/charger.png"]}
{"id":"L-X","title":"Garden hose 20 m with spray nozzle","seller":"GreenThumb","platform":"MegaMart"}
{"id":"L-T1","title":"Sparkler toy lantern LT77 for kids","seller":"FunStore","platform":"Shopora"}
"#;

/// The shipped banned list plus two records of this test (one with a photo), and a small
/// catalog whose listings have photos: a re-encoded, rotated copy of the banned kettle's and
/// an unrelated one. Photos sit in `photos/` of the test directory.
fn setup() -> Env {
    let env = Env::new();
    std::fs::create_dir(env.path("photos")).unwrap();
    let k = kettle();
    DynamicImage::ImageRgb8(k.clone())
        .save(env.path("photos/kettle.png"))
        .unwrap();
    // The seller's copy: turned a quarter, shrunk and re-encoded.
    let turned = image::imageops::rotate90(&k);
    let small = image::imageops::resize(&turned, 180, 240, image::imageops::FilterType::Triangle);
    save_jpeg(&small, &env.path("photos/listing-kettle.jpg"), 75);
    // What a regulator uploads: a mirrored screenshot of it.
    let mirrored = image::imageops::flip_horizontal(&k);
    save_jpeg(&mirrored, &env.path("photos/upload.jpg"), 85);
    DynamicImage::ImageRgb8(charger())
        .save(env.path("photos/charger.png"))
        .unwrap();
    std::fs::write(
        env.path("photos/broken.jpg"),
        b"\xff\xd8\xff\xe0 not really a jpeg",
    )
    .unwrap();
    env.write("recalls.jsonl", RECALLS);
    env.write("catalog.jsonl", CATALOG);
    let r = env.run(&["ingest", s(&fixture("banned.jsonl")), "recalls.jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = env.run(&["catalog", "index", "catalog.jsonl", "--catalog", "cat"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("5 added"), "{}", r.stderr);
    assert!(r.stderr.contains("2 with a photo"), "{}", r.stderr);
    env
}

fn ids(hits: &[Value], field: &str) -> Vec<String> {
    hits.iter()
        .map(|h| h[field].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_banned_record_finds_its_relistings_by_model_and_by_photo() {
    let env = setup();
    let r = env.run(&[
        "query",
        "--catalog",
        "cat",
        "--banned",
        "TEST-KETTLE-1",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = r.json_lines();
    // The relisting by model and the one by photo, both blocked, before anything else.
    let found = ids(&hits, "listing_id");
    // Both blocked, ahead of the rest; which comes first is the score's business.
    let mut first: Vec<String> = found[..2].to_vec();
    first.sort();
    assert_eq!(first, ["L-K1", "L-K2"], "{hits:?}");
    assert!(!found.contains(&"L-X".to_string()), "{hits:?}");
    assert!(!found.contains(&"L-V1".to_string()), "{hits:?}");
    assert_eq!(hits[0]["decision"], "block");
    assert_eq!(hits[1]["decision"], "block");
    let model_hit = hits.iter().find(|h| h["listing_id"] == "L-K2").unwrap();
    assert!(
        model_hit["reasons"][0]
            .as_str()
            .unwrap()
            .contains("equals banned model 'KT-9000'"),
        "{hits:?}"
    );
    let photo_hit = hits.iter().find(|h| h["listing_id"] == "L-K1").unwrap();
    assert!(
        photo_hit["reasons"]
            .to_string()
            .contains("photo 1 matches a banned photo"),
        "{photo_hit}"
    );
    assert_eq!(
        photo_hit["url"],
        "https://www.cpsc.gov/Recalls/2026/brewsmith-kettle"
    );
    assert_eq!(photo_hit["seller"], "KitchenWorld");

    // The score of a listing is the one `relist check` gives it against the banned index.
    let l = env.write("l.json", r#"{"id":"L-K2","title":"Brewsmith KT9000 kettle, glass","seller":"HomeDeals","platform":"MegaMart"}"#);
    let c = env.run(&["check", s(&l)]);
    let checked: Value = serde_json::from_str(&c.stdout).unwrap();
    let m = checked["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["banned_id"] == "TEST-KETTLE-1")
        .unwrap();
    // (f32 scores, read as f64 on both sides.)
    let score = |v: &Value| v.as_f64().unwrap() as f32;
    assert_eq!(score(&m["score"]), score(&model_hit["score"]));

    // The table says the same for a person.
    let r = env.run(&["query", "--catalog", "cat", "--banned", "TEST-KETTLE-1"]);
    assert!(
        r.stdout.lines().next().unwrap().contains(&found[0]),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("<- TEST-KETTLE-1"), "{}", r.stdout);
}

#[test]
fn text_model_and_photo_probes_search_the_catalog() {
    let env = setup();
    let r = env.run(&[
        "query",
        "--catalog",
        "cat",
        "--model",
        "HB-2210X",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = r.json_lines();
    assert_eq!(ids(&hits, "listing_id")[0], "L-V1", "{hits:?}");
    assert!(
        hits[0]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("queried model"),
        "{hits:?}"
    );
    let r = env.run(&[
        "query",
        "--catalog",
        "cat",
        "garden hose",
        "--format",
        "json",
    ]);
    assert_eq!(ids(&r.json_lines(), "listing_id")[0], "L-X", "{}", r.stdout);
    // A mirrored photo finds the turned, re-encoded copy and nothing else.
    let r = env.run(&[
        "query",
        "--catalog",
        "cat",
        "--image",
        "photos/upload.jpg",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = r.json_lines();
    assert_eq!(ids(&hits, "listing_id"), vec!["L-K1"], "{hits:?}");
    assert!(
        hits[0]["signals"]["image_distance"].as_u64().unwrap() <= 8,
        "{hits:?}"
    );
    // A photo that cannot be read is an error naming it.
    let r = env.run(&["query", "--catalog", "cat", "--image", "photos/broken.jpg"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("broken.jpg"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
}

#[test]
fn filters_choose_the_banned_records_a_catalog_is_searched_for() {
    let env = setup();
    let q = |extra: &[&str]| {
        let mut args = vec!["query", "--catalog", "cat", "--format", "json"];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    // Every CPSC scald recall: only the kettle.
    let r = q(&["--source", "cpsc", "--hazard", "scald"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = r.json_lines();
    assert!(!hits.is_empty());
    assert!(
        ids(&hits, "banned_id").iter().all(|b| b == "TEST-KETTLE-1"),
        "{hits:?}"
    );
    // A date range: the lantern (2025-02-01) and not the kettle (2026-05-01).
    // An empty filter is no filter.
    let r = q(&[
        "--since",
        "2025-01-01",
        "--until",
        "2025-03-01",
        "--category",
        "",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = r.json_lines();
    assert!(
        ids(&hits, "listing_id").contains(&"L-T1".to_string()),
        "{hits:?}"
    );
    assert!(!ids(&hits, "banned_id").contains(&"TEST-KETTLE-1".to_string()));
    // Filters narrow the ids asked for too.
    let r = q(&[
        "--banned",
        "TEST-KETTLE-1",
        "--jurisdiction",
        "US",
        "--category",
        "kitchen",
    ]);
    assert!(!r.json_lines().is_empty(), "{}", r.stderr);
    let r = q(&["--banned", "TEST-KETTLE-1", "--source", "KFTC"]);
    assert_eq!(r.code, 0);
    assert!(r.json_lines().is_empty());
    // Mistakes are one-line errors that say what to do.
    for (args, says) in [
        (vec!["--banned", "NOPE-1"], "'NOPE-1' is not in the index"),
        (vec!["--since", "2025-1-1"], "--since"),
        (vec!["kettle", "--banned", "TEST-KETTLE-1"], "not both"),
        (vec![], "give a text"),
    ] {
        let r = q(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stdout);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
    // The banned index's own query takes the new filters too.
    let r = env.run(&["query", "kettle", "--hazard", "scald", "--format", "json"]);
    assert_eq!(ids(&r.json_lines(), "banned_id"), vec!["TEST-KETTLE-1"]);
}

#[test]
fn thumbnails_are_kept_at_ingest_and_catalog_index_and_dropped_on_remove() {
    let env = setup();
    let count = |d: &str| {
        std::fs::read_dir(env.path(d).join("thumbs"))
            .map(|rd| rd.count())
            .unwrap_or(0)
    };
    assert_eq!(count("index"), 1, "one banned record has a photo");
    assert_eq!(count("cat"), 2, "two listings have photos");
    let one = std::fs::read_dir(env.path("index/thumbs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let img = image::open(&one).unwrap();
    assert!(img.width() <= 160 && img.height() <= 160);
    assert!(std::fs::metadata(&one).unwrap().len() < 16 << 10);
    let r = env.run(&["remove", "TEST-KETTLE-1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(count("index"), 0);
}

#[test]
fn feed_photos_downloaded_beside_get_thumbnails() {
    let env = Env::new();
    std::fs::create_dir(env.path("downloads")).unwrap();
    // The CPSC fixture names https://www.cpsc.gov/s3fs-public/BW1500H.jpg.
    save_jpeg(&kettle(), &env.path("downloads/BW1500H.jpg"), 90);
    let r = env.run(&[
        "ingest",
        s(&fixture("cpsc_recalls.json")),
        "--images",
        "downloads",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let thumbs: Vec<_> = std::fs::read_dir(env.path("index/thumbs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(thumbs.len(), 1, "{thumbs:?}");
    let img = image::open(&thumbs[0]).unwrap();
    assert_eq!((img.width(), img.height()), (160, 120));
}

// ---------------------------------------------------------------------------------------------
// The server's page, over plain HTTP.

/// A running `relist serve` on a port the OS chose; killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(env: &Env, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_relist"))
            .current_dir(env.dir.path())
            .env_remove("RELIST_INDEX")
            .env_remove("RELIST_CATALOG")
            .env_remove("RELIST_CHECK_TOKENS")
            .env_remove("RELIST_ADMIN_TOKENS")
            .env_remove("RELIST_ADDR")
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                assert!(!line.contains("panicked"), "{line}");
                if let Some(addr) = line.strip_prefix("relist: listening on http://") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server did not start");
        Server { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One request; returns (status, head, body).
    fn req(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String, Vec<u8>) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        let _ = stream.write_all(body);
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut body = raw[split + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            let mut out = Vec::new();
            let mut rest = &body[..];
            while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
                let size =
                    usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16)
                        .unwrap();
                if size == 0 {
                    break;
                }
                out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
                rest = &rest[eol + 4 + size..];
            }
            body = out;
        }
        (status, head, body)
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
        let (st, h, b) = self.req("GET", path, headers, b"");
        (st, h, String::from_utf8_lossy(&b).into_owned())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A multipart/form-data body of text fields and one optional file.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "relistTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[test]
fn the_page_searches_shows_photos_and_refuses_bad_uploads() {
    let env = setup();
    let srv = Server::start(&env, &["--catalog", "cat"]);
    let (st, head, page) = srv.get("/", &[]);
    assert_eq!(st, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{head}"
    );
    assert!(head.contains("default-src 'none'"), "{head}");
    assert!(page.contains("id=\"photo\"") && page.contains("enctype=\"multipart/form-data\""));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "nothing external"
    );

    // Words and a model, by GET: the power bank, its model marked, its notice linked.
    let (st, _, page) = srv.get("/?text=portable+charger&model=hb+2210x", &[]);
    assert_eq!(st, 200);
    assert!(page.contains("data-banned-id=\"CPSC-26-0412\""), "{page}");
    assert!(page.contains("<mark>HB-2210X</mark>"), "{page}");
    assert!(
        page.contains("href=\"https://www.cpsc.gov/Recalls/2026/voltmax"),
        "{page}"
    );

    // An upload: the kettle found by its photo, its thumbnail served by the route.
    let photo = std::fs::read(env.path("photos/upload.jpg")).unwrap();
    let (ct, body) = multipart(&[("target", "banned")], Some(("upload.jpg", &photo)));
    let (st, _, page) = srv.req("POST", "/", &[("Content-Type", &ct)], &body);
    let page = String::from_utf8(page).unwrap();
    assert_eq!(st, 200, "{page}");
    // A search of the banned list is ranked, not decided.
    let first = page.find("<article").unwrap();
    assert!(
        page[first..].starts_with("<article class=\"card search\"")
            && page[first..].contains("data-rank=\"1\""),
        "{page}"
    );
    assert!(
        page[first..].contains("data-banned-id=\"TEST-KETTLE-1\""),
        "{page}"
    );
    assert!(
        page.contains("src=\"data:image/jpeg;base64,"),
        "the upload shown back"
    );
    assert!(
        page.contains("src=\"/thumbs/banned/TEST-KETTLE-1\""),
        "{page}"
    );
    let (st, head, jpeg) = srv.req("GET", "/thumbs/banned/TEST-KETTLE-1", &[], b"");
    assert_eq!(st, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: image/jpeg")
    );
    let img = image::load_from_memory(&jpeg).unwrap();
    assert_eq!((img.width(), img.height()), (160, 120));
    let (st, _, _) = srv.get("/thumbs/banned/CPSC-26-0412", &[]);
    assert_eq!(st, 404, "no photo, no thumbnail");

    // A banned record against the catalog: both photos side by side.
    let (st, _, page) = srv.get("/?banned=TEST-KETTLE-1&target=catalog", &[]);
    assert_eq!(st, 200, "{page}");
    assert!(
        page.contains("data-listing-id=\"L-K2\"") && page.contains("data-listing-id=\"L-K1\""),
        "{page}"
    );
    assert!(page.contains("src=\"/thumbs/catalog/L-K1\""), "{page}");
    let (st, _, _) = srv.get("/thumbs/catalog/L-K1", &[]);
    assert_eq!(st, 200);

    // A feed's `javascript:` address is never a link.
    let (_, _, page) = srv.get("/?model=LT-77", &[]);
    assert!(page.contains("TEST-SHADY-1"), "{page}");
    assert!(!page.contains("javascript:"), "{page}");

    // A catalog indexed again beside the running server is searched at once.
    env.write(
        "more.jsonl",
        r#"{"id":"L-NEW","title":"Brewsmith electric kettle KT-9000 glass","seller":"LateComer"}"#,
    );
    let r = env.run(&["catalog", "index", "more.jsonl", "--catalog", "cat"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_, _, page) = srv.get("/?banned=TEST-KETTLE-1&target=catalog", &[]);
    assert!(page.contains("data-listing-id=\"L-NEW\""), "{page}");

    // A broken upload is a one-line error on the page, with the status of the error table.
    let broken = std::fs::read(env.path("photos/broken.jpg")).unwrap();
    let (ct, body) = multipart(&[], Some(("broken.jpg", &broken)));
    let (st, _, page) = srv.req("POST", "/", &[("Content-Type", &ct)], &body);
    let page = String::from_utf8(page).unwrap();
    assert_eq!(st, 400, "{page}");
    assert!(
        page.contains("id=\"error\">uploaded photo: truncated JPEG"),
        "{page}"
    );
    // Too big an upload is refused before it is read.
    let big = vec![0u8; relist::server::MAX_UPLOAD_BYTES + 1024];
    let (ct, body) = multipart(&[], Some(("big.jpg", &big)));
    let (st, _, _) = srv.req("POST", "/", &[("Content-Type", &ct)], &body);
    assert_eq!(st, 413);
    // An empty form lists the banned records, newest recall first; in a catalog it says what
    // to give.
    let (ct, body) = multipart(&[("text", "")], None);
    let (st, _, page) = srv.req("POST", "/", &[("Content-Type", &ct)], &body);
    let page = String::from_utf8(page).unwrap();
    assert_eq!(st, 200, "{page}");
    assert!(page.contains("newest recall first"), "{page}");
    assert!(page.contains("data-rank=\"1\""), "{page}");
    let (ct, body) = multipart(&[("text", ""), ("target", "catalog")], None);
    let (st, _, page) = srv.req("POST", "/", &[("Content-Type", &ct)], &body);
    assert_eq!(st, 400);
    assert!(String::from_utf8(page).unwrap().contains("give a text"));
}

#[test]
fn the_page_is_behind_the_check_tokens() {
    let env = setup();
    let srv = Server::start(&env, &["--check-token", "s3cret", "--admin-token", "adm1n"]);
    let (st, _, page) = srv.get("/", &[]);
    assert_eq!(st, 401);
    assert!(page.contains("action=\"/login\""), "a sign-in form: {page}");
    let (st, _, _) = srv.get("/thumbs/banned/TEST-KETTLE-1", &[]);
    assert_eq!(st, 401);
    let (st, _, _) = srv.get("/?text=kettle", &[("Authorization", "Bearer s3cret")]);
    assert_eq!(st, 200);
    // Signing in with a wrong token fails; with a right one sets an HttpOnly cookie.
    let (ct, body) = multipart(&[("token", "guess")], None);
    let (st, head, _) = srv.req("POST", "/login", &[("Content-Type", &ct)], &body);
    assert_eq!(st, 401);
    assert!(!head.to_ascii_lowercase().contains("set-cookie"));
    let (ct, body) = multipart(&[("token", "s3cret")], None);
    let (st, head, _) = srv.req("POST", "/login", &[("Content-Type", &ct)], &body);
    assert_eq!(st, 303, "{head}");
    let cookie = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .expect("a cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    let (st, _, page) = srv.get("/?text=kettle", &[("Cookie", pair)]);
    assert_eq!(st, 200);
    assert!(page.contains("TEST-KETTLE-1"));
    let (st, _, _) = srv.get("/?text=kettle", &[("Cookie", "relist_token=guess")]);
    assert_eq!(st, 401);
    // The admin token may look too; the JSON API still wants its header.
    let (st, _, _) = srv.get("/", &[("Authorization", "Bearer adm1n")]);
    assert_eq!(st, 200);
    let (st, _, _) = srv.get("/v1/query?text=kettle", &[("Cookie", pair)]);
    assert_eq!(st, 401);
}

// ---------------------------------------------------------------------------------------------
// The sweep report.

/// Sweeps the test catalog with a report; returns the summary counts (block, review, allow).
fn sweep_report(env: &Env) -> (PathBuf, [u64; 3]) {
    let r = env.run(&[
        "sweep",
        "catalog.jsonl",
        "--out",
        "hits.jsonl",
        "--report",
        "report.html",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("swept"))
        .unwrap()
        .to_string();
    let num = |word: &str| -> u64 {
        let words: Vec<&str> = line.split([' ', ',']).collect();
        let i = words.iter().position(|w| *w == word).unwrap();
        words[i - 1].parse().unwrap()
    };
    (
        env.path("report.html"),
        [num("block"), num("review"), num("allow")],
    )
}

#[test]
fn the_report_is_one_file_with_counts_photos_and_reasons() {
    let env = setup();
    let (path, [block, review, allow]) = sweep_report(&env);
    assert_eq!(block + review + allow, 5);
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(
        html.contains(&format!("<td>block</td><td class=\"n\">{block}</td>")),
        "{html}"
    );
    assert!(html.contains(&format!("<td>review</td><td class=\"n\">{review}</td>")));
    assert_eq!(html.matches("<article ").count() as u64, block + review);
    // Both photos of the kettle relisting are inline; nothing is fetched from elsewhere.
    let k1 = &html[html.find("data-listing-id=\"L-K1\"").unwrap()..];
    let k1 = &k1[..k1.find("</article>").unwrap()];
    assert_eq!(
        k1.matches("src=\"data:image/jpeg;base64,").count(),
        2,
        "{k1}"
    );
    assert!(!html.contains("src=\"http") && !html.contains("src=\"/"));
    assert!(
        html.contains("<mark>KT9000</mark>") || html.contains("'<mark>KT9000</mark>'"),
        "{html}"
    );
    assert!(html.contains("Scald hazard"));
}

// ---------------------------------------------------------------------------------------------
// In a real browser.

/// The browser and driver, or `None` (a loud message) when this machine has none; with
/// `RELIST_REQUIRE_BROWSER=1` (set by .ci/run) their absence fails the test instead.
fn browser() -> Option<()> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let driver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = [
        (!Path::new(&chromium).exists()).then_some(chromium.as_str()),
        (!Path::new(&driver).exists()).then_some(driver.as_str()),
        (!node).then_some("node"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return Some(());
    }
    let msg = format!(
        "headless browser test SKIPPED: missing {} (apt-get install -y chromium chromium-driver nodejs)",
        missing.join(", ")
    );
    if std::env::var("RELIST_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!("{msg}; RELIST_REQUIRE_BROWSER=1 forbids skipping");
    }
    // Straight to the stream: the test harness captures `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "\n!!!!!!!! {msg} !!!!!!!!\n");
    None
}

fn drive(args: &[&str]) -> Value {
    let script = common::repo().join("tests/e2e/browser.mjs");
    let out = Command::new("node")
        .arg(&script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "browser script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn cards(v: &Value) -> &Vec<Value> {
    v["cards"].as_array().unwrap()
}

#[test]
fn the_page_in_headless_chromium() {
    if browser().is_none() {
        return;
    }
    let env = setup();
    let srv = Server::start(&env, &["--catalog", "cat"]);
    let upload = env.path("photos/upload.jpg");
    let shot = std::env::var("RELIST_SCREENSHOT").unwrap_or_default();
    let mut args = vec!["page", &srv.url(), s(&upload)]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    if !shot.is_empty() {
        args.push(shot);
    }
    let v = drive(&args.iter().map(String::as_str).collect::<Vec<_>>());

    assert_eq!(v["empty"]["title"], "relist — search");
    assert!(cards(&v["empty"]).is_empty());
    assert!(
        v["form"].to_string().contains("photo:file"),
        "{}",
        v["form"]
    );

    // 1. A search by words and model.
    let text = &v["text"];
    assert_eq!(
        text["kept"],
        serde_json::json!(["portable charger", "hb 2210x"])
    );
    let c = &cards(text)[0];
    assert_eq!(c["banned_id"], "CPSC-26-0412", "{text}");
    assert_eq!(
        (&c["rank"], &c["decision"]),
        (&serde_json::json!(1), &Value::Null)
    );
    assert!(
        c["marks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "HB-2210X"),
        "{c}"
    );
    assert!(
        c["notice"]
            .as_str()
            .unwrap()
            .starts_with("https://www.cpsc.gov/"),
        "{c}"
    );
    assert_eq!(c["photos"][0]["label"], "Your search");
    assert!(
        c["photos"][0]["caption"]
            .as_str()
            .unwrap()
            .contains("portable charger")
    );

    // 2. A photo upload: the kettle, with the photo distance shown and both photos loaded.
    let photo = &v["photo"];
    let c = &cards(photo)[0];
    assert_eq!(c["banned_id"], "TEST-KETTLE-1", "{photo}");
    assert!(
        c["distance"]
            .as_str()
            .unwrap()
            .starts_with("photo distance"),
        "{c}"
    );
    assert!(
        c["evidence"]
            .to_string()
            .contains("the uploaded photo matches a banned photo"),
        "{c}"
    );
    for p in c["photos"].as_array().unwrap() {
        assert_eq!(p["loaded"], true, "{c}");
        assert!(p["width"].as_u64().unwrap() <= 160);
    }

    // 3. A banned record against the catalog: its photo beside each listing's.
    let cat = &v["catalog"];
    let found: Vec<&str> = cards(cat)
        .iter()
        .map(|c| c["listing_id"].as_str().unwrap())
        .collect();
    let mut first: Vec<&str> = found[..2].to_vec();
    first.sort();
    assert_eq!(first, ["L-K1", "L-K2"], "{cat}");
    assert!(!found.contains(&"L-X"));
    let k1 = cards(cat)
        .iter()
        .find(|c| c["listing_id"] == "L-K1")
        .unwrap();
    assert_eq!(k1["photos"][0]["label"], "Banned product");
    assert_eq!(k1["photos"][1]["label"], "Listing");
    assert_eq!(k1["photos"][0]["loaded"], true, "{k1}");
    assert_eq!(k1["photos"][1]["loaded"], true, "{k1}");
    assert!(
        cat["summary"]
            .as_str()
            .unwrap()
            .contains("catalog listings found")
    );

    // 4. The uploaded photo against the catalog: the seller's turned copy only.
    let cp = &v["catalog_photo"];
    let found: Vec<&str> = cards(cp)
        .iter()
        .map(|c| c["listing_id"].as_str().unwrap())
        .collect();
    assert_eq!(found, vec!["L-K1"], "{cp}");
}

#[test]
fn the_report_in_headless_chromium() {
    if browser().is_none() {
        return;
    }
    let env = setup();
    let (path, [block, review, allow]) = sweep_report(&env);
    let v = drive(&["report", s(&path)]);
    assert_eq!(v["decisions"]["block"], block);
    assert_eq!(v["decisions"]["review"], review);
    assert_eq!(v["decisions"]["allow"], allow);
    let sum = |t: &Value| {
        t.as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(sum(&v["sources"]), block + review);
    assert_eq!(sum(&v["hazards"]), block + review);
    assert!(
        v["sources"]["CPSC"].as_u64().unwrap() >= 1,
        "{}",
        v["sources"]
    );
    assert!(
        v["images"].as_array().unwrap().iter().all(|i| i == true),
        "every photo shows"
    );
    let scores = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|p| p[1].as_f64().unwrap())
            .collect()
    };
    let desc = scores("desc");
    let asc = scores("asc");
    assert_eq!(desc.len() as u64, block + review);
    assert!(desc.windows(2).all(|w| w[0] >= w[1]), "{desc:?}");
    assert!(asc.windows(2).all(|w| w[0] <= w[1]), "{asc:?}");
    assert_eq!(v["back"], v["input_order"], "back to catalog order");
    let order: Vec<&str> = v["input_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|id| CATALOG.find(&format!("\"{id}\"")).unwrap());
    assert_eq!(order, sorted, "catalog order first");
    let c = cards(&v["cards"])
        .iter()
        .find(|c| c["listing_id"] == "L-K1")
        .unwrap();
    assert!(c["evidence"].to_string().contains("photo"), "{c}");
}

#[test]
fn an_uploaded_crop_turned_a_little_is_found_by_its_keypoints() {
    // The page's upload is searched as a check searches a listing photo: a deep crop turned
    // 8°, which global hashes miss, is found by keypoint retrieval and verification.
    let env = Env::new();
    let banned = relist::pipeline::photo_suite::drawn_photo(101, 1).to_rgb8();
    save_jpeg(&banned, &env.path("banned.jpg"), 90);
    env.write(
        "banned.jsonl",
        "{\"id\":\"B-1\",\"title\":\"recalled night light\",\"images\":[\"banned.jpg\"]}\n",
    );
    let r = env.run(&["ingest", "banned.jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (w, h) = banned.dimensions();
    let cropped =
        image::imageops::crop_imm(&banned, w / 5, h / 6, w * 7 / 10, h * 7 / 10).to_image();
    let turned = imageproc::geometric_transformations::rotate_about_center(
        &cropped,
        8f32.to_radians(),
        imageproc::geometric_transformations::Interpolation::Bilinear,
        imageproc::geometric_transformations::Border::Constant(Rgb([255, 255, 255])),
    );
    save_jpeg(&turned, &env.path("upload.jpg"), 85);
    let srv = Server::start(&env, &[]);
    let upload = std::fs::read(env.path("upload.jpg")).unwrap();
    let (ct, body) = multipart(&[("target", "banned")], Some(("upload.jpg", &upload)));
    let (st, _, page) = srv.req("POST", "/", &[("Content-Type", &ct)], &body);
    let page = String::from_utf8(page).unwrap();
    assert_eq!(st, 200, "{page}");
    let first = page.find("<article").expect("a result card");
    assert!(page[first..].contains("data-banned-id=\"B-1\""), "{page}");
    assert!(page[first..].contains("consistent keypoints"), "{page}");
}

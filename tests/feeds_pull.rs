//! `relist feed pull` end to end against a feed server these tests start on a loopback port:
//! every source, pagination, retries (429, a 500 burst, a timeout), error bodies, photos (too
//! big, redirect loops, redirects to refused addresses), a connection dropped mid-page, and
//! `--since`/`--incremental` pulls; then the banned list browsed by filters (command line, API,
//! page) and "who still sells it" swept from a pull.
//!
//! The server replays the format samples copied into `fixtures/feeds/` and the project's
//! fixtures, split into pages; nothing here reads `../shared` or leaves the machine (refused
//! addresses are refused before any connection is made).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::http::Server;
use common::{Env, Run, fixture};
use serde_json::Value;

/// A request as the feed server saw it.
#[derive(Debug, Clone)]
struct Req {
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    /// `http://127.0.0.1:PORT`, for payloads that name the server's own photos.
    base: String,
}

enum Reply {
    Body {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// Declares the whole body, sends the first half, closes the connection.
    Truncated(Vec<u8>),
    /// Answers after a pause.
    Late(Duration, Box<Reply>),
}

fn ok(body: impl Into<Vec<u8>>) -> Reply {
    Reply::Body {
        status: 200,
        headers: Vec::new(),
        body: body.into(),
    }
}

fn status(code: u16, headers: Vec<(&'static str, String)>) -> Reply {
    Reply::Body {
        status: code,
        headers,
        body: format!("status {code}").into_bytes(),
    }
}

type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

/// A tiny HTTP/1.1 server on a loopback port, one thread per connection, stopped when dropped.
struct FeedServer {
    base: String,
    hits: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(Ok(v)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
        {
            out.push(v);
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl FeedServer {
    fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> FeedServer {
        let handler: Handler = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, st, b) = (hits.clone(), stop.clone(), base.clone());
        std::thread::spawn(move || {
            // Bounded: the tests drop the server within seconds; this loop ends with them.
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (handler, hits, base) = (handler.clone(), h.clone(), b.clone());
                        std::thread::spawn(move || serve(conn, &handler, &hits, &base));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FeedServer { base, hits, stop }
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(conn: TcpStream, handler: &Handler, hits: &Mutex<Vec<String>>, base: &str) {
    conn.set_nonblocking(false).ok();
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    hits.lock().unwrap().push(target.clone());
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    let query = q
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect();
    let req = Req {
        path: path.to_string(),
        query,
        headers,
        base: base.to_string(),
    };
    let mut reply = handler(&req);
    let mut out = conn;
    loop {
        match reply {
            Reply::Late(d, r) => {
                std::thread::sleep(d);
                reply = *r;
            }
            Reply::Body {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = out.write_all(head.as_bytes());
                let _ = out.write_all(&body);
                return;
            }
            Reply::Truncated(body) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = out.write_all(head.as_bytes());
                let _ = out.write_all(&body[..body.len() / 2]);
                let _ = out.flush();
                let _ = out.shutdown(std::net::Shutdown::Both);
                return;
            }
        }
    }
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(fixture("feeds").join(name)).unwrap()
}

fn photo() -> Vec<u8> {
    std::fs::read(fixture("images/photo-03.jpg")).unwrap()
}

/// Photo routes every test server shares: a photo, one too big, a redirect loop, and
/// redirects to addresses that stay refused whatever the flag.
fn photos(r: &Req) -> Option<Reply> {
    Some(match r.path.as_str() {
        "/photos/ok.jpg" => ok(photo()),
        "/photos/other.jpg" => ok(std::fs::read(fixture("images/photo-05.jpg")).unwrap()),
        "/photos/big.jpg" => ok(vec![0xffu8; 300_000]),
        "/photos/loop" => status(302, vec![("Location", "/photos/loop".into())]),
        "/photos/metadata" => status(
            302,
            vec![("Location", "http://169.254.169.254/latest/meta-data".into())],
        ),
        "/photos/mapped" => status(
            301,
            vec![("Location", "http://[::ffff:169.254.169.254]/x.jpg".into())],
        ),
        "/photos/nowhere" => status(302, vec![("Location", "http://0.0.0.0:9/x.jpg".into())]),
        _ => return None,
    })
}

/// The flags every pull from the test server needs: loopback allowed, short backoffs.
fn pull(env: &Env, source: &str, base: &str, more: &[&str]) -> Run {
    let mut args = vec![
        "feed",
        "pull",
        source,
        "--base-url",
        base,
        "--allow-private-addresses",
        "--retry-base-ms",
        "20",
    ];
    args.extend_from_slice(more);
    env.run(&args)
}

fn summary(r: &Run) -> Value {
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = r
        .stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("{}", r.stderr));
    serde_json::from_str(line).unwrap()
}

fn record_count(env: &Env) -> u64 {
    if !env.index().join("text").exists() {
        return 0;
    }
    let r = env.run(&["stats", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v["records"].as_u64().unwrap_or_else(|| panic!("{v}"))
}

fn banned(env: &Env, id: &str) -> Value {
    let r = env.run(&["query", "--format", "json", "--limit", "1000"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json_lines()
        .into_iter()
        .find(|v| v["banned_id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {}", r.stdout))
}

/// The CPSC server: the sample and the project's two recalls, each window answered with the
/// recalls dated inside it; photos on the server itself.
fn cpsc_server() -> FeedServer {
    FeedServer::start(|r| {
        if let Some(p) = photos(r) {
            return p;
        }
        if r.path != "/RestWebServices/Recall"
            || r.query.get("format").map(String::as_str) != Some("json")
        {
            return status(404, vec![]);
        }
        let mut all: Vec<Value> = serde_json::from_str(&sample("cpsc_recall.json")).unwrap();
        let more: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(fixture("cpsc_recalls.json")).unwrap())
                .unwrap();
        all.extend(more);
        let (start, end) = (&r.query["RecallDateStart"], &r.query["RecallDateEnd"]);
        let text = serde_json::to_string(
            &all.into_iter()
                .filter(|v| {
                    let d = &v["RecallDate"].as_str().unwrap()[..10];
                    d >= start.as_str() && d <= end.as_str()
                })
                .collect::<Vec<_>>(),
        )
        .unwrap();
        ok(text
            .replace(
                "https://www.cpsc.gov/s3fs-public/HZ1500B_front.jpg",
                &format!("{}/photos/ok.jpg", r.base),
            )
            .replace(
                "https://www.cpsc.gov/s3fs-public/",
                &format!("{}/photos/", r.base),
            ))
    })
}

#[test]
fn each_source_end_to_end_with_keys_audit_and_photos() {
    let env = Env::new();
    // CPSC: windows of recall dates from --since to today; photos hashed, thumbnail kept.
    let srv = cpsc_server();
    let s = summary(&pull(&env, "cpsc", &srv.base, &["--since", "2025-01-01"]));
    assert_eq!(
        (s["added"].as_u64(), s["records"].as_u64()),
        (Some(3), Some(3)),
        "{s}"
    );
    assert_eq!(s["pages"], 2, "2025 and 2026: {s}");
    assert!(s["photos"].as_u64().unwrap() >= 1, "{s}");
    let windows: Vec<String> = srv
        .hits()
        .into_iter()
        .filter(|h| h.contains("Recall?"))
        .collect();
    assert!(
        windows[0].ends_with("RecallDateStart=2025-01-01&RecallDateEnd=2025-12-31"),
        "{windows:?}"
    );
    let r = banned(&env, "CPSC-26702");
    assert_eq!(
        (r["source"].as_str(), r["recalled_at"].as_str()),
        (Some("CPSC"), Some("2026-08-14"))
    );
    let stored = env.run(&["query", "--model", "HZ-1500B", "--format", "json"]);
    assert!(stored.stdout.contains("CPSC-26702"), "{}", stored.stdout);
    assert_eq!(
        std::fs::read_dir(env.index().join("thumbs"))
            .unwrap()
            .count(),
        1,
        "the record with a photo got its thumbnail"
    );
    let audit = env.index().join("feeds/audit/cpsc");
    let pulls: Vec<_> = std::fs::read_dir(&audit).unwrap().flatten().collect();
    assert_eq!(pulls.len(), 1);
    let idx = std::fs::read_to_string(pulls[0].path().join("index.json")).unwrap();
    assert!(
        idx.contains("\"committed\"") && idx.contains("page-00002.json"),
        "{idx}"
    );

    // Health Canada and ACCC: one document each.
    let hc = FeedServer::start(|r| match r.path.as_str() {
        "/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json" => {
            ok(sample("healthcanada_HCRSAMOpenData.json"))
        }
        _ => status(404, vec![]),
    });
    let s = summary(&pull(&env, "healthcanada", &hc.base, &[]));
    assert_eq!(s["added"], 1, "{s}");
    assert_eq!(
        banned(&env, "HC-82901")["url"],
        "https://recalls-rappels.canada.ca/en/alert-recall/kids-hooded-sweatshirts-recalled-due-strangulation-hazard"
    );
    let accc = FeedServer::start(|r| {
        if let Some(p) = photos(r) {
            return p;
        }
        match r.path.as_str() {
            "/rss/feed.xml/psa_recall" => ok(sample("accc_rss.xml").replace(
                "https://www.productsafety.gov.au/system/files/recall/scooter.jpg",
                &format!("{}/system/files/../../photos/ok.jpg", r.base),
            )),
            "/system/files/../../photos/ok.jpg" => ok(photo()),
            _ => status(404, vec![]),
        }
    });
    let s = summary(&pull(&env, "accc", &accc.base, &[]));
    assert_eq!(
        (s["added"].as_u64(), s["photos"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    assert_eq!(banned(&env, "ACCC-2026/21034")["recalled_at"], "2026-08-13");

    // Safety Gate: the weekly list, then each report it names (on the documented host,
    // moved to --base-url).
    let sg = FeedServer::start(|r| match r.path.as_str() {
        "/safety-gate-alerts/api/download/weeklyReport/list/xml/en" => {
            ok(sample("safetygate_weekly_list.xml"))
        }
        "/safety-gate-alerts/api/download/weeklyReport/detail/xml/10000318" => {
            assert_eq!(
                r.query.get("search").map(String::as_str),
                Some("WEB_REPORT|:|10000318,")
            );
            ok(sample("safetygate_weekly_detail.xml").replace(
                "https://ec.europa.eu/safety-gate-alerts/public/api/notification/image/11122233",
                &format!("{}/photos/other.jpg", r.base),
            ))
        }
        "/photos/other.jpg" => ok(std::fs::read(fixture("images/photo-05.jpg")).unwrap()),
        _ => status(404, vec![]),
    });
    let s = summary(&pull(&env, "safetygate", &sg.base, &[]));
    assert_eq!(
        (
            s["added"].as_u64(),
            s["pages"].as_u64(),
            s["photos"].as_u64()
        ),
        (Some(1), Some(2), Some(1)),
        "{s}"
    );
    assert_eq!(banned(&env, "EU-SR/01234/26")["recalled_at"], "2026-08-14");
    // A report older than --since is not fetched at all.
    let before = sg.hits().len();
    let s = summary(&pull(
        &env,
        "safetygate",
        &sg.base,
        &["--since", "2026-09-01"],
    ));
    assert_eq!(
        (s["records"].as_u64(), s["committed"].as_bool()),
        (Some(0), Some(false)),
        "{s}"
    );
    assert_eq!(sg.hits().len(), before + 1, "the list only");

    // SafetyKorea: both lists, the AuthKey header from the environment; Consumer24: the
    // serviceKey parameter from the config file. Neither key is ever printed or kept.
    let key_kr = "kr-Secret/77+key";
    let key_kca = "kca Secret&99";
    let kr = FeedServer::start(move |r| {
        if r.headers.get("authkey").map(String::as_str) != Some(key_kr) {
            return ok(r#"{"resultCode":"4010","resultMsg":"Invalid AuthKey","resultData":[]}"#);
        }
        match r.path.as_str() {
            "/openapi/api/recall/recallList.json" => ok(sample("safetykorea_recallList.json")),
            "/openapi/api/recall/fRecallList.json" => ok(sample("safetykorea_fRecallList.json")),
            _ => status(404, vec![]),
        }
    });
    let r = env.run_with(
        &[
            "feed",
            "pull",
            "safetykorea",
            "--base-url",
            &kr.base,
            "--allow-private-addresses",
            "--no-photos",
        ],
        None,
        &[("RELIST_SAFETYKOREA_KEY", key_kr)],
    );
    let s = summary(&r);
    assert_eq!(
        (s["added"].as_u64(), s["pages"].as_u64()),
        (Some(2), Some(2)),
        "{s}"
    );
    banned(&env, "KATS-3902");
    banned(&env, "KATS-F-51234");
    let kca = FeedServer::start(move |r| {
        if r.query.get("serviceKey").map(String::as_str) != Some(key_kca) {
            return ok(
                "<selectCntntsForOpenAPIResponse><channel><return><code>30</code><codeMsg>SERVICE KEY IS NOT REGISTERED</codeMsg></return></channel></selectCntntsForOpenAPIResponse>",
            );
        }
        let list = r.query.get("cntntsId").cloned().unwrap_or_default();
        match (r.path.as_str(), list.as_str()) {
            ("/openapi/recall/contents/index.do", "0501") => ok(sample("consumer24_recall.xml")),
            ("/openapi/recall/contents/index.do", _) => ok(
                "<selectCntntsForOpenAPIResponse><channel><return><code>00</code><allCnt>0</allCnt></return></channel></selectCntntsForOpenAPIResponse>",
            ),
            _ => status(404, vec![]),
        }
    });
    let config = env.write(
        "relist.toml",
        format!("[feeds]\nconsumer24_key = \"{key_kca}\"\n"),
    );
    let r = env.run(&[
        "--config",
        common::s(&config),
        "feed",
        "pull",
        "consumer24",
        "--base-url",
        &kca.base,
        "--allow-private-addresses",
        "--no-photos",
    ]);
    let s = summary(&r);
    assert_eq!(
        (s["added"].as_u64(), s["pages"].as_u64()),
        (Some(1), Some(2)),
        "{s}"
    );
    banned(&env, "KCA-987654");
    assert!(
        kca.hits()[0].contains("serviceKey=kca%20Secret%2699"),
        "{:?}",
        kca.hits()
    );

    // A wrong key: the feed's error body, one line naming the address, the key not in it.
    let r = env.run_with(
        &[
            "feed",
            "pull",
            "safetykorea",
            "--base-url",
            &kr.base,
            "--allow-private-addresses",
            "--key",
            "wrong-key-123",
        ],
        None,
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("SafetyKorea answered 4010: Invalid AuthKey"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("/openapi/api/recall/recallList.json"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("wrong-key-123"), "{}", r.stderr);
    // Even with every log on: the client's own logs are silenced, relist's are redacted.
    let r = env.run_with(
        &[
            "feed",
            "pull",
            "consumer24",
            "--base-url",
            &kca.base,
            "--allow-private-addresses",
            "--key",
            key_kca,
        ],
        None,
        &[("RELIST_LOG", "trace")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("serviceKey=***"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("kca%20Secret") && !r.stderr.contains(key_kca),
        "{}",
        r.stderr
    );
    let r = env.run(&[
        "feed",
        "pull",
        "consumer24",
        "--base-url",
        &kca.base,
        "--allow-private-addresses",
        "--key",
        "bad&key",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("Consumer24 answered 30") && r.stderr.contains("serviceKey=***"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("bad") && !r.stderr.contains("bad%26key"),
        "{}",
        r.stderr
    );
    // No key at all: says where to put one.
    let r = env.run(&[
        "feed",
        "pull",
        "safetykorea",
        "--base-url",
        &kr.base,
        "--allow-private-addresses",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("RELIST_SAFETYKOREA_KEY") && r.stderr.contains("[feeds]"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    // Nothing under the index names a key: file names, audit indexes, the state.
    for entry in walk(&env.index().join("feeds")) {
        let name = entry.display().to_string();
        for k in [key_kr, key_kca, "kca%20Secret", "wrong-key-123"] {
            assert!(!name.contains(k), "{name}");
            if entry.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&entry).unwrap();
                assert!(!text.contains(k), "{name}: {text}");
            }
        }
    }
    let state = env.run(&["feed", "status"]);
    let st: Value = serde_json::from_str(&state.stdout).unwrap();
    for src in [
        "cpsc",
        "healthcanada",
        "accc",
        "safetygate",
        "safetykorea",
        "consumer24",
    ] {
        assert!(
            st["sources"][src]["last_pull"].as_u64().unwrap() > 0,
            "{src}: {st}"
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

/// The project's banned list as Consumer24 pages of 100 (`allCnt` the whole count), only the
/// records whose recall day is on or before `upto`, as the API filters by `recallPublictBgnde`.
fn consumer24_page(r: &Req, upto: &str) -> Reply {
    let text = std::fs::read_to_string(fixture("banned.jsonl")).unwrap();
    let from = r
        .query
        .get("recallPublictBgnde")
        .cloned()
        .unwrap_or_default();
    let recs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["kind"] == "product")
        .filter(|v| {
            let d = v["recalled_at"].as_str().unwrap_or("").replace('-', "");
            d.as_str() <= upto && d >= from
        })
        .collect();
    if r.query.get("cntntsId").map(String::as_str) != Some("0101") {
        return ok(
            "<selectCntntsForOpenAPIResponse><channel><return><code>00</code><allCnt>0</allCnt></return></channel></selectCntntsForOpenAPIResponse>",
        );
    }
    let page: usize = r.query["pageNo"].parse().unwrap();
    let per: usize = r.query["cntPerPage"].parse().unwrap();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><selectCntntsForOpenAPIResponse><channel><return><code>00</code><allCnt>{}</allCnt>",
        recs.len()
    );
    for v in recs.iter().skip((page - 1) * per).take(per) {
        let list = |k: &str| {
            v[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default()
        };
        xml.push_str(&format!(
            "<content><recallSn>{}</recallSn><productNm><![CDATA[{}]]></productNm><modlNmInfo><![CDATA[{}]]></modlNmInfo><stdBrcd>{}</stdBrcd><recallPublictBgnde>{}</recallPublictBgnde></content>",
            v["id"].as_str().unwrap(),
            v["title"].as_str().unwrap(),
            list("models"),
            list("gtins"),
            v["recalled_at"].as_str().unwrap_or("").replace('-', ""),
        ));
    }
    xml.push_str("</return></channel></selectCntntsForOpenAPIResponse>");
    ok(xml)
}

fn products_upto(upto: &str) -> usize {
    std::fs::read_to_string(fixture("banned.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["kind"] == "product")
        .filter(|v| {
            v["recalled_at"]
                .as_str()
                .unwrap_or("")
                .replace('-', "")
                .as_str()
                <= upto
        })
        .count()
}

#[test]
fn pages_to_the_end_and_incremental_pulls_add_exactly_the_new_records() {
    let env = Env::new();
    let upto = Arc::new(Mutex::new("20260301".to_string()));
    let u = upto.clone();
    let srv = FeedServer::start(move |r| consumer24_page(r, &u.lock().unwrap()));
    let first = products_upto("20260301");
    let all = products_upto("99999999");
    assert!(
        first > 100 && all > first + 5,
        "{first} of {all}: the fixture spans more than one page"
    );
    let s = summary(&pull(
        &env,
        "consumer24",
        &srv.base,
        &["--key", "k", "--no-photos"],
    ));
    assert_eq!(s["added"].as_u64(), Some(first as u64), "{s}");
    let pages = first.div_ceil(100) as u64;
    assert_eq!(
        s["pages"].as_u64(),
        Some(pages + 1),
        "every page of 0101, one of 0501: {s}"
    );
    assert_eq!(record_count(&env), first as u64);
    let state: Value =
        serde_json::from_slice(&std::fs::read(env.index().join("feeds/state.json")).unwrap())
            .unwrap();
    let newest = state["sources"]["consumer24"]["newest_recall"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(newest.as_str() <= "2026-03-01", "{newest}");

    // New recalls arrive; the incremental pull asks from the newest day it has and adds them,
    // and only them (the records of that day are read again and replaced).
    *upto.lock().unwrap() = "99999999".into();
    let hits_before = srv.hits().len();
    let s = summary(&pull(
        &env,
        "consumer24",
        &srv.base,
        &["--key", "k", "--no-photos", "--incremental"],
    ));
    assert_eq!(s["added"].as_u64(), Some((all - first) as u64), "{s}");
    assert_eq!(s["since"].as_str(), Some(newest.as_str()), "{s}");
    assert_eq!(record_count(&env), all as u64);
    let asked = &srv.hits()[hits_before];
    assert!(
        asked.contains(&format!("recallPublictBgnde={}", newest.replace('-', ""))),
        "{asked}"
    );
    // And again: nothing new, nothing added.
    let s = summary(&pull(
        &env,
        "consumer24",
        &srv.base,
        &["--key", "k", "--no-photos", "--incremental"],
    ));
    assert_eq!(s["added"], 0, "{s}");
    assert_eq!(record_count(&env), all as u64);

    // The pull prints the time to sweep its records against.
    let r = pull(
        &env,
        "consumer24",
        &srv.base,
        &["--key", "k", "--no-photos", "--since", "2026-06-01"],
    );
    assert!(
        r.stderr.contains("--banned-from-pull consumer24")
            && r.stderr.contains("--banned-since 20"),
        "{}",
        r.stderr
    );
}

#[test]
fn retries_honour_retry_after_then_give_up_leaving_the_index_as_it_was() {
    let env = Env::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let mode = Arc::new(Mutex::new("flaky"));
    let (c, m) = (calls.clone(), mode.clone());
    let srv = FeedServer::start(move |r| {
        if r.path != "/rss/feed.xml/psa_recall" {
            return status(404, vec![]);
        }
        let n = c.fetch_add(1, Ordering::SeqCst);
        match *m.lock().unwrap() {
            // 429 (wait a second, says the server), then a burst of three 500s, then the feed.
            "flaky" => match n {
                0 => status(429, vec![("Retry-After", "1".into())]),
                1..=3 => status(500, vec![]),
                _ => ok(sample("accc_rss.xml")),
            },
            "down" => status(503, vec![]),
            "slow" => Reply::Late(Duration::from_secs(3), Box::new(ok(sample("accc_rss.xml")))),
            _ => status(404, vec![]),
        }
    });
    let t = Instant::now();
    let r = pull(&env, "accc", &srv.base, &["--no-photos"]);
    let s = summary(&r);
    assert_eq!(s["added"], 1, "{s}");
    assert!(t.elapsed() >= Duration::from_secs(1), "Retry-After waited");
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert!(
        r.stderr.contains("HTTP 429; retrying in 1.0 s"),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr.matches("HTTP 500; retrying").count(),
        3,
        "{}",
        r.stderr
    );

    // A longer burst than the retries: one line naming the address, nothing written.
    *mode.lock().unwrap() = "down";
    let before = record_count(&env);
    let r = pull(&env, "accc", &srv.base, &["--no-photos", "--retries", "2"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let last = r.stderr.trim().lines().last().unwrap();
    assert!(
        last.contains("/rss/feed.xml/psa_recall: HTTP 503 (gave up after 3 attempts)"),
        "{}",
        r.stderr
    );
    assert_eq!(record_count(&env), before);

    // A server that does not answer in time: a timeout, retried, then given up.
    *mode.lock().unwrap() = "slow";
    let t = Instant::now();
    let r = pull(
        &env,
        "accc",
        &srv.base,
        &["--no-photos", "--retries", "1", "--timeout", "0.5"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("timed out after 0.5 s"), "{}", r.stderr);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(record_count(&env), before);
    // The failed pulls' audit folders say so; the pending files are gone.
    let audit = env.index().join("feeds/audit/accc");
    let failed = std::fs::read_dir(&audit)
        .unwrap()
        .flatten()
        .filter(|d| {
            std::fs::read_to_string(d.path().join("index.json"))
                .unwrap()
                .contains("failed: nothing ingested")
        })
        .count();
    assert_eq!(failed, 2);
    assert!(!env.index().join("feeds/pending-accc").exists());
}

#[test]
fn error_bodies_and_oversized_pages_are_errors() {
    let env = Env::new();
    let srv = FeedServer::start(
        |r| match r.query.get("RecallDateStart").map(String::as_str) {
            Some(_) => ok(sample("cpsc_error_body.json")),
            None => status(404, vec![]),
        },
    );
    let r = pull(&env, "cpsc", &srv.base, &["--since", "2026-01-01"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("RecallDateStart=2026-01-01&RecallDateEnd=")
            && r.stderr.contains("the CPSC API answered with an error: Error retrieving Recalls: The underlying provider failed on Open."),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert_eq!(record_count(&env), 0);
    // The error page itself is kept for audit.
    let pulls: Vec<_> = std::fs::read_dir(env.index().join("feeds/audit/cpsc"))
        .unwrap()
        .flatten()
        .collect();
    let page = std::fs::read_to_string(pulls[0].path().join("page-00001.json")).unwrap();
    assert!(page.contains("Error retrieving Recalls"));

    let big = FeedServer::start(|_| ok(vec![b' '; 50_000]));
    let r = pull(
        &env,
        "healthcanada",
        &big.base,
        &["--max-page-bytes", "10000"],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("larger than the limit of 10000 bytes"),
        "{}",
        r.stderr
    );
}

#[test]
fn photo_failures_are_warnings_and_the_record_is_kept() {
    let env = Env::new();
    let srv = FeedServer::start(|r| {
        if let Some(p) = photos(r) {
            return p;
        }
        let rec = |id: &str, photos: &[&str]| {
            let images: Vec<Value> = photos
                .iter()
                .map(|p| serde_json::json!({"URL": format!("{}/photos/{p}", r.base)}))
                .collect();
            serde_json::json!({
                "RecallID": 1, "RecallNumber": id, "RecallDate": "2026-10-01T00:00:00",
                "Title": format!("Recall {id}"), "Products": [{"Name": format!("Toy {id} kettle")}],
                "Images": images,
            })
        };
        ok(serde_json::to_string(&serde_json::json!([
            rec("1", &["big.jpg", "ok.jpg"]),
            rec("2", &["loop"]),
            rec("3", &["metadata", "mapped", "nowhere"]),
        ]))
        .unwrap())
    });
    let r = pull(
        &env,
        "cpsc",
        &srv.base,
        &["--since", "2026-09-01", "--max-photo-bytes", "100000"],
    );
    let s = summary(&r);
    assert_eq!(
        (
            s["added"].as_u64(),
            s["photos"].as_u64(),
            s["photo_failures"].as_u64()
        ),
        (Some(3), Some(1), Some(5)),
        "{s}\n{}",
        r.stderr
    );
    let e = &r.stderr;
    assert!(
        e.contains("record CPSC-1: warning: photo")
            && e.contains(
                "big.jpg: larger than the limit of 100000 bytes; the record is kept without it"
            ),
        "{e}"
    );
    assert!(e.contains("/photos/loop: more than 5 redirects"), "{e}");
    assert!(
        e.contains("refused: 169.254.169.254 is a link-local address"),
        "{e}"
    );
    assert!(
        e.contains("refused: ::ffff:169.254.169.254 is a link-local address")
            || e.contains("refused: 169.254.169.254 is a link-local address"),
        "{e}"
    );
    assert!(
        e.contains("refused: 0.0.0.0 is a unspecified address")
            || e.contains("refused: 0.0.0.0 is an unspecified address"),
        "{e}"
    );
    // The photo that came is hashed and kept as a thumbnail; the others are addresses only.
    let q = env.run(&[
        "query",
        "--image",
        common::s(&fixture("images/photo-03.jpg")),
        "--format",
        "json",
    ]);
    assert_eq!(q.json_lines()[0]["banned_id"], "CPSC-1", "{}", q.stdout);
    assert_eq!(
        std::fs::read_dir(env.index().join("thumbs"))
            .unwrap()
            .count(),
        1
    );
    // --no-photos: nothing fetched but the pages.
    let before = srv.hits().len();
    let s = summary(&pull(
        &env,
        "cpsc",
        &srv.base,
        &["--since", "2026-09-01", "--no-photos"],
    ));
    assert_eq!(
        (s["replaced"].as_u64(), s["photos"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(srv.hits().len(), before + 1);
}

#[test]
fn inside_addresses_are_refused_at_connect_unless_allowed() {
    let env = Env::new();
    let srv = FeedServer::start(|_| ok(sample("accc_rss.xml")));
    let port = srv.base.rsplit(':').next().unwrap().to_string();
    // The literal, a name that resolves to it, and its IPv4-mapped spelling: all refused
    // before a connection is made (the server hears nothing).
    for base in [
        srv.base.clone(),
        format!("http://localhost:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
    ] {
        let r = env.run(&["feed", "pull", "accc", "--base-url", &base]);
        assert_eq!(r.code, 2, "{base}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("is a loopback address (--allow-private-addresses to allow)"),
            "{base}: {}",
            r.stderr
        );
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
    assert!(srv.hits().is_empty(), "{:?}", srv.hits());
    assert_eq!(record_count(&env), 0);
    // A page that redirects to a refused address is refused at its hop, even allowed.
    let redirect = FeedServer::start(|_| {
        status(
            302,
            vec![("Location", "http://169.254.169.254/feed.xml".into())],
        )
    });
    let r = pull(&env, "accc", &redirect.base, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("refused: 169.254.169.254 is a link-local address"),
        "{}",
        r.stderr
    );
    let r = env.run(&["feed", "pull", "accc", "--base-url", "ftp://127.0.0.1"]);
    assert!(
        r.code == 2 && r.stderr.contains("--base-url"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_connection_dropped_mid_page_ingests_nothing_and_the_next_pull_completes() {
    let env = Env::new();
    let drop_page2 = Arc::new(AtomicBool::new(true));
    let d = drop_page2.clone();
    let srv = FeedServer::start(move |r| {
        let reply = consumer24_page(r, "99999999");
        match reply {
            Reply::Body { body, .. }
                if d.load(Ordering::SeqCst)
                    && r.query.get("pageNo").map(String::as_str) == Some("2") =>
            {
                Reply::Truncated(body)
            }
            other => other,
        }
    });
    let r = pull(
        &env,
        "consumer24",
        &srv.base,
        &["--key", "k", "--no-photos", "--retries", "1"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("pageNo=2") && r.stderr.contains("connection"),
        "{}",
        r.stderr
    );
    assert_eq!(
        record_count(&env),
        0,
        "page 1 was read, but nothing is committed"
    );
    assert!(!env.index().join("feeds/state.json").exists());
    drop_page2.store(false, Ordering::SeqCst);
    let s = summary(&pull(
        &env,
        "consumer24",
        &srv.base,
        &["--key", "k", "--no-photos"],
    ));
    let all = products_upto("99999999") as u64;
    assert_eq!(
        (s["added"].as_u64(), s["replaced"].as_u64()),
        (Some(all), Some(0)),
        "{s}"
    );
    assert_eq!(record_count(&env), all);
}

#[test]
fn the_banned_list_is_browsed_by_filters_on_the_command_line_the_api_and_the_page() {
    let env = Env::new();
    env.ingest_fixtures();
    let q = |args: &[&str]| {
        let mut a = vec!["query", "--format", "json"];
        a.extend_from_slice(args);
        let r = env.run(&a);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        r.json_lines()
    };
    let cpsc = q(&["--source", "CPSC", "--limit", "5"]);
    assert_eq!(cpsc.len(), 5);
    let dates: Vec<&str> = cpsc
        .iter()
        .map(|v| v["recalled_at"].as_str().unwrap())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted, "newest recall first");
    assert!(
        cpsc.iter().all(|v| v["source"] == "CPSC"
            && v.get("decision").is_none()
            && v.get("score").is_none())
    );
    assert_eq!(
        cpsc.iter()
            .map(|v| v["rank"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let next = q(&["--source", "CPSC", "--limit", "5", "--offset", "5"]);
    assert_eq!(next[0]["rank"], 6);
    assert!(next[0]["recalled_at"].as_str() <= cpsc[4]["recalled_at"].as_str());
    assert!(
        next.iter()
            .all(|n| cpsc.iter().all(|c| c["banned_id"] != n["banned_id"]))
    );
    let fire = q(&[
        "--hazard",
        "fire",
        "--since",
        "2026-01-01",
        "--limit",
        "1000",
    ]);
    assert!(!fire.is_empty());
    assert!(fire.iter().all(|v| {
        v["hazard"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("fire")
            && v["recalled_at"].as_str().unwrap() >= "2026-01-01"
    }));
    let kr = q(&["--jurisdiction", "KR", "--limit", "1000"]);
    assert!(kr.iter().all(|v| {
        v["jurisdictions"].as_array().unwrap().is_empty()
            || v["jurisdictions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|j| j == "KR")
    }));
    // Nothing at all: every record, with a count on the table's footer.
    let r = env.run(&["query"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("records 1–10 of 245, newest recall first; --offset 10 for more"),
        "{}",
        r.stderr
    );
    // A search is a ranking with its evidence, not a decision.
    let hits = q(&["power bank", "--limit", "3"]);
    assert_eq!(hits[0]["rank"], 1);
    assert!(hits.iter().all(|h| h.get("decision").is_none()
        && h["score"].is_number()
        && h["evidence"].is_array()));
    let t = env.run(&["query", "power bank", "--limit", "3"]);
    for word in ["block", "review", "allow"] {
        assert!(!t.stdout.contains(&format!(" {word} ")), "{}", t.stdout);
    }
    let csv = env.run(&[
        "query", "--source", "CPSC", "--limit", "2", "--format", "csv",
    ]);
    assert!(
        csv.stdout
            .starts_with("rank,banned_id,recalled_at,source,title,category,hazard,url\n1,"),
        "{}",
        csv.stdout
    );

    // The API and the page answer the same.
    let srv = Server::start(&env, &[], &[]);
    let r = srv.get("/v1/query?source=cpsc&limit=5");
    assert_eq!(r.status, 200, "{}", r.body);
    let ids = |v: &[Value]| {
        v.iter()
            .map(|x| x["banned_id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(r.json().as_array().unwrap()), ids(&cpsc));
    let r = srv.get("/v1/query?source=cpsc&limit=5&offset=5");
    assert_eq!(ids(r.json().as_array().unwrap()), ids(&next));
    let r = srv.get("/v1/query?hazard=fire&since=2026-01-01&limit=100");
    assert_eq!(r.json().as_array().unwrap().len(), fire.len().min(100));
    assert_eq!(srv.get("/v1/query?since=2026-1-1").status, 400);
    let r = srv.get("/?source=CPSC&hazard=fire");
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("newest recall first") && r.body.contains("data-rank=\"1\""),
        "{}",
        r.body
    );
    let first_fire = q(&["--source", "CPSC", "--hazard", "fire", "--limit", "1"]);
    assert!(r.body.contains(&format!(
        "data-banned-id=\"{}\"",
        first_fire[0]["banned_id"].as_str().unwrap()
    )));
    assert!(
        r.body.contains("value=\"CPSC\""),
        "the form keeps the filter"
    );
    let r = srv.get("/?source=CPSC");
    assert!(
        r.body
            .contains("id=\"next\" href=\"/?offset=20&amp;source=CPSC\""),
        "{}",
        r.body
    );
    let r = srv.get("/?text=power+bank");
    assert!(
        r.body
            .contains("ranked by relevance (a search, not a check)")
            && r.body.contains("class=\"card search\""),
        "{}",
        r.body
    );
    assert!(!r.body.contains("data-decision"), "{}", r.body);
    srv.stop();
}

#[test]
fn who_still_sells_it_sweeps_the_records_of_a_pull() {
    let env = Env::new();
    env.ingest_fixtures();
    // Ingest times are seconds: the pull must come in a later one than the older records.
    std::thread::sleep(Duration::from_millis(1100));
    let srv = cpsc_server();
    let s = summary(&pull(
        &env,
        "cpsc",
        &srv.base,
        &["--since", "2026-01-01", "--no-photos"],
    ));
    assert_eq!(s["added"], 3);
    let catalog = env.write(
        "catalog.jsonl",
        concat!(
            r#"{"id":"L-1","title":"HOMEZO portable space heater HZ-1500B 1500W","seller":"HeatCo","platform":"MegaMart","url":"https://shop.example/l-1"}"#,
            "\n",
            r#"{"id":"L-2","title":"VoltMax 20000mAh Portable Power Bank HB-2210X","seller":"OldBan","platform":"MegaMart"}"#,
            "\n",
            r#"{"id":"L-3","title":"garden hose 20 m","seller":"Garden"}"#,
            "\n",
            r#"{"id":"L-4","title":"베이비킹 아기 욕조 BK-220","seller":"KidsKR","market":"KR"}"#,
            "\n",
        ),
    );
    let r = env.run(&[
        "sweep",
        common::s(&catalog),
        "--banned-from-pull",
        "cpsc",
        "--report",
        "report.html",
        "--sellers",
        "sellers.csv",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("sweeping against the records of the pull at"),
        "{}",
        r.stderr
    );
    let csv = std::fs::read_to_string(env.path("sellers.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("listing_id,seller,platform,url,banned_id,decision,score")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.iter()
            .any(|l| l.starts_with("L-1,HeatCo,MegaMart,https://shop.example/l-1,CPSC-26702,")),
        "{csv}"
    );
    // Only listings the pull's records reach are checked: the bath tub banned long before is
    // not swept for (a full sweep flags it), nor is the hose.
    assert!(
        rows.iter()
            .all(|l| !l.starts_with("L-4,") && !l.starts_with("L-3,")),
        "{csv}"
    );
    let full = env.run(&["sweep", common::s(&catalog), "--quiet"]);
    assert!(full.stdout.contains("\"L-4\""), "{}", full.stdout);
    let html = std::fs::read_to_string(env.path("report.html")).unwrap();
    assert!(html.contains("CPSC-26702"), "the report too");
    let last = env.run(&[
        "sweep",
        common::s(&catalog),
        "--banned-from-pull",
        "last",
        "--quiet",
    ]);
    assert_eq!(last.code, 0, "{}", last.stderr);
    assert!(last.stdout.contains("\"L-1\""), "{}", last.stdout);
    let none = env.run(&["sweep", common::s(&catalog), "--banned-from-pull", "accc"]);
    assert_eq!(none.code, 2);
    assert!(
        none.stderr.contains("no successful pull of accc"),
        "{}",
        none.stderr
    );
}

//! Resource limits that hold: hostile inputs of each kind are refused with a one-line error
//! naming the file, line or field, within bounded memory (peak RSS of the child, measured with
//! wait4) and time, and the command or server goes on with the next input.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http::Server;
use common::{Env, Run, s};

const RELISTING: &str = r#"{"id":"L-1","title":"Vоltmаx hb 2210x portable charger"}"#;
const BANNED: &str = r#"{"id":"B-1","title":"VoltMax HB-2210X 20000mAh Portable Power Bank","brand":"VoltMax","models":["HB-2210X"],"source":"CPSC"}"#;

/// Peak memory a command may use on any of these inputs (the index is tiny; the inputs are
/// 10 MB to 1 GB). Unbounded reading of any of them would be far over.
const MAX_RSS_MIB: u64 = 200;
/// Time a command may take (debug build, shared CI machine).
const MAX_SECS: u64 = 60;

/// Writes a command's standard input (on its own thread, so it can stream).
type Feed = Box<dyn FnOnce(&mut dyn Write) + Send>;

struct Measured {
    run: Run,
    peak_mib: u64,
    took: Duration,
}

/// Hard cap on the child's data memory (RLIMIT_DATA: heap and private anonymous mappings):
/// an allocation past it fails and the process aborts, so passing under it proves the bound
/// even between two samples of [`peak_kib`].
const DATA_LIMIT: u64 = 1 << 30;

/// VmHWM (peak resident set of the process's own memory, not counting what it inherited
/// before exec) from /proc.
fn peak_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `relist ARGS` in `env`, feeding stdin from `feed` (on a thread, streaming), and
/// measures the child's peak resident memory (VmHWM, sampled every millisecond until it
/// exits) under a hard RLIMIT_DATA cap.
fn measured(env: &Env, args: &[&str], feed: Option<Feed>) -> Measured {
    use std::os::unix::process::CommandExt;
    let start = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relist"));
    cmd.current_dir(env.dir.path())
        .env_remove("RELIST_INDEX")
        .env_remove("RELIST_CONFIG")
        .args(args)
        .stdin(if feed.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: DATA_LIMIT as libc::rlim_t,
                rlim_max: DATA_LIMIT as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_DATA, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let writer = feed.map(|f| {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || f(&mut stdin))
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).unwrap();
        v
    });
    let e = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).unwrap();
        v
    });
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(k) = peak_kib(pid) {
            peak = peak.max(k);
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let took = start.elapsed();
    if let Some(w) = writer {
        let _ = w.join();
    }
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&e.join().unwrap()).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        status.code().is_some(),
        "killed by a signal ({status}; over the {} MiB data cap?): {}",
        DATA_LIMIT >> 20,
        run.stderr
    );
    let m = Measured {
        run,
        peak_mib: peak / 1024,
        took,
    };
    eprintln!(
        "relist {}: exit {}, peak RSS {} MiB, {:.2} s",
        args.join(" ").chars().take(120).collect::<String>(),
        m.run.code,
        m.peak_mib,
        m.took.as_secs_f64()
    );
    assert!(
        m.peak_mib < MAX_RSS_MIB,
        "peak RSS {} MiB: {}",
        m.peak_mib,
        m.run.stderr
    );
    assert!(m.took < Duration::from_secs(MAX_SECS), "took {:?}", m.took);
    m
}

fn setup() -> Env {
    let env = Env::new();
    let f = env.write("banned.jsonl", format!("{BANNED}\n"));
    let r = env.run(&["ingest", s(&f)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    env
}

/// Every message line is one line that names the input.
fn one_line_naming(stderr: &str, needle: &str) {
    assert!(
        stderr.lines().any(|l| l.contains(needle)),
        "no line with '{needle}' in: {stderr}"
    );
}

#[test]
fn a_10_mb_title_is_refused_by_field_and_the_next_listing_is_checked() {
    let env = setup();
    let title = "x".repeat(10 << 20);
    // A JSON array: the big listing, then a relisting.
    let file = env.write(
        "two.json",
        format!("[{{\"id\":\"big\",\"title\":\"{title}\"}},{RELISTING}]"),
    );
    let m = measured(&env, &["check", s(&file)], None);
    assert_eq!(
        m.run.code, 1,
        "the relisting after it is blocked: {}",
        m.run.stderr
    );
    one_line_naming(
        &m.run.stderr,
        "item 0: field `title`: 10485760 bytes, over the limit",
    );
    assert_eq!(m.run.json_lines().len(), 1);
    // One listing alone: exit 2, the message names the file, line and field.
    let file = env.write(
        "big.json",
        format!("{{\"id\":\"big\",\"title\":\"{title}\"}}"),
    );
    let m = measured(&env, &["check", s(&file)], None);
    assert_eq!(m.run.code, 2);
    one_line_naming(&m.run.stderr, "big.json:1: field `title`");
    // Banned records: a 3 MB title (under the line bound) is refused by line and field, the
    // records around it ingested.
    let t3 = "y".repeat(3 << 20);
    let feed = env.write(
        "feed.jsonl",
        format!("{BANNED}\n{{\"id\":\"B-2\",\"title\":\"{t3}\"}}\n{{\"id\":\"B-3\",\"title\":\"kettle\"}}\n"),
    );
    let m = measured(&env, &["ingest", s(&feed)], None);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    one_line_naming(&m.run.stderr, "feed.jsonl:2: field `title`: 3145728 bytes");
    one_line_naming(&m.run.stderr, "1 added, 1 replaced, 1 rejected");

    // The server: a check over the body limit (413), a write refused by field (400), then
    // the next check is answered; its memory stays bounded throughout.
    let server = Server::start(&env, &[], &[]);
    let big = format!("{{\"id\":\"big\",\"title\":\"{title}\"}}");
    let r = server.post("/v1/check", &big);
    assert_eq!(
        (r.status, r.code().as_str()),
        (413, "payload_too_large"),
        "{}",
        r.body
    );
    let r = server.post("/v1/banned", &big);
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_record"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("field `title`: 10485760 bytes"),
        "{}",
        r.body
    );
    let r = server.post("/v1/check", RELISTING);
    assert_eq!(r.json()["decision"], "block");
    let pid = server.child.as_ref().unwrap().id();
    let peak = peak_kib(pid).unwrap() / 1024;
    eprintln!("relist serve after 10 MB titles: peak RSS {peak} MiB");
    assert!(peak < MAX_RSS_MIB, "server peak RSS {peak} MiB");
}

#[test]
fn a_100000_photo_listing_is_refused_by_field() {
    let env = setup();
    let images: Vec<String> = (0..100_000).map(|i| format!("p{i}.jpg")).collect();
    let hashes: Vec<serde_json::Value> = (0..100_000)
        .map(|i| serde_json::json!({"algo": "dhash", "hash": format!("{i:x}")}))
        .collect();
    let big1 = serde_json::json!({"id": "P-1", "title": "kettle", "images": images});
    let big2 = serde_json::json!({"id": "P-2", "title": "kettle", "image_hashes": hashes});
    let file = env.write("photos.jsonl", format!("{big1}\n{big2}\n{RELISTING}\n"));
    let m = measured(&env, &["check", s(&file)], None);
    assert_eq!(m.run.code, 1, "{}", m.run.stderr);
    one_line_naming(
        &m.run.stderr,
        "photos.jsonl:1: field `images`: 100000 entries, over the limit of 256",
    );
    one_line_naming(
        &m.run.stderr,
        "photos.jsonl:2: field `image_hashes`: 100000 entries",
    );
    assert_eq!(m.run.json_lines()[0]["listing_id"], "L-1");

    // The server: over the body limit (413), or refused by field (400); then it goes on.
    let server = Server::start(&env, &[], &[]);
    let r = server.post("/v1/check", &big2.to_string());
    assert_eq!(
        (r.status, r.code().as_str()),
        (413, "payload_too_large"),
        "{}",
        r.body
    );
    let few: Vec<String> = (0..100_000).map(|i| format!("{}", i % 10)).collect();
    let r = server.post(
        "/v1/check",
        &serde_json::json!({"id": "P-3", "title": "kettle", "images": few}).to_string(),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_record"),
        "{}",
        r.body
    );
    assert!(
        r.json()["message"].as_str().unwrap().contains("`images`"),
        "{}",
        r.body
    );
    let r = server.post("/v1/check", RELISTING);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["decision"], "block");
}

#[test]
fn a_50000_by_50000_png_is_refused_before_decoding() {
    let env = setup();
    let bomb = env.write("bomb.png", common::png_claiming(50_000, 50_000));
    let fine = image::RgbImage::from_fn(64, 64, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 4) as u8, ((x + y) * 2) as u8])
    });
    let ok = env.path("ok.png");
    fine.save(&ok).unwrap();
    let m = measured(&env, &["hash", s(&bomb), s(&ok)], None);
    assert_eq!(m.run.code, 2);
    let lines = m.run.json_lines();
    let err = lines[0]["error"].as_str().unwrap();
    assert!(
        err.contains("bomb.png") && err.contains("too large"),
        "{err}"
    );
    assert!(
        lines[1]["dhash"].is_string(),
        "the next photo is hashed: {:?}",
        lines[1]
    );
    // As a listing's photo: the check goes on without it.
    let listing = env.write(
        "l.json",
        format!("{{\"id\":\"L-1\",\"title\":\"Vоltmаx hb 2210x portable charger\",\"images\":[\"{}\"]}}", s(&bomb)),
    );
    let m = measured(&env, &["check", s(&listing)], None);
    assert_eq!(m.run.code, 1, "{}", m.run.stderr);
    let res = &m.run.json_lines()[0];
    let err = res["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("bomb.png") && err.contains("too large"),
        "{res}"
    );
}

#[test]
fn a_gzip_bomb_archive_is_refused_before_it_is_unpacked() {
    let env = setup();
    // A real bomb: 1 GiB of zeros in one tar entry, about 1 MiB once gzip'd.
    let path = env.path("bomb.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::best(),
        );
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        let size = 1u64 << 30;
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        struct Zeros(u64);
        impl std::io::Read for Zeros {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = (buf.len() as u64).min(self.0) as usize;
                buf[..n].fill(0);
                self.0 -= n as u64;
                Ok(n)
            }
        }
        tar.append_data(&mut header, "text/zeros", Zeros(size))
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
    }
    let packed = std::fs::metadata(&path).unwrap().len();
    assert!(packed < 8 << 20, "{packed}");
    let m = measured(
        &env,
        &["--index", "imported", "index", "import", s(&path)],
        None,
    );
    assert_eq!(m.run.code, 2);
    one_line_naming(&m.run.stderr, "bomb.tar.gz: unpacks to more than 256 MiB");
    // Nothing of it was written.
    let written: u64 = walk(&env.path("imported"));
    assert!(written < 1 << 20, "{written} bytes unpacked");
    // The command goes on: a real archive imports.
    let good = env.path("good.tar.gz");
    let r = env.run(&["index", "export", s(&good)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = env.run(&["--index", "imported2", "index", "import", s(&good)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

fn walk(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn an_entity_expansion_feed_expands_nothing() {
    // Ingest reads no compressed feeds; the expansion it could meet is XML's ("billion laughs").
    let env = setup();
    let mut dtd = String::from("<!DOCTYPE r [<!ENTITY l0 \"lollollollollollollollollol\">");
    for i in 1..10 {
        let prev = format!("&l{};", i - 1);
        dtd.push_str(&format!("<!ENTITY l{i} \"{}\">", prev.repeat(10)));
    }
    dtd.push(']');
    dtd.push('>');
    let xml = format!(
        "<?xml version=\"1.0\"?>{dtd}<Safety-Gate><notifications><caseNumber>A1</caseNumber>\
         <name>&l9; heater</name><brand>Acme</brand></notifications>\
         <notifications><caseNumber>A2</caseNumber><name>Acme kettle K-2</name></notifications></Safety-Gate>"
    );
    let feed = env.write("weekly.xml", xml);
    let m = measured(&env, &["ingest", "--format", "safetygate", s(&feed)], None);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    let q = env.run(&["query", "heater", "--format", "json"]);
    assert!(
        !q.stdout.contains("lollol"),
        "an entity was expanded: {}",
        &q.stdout[..q.stdout.len().min(300)]
    );
}

#[test]
fn deeply_nested_json_is_refused_everywhere() {
    let env = setup();
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let deep_obj = format!("{{\"id\":\"N\",\"title\":\"t\",\"x\":{deep}}}");
    // check: a JSON Lines file with the nested line, then a relisting.
    let file = env.write("nested.jsonl", format!("{deep_obj}\n{RELISTING}\n"));
    let m = measured(&env, &["check", s(&file)], None);
    assert_eq!(m.run.code, 1, "{}", m.run.stderr);
    one_line_naming(
        &m.run.stderr,
        "nested.jsonl:1: invalid JSON: recursion limit exceeded",
    );
    // explain: the nested line is an error line, the next pair is explained.
    let pairs = env.write(
        "nested_pairs.jsonl",
        format!("{deep}\n{{\"banned_id\":\"B-1\",\"listing\":{RELISTING}}}\n"),
    );
    let m = measured(&env, &["explain", s(&pairs)], None);
    assert_eq!(m.run.code, 2, "{}", m.run.stderr);
    let lines = m.run.json_lines();
    assert!(
        lines[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("nested_pairs.jsonl:1: invalid JSON: recursion limit")),
        "{:?}",
        lines[0]
    );
    assert_eq!(lines[1]["decision"], "block", "{:?}", lines[1]);
    // ingest: the same for banned records, and a whole-document feed.
    let feed = env.write("nested_feed.jsonl", format!("{deep}\n{BANNED}\n"));
    let m = measured(&env, &["ingest", s(&feed)], None);
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    one_line_naming(
        &m.run.stderr,
        "nested_feed.jsonl:1: invalid JSON: recursion limit",
    );
    let cpsc = env.write("cpsc.json", &deep);
    let m = measured(&env, &["ingest", "--format", "cpsc", s(&cpsc)], None);
    assert_eq!(m.run.code, 2);
    one_line_naming(&m.run.stderr, "cpsc.json: invalid JSON: recursion limit");
    // The server: 400, then the next request is answered.
    let server = Server::start(&env, &[], &[]);
    for path in ["/v1/check", "/v1/check/batch", "/v1/explain", "/v1/banned"] {
        let r = server.post(path, &deep[..400_000]);
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(r.body.contains("recursion limit"), "{path}: {}", r.body);
    }
    let r = server.post("/v1/check", RELISTING);
    assert_eq!(r.json()["decision"], "block");
}

#[test]
fn a_csv_with_a_1_gb_line_is_skipped_by_line_within_bounded_memory() {
    let env = setup();
    // Streamed through a pipe: the test never holds the gigabyte either.
    let feed: Feed = Box::new(|w: &mut dyn Write| {
        let _ = w.write_all(b"id,title,models\nC-1,Acme kettle K-1,K-1\nC-2,");
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..1024 {
            if w.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = w.write_all(b",K-2\nC-3,Acme toaster T-3,T-3\n");
    });
    let m = measured(&env, &["ingest", "--format", "csv", "-"], Some(feed));
    assert_eq!(m.run.code, 0, "{}", m.run.stderr);
    one_line_naming(&m.run.stderr, "-:3: CSV record longer than 4 MiB; skipped");
    one_line_naming(&m.run.stderr, "2 added, 0 replaced, 1 rejected");
    let r = env.run(&["query", "--model", "T-3", "--format", "json"]);
    assert!(
        r.stdout.contains("C-3"),
        "the row after the long one: {}",
        r.stdout
    );
}

//! `relist feed pull` against a feed server on loopback: records per second and peak memory of
//! a pull of many pages (Consumer24's XML, 100 records a page), then photos per second of a
//! pull whose every record names one photo.
//!
//!     cargo bench --bench feed_pull
//!
//! Settings (environment): `RELIST_PULL_RECORDS` (100000), `RELIST_PULL_PHOTO_RECORDS` (2000).
//! The pull runs under `/usr/bin/time -v` when it is there, for the peak resident set size.
//! The server is one thread per connection, pages generated on demand (the payload is never
//! held whole); photos are the fixtures' 240×180 JPEGs, served from memory.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Page `page` (from 1) of `total` records; with `photos`, each names one photo of the server.
fn page(base: &str, total: usize, page: usize, photos: bool) -> Vec<u8> {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><selectCntntsForOpenAPIResponse><channel><return><code>00</code><allCnt>{total}</allCnt>"
    );
    let start = (page - 1) * 100;
    for i in start..(start + 100).min(total) {
        // Dates spread over 2000–2026, models and GTIN-like numbers distinct per record.
        let (y, m, d) = (2000 + i % 27, 1 + i % 12, 1 + i % 28);
        let img = if photos {
            format!(
                "<recallImgUrls>{base}/photos/{}.jpg</recallImgUrls>",
                i % 24 + 1
            )
        } else {
            String::new()
        };
        xml.push_str(&format!(
            "<content><recallSn>{i}</recallSn><productNm><![CDATA[Brand{} portable heater model ZX-{i:06} {} watts]]></productNm>\
<makr>Maker {}</makr><modlNmInfo>ZX-{i:06}, ZX-{i:06}B</modlNmInfo><shrtcomCn>overheating; fire hazard</shrtcomCn>\
<recallPublictBgnde>{y:04}{m:02}{d:02}</recallPublictBgnde>{img}</content>",
            i % 997,
            500 + i % 1500,
            i % 311,
        ));
    }
    xml.push_str("</return></channel></selectCntntsForOpenAPIResponse>");
    xml.into_bytes()
}

fn serve(conn: TcpStream, base: &str, total: usize, photos: bool, images: &[Vec<u8>]) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/");
    let body = if let Some(n) = target
        .strip_prefix("/photos/")
        .and_then(|p| p.strip_suffix(".jpg"))
    {
        let n: usize = n.parse().unwrap_or(1);
        images[(n - 1) % images.len()].clone()
    } else {
        let q = target.split_once('?').map_or("", |(_, q)| q);
        let get = |k: &str| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .unwrap_or("")
        };
        if get("cntntsId") == "0101" {
            page(base, total, get("pageNo").parse().unwrap_or(1), photos)
        } else {
            page(base, 0, 1, false)
        }
    };
    let mut out = conn;
    let _ = out.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    let _ = out.write_all(&body);
}

struct Server {
    base: String,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(total: usize, photos: bool) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let stop = Arc::new(AtomicBool::new(false));
        let images: Arc<Vec<Vec<u8>>> = Arc::new(
            (1..=24)
                .map(|i| {
                    std::fs::read(format!(
                        "{}/fixtures/images/photo-{i:02}.jpg",
                        env!("CARGO_MANIFEST_DIR")
                    ))
                    .expect("fixture photo")
                })
                .collect(),
        );
        let (st, b) = (stop.clone(), base.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        conn.set_nonblocking(false).ok();
                        let (b, images) = (b.clone(), images.clone());
                        std::thread::spawn(move || serve(conn, &b, total, photos, &images));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        Server { base, stop }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Runs one pull into a fresh index; returns (seconds, the summary line, peak RSS in KiB).
fn pull(dir: &Path, base: &str, photos: bool) -> (f64, serde_json::Value, Option<u64>) {
    let index = dir.join(if photos { "index-photos" } else { "index" });
    let relist = env!("CARGO_BIN_EXE_relist");
    let timed = Path::new("/usr/bin/time").exists();
    let mut cmd = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-v").arg(relist);
        c
    } else {
        Command::new(relist)
    };
    cmd.args(["--index", index.to_str().expect("utf-8 path"), "--quiet"])
        .args(["feed", "pull", "consumer24", "--base-url", base])
        .args(["--allow-private-addresses", "--key", "bench"]);
    if !photos {
        cmd.arg("--no-photos");
    }
    let t = Instant::now();
    let out = cmd.output().expect("run relist");
    let secs = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(
        out.stdout
            .split(|b| *b == b'\n')
            .find(|l| !l.is_empty())
            .expect("a summary line"),
    )
    .expect("summary JSON");
    let rss = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok());
    (secs, summary, rss)
}

fn main() {
    // `cargo test --benches` runs benches once with no arguments beyond `--bench`: keep that
    // cheap.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let records = env_usize("RELIST_PULL_RECORDS", 100_000);
    let photo_records = env_usize("RELIST_PULL_PHOTO_RECORDS", 2_000);
    let dir = tempfile::tempdir().expect("temp dir");

    let srv = Server::start(records, false);
    let (secs, s, rss) = pull(dir.path(), &srv.base, false);
    println!(
        "records: {} in {} pages, {:.1} s, {:.0} records/s, peak RSS {}",
        s["records"],
        s["pages"],
        secs,
        s["records"].as_f64().unwrap_or(0.0) / secs,
        rss.map_or("n/a".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
    );
    drop(srv);

    let srv = Server::start(photo_records, true);
    let (secs, s, rss) = pull(dir.path(), &srv.base, true);
    println!(
        "photos: {} records, {} photos hashed ({} failed), {:.1} s, {:.0} photos/s, peak RSS {}",
        s["records"],
        s["photos"],
        s["photo_failures"],
        secs,
        s["photos"].as_f64().unwrap_or(0.0) / secs,
        rss.map_or("n/a".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
    );
}

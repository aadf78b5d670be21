//! `relist serve` under load from a second process on loopback: throughput and latency
//! percentiles at saturation and at half of it, errors counted, and the server's memory over a
//! long run; text listings, then listings with one photo each (inline base64).
//!
//!     cargo bench --bench server_load                                # 1M banned, 20 s phases
//!     RELIST_LOAD_SOAK_SECS=300 cargo bench --bench server_load      # plus a 5-minute soak
//!
//! Settings (environment): `RELIST_BENCH_SIZE` banned records (default 1000000; the index is
//! built once into `target/bench-index/` and shared with `check_latency`), `RELIST_LOAD_SECS`
//! per measured phase (20), `RELIST_LOAD_SOAK_SECS` at saturation with the server's RSS sampled
//! every 10 s (0: none), `RELIST_LOAD_CONNS` keep-alive connections (8: twice the server's check
//! workers on 2 cores keeps them busy; more only queue, adding latency and no throughput),
//! `RELIST_LOAD_MODES` (`text,photo`), `RELIST_LOAD_BUILD_ONLY=1` to build the index and stop.
//!
//! The client is one blocking thread per keep-alive connection speaking HTTP/1.1 (no client
//! crate: hyper or reqwest would double the build for a loop of write, read, parse a length).
//! Saturation is closed-loop (each connection sends as soon as it has its answer); the half
//! load is open-loop (each request has a scheduled time, and its latency counts from then, so a
//! stall is not hidden by requests that were never sent). The baseline, measured in the same
//! run with the same client and connections, is `GET /healthz`: the HTTP stack alone.

#[path = "synth/mod.rs"]
mod synth;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rayon::prelude::*;
use relist::photo::{PhotoHasher, decode_bytes, hex64};

const SEED: u64 = 42;
/// Distinct listings sent (cycled); enough that the server's caches do not hold all answers.
const LISTINGS: usize = 4000;
/// Photos made for the photo mode; the first `BANNED_PHOTOS` are also on banned records.
const PHOTOS: usize = 200;
const BANNED_PHOTOS: usize = 100;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

/// What one phase measured.
struct Phase {
    ok: usize,
    errors: usize,
    first_error: Option<String>,
    secs: f64,
    /// Microseconds, sorted.
    lat: Vec<u32>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.secs
    }

    fn row(&self, mode: &str, load: &str, conns: usize) {
        println!(
            "{:<6} {:<22} {:>5} {:>9.0} {:>8} {:>6} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>6}",
            mode,
            load,
            conns,
            self.rate(),
            self.ok,
            self.errors,
            percentile(&self.lat, 0.5),
            percentile(&self.lat, 0.9),
            percentile(&self.lat, 0.99),
            self.lat.last().map_or(f64::NAN, |&m| m as f64 / 1000.0),
            loadavg(),
        );
        if let Some(e) = &self.first_error {
            println!("       first error: {e}");
        }
    }
}

/// One keep-alive connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 << 10),
        })
    }

    /// Sends one request and reads its answer; returns the status and the body.
    fn roundtrip(&mut self, req: &[u8]) -> Result<(u16, Vec<u8>), String> {
        self.stream
            .write_all(req)
            .map_err(|e| format!("write: {e}"))?;
        self.buf.clear();
        let mut chunk = [0u8; 16 << 10];
        let (head_end, status, len) = loop {
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let status = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("bad status line: {head}"))?;
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or_else(|| format!("no content-length: {head}"))?;
                break (end + 4, status, len);
            }
        };
        while self.buf.len() < head_end + len {
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed mid-body".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok((status, self.buf[head_end..head_end + len].to_vec()))
    }
}

fn request(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "{method} {path} HTTP/1.1\r\nHost: relist\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// Runs `conns` connections for `secs`: closed-loop when `rate` is `None`, else paced so that
/// all of them together send `rate` requests a second.
fn run_phase(
    addr: &str,
    reqs: &Arc<Vec<Vec<u8>>>,
    conns: usize,
    secs: f64,
    rate: Option<f64>,
) -> Phase {
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let threads: Vec<_> = (0..conns)
        .map(|c| {
            let (addr, reqs) = (addr.to_string(), reqs.clone());
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let (mut errors, mut first_error) = (0usize, None);
                let mut conn = Conn::open(&addr).expect("connect");
                let interval = rate.map(|r| Duration::from_secs_f64(conns as f64 / r));
                // Connections start spread over one interval, not all at once.
                let offset = interval.map_or(Duration::ZERO, |i| i * c as u32 / conns as u32);
                let mut k = 0u32;
                let mut i = c * 7919;
                loop {
                    let due = match interval {
                        Some(iv) => start + offset + iv * k,
                        None => Instant::now(),
                    };
                    if due >= end {
                        break;
                    }
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    k += 1;
                    i = (i + 1) % reqs.len();
                    match conn.roundtrip(&reqs[i]) {
                        // A check's result, or healthz's answer for the baseline.
                        Ok((200, body))
                            if body.starts_with(b"{\"listing_id\"")
                                || body.starts_with(b"{\"status\"") =>
                        {
                            lat.push(due.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        }
                        Ok((status, body)) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| {
                                format!("{status} {}", String::from_utf8_lossy(&body))
                            });
                        }
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                            conn = Conn::open(&addr).expect("reconnect");
                        }
                    }
                }
                (lat, errors, first_error)
            })
        })
        .collect();
    let mut phase = Phase {
        ok: 0,
        errors: 0,
        first_error: None,
        secs: 0.0,
        lat: Vec::new(),
    };
    for t in threads {
        let (lat, errors, first) = t.join().expect("client thread");
        phase.ok += lat.len();
        phase.errors += errors;
        phase.lat.extend(lat);
        if phase.first_error.is_none() {
            phase.first_error = first;
        }
    }
    phase.secs = start.elapsed().as_secs_f64();
    phase.lat.sort_unstable();
    phase
}

/// The machine's 1-minute load average (Linux): this run's server and client count for about
/// 2-3 of it; the rest is other work sharing the cores.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The server's resident memory in MiB (Linux).
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn start_server(index: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relist"))
        .args(["--index", index.to_str().unwrap(), "serve"])
        .args(["--addr", "127.0.0.1:0", "--max-in-flight", "4096"])
        .env_remove("RELIST_CHECK_TOKENS")
        .env_remove("RELIST_ADMIN_TOKENS")
        .env_remove("RELIST_CONFIG")
        .env("RELIST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start relist serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("relist serve exited before listening")
            .unwrap();
        if let Some(a) = line.strip_prefix("relist: listening on http://") {
            break a.to_string();
        }
        eprintln!("server: {line}");
    };
    // Keep draining the server's stderr so that it never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            eprintln!("server: {line}");
        }
    });
    Server { child, addr }
}

/// 800×800 JPEG photos (q 85): real photographs from the shared grocery set, enlarged, or
/// generated patterns when the set is not there.
fn photos() -> Vec<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/images/grocery");
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jpg") {
                files.push(p);
            }
        }
    }
    files.sort();
    let step = (files.len() / PHOTOS).max(1);
    let sources: Vec<image::DynamicImage> = if files.len() >= PHOTOS {
        files
            .iter()
            .step_by(step)
            .take(PHOTOS)
            .map(|p| image::open(p).expect("grocery photo"))
            .collect()
    } else {
        eprintln!("  no grocery photos found: generated patterns instead");
        (0..PHOTOS)
            .map(|k| {
                image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(200, 200, |x, y| {
                    let v = ((x * (k as u32 + 3)) ^ (y * 7 + k as u32 * 13)) as u8;
                    image::Rgb([v, v.wrapping_mul(3), 255 - v])
                }))
            })
            .collect()
    };
    sources
        .par_iter()
        .map(|img| {
            let big = img.resize_exact(800, 800, image::imageops::FilterType::Triangle);
            let mut out = Vec::new();
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
            big.to_rgb8().write_with_encoder(enc).expect("encode JPEG");
            out
        })
        .collect()
}

/// Listing bodies: the synthetic listings, each with one photo in photo mode.
fn bodies(vocab: &synth::Vocab, n: usize, photos: Option<&[Vec<u8>]>) -> Vec<Vec<u8>> {
    (0..LISTINGS)
        .map(|j| {
            let (line, _) = synth::listing(vocab, SEED, SEED + 2, n, j);
            let mut v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if let Some(ph) = photos {
                let data = base64::engine::general_purpose::STANDARD.encode(&ph[j % ph.len()]);
                v["photos"] = serde_json::json!([{"name": format!("p{j}.jpg"), "data": data}]);
            }
            serde_json::to_vec(&v).unwrap()
        })
        .collect()
}

fn main() {
    let n: usize = env_or("RELIST_BENCH_SIZE", 1_000_000);
    let secs: f64 = env_or("RELIST_LOAD_SECS", 20.0);
    let soak: f64 = env_or("RELIST_LOAD_SOAK_SECS", 0.0);
    let conns: usize = env_or("RELIST_LOAD_CONNS", 8);
    let modes = std::env::var("RELIST_LOAD_MODES").unwrap_or_else(|_| "text,photo".into());
    let vocab = synth::Vocab::new(SEED);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-index")
        .join(format!("syn-{n}"));
    drop(synth::build_index(&dir, &vocab, SEED, n));
    if std::env::var("RELIST_LOAD_BUILD_ONLY").is_ok_and(|v| v == "1") {
        return;
    }
    let photos = modes.contains("photo").then(photos);

    let server = start_server(&dir);
    let addr = server.addr.clone();
    let pid = server.child.id();
    let mut admin = Conn::open(&addr).expect("connect");
    if let Some(ph) = &photos {
        // Banned records carrying the first photos, so that photo search has something to
        // find (re-ingested by id on every run: the index stays the same).
        let hasher = PhotoHasher::new();
        let mut lines = String::new();
        for (k, bytes) in ph.iter().take(BANNED_PHOTOS).enumerate() {
            let img = decode_bytes(bytes, Path::new("p.jpg")).unwrap();
            let Some(h) = hasher.hash(&img) else { continue };
            let rec = serde_json::json!({"id": format!("LOADPHOTO-{k}"),
                "title": format!("Photographed banned product {k}"),
                "image_hashes": [{"algo": "dhash", "hash": hex64(h.dhash)},
                                 {"algo": "phash", "hash": hex64(h.phash)}]});
            lines.push_str(&rec.to_string());
            lines.push('\n');
        }
        let (status, body) = admin
            .roundtrip(&request("POST", "/v1/banned", lines.as_bytes()))
            .expect("ingest photo records");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
    println!(
        "relist serve, {n} banned records, {conns} keep-alive connections, {secs} s phases, \
         {} cores",
        std::thread::available_parallelism().map_or(0, |c| c.get())
    );
    println!(
        "{:<6} {:<22} {:>5} {:>9} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8} {:>6}",
        "mode",
        "load",
        "conns",
        "checks/s",
        "ok",
        "errors",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "load1"
    );
    // The baseline: the same client, connections and server answering `GET /healthz`, which
    // does no work: what HTTP alone costs on this machine now.
    let health: Arc<Vec<Vec<u8>>> = Arc::new(vec![request("GET", "/healthz", b"")]);
    run_phase(&addr, &health, conns, 2.0, None);
    let base = run_phase(&addr, &health, conns, secs.min(10.0), None);
    base.row("-", "healthz (baseline)", conns);
    for mode in modes.split(',').map(str::trim) {
        let ph = match mode {
            "text" => None,
            "photo" => photos.as_deref(),
            other => panic!("unknown mode {other} (text, photo)"),
        };
        let reqs: Arc<Vec<Vec<u8>>> = Arc::new(
            bodies(&vocab, n, ph)
                .iter()
                .map(|b| request("POST", "/v1/check", b))
                .collect(),
        );
        // Warm-up: page cache, record cache, connection setup.
        run_phase(&addr, &reqs, conns, 5.0, None);
        let sat = run_phase(&addr, &reqs, conns, secs, None);
        sat.row(mode, "saturation", conns);
        let half = run_phase(&addr, &reqs, conns, secs, Some(sat.rate() / 2.0));
        half.row(
            mode,
            &format!("50% ({:.0}/s offered)", sat.rate() / 2.0),
            conns,
        );
        println!(
            "{mode:<6} checks at saturation / healthz at saturation: {:.3}",
            sat.rate() / base.rate()
        );
        if soak > 0.0 {
            let stop = Arc::new(AtomicBool::new(false));
            let sampler = {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let t = Instant::now();
                    let mut samples = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        samples.push((t.elapsed().as_secs(), rss_mib(pid).unwrap_or(f64::NAN)));
                        let next = Instant::now() + Duration::from_secs(10);
                        while Instant::now() < next && !stop.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                    samples.push((t.elapsed().as_secs(), rss_mib(pid).unwrap_or(f64::NAN)));
                    samples
                })
            };
            let long = run_phase(&addr, &reqs, conns, soak, None);
            stop.store(true, Ordering::Relaxed);
            let samples = sampler.join().unwrap();
            long.row(mode, &format!("soak {soak:.0} s"), conns);
            let text: Vec<String> = samples
                .iter()
                .map(|(t, m)| format!("{t}s {m:.0}"))
                .collect();
            println!("{mode:<6} server RSS MiB: {}", text.join(", "));
            let rss: Vec<f64> = samples.iter().map(|s| s.1).collect();
            // Flat: after the first minute (caches filling), growth over the rest.
            let settled = rss.get(6).or(rss.first()).copied().unwrap_or(f64::NAN);
            println!(
                "{mode:<6} RSS first {:.0}, at 60 s {settled:.0}, last {:.0}, max {:.0} MiB",
                rss[0],
                rss[rss.len() - 1],
                rss.iter().copied().fold(f64::MIN, f64::max)
            );
        } else {
            println!(
                "{mode:<6} server RSS {:.0} MiB",
                rss_mib(pid).unwrap_or(f64::NAN)
            );
        }
    }
    drop(server);
}

//! Prometheus metrics, in the text exposition format, written by hand: requests by route,
//! method and status, a latency histogram by route, decisions, and the index size.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::state::Shared;
use crate::model::Decision;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    /// (route, method, status) → requests.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    decisions: [AtomicU64; 3],
    writes: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        let mut lat = self.latency.lock().expect("metrics lock");
        let h = lat.entry(route.to_string()).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    pub fn decision(&self, d: Decision) {
        self.decisions[d as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn write_committed(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text; `records` and `products`/`terms` are the index's current counts.
    pub fn render(&self, records: u64, products: u64, terms: u64, in_flight: usize) -> String {
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(
            w,
            "# HELP relist_http_requests_total HTTP requests answered."
        );
        let _ = writeln!(w, "# TYPE relist_http_requests_total counter");
        for ((route, method, status), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                w,
                "relist_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                escape(route),
                escape(method)
            );
        }
        let _ = writeln!(
            w,
            "# HELP relist_http_request_duration_seconds Time from request to response."
        );
        let _ = writeln!(w, "# TYPE relist_http_request_duration_seconds histogram");
        for (route, h) in self.latency.lock().expect("metrics lock").iter() {
            let route = escape(route);
            for (b, c) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    w,
                    "relist_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {c}"
                );
            }
            let _ = writeln!(
                w,
                "relist_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                w,
                "relist_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                w,
                "relist_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        let _ = writeln!(
            w,
            "# HELP relist_decisions_total Listings checked, by decision."
        );
        let _ = writeln!(w, "# TYPE relist_decisions_total counter");
        for d in [Decision::Allow, Decision::Review, Decision::Block] {
            let _ = writeln!(
                w,
                "relist_decisions_total{{decision=\"{d}\"}} {}",
                self.decisions[d as usize].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            w,
            "# HELP relist_index_writes_total Writes committed by this server."
        );
        let _ = writeln!(w, "# TYPE relist_index_writes_total counter");
        let _ = writeln!(
            w,
            "relist_index_writes_total {}",
            self.writes.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            w,
            "# HELP relist_index_records Banned records in the index, by kind."
        );
        let _ = writeln!(w, "# TYPE relist_index_records gauge");
        let _ = writeln!(w, "relist_index_records{{kind=\"product\"}} {products}");
        let _ = writeln!(w, "relist_index_records{{kind=\"term\"}} {terms}");
        let _ = writeln!(
            w,
            "# HELP relist_index_records_total Banned records in the index."
        );
        let _ = writeln!(w, "# TYPE relist_index_records_total gauge");
        let _ = writeln!(w, "relist_index_records_total {records}");
        let _ = writeln!(
            w,
            "# HELP relist_http_in_flight API requests being handled."
        );
        let _ = writeln!(w, "# TYPE relist_http_in_flight gauge");
        let _ = writeln!(w, "relist_http_in_flight {in_flight}");
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Outermost middleware: counts and times every request, and logs it.
pub async fn track(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    // The route pattern, not the path: `/v1/banned/{id}` stays one series whatever the ids.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    // Known methods only, so that callers cannot mint label values (series) at will.
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "OPTIONS" | "PATCH") => m,
        _ => "OTHER",
    }
    .to_string();
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    state.metrics.observe(&route, &method, status, secs);
    tracing::info!(route, method, status, ms = secs * 1000.0, "request");
    resp
}

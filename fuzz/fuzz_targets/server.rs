//! The HTTP API in-process: the router (auth, limits, body extraction, JSON request parsing,
//! validation, handlers) with a fuzzed method, path, query string and body. The first byte
//! picks the route; the bytes up to the first newline are the path or query; the rest is the
//! body. Writes reach the point of committing and fail there: the fuzzer holds the index's
//! write lock, so the index stays the same and every run stays fast.
#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use relist::server::{ServerConfig, app};
use tower::ServiceExt;

struct Harness {
    rt: tokio::runtime::Runtime,
    router: Router,
    _lock: Box<dyn std::any::Any + Send + Sync>,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let engine = relist_fuzz::engine();
        let lock = Box::new(engine.store().write_lock().expect("write lock"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let router = app(engine, ServerConfig::default());
        Harness {
            rt,
            router,
            _lock: lock,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (head, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b""[..]),
    };
    let head = String::from_utf8_lossy(head);
    let (method, uri) = match pick % 8 {
        0 => (Method::POST, "/v1/check".to_string()),
        1 => (Method::POST, "/v1/check/batch".to_string()),
        2 => (Method::POST, format!("/v1/banned?{head}")),
        3 => (Method::GET, format!("/v1/query?{head}")),
        4 => (Method::GET, format!("/v1/banned/{head}")),
        5 => (Method::DELETE, format!("/v1/banned/{head}")),
        6 => (Method::GET, format!("/{head}")),
        // Half of the last arm, so that the corpus's other picks keep their endpoints.
        7 if pick >= 128 => (Method::POST, "/v1/explain".to_string()),
        _ => (Method::POST, format!("/v1/check?{head}")),
    };
    // A URI hyper would not accept never reaches the router.
    let Ok(req) = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
    else {
        return;
    };
    let h = harness();
    h.rt.block_on(async {
        let resp = h.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = to_bytes(resp.into_body(), 64 << 20)
            .await
            .expect("response body");
        // Every error is the JSON `{code, message}` of the one table, and none is a 500 but
        // the write that finds the index locked (by this harness).
        if status.is_client_error() || status.is_server_error() {
            let v: serde_json::Value =
                serde_json::from_slice(&bytes).expect("error bodies are JSON");
            assert!(v["code"].is_string() && v["message"].is_string(), "{v}");
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            status.as_u16() != 500 || text.contains("another process is writing"),
            "internal error: {text}"
        );
    });
});

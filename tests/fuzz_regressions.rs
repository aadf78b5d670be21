//! Inputs the fuzzers of `fuzz/` found, kept as regression tests against the real binary.

mod common;

use common::http::Server;
use common::{Env, s};

fn setup() -> Env {
    let env = Env::new();
    let f = env.write(
        "banned.jsonl",
        "{\"id\":\"CPSC-1\",\"title\":\"VoltMax HB-2210X power bank\",\"models\":[\"HB-2210X\"]}\n",
    );
    let r = env.run(&["ingest", s(&f)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    env
}

/// fuzz/artifacts/server/crash-236e91e7…: `DELETE /v1/banned/CPSCr%2tr2~i%86` (a path segment
/// that is not percent-encoded UTF-8) was answered by axum's plain-text rejection instead of
/// the JSON `{code, message}` every error of the API is.
#[test]
fn a_path_that_is_not_utf8_is_a_json_bad_request() {
    let env = setup();
    let server = Server::start(&env, &[], &[]);
    for (method, path) in [
        ("DELETE", "/v1/banned/CPSCr%2tr2~i%86"),
        ("GET", "/v1/banned/CPSCr%2tr2~i%86"),
        ("GET", "/v1/banned/%FF%FE"),
    ] {
        let r = server.req(method, path, None, "");
        assert_eq!(r.status, 400, "{method} {path}: {}", r.body);
        assert_eq!(r.code(), "bad_request", "{method} {path}: {}", r.body);
        assert!(r.json()["message"].is_string());
    }
    // The record is still there and still found.
    let r = server.get("/v1/banned/CPSC-1");
    assert_eq!(r.status, 200, "{}", r.body);
}

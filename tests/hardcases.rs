//! Hard cases of issue 13 on the held-out seed: generated model and line variants, spec-token
//! collisions, products with several codes, multilingual offers and GTIN-only relistings,
//! judged with the default config.
//!
//! The targets are DESIGN.md's: recall ≥ 0.99 per relisting slice, a GTIN-only relisting at
//! least reviewed, no block on another model, another variant or another product, at most
//! 0.5 % of other products flagged. All hold but the last, which is held at 1.5 % (today 1.07 %
//! on this seed; the 0.5 % target is open, see the issue 13 note); `cargo test --test
//! hardcases -- --nocapture` prints the figures (`relist eval --hard 7130013` the same table).

mod common;

use std::sync::OnceLock;

use common::{Env, s};
use relist::config::Config;
use relist::engine::Engine;
use relist::pipeline::eval::{Counts, Report, evaluate};
use relist::pipeline::hardcases::{
    self, NEVER_BLOCK_SLICES, POSITIVE_SLICES, TEST_SEED, UNFLAGGED_SLICES,
};

/// One evaluation shared by the tests of this binary: generating and judging the set is the
/// cost, not the assertions.
fn report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let set = hardcases::generate(TEST_SEED, 1);
        let engine = Engine::in_memory(set.banned, Config::default()).expect("engine");
        evaluate(&engine, &set.listings).expect("evaluate")
    })
}

fn slice(name: &str) -> Counts {
    report().slices.get(name).cloned().unwrap_or_default()
}

fn table() -> String {
    let mut out = format!(
        "{:<16} {:>8} {:>8} {:>8} {:>8}\n",
        "slice", "listings", "recall", "flagged", "blocked"
    );
    for (name, c) in &report().slices {
        let (recall, flagged, blocked) = if c.positives > 0 {
            (format!("{:.3}", c.catch_rate()), "-".to_string(), c.blocked)
        } else {
            (
                "-".to_string(),
                format!("{:.3}", c.false_alarm_rate()),
                c.false_blocks,
            )
        };
        out.push_str(&format!(
            "{name:<16} {:>8} {recall:>8} {flagged:>8} {blocked:>8}\n",
            c.listings
        ));
    }
    out
}

#[test]
fn figures_on_the_held_out_seed() {
    let t = table();
    println!("hard cases, seed {TEST_SEED}, default config:\n{t}");
    for name in POSITIVE_SLICES
        .iter()
        .chain(NEVER_BLOCK_SLICES)
        .chain(UNFLAGGED_SLICES)
    {
        assert!(slice(name).listings >= 100, "slice {name} too small\n{t}");
    }
}

/// Relistings that name the product (brand typo, reordered or dropped words, a spec token
/// added, another of its codes, another language) are caught. GTIN-only relistings have their
/// own, stricter test.
#[test]
fn relistings_are_caught_in_every_text_slice() {
    let t = table();
    for name in POSITIVE_SLICES.iter().filter(|n| **n != "gtin_only") {
        let c = slice(name);
        assert!(
            c.catch_rate() >= 0.99,
            "{name}: recall {:.3}\n{t}",
            c.catch_rate()
        );
    }
}

#[test]
fn gtin_only_relistings_are_at_least_reviewed() {
    let c = slice("gtin_only");
    assert!(c.positives > 0);
    assert_eq!(c.caught, c.positives, "\n{}", table());
}

#[test]
fn no_other_model_variant_or_product_is_blocked() {
    let t = table();
    for name in NEVER_BLOCK_SLICES.iter().chain(UNFLAGGED_SLICES) {
        assert_eq!(slice(name).false_blocks, 0, "{name} blocked\n{t}");
    }
}

#[test]
fn other_products_are_rarely_flagged() {
    let (mut flagged, mut all) = (0, 0);
    for name in UNFLAGGED_SLICES {
        let c = slice(name);
        flagged += c.false_alarms;
        all += c.negatives;
    }
    let rate = flagged as f64 / all.max(1) as f64;
    // The target: at most 0.5 % of other products' listings flagged.
    assert!(rate <= 0.005, "{flagged} of {all} flagged\n{}", table());
}

/// `relist eval --hard SEED --save DIR` writes a set that `relist ingest` and `relist eval`
/// read back, and both judge it alike.
#[test]
fn a_saved_set_evaluates_as_the_generated_one() {
    let env = Env::new();
    let dir = env.path("hard");
    let r = env.run(&["eval", "--hard", "3", "--save", s(&dir), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let generated: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    for f in ["banned.jsonl", "listings.jsonl", "pairs.jsonl"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let r = env.run(&["ingest", s(&dir.join("banned.jsonl"))]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = env.run(&["eval", s(&dir.join("listings.jsonl")), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let saved: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(generated["slices"], saved["slices"]);
}

//! The photo robustness suite of issue 14 on its held-out seed, with drawn photos: every banned
//! photo edited by each family (rotations up to 15°, crops keeping 60–97 % of each side, text
//! boxes, stickers, watermarks, frames with captions, perspective, collages, blur/noise/low JPEG
//! quality, colour shifts, mirror and resize, and combinations), all parameters drawn, relisted
//! under titles that share nothing; and look-alike photos (other products of the same kind on
//! the same kind of background) that must not match.
//!
//! The targets are DESIGN.md's: recall ≥ 0.99 per edit at ≤ 0.1 % false matches. Held here: no
//! look-alike blocked and at most 1 of 80 flagged; every family at least 0.6, crops at least
//! 0.85, all of them together at least 0.95: a regression guard below the targets (on this seed
//! at this size combinations are 0.625 and crops 0.875, 0.625 before the aligned-region check;
//! the gap is in the issue 14 note). `cargo test --test photo_suite -- --nocapture` prints
//! the table; `relist eval --photos 5140014` gives it at full size.

mod common;

use std::sync::OnceLock;

use common::{Env, s};
use relist::config::Config;
use relist::pipeline::eval::Report;
use relist::pipeline::photo_suite::{self, EDITS, LOOK_ALIKE, Source, TEST_SEED};

fn report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let suite =
            photo_suite::generate(TEST_SEED, &Source::Drawn, dir.path(), 8, 80).expect("suite");
        let r = photo_suite::evaluate(&suite, Config::default()).expect("evaluate");
        for (name, c) in &r.slices {
            println!(
                "{name:<14} {:>4} listings  recall {:.3}  flagged {}  blocked {}",
                c.listings,
                c.catch_rate(),
                c.false_alarms,
                c.false_blocks
            );
        }
        r
    })
}

#[test]
fn every_edit_family_is_caught() {
    let r = report();
    for edit in EDITS {
        let c = r.slices.get(*edit).cloned().unwrap_or_default();
        assert_eq!(c.positives, 8, "{edit}: every banned photo edited once");
        assert!(
            c.catch_rate() >= 0.6,
            "{edit}: recall {:.3}",
            c.catch_rate()
        );
    }
    // A crop keeps too few of the banned photo's keypoints for their count alone; the pixels
    // under their placement make up for it (`photo::aligned`).
    let crop = r.slices.get("crop").map_or(0.0, |c| c.catch_rate());
    assert!(crop >= 0.85, "crop: recall {crop:.3}");
    let (caught, positives): (u64, u64) = EDITS
        .iter()
        .filter_map(|e| r.slices.get(*e))
        .fold((0, 0), |(a, b), c| (a + c.caught, b + c.positives));
    assert!(
        caught as f64 >= 0.95 * positives as f64,
        "{caught} of {positives} edited photos caught"
    );
}

#[test]
fn look_alike_photos_are_not_matched() {
    let c = report().slices.get(LOOK_ALIKE).cloned().unwrap_or_default();
    assert_eq!(c.negatives, 80);
    assert_eq!(c.false_blocks, 0, "a look-alike photo was blocked");
    assert!(
        c.false_alarms <= 1,
        "{} of 80 look-alikes flagged",
        c.false_alarms
    );
}

#[test]
fn the_command_writes_the_suite_and_reports_every_family() {
    let env = Env::new();
    let out = env.run(&[
        "eval",
        "--photos",
        "3",
        "--banned",
        "2",
        "--look-alikes",
        "3",
        "--json",
        "--save",
        s(&env.path("suite")),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    for edit in EDITS {
        assert_eq!(v["slices"][edit]["positives"], 2, "{edit}: {v}");
    }
    let labels = std::fs::read_to_string(env.path("suite/labels.jsonl")).unwrap();
    assert_eq!(labels.lines().count(), 2 * EDITS.len() + 3);
    assert!(env.path("suite/img/banned-0001.jpg").is_file());
}

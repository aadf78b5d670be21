//! Evaluation on labelled listings: precision, recall and F1 of review-or-block decisions,
//! overall and per slice (the `evasion` or `slice` tag of each listing).

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::engine::{CheckOptions, Engine};
use crate::error::Result;
use crate::model::{Decision, Listing};

/// A listing with the banned id it is a relisting of (`None`: it is not).
#[derive(Debug, Clone)]
pub struct Labelled {
    pub listing: Listing,
    pub expected: Option<String>,
    pub slice: String,
}

impl Labelled {
    /// Parses `{...listing, "expected": "ID" | null, "evasion"?: "...", "slice"?: "..."}`.
    pub fn from_value(v: Value) -> Result<Labelled, String> {
        let mut listing = Listing::from_value(v)?;
        let expected = match listing.extra.remove("expected") {
            Some(Value::Null) => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(_) => return Err("field `expected`: expected a banned id or null".into()),
            None => return Err("field `expected` is missing (a banned id or null)".into()),
        };
        let slice = ["slice", "evasion"]
            .iter()
            .find_map(|k| {
                listing
                    .extra
                    .get(*k)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| {
                if expected.is_some() {
                    "relisting"
                } else {
                    "other"
                }
                .into()
            });
        Ok(Labelled {
            listing,
            expected,
            slice,
        })
    }
}

/// Counts for one slice (or all listings).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub listings: u64,
    /// Relistings (expected non-null) and how many were caught.
    pub positives: u64,
    pub caught: u64,
    /// Relistings caught with decision block.
    pub blocked: u64,
    /// Listings with nothing to catch that got review or block.
    pub negatives: u64,
    pub false_alarms: u64,
    /// Negatives that were blocked.
    pub false_blocks: u64,
    /// Pairwise counts.
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        f1(self.precision(), self.recall())
    }
    /// Share of relistings caught (review or block).
    pub fn catch_rate(&self) -> f64 {
        ratio(self.caught, self.positives)
    }
    /// Share of non-relistings flagged (review or block).
    pub fn false_alarm_rate(&self) -> f64 {
        ratio(self.false_alarms, self.negatives)
    }

    fn add(&mut self, o: &Counts) {
        self.listings += o.listings;
        self.positives += o.positives;
        self.caught += o.caught;
        self.blocked += o.blocked;
        self.negatives += o.negatives;
        self.false_alarms += o.false_alarms;
        self.false_blocks += o.false_blocks;
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

/// The harmonic mean of precision and recall (0 when both are 0).
pub fn f1(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub all: Counts,
    pub slices: BTreeMap<String, Counts>,
    /// Misses and false alarms, for reading: (listing id, slice, expected, flagged ids).
    pub errors: Vec<(String, String, Option<String>, Vec<String>)>,
    pub seconds: f64,
}

/// Checks every labelled listing and counts.
pub fn evaluate(engine: &Engine, items: &[Labelled]) -> Result<Report> {
    let start = std::time::Instant::now();
    let opts = CheckOptions::top(10);
    // Per listing: its counts, the ids it flagged, and its id when it was misjudged.
    type Outcome = (Counts, Vec<String>, Option<String>);
    let outcomes: Vec<Result<Outcome>> = items
        .par_iter()
        .map(|it| {
            let res = engine.check(&it.listing, opts)?;
            let flagged: Vec<(String, Decision)> = res
                .matches
                .iter()
                .filter(|m| m.decision >= Decision::Review)
                .map(|m| (m.banned_id.clone(), m.decision))
                .collect();
            let mut c = Counts {
                listings: 1,
                ..Counts::default()
            };
            let hit = |id: &str| flagged.iter().find(|(f, _)| f == id).map(|(_, d)| *d);
            match &it.expected {
                Some(e) => {
                    c.positives = 1;
                    match hit(e) {
                        Some(d) => {
                            c.caught = 1;
                            c.tp = 1;
                            c.blocked = u64::from(d == Decision::Block);
                        }
                        None => c.fn_ = 1,
                    }
                    c.fp = flagged.iter().filter(|(f, _)| f != e).count() as u64;
                }
                None => {
                    c.negatives = 1;
                    c.false_alarms = u64::from(!flagged.is_empty());
                    c.false_blocks = u64::from(flagged.iter().any(|(_, d)| *d == Decision::Block));
                    c.fp = flagged.len() as u64;
                }
            }
            let wrong = c.fn_ > 0 || c.false_alarms > 0;
            let ids = flagged.into_iter().map(|(f, _)| f).collect();
            Ok((c, ids, wrong.then(|| it.listing.id.clone())))
        })
        .collect();
    let mut report = Report::default();
    for (it, out) in items.iter().zip(outcomes) {
        let (c, flagged, wrong) = out?;
        report.all.add(&c);
        report.slices.entry(it.slice.clone()).or_default().add(&c);
        if let Some(id) = wrong {
            report
                .errors
                .push((id, it.slice.clone(), it.expected.clone(), flagged));
        }
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

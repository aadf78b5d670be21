//! `relist eval`: precision, recall and F1 of review-or-block decisions on labelled listings.

use std::path::PathBuf;

use clap::Args;
use relist::engine::Engine;
use relist::eval::{Labelled, evaluate};
use relist::ingest::{self, Format};
use relist::{Error, Result};

use super::{ErrorReporter, Global, Outcome};

#[derive(Args)]
pub struct EvalArgs {
    /// Labelled listings: listing records with `"expected": "BANNED-ID"` or null.
    #[arg(required = true)]
    labels: Vec<PathBuf>,
    /// Print this many misclassified listings.
    #[arg(long, default_value_t = 0)]
    errors: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(g: &Global, a: EvalArgs) -> Result<Outcome> {
    let engine = Engine::open(&g.index, g.config()?)?;
    let mut items = Vec::new();
    let mut reporter = ErrorReporter::new(g.quiet);
    for path in &a.labels {
        let input = ingest::open(path)?;
        ingest::read_records(
            path,
            input,
            Format::Auto,
            Labelled::from_value,
            |item| match item {
                Ok((_, l)) => items.push(l),
                Err(e) => reporter.report(&e),
            },
        )?;
        reporter.finish(path);
    }
    if items.is_empty() {
        return Err(Error::Invalid("eval: no labelled listings".into()));
    }
    let r = evaluate(&engine, &items)?;
    if a.json {
        let slices: serde_json::Map<String, serde_json::Value> = r
            .slices
            .iter()
            .map(|(k, c)| {
                (
                    k.clone(),
                    serde_json::to_value(c).expect("counts serialise"),
                )
            })
            .collect();
        let v = serde_json::json!({
            "listings": r.all.listings, "precision": r.all.precision(), "recall": r.all.recall(),
            "f1": r.all.f1(), "false_alarm_rate": r.all.false_alarm_rate(),
            "false_blocks": r.all.false_blocks, "listings_per_second": r.all.listings as f64 / r.seconds.max(1e-9),
            "all": r.all, "slices": slices,
        });
        println!("{v}");
    } else {
        println!(
            "{:<16} {:>8} {:>9} {:>7} {:>8} {:>9} {:>7} {:>7} {:>7}",
            "slice",
            "listings",
            "relisted",
            "caught",
            "recall",
            "negatives",
            "flagged",
            "FA rate",
            "blocked"
        );
        for (name, c) in r
            .slices
            .iter()
            .chain(std::iter::once((&"ALL".to_string(), &r.all)))
        {
            println!(
                "{:<16} {:>8} {:>9} {:>7} {:>8.3} {:>9} {:>7} {:>7.3} {:>7}",
                name,
                c.listings,
                c.positives,
                c.caught,
                c.catch_rate(),
                c.negatives,
                c.false_alarms,
                c.false_alarm_rate(),
                c.blocked + c.false_blocks
            );
        }
        println!(
            "precision {:.4}  recall {:.4}  F1 {:.4}  ({} listings in {:.2} s, {:.0}/s)",
            r.all.precision(),
            r.all.recall(),
            r.all.f1(),
            r.all.listings,
            r.seconds,
            r.all.listings as f64 / r.seconds.max(1e-9)
        );
        for (id, slice, expected, flagged) in r.errors.iter().take(a.errors) {
            println!(
                "  {id} [{slice}] expected {} flagged [{}]",
                expected.as_deref().unwrap_or("nothing"),
                flagged.join(", ")
            );
        }
    }
    Ok(Outcome::Clean)
}

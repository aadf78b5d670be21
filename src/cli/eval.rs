//! `relist eval`: precision, recall and F1 of review-or-block decisions on labelled listings.

use std::path::PathBuf;

use clap::Args;
use relist::engine::Engine;
use relist::pipeline::em::{self, Dataset};
use relist::pipeline::eval::{Report, evaluate};
use relist::pipeline::{hardcases, photo_suite};
use relist::{Error, Result};

use super::{Global, Outcome};

#[derive(Args)]
pub struct EvalArgs {
    /// Labelled listings: listing records with `"expected": "BANNED-ID"` or null.
    #[arg(required_unless_present_any = ["em", "hard", "photos"])]
    labels: Vec<PathBuf>,
    /// Instead: public product-matching benchmarks (DeepMatcher folders with tableA, tableB and
    /// train/valid/test pairs). tableA is indexed in memory; the index is not used.
    #[arg(long, num_args = 1..)]
    em: Vec<PathBuf>,
    /// Instead: the generated hard cases of this seed (`relist::pipeline::hardcases`), indexed
    /// in memory; the index is not used. The tests' held-out seed is 7130013.
    #[arg(long, value_name = "SEED", conflicts_with = "em")]
    hard: Option<u64>,
    /// With --hard: the size of the set (1: about 300 banned records, 3,000 listings).
    #[arg(long, default_value_t = 1, requires = "hard")]
    scale: usize,
    /// With --hard or --photos: also write the set to this folder (banned.jsonl, listings.jsonl
    /// labelled for `relist eval`; pairs.jsonl, or labels.jsonl and the photos under img/).
    #[arg(long, value_name = "DIR")]
    save: Option<PathBuf>,
    /// Instead: the photo robustness suite of this seed (`relist::pipeline::photo_suite`):
    /// banned photos edited by every family, and look-alikes. The tests' seed is 5140014.
    #[arg(long, value_name = "SEED", conflicts_with_all = ["em", "hard"])]
    photos: Option<u64>,
    /// With --photos: real photos (`Class/Product/photo.jpg`) instead of drawn ones.
    #[arg(long, value_name = "DIR", requires = "photos")]
    photo_dir: Option<PathBuf>,
    /// With --photos: banned photos, and look-alike photos.
    #[arg(long, default_value_t = 40, requires = "photos")]
    banned: usize,
    #[arg(long, default_value_t = 400, requires = "photos")]
    look_alikes: usize,
    /// The pairs to score with --em.
    #[arg(long, default_value = "test")]
    split: String,
    /// Print this many misclassified listings.
    #[arg(long, default_value_t = 0)]
    errors: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(g: &Global, a: EvalArgs) -> Result<Outcome> {
    if !a.em.is_empty() {
        return run_em(g, &a);
    }
    if let Some(seed) = a.photos {
        let source = match &a.photo_dir {
            Some(d) => photo_suite::Source::Dir(d.clone()),
            None => photo_suite::Source::Drawn,
        };
        // The photos must sit somewhere for the listings to name them: the folder asked for,
        // or a temporary one removed afterwards.
        let (dir, temporary) = match &a.save {
            Some(d) => (d.clone(), false),
            None => (
                std::env::temp_dir()
                    .join(format!("relist-photo-suite-{}-{seed}", std::process::id())),
                true,
            ),
        };
        let run = || -> Result<Report> {
            let suite = photo_suite::generate(seed, &source, &dir, a.banned, a.look_alikes)?;
            suite.write(&dir)?;
            photo_suite::evaluate(&suite, g.config()?)
        };
        let report = run();
        if temporary {
            let _ = std::fs::remove_dir_all(&dir);
        }
        print_report(&report?, &a);
        return Ok(Outcome::Clean);
    }
    if a.save.is_some() && a.hard.is_none() {
        return Err(Error::Invalid(
            "eval: --save needs --hard or --photos".into(),
        ));
    }
    if let Some(seed) = a.hard {
        let set = hardcases::generate(seed, a.scale);
        if let Some(dir) = &a.save {
            set.write(dir)?;
        }
        let engine = Engine::in_memory(set.banned, g.config()?)?;
        print_report(&evaluate(&engine, &set.listings)?, &a);
        return Ok(Outcome::Clean);
    }
    let engine = Engine::open(&g.index, g.config()?)?;
    let items = super::read_labelled(&a.labels, g.quiet)?;
    if items.is_empty() {
        return Err(Error::Invalid("eval: no labelled listings".into()));
    }
    print_report(&evaluate(&engine, &items)?, &a);
    Ok(Outcome::Clean)
}

/// The per-slice table (or its JSON) of labelled listings, and the first misjudged ones.
fn print_report(r: &Report, a: &EvalArgs) {
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
}

/// `--em`: pairwise precision, recall and F1 per dataset, candidate recall, speed.
fn run_em(g: &Global, a: &EvalArgs) -> Result<Outcome> {
    let config = g.config()?;
    println!(
        "{:<16} {:>5} {:>8} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>10}",
        "dataset",
        "split",
        "listings",
        "precision",
        "recall",
        "F1",
        "cand@10",
        "cand@20",
        "cand@50",
        "listings/s"
    );
    for dir in &a.em {
        let ds = Dataset::load(dir)?;
        let pairs = Dataset::pairs(dir, &a.split)?;
        let banned = Engine::in_memory(ds.banned.clone(), config.clone())?;
        let r = em::evaluate(&banned, &ds, &pairs)?;
        println!(
            "{:<16} {:>5} {:>8} {:>9.4} {:>7.4} {:>7.4} {:>7.4} {:>7.4} {:>7.4} {:>10.0}",
            ds.name,
            a.split,
            r.listings,
            r.precision(),
            r.recall(),
            r.f1(),
            r.candidate_recall[0].1,
            r.candidate_recall[1].1,
            r.candidate_recall[2].1,
            r.per_second
        );
        if a.json {
            let v = serde_json::json!({
                "dataset": ds.name, "split": a.split, "precision": r.precision(),
                "recall": r.recall(), "f1": r.f1(), "tp": r.tp, "fp": r.fp, "fn": r.fn_,
                "candidate_recall": r.candidate_recall, "listings_per_second": r.per_second,
            });
            eprintln!("{v}");
        }
    }
    Ok(Outcome::Clean)
}

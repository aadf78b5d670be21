//! `relist calibrate`: fit the fusion weights and thresholds on labelled data, print a config.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use relist::config::Config;
use relist::engine::Engine;
use relist::matching::calibrate::{self, Sample};
use relist::matching::score;
use relist::pipeline::em::{self, Dataset};
use relist::{Error, Result};

use super::{Global, Outcome};

#[derive(Args)]
pub struct CalibrateArgs {
    /// Labelled listings (the `eval` format), checked against --index.
    labels: Vec<PathBuf>,
    /// Public product-matching benchmarks: fit on their train and valid pairs (never test).
    #[arg(long, num_args = 1..)]
    em: Vec<PathBuf>,
    /// The benchmark splits to fit on (never test).
    #[arg(long, value_delimiter = ',', default_value = "train,valid")]
    splits: Vec<String>,
    /// The review threshold maximises F-beta on the fitting data: 1 balances precision and
    /// recall, 2 weighs recall more (a missed relisting stays on sale).
    #[arg(long, default_value_t = 2.0)]
    review_beta: f64,
    /// Precision the block threshold must reach on the fitting data.
    #[arg(long, default_value_t = 0.98)]
    block_precision: f64,
    /// Strength of the pull towards the prior weights (those of the config in force).
    #[arg(long, default_value_t = 1.0)]
    l2: f64,
    /// Write the config here (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(g: &Global, a: CalibrateArgs) -> Result<Outcome> {
    let config = g.config()?;
    let mut samples: Vec<Sample> = Vec::new();
    let mut missed = 0usize;
    for dir in &a.em {
        let ds = Dataset::load(dir)?;
        let mut pairs = Vec::new();
        for split in &a.splits {
            if split == "test" {
                return Err(Error::Invalid(
                    "calibrate: fitting on the test split would make its scores meaningless".into(),
                ));
            }
            pairs.extend(Dataset::pairs(dir, split)?);
        }
        let banned = Engine::in_memory(ds.banned.clone(), config.clone())?;
        let (s, m) = em::samples(&banned, &ds, &pairs)?;
        if !g.quiet {
            eprintln!(
                "{}: {} labelled candidate pairs, {m} true pairs not retrieved",
                ds.name,
                s.len()
            );
        }
        samples.extend(s);
        missed += m;
    }
    if !a.labels.is_empty() {
        let engine = Engine::open(&g.index, config.clone())?;
        for it in super::read_labelled(&a.labels, g.quiet)? {
            let ev = engine.evidence(&it.listing)?;
            if let Some(e) = &it.expected {
                missed += usize::from(!ev.iter().any(|(id, ..)| id == e));
            }
            for (id, f, _) in ev {
                samples.push(Sample {
                    x: f.vector(),
                    y: it.expected.as_deref() == Some(id.as_str()),
                });
            }
        }
    }
    if samples.iter().all(|s| s.y) || samples.iter().all(|s| !s.y) {
        return Err(Error::Invalid(
            "calibrate: need labelled pairs of both kinds (give LABELS or --em DIR)".into(),
        ));
    }
    // The weights of the config in force are the prior (--config: pass the priors to start from).
    let prior = calibrate::from_weights(&config.weights);
    let w = calibrate::to_weights(&calibrate::fit(&samples, a.l2, &prior));
    let scored: Vec<(f32, bool)> = samples
        .iter()
        .map(|s| (score::fuse(&s.x, &w), s.y))
        .collect();
    let thresholds = calibrate::thresholds(&scored, missed, a.block_precision, a.review_beta);
    let fitted = Config {
        weights: w,
        thresholds,
        // The weights are what was fitted: the config scores with them.
        model: relist::config::ModelSettings {
            scorer: relist::config::ScorerKind::Logistic,
            ..config.model.clone()
        },
        // A fitted policy is shared and committed; the tokens of the config in force are not.
        server: Default::default(),
        ..config
    };
    fitted.validate().map_err(Error::Config)?;
    let text = format!(
        "# Fitted by `relist calibrate` on {} labelled pairs ({} positive, {missed} missed by \
         retrieval).\n# Score = sigmoid(bias + sum(weight * feature)); see src/matching/score.rs and \
         src/matching/features.rs.\n\n{}",
        samples.len(),
        samples.iter().filter(|s| s.y).count(),
        toml::to_string(&fitted).map_err(|e| Error::Config(e.to_string()))?
    );
    match &a.out {
        Some(p) => std::fs::write(p, text).map_err(|e| Error::io(p, e))?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| Error::io("<stdout>", e))?,
    }
    Ok(Outcome::Clean)
}

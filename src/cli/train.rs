//! `relist train`: train the learned matcher on labelled pairs, write the model file, print the
//! config that uses it.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use relist::pipeline::em::Dataset;
use relist::pipeline::train::{self, Source, TrainOptions};
use relist::{Error, Result};

use super::{Global, Outcome};

#[derive(Args)]
pub struct TrainArgs {
    /// Labelled listings (the `eval` format) checked against --index: a platform's own
    /// decisions.
    labels: Vec<PathBuf>,
    /// Public product-matching benchmarks (DeepMatcher layout). Their train and valid pairs are
    /// used; a benchmark without a test split is scored on valid, so only its train pairs are.
    #[arg(long, num_args = 1..)]
    em: Vec<PathBuf>,
    /// Hard cases relist generates (model variants, spec collisions, codes, languages,
    /// GTIN-only relistings): this many sets, from the training seeds only.
    #[arg(long, default_value_t = 0)]
    hard_sets: u64,
    /// Benchmark splits to train on (never test). Default: train and valid, or train alone for
    /// a benchmark without a test split. `--splits train` leaves valid out for tuning.
    #[arg(long, value_delimiter = ',')]
    splits: Vec<String>,
    /// How much the labelled listings weigh against each benchmark (a platform's own decisions
    /// are the task itself; the benchmarks are other people's).
    #[arg(long, default_value_t = 1.0)]
    labels_weight: f64,
    /// Write the model file here.
    #[arg(long)]
    out: PathBuf,
    /// Also write every labelled pair's features and out-of-fold score here (CSV), to read
    /// what the model was shown.
    #[arg(long, value_name = "CSV")]
    samples: Option<PathBuf>,
    /// Trees to grow.
    #[arg(long, default_value_t = TrainOptions::default().iterations)]
    iterations: usize,
    #[arg(long, default_value_t = TrainOptions::default().max_depth)]
    depth: usize,
    #[arg(long, default_value_t = TrainOptions::default().learning_rate)]
    learning_rate: f32,
    /// The review threshold maximises F-beta on out-of-fold scores, averaged over the sources.
    #[arg(long, default_value_t = TrainOptions::default().review_beta)]
    review_beta: f64,
    /// Precision the block threshold must reach on out-of-fold scores.
    #[arg(long, default_value_t = TrainOptions::default().block_precision)]
    block_precision: f64,
    /// The version written into the model file.
    #[arg(long, default_value_t = 1)]
    model_version: u32,
    /// Features the trees do not see (names of the feature table, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    without: Vec<String>,
    /// Also learn the variant words (title words one side writes and the other does not that
    /// tell products of a line apart) and give the trees their features.
    #[arg(long)]
    variants: bool,
    /// Count a benchmark's offers that share a product label (a `cluster_id` column, as WDC
    /// Products has) as one product when learning the identifier roles, not only offers a
    /// positive pair links. Off by default: the shipped model (v4) was trained without it.
    #[arg(long)]
    product_labels: bool,
}

/// The splits of a benchmark training may read.
fn training_splits(dir: &Path) -> Vec<&'static str> {
    if dir.join("test.csv").exists() {
        vec!["train", "valid"]
    } else {
        vec!["train"]
    }
}

pub fn run(g: &Global, a: TrainArgs) -> Result<Outcome> {
    let config = g.config()?;
    let mut sources = Vec::new();
    for dir in &a.em {
        let ds = Dataset::load(dir)?;
        let mut pairs = Vec::new();
        let splits: Vec<String> = if a.splits.is_empty() {
            training_splits(dir).into_iter().map(String::from).collect()
        } else {
            a.splits.clone()
        };
        for split in &splits {
            if split == "test" || (split == "valid" && !dir.join("test.csv").exists()) {
                return Err(Error::Invalid(format!(
                    "train: {}: the {split} split is what this benchmark is scored on",
                    dir.display()
                )));
            }
            pairs.extend(Dataset::pairs(dir, split)?);
        }
        sources.push(Source {
            name: ds.name,
            banned: ds.banned,
            listings: ds.listings,
            pairs,
            products: if a.product_labels {
                ds.products
            } else {
                HashMap::new()
            },
            weight: 1.0,
        });
    }
    if a.hard_sets > 0 {
        // One source: the sets together weigh as much as one benchmark.
        let mut hard = Source {
            name: format!("hard cases ({} sets)", a.hard_sets),
            banned: Vec::new(),
            listings: HashMap::new(),
            pairs: Vec::new(),
            products: HashMap::new(),
            weight: 1.0,
        };
        for seed in relist::pipeline::hardcases::TRAIN_SEEDS.take(a.hard_sets as usize) {
            let set = relist::pipeline::hardcases::generate(seed, 1);
            hard.banned.extend(set.banned);
            hard.listings.extend(
                set.listings
                    .into_iter()
                    .map(|l| (l.listing.id.clone(), l.listing)),
            );
            hard.pairs.extend(set.pairs);
        }
        sources.push(hard);
    }
    if !a.labels.is_empty() {
        let mut s = labelled_source(g, &a.labels, &config)?;
        s.weight = a.labels_weight;
        sources.push(s);
    }
    if sources.is_empty() {
        return Err(Error::Invalid(
            "train: give labelled listings (LABELS with --index) or --em DIR".into(),
        ));
    }
    let opts = TrainOptions {
        iterations: a.iterations,
        max_depth: a.depth,
        learning_rate: a.learning_rate,
        review_beta: a.review_beta,
        block_precision: a.block_precision,
        version: a.model_version,
        without: a.without.clone(),
        variants: a.variants,
        ..TrainOptions::default()
    };
    let t = train::train(&sources, &config, &opts)?;
    if !g.quiet {
        for (name, n, p) in &t.sources {
            eprintln!("{name}: {n} labelled pairs, {p} positive");
        }
        eprintln!(
            "roles: {} model keys seen in two products or more",
            t.model.roles.len()
        );
    }
    if let Some(path) = &a.samples {
        write_samples(path, &t)?;
    }
    let file = t.model.to_file().map_err(Error::Invalid)?;
    let json = serde_json::to_string(&file).map_err(|e| Error::Invalid(e.to_string()))?;
    std::fs::write(&a.out, json + "\n").map_err(|e| Error::io(&a.out, e))?;
    let th = t
        .model
        .thresholds
        .clone()
        .unwrap_or(config.thresholds.clone());
    let text = format!(
        "# Trained by `relist train` ({}).\n# Thresholds fitted on out-of-fold scores.\n\n\
         [thresholds]\nblock = {}\nreview = {}\ncontext_gap = {}\n\n[model]\nscorer = \"trees\"\nfile = {:?}\n",
        t.model.trained_on.join("; "),
        th.block,
        th.review,
        th.context_gap,
        a.out.display().to_string()
    );
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(Outcome::Clean)
}

/// One CSV line per labelled pair: its source, listing, label, out-of-fold score and features.
fn write_samples(path: &Path, t: &train::Trained) -> Result<()> {
    use relist::matching::features::FEATURES;
    let io = |e| Error::io(path, e);
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    let names: Vec<&str> = FEATURES.iter().map(|f| f.name).collect();
    writeln!(w, "source,listing,banned,label,oof,{}", names.join(",")).map_err(io)?;
    for (s, (oof, _)) in t.samples.iter().zip(&t.out_of_fold) {
        let x: Vec<String> = s.x.iter().map(|v| v.to_string()).collect();
        let field = |v: &str| v.replace([',', '\n', '"'], " ");
        writeln!(
            w,
            "{},{},{},{},{oof},{}",
            field(&t.sources[s.source].0),
            field(&s.listing),
            field(&s.banned),
            u8::from(s.y),
            x.join(",")
        )
        .map_err(io)?;
    }
    w.flush().map_err(io)
}

/// A platform's decisions: every candidate retrieved for a labelled listing is a pair, true
/// when it is the listing's expected record.
fn labelled_source(
    g: &Global,
    paths: &[PathBuf],
    config: &relist::config::Config,
) -> Result<Source> {
    let engine = relist::engine::Engine::open(&g.index, config.clone())?;
    let snap = engine.snapshot();
    let banned = snap
        .all_addresses()
        .into_iter()
        .map(|a| snap.record(a))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::index(&g.index, e))?;
    let mut listings = HashMap::new();
    let mut pairs = Vec::new();
    for it in super::read_labelled(paths, g.quiet)? {
        for id in engine.candidate_ids(&it.listing, config.retrieval.candidates)? {
            let y = it.expected.as_deref() == Some(id.as_str());
            pairs.push((id, it.listing.id.clone(), y));
        }
        if let Some(e) = &it.expected
            && !pairs.iter().any(|(a, b, _)| a == e && *b == it.listing.id)
        {
            pairs.push((e.clone(), it.listing.id.clone(), true));
        }
        listings.insert(it.listing.id.clone(), it.listing);
    }
    Ok(Source {
        name: "labelled listings".into(),
        banned,
        listings,
        pairs,
        products: HashMap::new(),
        weight: 1.0,
    })
}

//! Public product-matching benchmarks (DeepMatcher format: tableA, tableB and labelled pairs)
//! read as banned records (tableA) and listings (tableB), for evaluation and calibration.
//!
//! Column mapping and ids follow `shared/peers/em_convert.py`: tableA row N is banned "A-N",
//! tableB row N is listing "B-N".

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::{BannedRecord, Listing};

/// A labelled pair: (banned id, listing id, is a match).
pub type Pair = (String, String, bool);

pub struct Dataset {
    pub name: String,
    pub banned: Vec<BannedRecord>,
    pub listings: HashMap<String, Listing>,
    /// The product each offer belongs to, where the tables label it (a `cluster_id` column, as
    /// WDC Products has): record id ("A-N" / "B-N") to product label. Empty otherwise.
    pub products: HashMap<String, String>,
}

fn rows(path: &Path) -> Result<Vec<HashMap<String, String>>> {
    let mut rdr = csv::Reader::from_path(path)
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    let headers = rdr
        .headers()
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?
        .clone();
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| Error::Record {
            path: path.to_path_buf(),
            line: i as u64 + 2,
            reason: e.to_string(),
        })?;
        out.push(
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.trim().to_string()))
                .collect(),
        );
    }
    Ok(out)
}

/// (record id, product label) of the rows whose `cluster_id` is filled.
fn product_labels<'a>(
    rows: &'a [HashMap<String, String>],
    prefix: &'a str,
) -> impl Iterator<Item = (String, String)> + 'a {
    rows.iter().filter_map(move |r| {
        let c = r.get("cluster_id").filter(|c| !c.is_empty())?;
        Some((
            format!("{prefix}-{}", r.get("id").cloned().unwrap_or_default()),
            c.clone(),
        ))
    })
}

/// The record fields of one table row, as `em_convert.py` maps them.
fn convert(row: &HashMap<String, String>, prefix: &str) -> Value {
    let get = |k: &str| row.get(k).filter(|v| !v.is_empty()).cloned();
    let mut o = Map::new();
    o.insert(
        "id".into(),
        format!("{prefix}-{}", row.get("id").cloned().unwrap_or_default()).into(),
    );
    o.insert(
        "title".into(),
        get("name")
            .or_else(|| get("title"))
            .unwrap_or_default()
            .into(),
    );
    if let Some(b) = get("brand").or_else(|| get("manufacturer")) {
        o.insert("brand".into(), b.into());
    }
    for k in ["description", "category"] {
        if let Some(v) = get(k) {
            o.insert(k.into(), v.into());
        }
    }
    if let Some(m) = get("modelno") {
        o.insert("models".into(), Value::Array(vec![m.into()]));
    }
    if let Some(p) = get("price").and_then(|p| p.parse::<f64>().ok()) {
        o.insert("price".into(), p.into());
    }
    Value::Object(o)
}

impl Dataset {
    /// Reads `DIR/tableA.csv` and `DIR/tableB.csv`. Rows without a title are skipped (neither
    /// side can match them), as any user of relist would have to.
    pub fn load(dir: &Path) -> Result<Dataset> {
        let table_a = rows(&dir.join("tableA.csv"))?;
        let table_b = rows(&dir.join("tableB.csv"))?;
        let products = product_labels(&table_a, "A")
            .chain(product_labels(&table_b, "B"))
            .collect();
        let banned = table_a
            .iter()
            .filter_map(|r| {
                BannedRecord::from_value(convert(r, "A"))
                    .ok()
                    .map(|p| p.record)
            })
            .collect();
        let listings = table_b
            .iter()
            .filter_map(|r| Listing::from_value(convert(r, "B")).ok())
            .map(|l| (l.id.clone(), l))
            .collect();
        Ok(Dataset {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            banned,
            listings,
            products,
        })
    }

    /// The labelled pairs of a split (`train`, `valid`, `test`).
    pub fn pairs(dir: &Path, split: &str) -> Result<Vec<Pair>> {
        rows(&dir.join(format!("{split}.csv")))?
            .into_iter()
            .map(|r| {
                let l = r.get("ltable_id").cloned().unwrap_or_default();
                let rr = r.get("rtable_id").cloned().unwrap_or_default();
                Ok((
                    format!("A-{l}"),
                    format!("B-{rr}"),
                    r.get("label").map(String::as_str) == Some("1"),
                ))
            })
            .collect()
    }

    /// Listing ids named by a set of pairs, sorted.
    pub fn listings_of(pairs: &[Pair]) -> Vec<String> {
        let set: HashSet<&String> = pairs.iter().map(|(_, b, _)| b).collect();
        let mut v: Vec<String> = set.into_iter().cloned().collect();
        v.sort();
        v
    }
}

/// Pairwise scores of one split, as `shared/peers/em_eval.py` computes them.
#[derive(Debug, Clone)]
pub struct Report {
    pub listings: usize,
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    /// Share of true pairs whose banned record is among the first K candidates.
    pub candidate_recall: Vec<(usize, f64)>,
    /// Listings checked per second (all cores), checks only.
    pub per_second: f64,
}

impl Report {
    pub fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    pub fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    pub fn f1(&self) -> f64 {
        crate::pipeline::eval::f1(self.precision(), self.recall())
    }
}

/// Checks every listing of `pairs` and scores the pairs: a pair is predicted positive when
/// the listing's result names the banned record with decision review or block.
pub fn evaluate(engine: &crate::engine::Engine, ds: &Dataset, pairs: &[Pair]) -> Result<Report> {
    use rayon::prelude::*;
    let ids = Dataset::listings_of(pairs);
    let start = std::time::Instant::now();
    let results: Vec<(String, HashSet<String>)> = ids
        .par_iter()
        .filter_map(|id| ds.listings.get(id))
        .map(|l| {
            let r = engine.check(l, crate::engine::CheckOptions::top(10))?;
            let named = r
                .matches
                .into_iter()
                .filter(|m| m.decision >= crate::model::Decision::Review)
                .map(|m| m.banned_id)
                .collect();
            Ok((l.id.clone(), named))
        })
        .collect::<Result<_>>()?;
    let per_second = results.len() as f64 / start.elapsed().as_secs_f64().max(1e-9);
    let ks = [10usize, 20, 50];
    let candidates: HashMap<String, Vec<String>> = ids
        .par_iter()
        .filter_map(|id| ds.listings.get(id))
        .map(|l| Ok((l.id.clone(), engine.candidate_ids(l, 50)?)))
        .collect::<Result<_>>()?;
    let named: HashMap<String, HashSet<String>> = results.into_iter().collect();
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    let mut found = [0u64; 3];
    let mut positives = 0u64;
    for (a, b, y) in pairs {
        let predicted = named.get(b).is_some_and(|s| s.contains(a));
        match (predicted, *y) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            _ => {}
        }
        if *y {
            positives += 1;
            let pos = candidates
                .get(b)
                .and_then(|c| c.iter().position(|x| x == a));
            for (i, k) in ks.iter().enumerate() {
                found[i] += u64::from(pos.is_some_and(|p| p < *k));
            }
        }
    }
    Ok(Report {
        listings: named.len(),
        tp,
        fp,
        fn_,
        candidate_recall: ks
            .iter()
            .zip(found)
            .map(|(k, f)| (*k, f as f64 / positives.max(1) as f64))
            .collect(),
        per_second,
    })
}

/// Calibration samples from labelled pairs: the evidence of every retrieved candidate that
/// the pairs label, and the number of true pairs retrieval missed.
pub fn samples(
    engine: &crate::engine::Engine,
    ds: &Dataset,
    pairs: &[Pair],
) -> Result<(Vec<crate::matching::calibrate::Sample>, usize)> {
    use rayon::prelude::*;
    let labels: HashMap<(&str, &str), bool> = pairs
        .iter()
        .map(|(a, b, y)| ((a.as_str(), b.as_str()), *y))
        .collect();
    let ids = Dataset::listings_of(pairs);
    let per_listing: Vec<(Vec<crate::matching::calibrate::Sample>, usize)> = ids
        .par_iter()
        .filter_map(|id| ds.listings.get(id))
        .map(|l| {
            let ev = engine.evidence(l)?;
            let mut out = Vec::new();
            for (id, f, _) in &ev {
                if let Some(y) = labels.get(&(id.as_str(), l.id.as_str())) {
                    out.push(crate::matching::calibrate::Sample {
                        x: f.vector(),
                        y: *y,
                    });
                }
            }
            let missed = pairs
                .iter()
                .filter(|(a, b, y)| *y && *b == l.id && !ev.iter().any(|(id, ..)| id == a))
                .count();
            Ok((out, missed))
        })
        .collect::<Result<_>>()?;
    let mut all = Vec::new();
    let mut missed = 0;
    for (s, m) in per_listing {
        all.extend(s);
        missed += m;
    }
    Ok((all, missed))
}

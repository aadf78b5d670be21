//! The learned matcher: gradient-boosted trees over the feature table, and the file that holds
//! them with the identifier roles they were trained with.
//!
//! Trees are trained by `relist train` with forust (`forust-ml`) and kept in a JSON model file:
//! the booster as forust writes it, the names of the features in its column order, the roles
//! table ([`Roles`]) and where it was trained. The default model is compiled in
//! (`src/matching/default_model.json`); a platform trains its own on its decisions and names
//! the file in its config (`[model] file`).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use forust_ml::GradientBooster;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::matching::features::{self, N};
use crate::matching::roles::Roles;

/// The model file's format name and the version of its layout.
pub const FORMAT: &str = "relist-model";
pub const LAYOUT: u32 = 1;

const DEFAULT_MODEL: &str = include_str!("default_model.json");

/// A model file as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    pub format: String,
    pub layout: u32,
    /// Version of this model: raised whenever the shipped default is retrained.
    pub version: u32,
    /// What it was trained on, for people: datasets and pair counts.
    pub trained_on: Vec<String>,
    /// Feature names in the booster's column order.
    pub features: Vec<String>,
    /// Thresholds fitted with it (out-of-fold), as `relist train` proposed them.
    pub thresholds: Option<crate::config::Thresholds>,
    pub roles: Roles,
    /// The booster as forust serialises it.
    pub booster: serde_json::Value,
}

/// A loaded model, ready to score feature vectors.
pub struct TreeModel {
    pub version: u32,
    pub trained_on: Vec<String>,
    pub thresholds: Option<crate::config::Thresholds>,
    pub roles: Roles,
    /// For each booster column, the position of its feature in our vector.
    columns: Vec<usize>,
    booster: GradientBooster,
    /// The booster's trees packed for scoring.
    forest: Forest,
}

/// The booster's trees in one flat array, for scoring. forust's nodes carry their training
/// statistics (80 bytes each) and every judged pair walks all the trees: packed to 24 bytes
/// the forest fits in L2 (forust's `predict_row_from_row_slice` was 8 % of a sweep's time,
/// benches/RESULTS.md, issue 13 fifth pass). Scores are forust's to the bit (tested): the
/// same comparisons, leaves summed in the same order.
#[derive(Debug, Clone, Default)]
struct Forest {
    base: f64,
    missing: f64,
    roots: Vec<u32>,
    nodes: Vec<FlatNode>,
    /// Each tree's depth (steps from its root to its deepest leaf), for walking several rows
    /// through a tree side by side; `None` when a tree has a cycle (a hand-edited file), and
    /// then rows are walked one by one with the step bound.
    depths: Option<Vec<u32>>,
    /// The same trees laid out complete, when they can be (see [`Complete`]).
    complete: Option<Complete>,
}

/// The forest's trees grown to one depth and laid out breadth first (node `i`'s children at
/// `2i + 1` and `2i + 2`), so that a step of the walk is a comparison and an index sum with no
/// child links to load: the node-by-node walk was a sweep's largest single cost after
/// retrieval (24 k instructions a judged pair, benches/RESULTS.md, sweep9). A leaf above the
/// bottom becomes split nodes that always go left (the pad column, 0, against +inf) down to
/// its copies among the bottom leaves. Only for trees whose missing values go right, as a
/// failed `<` does: then a NaN walks where forust sends it without a test of its own.
#[derive(Debug, Clone, Default)]
struct Complete {
    depth: u32,
    /// Per tree, its `2^depth - 1` split values and columns, breadth first.
    thresholds: Vec<f64>,
    columns: Vec<u32>,
    /// Per tree, its `2^depth` bottom leaves' weights, left to right.
    leaves: Vec<f64>,
}

/// Deepest forest laid out complete: 2^8 leaves a tree keeps 150 trees within 0.5 MB.
const COMPLETE_MAX_DEPTH: u32 = 8;

#[derive(Debug, Clone, Copy)]
struct FlatNode {
    /// The split value; a leaf's weight.
    value: f64,
    /// The booster column split on; [`LEAF`] for a leaf.
    column: u32,
    left: u32,
    right: u32,
    missing: u32,
}

const LEAF: u32 = u32::MAX;

impl Forest {
    fn new(booster: &GradientBooster) -> Result<Forest, String> {
        let mut f = Forest {
            base: booster.base_score,
            missing: booster.missing,
            ..Forest::default()
        };
        for t in &booster.trees {
            let start = f.nodes.len();
            let len = t.nodes.len();
            if len == 0 {
                return Err("model file: a tree has no nodes".into());
            }
            let at = |i: usize| -> Result<u32, String> {
                if i < len {
                    Ok((start + i) as u32)
                } else {
                    Err("model file: a tree names a node it does not have".into())
                }
            };
            f.roots.push(start as u32);
            for n in &t.nodes {
                f.nodes.push(if n.is_leaf {
                    // A leaf leads to itself: a row that reaches it early stays there while
                    // the other rows of a batch walk on.
                    let me = f.nodes.len() as u32;
                    FlatNode {
                        value: f64::from(n.weight_value),
                        column: LEAF,
                        left: me,
                        right: me,
                        missing: me,
                    }
                } else {
                    FlatNode {
                        value: n.split_value,
                        column: n.split_feature as u32,
                        left: at(n.left_child)?,
                        right: at(n.right_child)?,
                        missing: at(n.missing_node)?,
                    }
                });
            }
        }
        f.depths = f.tree_depths();
        f.complete = f.complete();
        Ok(f)
    }

    /// The trees as [`Complete`] ones, when every tree is acyclic, at most
    /// [`COMPLETE_MAX_DEPTH`] deep (and one deep at least), and sends missing values (NaN) right.
    fn complete(&self) -> Option<Complete> {
        let depth = self.depths.as_ref()?.iter().copied().max()?;
        let missing_right = self.missing.is_nan()
            && self
                .nodes
                .iter()
                .all(|n| n.column == LEAF || n.missing == n.right);
        if depth == 0 || depth > COMPLETE_MAX_DEPTH || !missing_right {
            return None;
        }
        let inner = (1usize << depth) - 1;
        let mut c = Complete {
            depth,
            thresholds: vec![f64::INFINITY; inner * self.roots.len()],
            columns: vec![N as u32; inner * self.roots.len()],
            leaves: vec![0.0; (inner + 1) * self.roots.len()],
        };
        for (t, &root) in self.roots.iter().enumerate() {
            // (position in the complete tree, node of the forest): a leaf above the bottom
            // keeps the always-left split its positions were filled with and is carried down
            // its left side (its other positions are never reached).
            let mut stack = vec![(0usize, root as usize)];
            while let Some((at, node)) = stack.pop() {
                let n = self.nodes.get(node)?;
                if at >= inner {
                    // Depths are exact: only leaves reach the bottom.
                    if n.column != LEAF {
                        return None;
                    }
                    c.leaves[t * (inner + 1) + at - inner] = n.value;
                } else if n.column == LEAF {
                    stack.push((2 * at + 1, node));
                } else {
                    c.thresholds[t * inner + at] = n.value;
                    c.columns[t * inner + at] = n.column.min(N as u32);
                    stack.push((2 * at + 1, n.left as usize));
                    stack.push((2 * at + 2, n.right as usize));
                }
            }
        }
        Some(c)
    }

    /// Each tree's depth (steps from its root to its deepest leaf), every node looked at
    /// once (a node reached both as a child and as the missing side is not walked twice);
    /// `None` when a walk can go round a cycle.
    fn tree_depths(&self) -> Option<Vec<u32>> {
        const UNKNOWN: u32 = u32::MAX;
        let mut depth = vec![UNKNOWN; self.nodes.len()];
        let mut open = vec![false; self.nodes.len()];
        let mut stack = Vec::new();
        for &root in &self.roots {
            stack.push((root as usize, false));
            while let Some((i, children_done)) = stack.pop() {
                let n = self.nodes[i];
                if n.column == LEAF {
                    depth[i] = 0;
                } else if children_done {
                    let deepest = [n.left, n.right, n.missing]
                        .iter()
                        .map(|&c| depth[c as usize])
                        .max()
                        .unwrap_or(0);
                    depth[i] = deepest.saturating_add(1);
                    open[i] = false;
                } else if depth[i] == UNKNOWN {
                    if open[i] {
                        return None;
                    }
                    open[i] = true;
                    stack.push((i, true));
                    for c in [n.left, n.right, n.missing] {
                        let c = c as usize;
                        if open[c] {
                            return None;
                        }
                        if depth[c] == UNKNOWN {
                            stack.push((c, false));
                        }
                    }
                }
            }
        }
        Some(self.roots.iter().map(|&r| depth[r as usize]).collect())
    }

    /// [`Forest::log_odds`] of each of `rows` (each padded with one more column, read by
    /// leaves), to the bit: every row's leaves summed in the same order. The rows walk each
    /// tree side by side, one level at a time, so that the loads of one row's next node
    /// overlap another's instead of waiting for each other (a sweep judges ten candidates per
    /// listing; the one-row walk was 15 % of its time).
    fn log_odds_rows(&self, rows: &[[f64; N + 1]]) -> Vec<f64> {
        if let Some(c) = &self.complete {
            return self.log_odds_complete(c, rows);
        }
        let Some(depths) = &self.depths else {
            return rows.iter().map(|r| self.log_odds(r)).collect();
        };
        let nan_missing = self.missing.is_nan();
        let mut sums = vec![0.0f64; rows.len()];
        let mut at = vec![0usize; rows.len()];
        for (&root, &depth) in self.roots.iter().zip(depths) {
            at.fill(root as usize);
            for _ in 0..depth {
                for (i, row) in at.iter_mut().zip(rows) {
                    let n = &self.nodes[*i];
                    // A leaf reads the pad column and leads to itself whichever way it goes.
                    *i = self.next(n, row[(n.column as usize).min(N)], nan_missing);
                }
            }
            for (s, i) in sums.iter_mut().zip(&at) {
                *s += self.nodes[*i].value;
            }
        }
        sums.into_iter().map(|s| self.base + s).collect()
    }

    /// [`Forest::log_odds_rows`] over the [`Complete`] trees: the same leaves, summed in the
    /// same order.
    // `!(v < split)` is meant: a NaN must fail the comparison and go right.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    fn log_odds_complete(&self, c: &Complete, rows: &[[f64; N + 1]]) -> Vec<f64> {
        let inner = (1usize << c.depth) - 1;
        let mut sums = vec![0.0f64; rows.len()];
        let trees = c
            .thresholds
            .chunks_exact(inner)
            .zip(c.columns.chunks_exact(inner))
            .zip(c.leaves.chunks_exact(inner + 1));
        for ((thresholds, columns), leaves) in trees {
            // Row after row, each walk a short chain held in registers: the rows' walks are
            // independent, so the processor overlaps them without a level-by-level loop.
            for (s, row) in sums.iter_mut().zip(rows) {
                let mut i = 0usize;
                for _ in 0..c.depth {
                    let v = row[(columns[i] as usize).min(N)];
                    // Right unless below the split value: NaN goes right, where these trees
                    // send missing values.
                    i = 2 * i + 1 + usize::from(!(v < thresholds[i]));
                }
                *s += leaves[i - inner];
            }
        }
        sums.into_iter().map(|s| self.base + s).collect()
    }

    fn log_odds(&self, row: &[f64]) -> f64 {
        let nan_missing = self.missing.is_nan();
        let mut sum = 0.0;
        for &root in &self.roots {
            let mut i = root as usize;
            // A tree written by forust is acyclic; the step bound keeps a hand-edited model
            // file with a cycle from hanging a check.
            for _ in 0..self.nodes.len() {
                let n = &self.nodes[i];
                if n.column == LEAF {
                    sum += n.value;
                    break;
                }
                i = self.next(n, row[n.column as usize], nan_missing);
            }
        }
        self.base + sum
    }

    /// The node a row with value `v` in `n`'s column goes to from `n`.
    #[inline]
    fn next(&self, n: &FlatNode, v: f64, nan_missing: bool) -> usize {
        // The side is picked by indexing, not branching: which way a pair goes is data, and
        // mispredicted branches were most of the walk's time.
        let mut next = [n.right, n.left][usize::from(v < n.value)];
        // forust panics on a NaN when `missing` is not NaN; a NaN is missing here. Features
        // are never NaN, so this branch is always predicted.
        if v.is_nan() || (!nan_missing && v == self.missing) {
            next = n.missing;
        }
        next as usize
    }
}

fn probability(log_odds: f64) -> f32 {
    let s = 1.0 / (1.0 + (-log_odds).exp());
    if s.is_finite() {
        (s as f32).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

impl std::fmt::Debug for TreeModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeModel")
            .field("version", &self.version)
            .field("trees", &self.booster.trees.len())
            .field("roles", &self.roles.len())
            .finish()
    }
}

impl TreeModel {
    /// The model compiled in, parsed once.
    pub fn shipped() -> Arc<TreeModel> {
        static MODEL: OnceLock<Arc<TreeModel>> = OnceLock::new();
        MODEL
            .get_or_init(|| {
                Arc::new(
                    TreeModel::from_json(DEFAULT_MODEL)
                        .expect("the shipped default_model.json loads (tested)"),
                )
            })
            .clone()
    }

    pub fn load(path: &Path) -> Result<TreeModel> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        TreeModel::from_json(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    pub fn from_json(text: &str) -> Result<TreeModel, String> {
        let file: ModelFile = serde_json::from_str(text).map_err(|e| format!("model file: {e}"))?;
        TreeModel::from_file(file)
    }

    pub fn from_file(file: ModelFile) -> Result<TreeModel, String> {
        if file.format != FORMAT || file.layout != LAYOUT {
            return Err(format!(
                "model file: format `{}` layout {}, expected `{FORMAT}` layout {LAYOUT}",
                file.format, file.layout
            ));
        }
        let columns = file
            .features
            .iter()
            .map(|name| {
                features::feature_index(name)
                    .ok_or_else(|| format!("model file: unknown feature `{name}`"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let booster = GradientBooster::from_json(&file.booster.to_string())
            .map_err(|e| format!("model file: booster: {e}"))?;
        let width = columns.len();
        for t in &booster.trees {
            if t.nodes
                .iter()
                .any(|n| !n.is_leaf && n.split_feature >= width)
            {
                return Err("model file: a tree splits on a column it has no feature for".into());
            }
        }
        let forest = Forest::new(&booster)?;
        Ok(TreeModel {
            version: file.version,
            trained_on: file.trained_on,
            thresholds: file.thresholds,
            roles: file.roles,
            columns,
            booster,
            forest,
        })
    }

    /// Builds a model from a trained booster, with every feature in the table's order.
    pub fn new(booster: GradientBooster, roles: Roles, version: u32) -> TreeModel {
        TreeModel::with_columns(booster, roles, version, (0..N).collect())
    }

    /// Builds a model from a booster trained on the features at `columns` (positions in the
    /// table), in that order.
    pub fn with_columns(
        booster: GradientBooster,
        roles: Roles,
        version: u32,
        columns: Vec<usize>,
    ) -> TreeModel {
        // A booster forust has just trained names only its own nodes and columns.
        let forest = Forest::new(&booster).unwrap_or_default();
        TreeModel {
            version,
            trained_on: Vec::new(),
            thresholds: None,
            roles,
            columns,
            booster,
            forest,
        }
    }

    pub fn to_file(&self) -> Result<ModelFile, String> {
        let booster: serde_json::Value = serde_json::from_str(
            &self
                .booster
                .json_dump()
                .map_err(|e| format!("booster: {e}"))?,
        )
        .map_err(|e| format!("booster: {e}"))?;
        Ok(ModelFile {
            format: FORMAT.into(),
            layout: LAYOUT,
            version: self.version,
            trained_on: self.trained_on.clone(),
            features: self
                .columns
                .iter()
                .map(|i| features::FEATURES[*i].name.to_string())
                .collect(),
            thresholds: self.thresholds.clone(),
            roles: self.roles.clone(),
            booster,
        })
    }

    /// The log-odds that the pair is the same product.
    pub fn log_odds(&self, x: &[f32; N]) -> f64 {
        self.forest.log_odds(&self.row(x)[..self.columns.len()])
    }

    /// A pair's feature vector in the model's column order, padded with one more column that
    /// leaves read when rows walk side by side ([`Forest::log_odds_rows`]).
    fn row(&self, x: &[f32; N]) -> [f64; N + 1] {
        let mut row = [0f64; N + 1];
        for (j, i) in self.columns.iter().enumerate() {
            row[j] = f64::from(x[*i]);
        }
        row
    }

    /// The probability that the pair is the same product.
    pub fn score(&self, x: &[f32; N]) -> f32 {
        probability(self.log_odds(x))
    }

    /// [`TreeModel::score`] of each of `xs`, to the bit; faster than one by one.
    pub fn scores(&self, xs: &[[f32; N]]) -> Vec<f32> {
        let rows: Vec<[f64; N + 1]> = xs.iter().map(|x| self.row(x)).collect();
        self.forest
            .log_odds_rows(&rows)
            .into_iter()
            .map(probability)
            .collect()
    }

    pub fn trees(&self) -> usize {
        self.booster.trees.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_loads_and_scores_in_unit_range() {
        let m = TreeModel::shipped();
        assert!(m.trees() > 0);
        for v in [0.0f32, 0.5, 1.0] {
            let s = m.score(&[v; N]);
            assert!((0.0..=1.0).contains(&s), "{s}");
        }
    }

    /// What forust itself gives for a row.
    fn forust_log_odds(m: &TreeModel, x: &[f32; N]) -> f64 {
        let row: Vec<f64> = m.columns.iter().map(|i| f64::from(x[*i])).collect();
        let missing = m.booster.missing;
        m.booster.base_score
            + m.booster
                .trees
                .iter()
                .map(|t| t.predict_row_from_row_slice(&row, &missing))
                .sum::<f64>()
    }

    #[test]
    fn the_packed_forest_scores_as_forust_does_to_the_bit() {
        let m = TreeModel::shipped();
        // Rows drawn around each split value: both sides of every threshold are walked.
        let mut splits: Vec<f32> = m
            .booster
            .trees
            .iter()
            .flat_map(|t| t.nodes.iter().filter(|n| !n.is_leaf))
            .map(|n| n.split_value as f32)
            .collect();
        splits.extend([0.0, 1.0, -1.0, 0.5]);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut rows = Vec::new();
        for _ in 0..5000 {
            let mut x = [0f32; N];
            for v in x.iter_mut() {
                let s = splits[(next() % splits.len() as u64) as usize];
                *v = match next() % 4 {
                    0 => s,
                    1 => f32::from_bits(s.to_bits().wrapping_add(1)),
                    2 => f32::from_bits(s.to_bits().wrapping_sub(1)),
                    _ => (next() % 1000) as f32 / 500.0 - 0.5,
                };
            }
            assert_eq!(
                m.log_odds(&x).to_bits(),
                forust_log_odds(&m, &x).to_bits(),
                "{x:?}"
            );
            rows.push(x);
        }
        // Walked side by side, as a listing's candidates are: the same scores to the bit, in
        // batches of every size a listing gives.
        for size in [1, 2, 3, 10, 17] {
            for batch in rows.chunks(size) {
                let one: Vec<u32> = batch.iter().map(|x| m.score(x).to_bits()).collect();
                let many: Vec<u32> = m.scores(batch).iter().map(|s| s.to_bits()).collect();
                assert_eq!(one, many);
            }
        }
        assert!(m.scores(&[]).is_empty());
    }

    /// The shipped model's file with the first node's `left_child` written as `value`.
    fn with_first_left_child(value: &str) -> String {
        let file = TreeModel::shipped().to_file().unwrap();
        let mut text = serde_json::to_string(&file).unwrap();
        let at = text.find("\"left_child\":").unwrap() + "\"left_child\":".len();
        let end = at + text[at..].find(|c: char| !c.is_ascii_digit()).unwrap();
        text.replace_range(at..end, value);
        text
    }

    #[test]
    fn a_tree_with_a_cycle_is_walked_row_by_row_with_its_step_bound() {
        // A hand-edited file whose first root leads back to itself: loading and scoring end,
        // and a batch scores as rows one by one do.
        let m = TreeModel::from_json(&with_first_left_child("0")).unwrap();
        assert!(m.forest.depths.is_none());
        let xs = [[0.0f32; N], [0.5; N], [1.0; N]];
        let one: Vec<u32> = xs.iter().map(|x| m.score(x).to_bits()).collect();
        let many: Vec<u32> = m.scores(&xs).iter().map(|s| s.to_bits()).collect();
        assert_eq!(one, many);
        // The shipped model has none, and its trees are shallow.
        let depths = TreeModel::shipped().forest.depths.clone().unwrap();
        assert_eq!(depths.len(), TreeModel::shipped().trees());
        assert!(depths.iter().all(|d| (1..=16).contains(d)), "{depths:?}");
    }

    /// The shipped model's file with the first split's `missing_node` written as its left
    /// child: missing values no longer go right everywhere.
    fn with_first_missing_left() -> String {
        let file = TreeModel::shipped().to_file().unwrap();
        let mut v = serde_json::to_value(&file).unwrap();
        let node = &mut v["booster"]["trees"][0]["nodes"][0];
        node["missing_node"] = node["left_child"].clone();
        serde_json::to_string(&v).unwrap()
    }

    /// A feature vector from arbitrary bits (NaN, infinities, subnormals included) or, for
    /// `pick` below the split count, next to a split value of the shipped model.
    fn row_near_splits(bits: &[(u32, u8, usize)]) -> [f32; N] {
        let m = TreeModel::shipped();
        let splits: Vec<f64> = m
            .booster
            .trees
            .iter()
            .flat_map(|t| t.nodes.iter().filter(|n| !n.is_leaf))
            .map(|n| n.split_value)
            .collect();
        let mut x = [0f32; N];
        for (v, &(b, how, pick)) in x.iter_mut().zip(bits) {
            let s = splits[pick % splits.len()] as f32;
            *v = match how % 5 {
                0 => f32::from_bits(b),
                1 => s,
                2 => f32::from_bits(s.to_bits().wrapping_add(1)),
                3 => f32::from_bits(s.to_bits().wrapping_sub(1)),
                _ => f32::NAN,
            };
        }
        x
    }

    #[test]
    fn the_shipped_model_is_walked_complete_and_a_missing_left_split_is_not() {
        assert!(TreeModel::shipped().forest.complete.is_some());
        let m = TreeModel::from_json(&with_first_missing_left()).unwrap();
        assert!(m.forest.complete.is_none());
        // Walked node by node, side by side, it still scores as row by row.
        let xs = [[f32::NAN; N], [0.5; N], [0.0; N]];
        let one: Vec<u32> = xs.iter().map(|x| m.score(x).to_bits()).collect();
        let many: Vec<u32> = m.scores(&xs).iter().map(|s| s.to_bits()).collect();
        assert_eq!(one, many);
    }

    proptest::proptest! {
        /// The complete trees score any rows (NaN, infinities and values a bit either side of
        /// every split) as the node-by-node walk and forust do, to the bit.
        #[test]
        fn the_complete_forest_scores_as_the_node_walk(
            rows in proptest::collection::vec(
                proptest::collection::vec((proptest::num::u32::ANY, 0u8..5, 0usize..10_000), N),
                1..12,
            ),
        ) {
            let m = TreeModel::shipped();
            let xs: Vec<[f32; N]> = rows.iter().map(|r| row_near_splits(r)).collect();
            let many: Vec<u64> = m
                .forest
                .log_odds_rows(&xs.iter().map(|x| m.row(x)).collect::<Vec<_>>())
                .iter()
                .map(|v| v.to_bits())
                .collect();
            let one: Vec<u64> = xs.iter().map(|x| m.log_odds(x).to_bits()).collect();
            proptest::prop_assert_eq!(&many, &one);
            for (x, v) in xs.iter().zip(&many) {
                proptest::prop_assert_eq!(forust_log_odds(&m, x).to_bits(), *v);
            }
        }
    }

    #[test]
    fn a_model_that_names_a_node_it_lacks_is_refused() {
        let e = TreeModel::from_json(&with_first_left_child("999999")).unwrap_err();
        assert!(e.contains("node"), "{e}");
    }

    #[test]
    fn a_model_file_round_trips_and_names_a_bad_feature() {
        let m = TreeModel::shipped();
        let file = m.to_file().unwrap();
        let text = serde_json::to_string(&file).unwrap();
        let back = TreeModel::from_json(&text).unwrap();
        let x = [0.7f32; N];
        assert_eq!(m.score(&x), back.score(&x));
        let bad = text.replacen("\"coverage\"", "\"no_such_feature\"", 1);
        let e = TreeModel::from_json(&bad).unwrap_err();
        assert!(e.contains("no_such_feature"), "{e}");
    }
}

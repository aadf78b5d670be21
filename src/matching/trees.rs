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
        Ok(TreeModel {
            version: file.version,
            trained_on: file.trained_on,
            thresholds: file.thresholds,
            roles: file.roles,
            columns,
            booster,
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
        TreeModel {
            version,
            trained_on: Vec::new(),
            thresholds: None,
            roles,
            columns,
            booster,
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
        let mut row = [0f64; N];
        for (j, i) in self.columns.iter().enumerate() {
            row[j] = f64::from(x[*i]);
        }
        let row = &row[..self.columns.len()];
        let missing = self.booster.missing;
        self.booster.base_score
            + self
                .booster
                .trees
                .iter()
                .map(|t| t.predict_row_from_row_slice(row, &missing))
                .sum::<f64>()
    }

    /// The probability that the pair is the same product.
    pub fn score(&self, x: &[f32; N]) -> f32 {
        let s = 1.0 / (1.0 + (-self.log_odds(x)).exp());
        if s.is_finite() {
            (s as f32).clamp(0.0, 1.0)
        } else {
            0.0
        }
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

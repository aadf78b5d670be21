//! Matching policy: decision thresholds, retrieval depth and fusion weights, from TOML.
//!
//! The shipped defaults are `relist.toml` at the repository root, compiled in. A config file
//! replaces any of them; the binary applies environment variables and flags on top (fd's order:
//! flags > `RELIST_*` > file).

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::matching::features;
use crate::matching::trees::TreeModel;
use crate::model::Decision;

const DEFAULTS: &str = include_str!("../relist.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub block: f32,
    pub review: f32,
    /// A flagged record scoring this much below the best flagged record of the same listing is
    /// context (`allow`), not a second claim.
    #[serde(default = "default_context_gap")]
    pub context_gap: f32,
}

impl Thresholds {
    /// No gap: every flagged record stays flagged.
    pub fn default_context_gap() -> f32 {
        1.0
    }
}

fn default_context_gap() -> f32 {
    Thresholds::default_context_gap()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retrieval {
    pub candidates: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    pub exact: Decision,
}

/// Weights of the logistic fusion (see `score`): the bias and one weight per feature of
/// [`features::FEATURES`], named by the feature in the config file.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    pub bias: f32,
    /// In the order of [`features::FEATURES`].
    pub values: [f32; features::N],
}

impl Weights {
    /// The weight of a feature by name.
    pub fn get(&self, name: &str) -> Option<f32> {
        features::feature_index(name).map(|i| self.values[i])
    }
}

impl Serialize for Weights {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(features::N + 1))?;
        m.serialize_entry("bias", &self.bias)?;
        for (f, w) in features::FEATURES.iter().zip(&self.values) {
            m.serialize_entry(f.name, w)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Weights {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let map = std::collections::BTreeMap::<String, f32>::deserialize(d)?;
        let mut w = Weights {
            bias: 0.0,
            values: [0.0; features::N],
        };
        let mut seen = [false; features::N];
        let mut bias = false;
        for (k, v) in map {
            if k == "bias" {
                w.bias = v;
                bias = true;
                continue;
            }
            let Some(i) = features::feature_index(&k) else {
                let known: Vec<&str> = features::FEATURES.iter().map(|f| f.name).collect();
                return Err(D::Error::custom(format!(
                    "weights: unknown feature `{k}` (known: bias, {})",
                    known.join(", ")
                )));
            };
            w.values[i] = v;
            seen[i] = true;
        }
        if !bias {
            return Err(D::Error::custom("weights: missing `bias`"));
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            return Err(D::Error::custom(format!(
                "weights: missing `{}`",
                features::FEATURES[i].name
            )));
        }
        Ok(w)
    }
}

/// `[server]`: settings of `relist serve` kept in the file. Tokens are secrets: a file only the
/// service can read keeps them out of `ps`, shell history and the environment of children.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerFile {
    /// Bearer tokens with scope `check` (check, query, read).
    pub check_tokens: Vec<String>,
    /// Bearer tokens with scope `admin` (also add and remove banned records).
    pub admin_tokens: Vec<String>,
}

impl ServerFile {
    fn is_empty(&self) -> bool {
        self.check_tokens.is_empty() && self.admin_tokens.is_empty()
    }
}

/// `[feeds]`: the keys of the feeds that want one (`relist feed pull`), kept in the file for
/// the same reason as the server's tokens. Flags and `RELIST_*_KEY` variables come first.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedsFile {
    /// SafetyKorea's `AuthKey`.
    pub safetykorea_key: Option<String>,
    /// Consumer24's `serviceKey`.
    pub consumer24_key: Option<String>,
}

impl FeedsFile {
    fn is_empty(&self) -> bool {
        self.safetykorea_key.is_none() && self.consumer24_key.is_none()
    }

    /// The key of `[feeds]` named `name` (`safetykorea_key`, `consumer24_key`).
    pub fn key(&self, name: &str) -> Option<&str> {
        match name {
            "safetykorea_key" => self.safetykorea_key.as_deref(),
            "consumer24_key" => self.consumer24_key.as_deref(),
            _ => None,
        }
        .filter(|k| !k.trim().is_empty())
    }
}

/// Keys are never printed, not even in a debug dump of the config.
impl std::fmt::Debug for FeedsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |k: &Option<String>| if k.is_some() { "(set)" } else { "(none)" };
        f.debug_struct("FeedsFile")
            .field("safetykorea_key", &set(&self.safetykorea_key))
            .field("consumer24_key", &set(&self.consumer24_key))
            .finish()
    }
}

/// Which scorer turns a pair's features into a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScorerKind {
    /// The learned gradient-boosted trees of `[model] file` (the default).
    Trees,
    /// The logistic fusion of `[weights]`, as fitted by `relist calibrate`.
    Logistic,
}

/// `[model]`: the learned matcher.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSettings {
    pub scorer: ScorerKind,
    /// `default` for the model compiled in, or the path of a model file `relist train` wrote
    /// (relative to the config file that names it).
    pub file: String,
    /// The model loaded from `file`.
    #[serde(skip)]
    pub loaded: Option<Arc<TreeModel>>,
}

impl PartialEq for ModelSettings {
    fn eq(&self, o: &Self) -> bool {
        self.scorer == o.scorer && self.file == o.file
    }
}

impl ModelSettings {
    /// The trees this config scores with.
    pub fn trees(&self) -> Arc<TreeModel> {
        self.loaded.clone().unwrap_or_else(TreeModel::shipped)
    }

    /// Loads `file` (unless it is `default`), resolved against `base`.
    fn load(&mut self, base: Option<&Path>) -> Result<(), String> {
        if self.file == "default" {
            self.loaded = None;
            return Ok(());
        }
        let path = match base {
            Some(b) if Path::new(&self.file).is_relative() => b.join(&self.file),
            _ => Path::new(&self.file).to_path_buf(),
        };
        let m = TreeModel::load(&path).map_err(|e| format!("model.file: {e}"))?;
        self.loaded = Some(Arc::new(m));
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub thresholds: Thresholds,
    pub retrieval: Retrieval,
    pub terms: Terms,
    pub model: ModelSettings,
    pub weights: Weights,
    /// Left out of a written config when empty; `calibrate` never writes it.
    #[serde(default, skip_serializing_if = "ServerFile::is_empty")]
    pub server: ServerFile,
    #[serde(default, skip_serializing_if = "FeedsFile::is_empty")]
    pub feeds: FeedsFile,
}

impl Default for Config {
    fn default() -> Self {
        toml::from_str(DEFAULTS).expect("the shipped relist.toml parses")
    }
}

impl Config {
    /// Reads a config file; keys it leaves out keep their defaults.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Config::from_toml_at(&text, path.parent())
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Parses TOML over the defaults; a model file it names is read relative to the working
    /// directory.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        Config::from_toml_at(text, None)
    }

    /// Parses TOML over the defaults; a model file it names is read relative to `base`.
    pub fn from_toml_at(text: &str, base: Option<&Path>) -> Result<Config, String> {
        let base_dir = base;
        let mut base: toml::Table = toml::from_str(DEFAULTS).expect("defaults parse");
        let over: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
        for (k, v) in over {
            match (base.get_mut(&k), v) {
                (Some(toml::Value::Table(b)), toml::Value::Table(o)) => b.extend(o),
                (_, v) => {
                    base.insert(k, v);
                }
            }
        }
        let mut cfg: Config = toml::Value::Table(base)
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_string())?;
        cfg.validate()?;
        cfg.model.load(base_dir)?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), String> {
        let t = &self.thresholds;
        if !(0.0..=1.0).contains(&t.review) || !(0.0..=1.0).contains(&t.block) || t.review > t.block
        {
            return Err(format!(
                "thresholds: need 0 <= review <= block <= 1, got review {} and block {}",
                t.review, t.block
            ));
        }
        if !(1..=1000).contains(&self.retrieval.candidates) {
            return Err("retrieval.candidates: must be between 1 and 1000".into());
        }
        Ok(())
    }

    /// The decision a score earns by the thresholds alone.
    pub fn decide(&self, score: f32) -> Decision {
        if score >= self.thresholds.block {
            Decision::Block
        } else if score >= self.thresholds.review {
            Decision::Review
        } else {
            Decision::Allow
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_overrides_merge() {
        let d = Config::default();
        let c = Config::from_toml("[thresholds]\nblock = 0.95\n").unwrap();
        assert_eq!(c.thresholds.block, 0.95);
        assert_eq!(c.thresholds.review, d.thresholds.review);
        assert_eq!(c.weights, d.weights);
    }

    #[test]
    fn server_tokens_come_from_the_file() {
        let c = Config::from_toml(
            "[server]\ncheck_tokens = [\"c1\"]\nadmin_tokens = [\"a1\", \"a2\"]\n",
        )
        .unwrap();
        assert_eq!(c.server.check_tokens, ["c1"]);
        assert_eq!(c.server.admin_tokens, ["a1", "a2"]);
        assert!(Config::default().server.check_tokens.is_empty());
        let e = Config::from_toml("[server]\ncheck_token = \"c1\"\n").unwrap_err();
        assert!(e.contains("check_token"), "{e}");
    }

    #[test]
    fn weights_are_named_by_feature_and_round_trip() {
        let d = Config::default();
        for f in features::FEATURES {
            assert!(
                d.weights.get(f.name).is_some(),
                "relist.toml lacks `{}`",
                f.name
            );
        }
        let text = toml::to_string(&d).unwrap();
        assert_eq!(Config::from_toml(&text).unwrap(), d);
        let c = Config::from_toml("[weights]\nphoto_match = 3.5\n").unwrap();
        assert_eq!(c.weights.get("photo_match"), Some(3.5));
        assert_eq!(c.weights.get("coverage"), d.weights.get("coverage"));
        let e = Config::from_toml("[weights]\nphoto_mach = 1.0\n").unwrap_err();
        assert!(e.contains("photo_mach") && e.contains("photo_match"), "{e}");
    }

    #[test]
    fn bad_settings_are_named() {
        let e = Config::from_toml("[thresholds]\nblok = 0.9\n").unwrap_err();
        assert!(e.contains("blok"), "{e}");
        let e = Config::from_toml("[thresholds]\nreview = 0.99\n").unwrap_err();
        assert!(e.contains("review"), "{e}");
    }
}

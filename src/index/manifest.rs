//! `manifest.json`: format version, counts and time of the last commit.
//!
//! The version is also written into every tantivy commit's payload, so the manifest is a
//! readable summary, not the source of truth: a crash between the commit and the manifest
//! write leaves a stale count, never a wrong index.

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::error::{Error, Result};

/// The index format this build reads and writes: the schema ([`Fields`](super::Fields)) and
/// the terms written for each record ([`IndexTerms`](super::IndexTerms)). Bump it when either
/// changes: an index written with other terms would open and quietly retrieve less.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub records: u64,
    pub products: u64,
    pub terms: u64,
    /// Unix seconds of the last commit.
    pub updated_at: u64,
    pub relist_version: String,
}

impl Manifest {
    pub fn new(records: u64, products: u64, terms: u64) -> Manifest {
        Manifest {
            format: "relist-index".into(),
            version: FORMAT_VERSION,
            records,
            products,
            terms,
            updated_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            relist_version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    pub fn read(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join("manifest.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| Error::index(dir, format!("manifest.json is not valid: {e}")))?;
        if m.format != "relist-index" || m.version != FORMAT_VERSION {
            return Err(Error::index(
                dir,
                format!(
                    "format {} version {}; this relist reads relist-index version {FORMAT_VERSION}: \
                     ingest into a new index directory",
                    m.format, m.version
                ),
            ));
        }
        Ok(Some(m))
    }

    /// Writes atomically: a temporary file renamed over the old one.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let tmp = dir.join("manifest.json.tmp");
        let text = serde_json::to_string_pretty(self).expect("manifest serialises");
        std::fs::write(&tmp, text + "\n").map_err(|e| Error::io(&tmp, e))?;
        let dst = dir.join("manifest.json");
        std::fs::rename(&tmp, &dst).map_err(|e| Error::io(dst, e))
    }
}

//! The index directory as a whole, for the commands that look after it: remove records (one
//! commit, thumbnails too), what it holds, export to one archive and import, and opening it to
//! serve. Ingest is [`super::ingest`]'s.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::index::{self, Manifest, Store};

/// Removes records by id from the index at `dir`, in one commit ([`remove_ids`]).
pub fn remove(dir: &Path, ids: &[String]) -> Result<Removal> {
    remove_ids(&Store::open(dir)?, ids)
}

/// [`remove`] on an open store (the server's).
pub fn remove_from(store: &Store, ids: &[String]) -> Result<Vec<String>> {
    store.remove(ids)
}

/// What `relist remove` did: how many of the ids were removed, and those that were not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub removed: usize,
    pub missing: Vec<String>,
}

/// `relist remove`: records out of `store` by id in one commit; naming only ids the index does
/// not hold is an error ([`Error::NotFound`] with all of them), naming some is not.
pub fn remove_ids(store: &Store, ids: &[String]) -> Result<Removal> {
    let missing = store.remove(ids)?;
    let removed = ids.len() - missing.len();
    if removed == 0 {
        return Err(Error::NotFound(missing.join("', '")));
    }
    Ok(Removal { removed, missing })
}

/// What an index holds (`relist stats`).
#[derive(Debug, Clone)]
pub struct IndexStats {
    pub format_version: u32,
    pub records: u64,
    pub products: u64,
    pub terms: u64,
    /// Records by source (`-` for none), in name order.
    pub by_source: BTreeMap<String, u64>,
    pub segments: usize,
    pub disk_bytes: u64,
    /// Unix seconds of the last commit, if the manifest says.
    pub updated_at: Option<u64>,
}

/// Reads the statistics of the index at `dir`; every record is read once, for its source.
pub fn stats(dir: &Path) -> Result<IndexStats> {
    let store = Store::open(dir)?;
    let manifest = Manifest::read(dir)?;
    let (records, products, terms) = store.counts();
    let snap = store.snapshot()?;
    let mut by_source: BTreeMap<String, u64> = BTreeMap::new();
    for addr in snap.all_addresses() {
        let r = snap.record(addr).map_err(|e| Error::index(dir, e))?;
        *by_source
            .entry(r.source.unwrap_or_else(|| "-".into()))
            .or_default() += 1;
    }
    Ok(IndexStats {
        format_version: index::FORMAT_VERSION,
        records,
        products,
        terms,
        by_source,
        segments: store.segments(),
        disk_bytes: store.disk_size(),
        updated_at: manifest.map(|m| m.updated_at),
    })
}

/// Writes the index at `dir` (its last commit) to one archive; returns the files written.
pub fn export(dir: &Path, archive: &Path) -> Result<u64> {
    let store = Store::open(dir)?;
    index::export(&store, archive)
}

/// Unpacks an exported index into `dir` (empty or new); returns the records it holds.
pub fn import(archive: &Path, dir: &Path) -> Result<u64> {
    let store = index::import(archive, dir)?;
    Ok(store.counts().0)
}

/// Opens the index at `dir` to serve it (created first if `create`).
pub fn open_engine(dir: &Path, config: Config, create: bool) -> Result<Engine> {
    let store = if create {
        Store::open_or_create(dir)?
    } else {
        Store::open(dir)?
    };
    Engine::new(store, config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BannedRecord;

    #[test]
    fn removing_only_ids_the_index_lacks_is_an_error_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        let r = BannedRecord::from_value(serde_json::json!({"id": "A", "title": "kettle"}))
            .unwrap()
            .record;
        store.ingest(vec![r]).unwrap();
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = remove(dir.path(), &ids(&["X", "Y"])).unwrap_err();
        assert_eq!(e.to_string(), "no banned record with id 'X', 'Y'");
        let done = remove(dir.path(), &ids(&["A", "X"])).unwrap();
        assert_eq!(
            done,
            Removal {
                removed: 1,
                missing: ids(&["X"])
            }
        );
    }
}

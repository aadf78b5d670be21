//! One-file copies of an index directory (`relist index export` / `import`), to ship an index
//! to sweep workers: a gzip'd tar of the last commit.

use std::fs::File;
use std::path::Path;

use super::{Manifest, Store};
use crate::error::{Error, Result};

/// Most an archive may expand, as a multiple of its size (index files are lz4-compressed
/// already, so gzip gains little on them)...
const MAX_EXPANSION: u64 = 64;
/// ...except that a small archive may always unpack to this much.
const MIN_IMPORT_BYTES: u64 = 256 << 20;

/// Writes the index at `store` to `archive`. The index's write lock is held meanwhile, so no
/// commit can land halfway through the copy.
pub fn export(store: &Store, archive: &Path) -> Result<u64> {
    if store.is_in_memory() {
        return Err(Error::Invalid(
            "an index in memory has no files to export".into(),
        ));
    }
    let _lock = store.write_lock()?;
    let dir = store.dir();
    let f = File::create(archive).map_err(|e| Error::io(archive, e))?;
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .map_err(|e| Error::io(&d, e))?
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(&d, e))?;
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let path = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            // Lock files belong to the running process, temporary files to no commit.
            if name.ends_with(".lock") || name.ends_with(".tmp") {
                continue;
            }
            let rel = path.strip_prefix(dir).expect("under the index directory");
            if path.is_dir() {
                stack.push(path.clone());
                continue;
            }
            tar.append_path_with_name(&path, rel)
                .map_err(|e| Error::io(&path, e))?;
            files += 1;
        }
    }
    tar.into_inner()
        .and_then(|gz| gz.finish())
        .map_err(|e| Error::io(archive, e))?;
    Ok(files)
}

/// Unpacks `archive` into `dir`, which must not hold an index, and checks that it opens.
pub fn import(archive: &Path, dir: &Path) -> Result<Store> {
    if dir.join("manifest.json").exists() || dir.join("text").exists() {
        return Err(Error::index(
            dir,
            "already holds an index; import into an empty directory",
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let f = File::open(archive).map_err(|e| Error::io(archive, e))?;
    let packed = f.metadata().map_err(|e| Error::io(archive, e))?.len();
    // A gzip bomb (a few MiB that inflate to terabytes) must not fill the disk: index files
    // compress a few times at most, so far more than that is refused before it is written.
    let budget = MIN_IMPORT_BYTES.max(packed.saturating_mul(MAX_EXPANSION));
    let mut unpacked = 0u64;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for entry in tar.entries().map_err(|e| Error::io(archive, e))? {
        let mut entry = entry.map_err(|e| Error::io(archive, e))?;
        // The header's size is exactly what unpacking writes.
        unpacked = unpacked.saturating_add(entry.size());
        if unpacked > budget {
            return Err(Error::Invalid(format!(
                "{}: unpacks to more than {} MiB ({}x its size); not an index archive \
                 (a decompression bomb?)",
                archive.display(),
                budget >> 20,
                MAX_EXPANSION
            )));
        }
        // `unpack_in` refuses paths that would leave `dir` ("../", absolute paths).
        let inside = entry.unpack_in(dir).map_err(|e| Error::io(archive, e))?;
        if !inside {
            return Err(Error::Invalid(format!(
                "{}: an entry points outside the index directory",
                archive.display()
            )));
        }
    }
    if Manifest::read(dir)?.is_none() {
        return Err(Error::Invalid(format!(
            "{}: not a relist index archive (no manifest.json)",
            archive.display()
        )));
    }
    Store::open(dir)
}

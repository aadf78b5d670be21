//! Catalog indexing (`relist catalog index`): listings read as `sweep` reads them, their photo
//! files hashed, a thumbnail kept, and committed to the catalog's own index directory in
//! batches. The same read → hash → thumbnail → commit as [`super::ingest`], over listings.
//!
//! Photo paths are relative to the file that names them (the record contract of DESIGN.md, as
//! for `ingest`, `check` and `sweep`): a catalog indexed from another directory finds its photos.

use std::path::{Path, PathBuf};

use super::Note;
use crate::error::{Error, Result};
use crate::feeds::{self, Format};
use crate::index::Store;
use crate::model::{BannedRecord, ImageHashRef, Listing};

/// Listings per commit: a huge catalog is written in steps of bounded memory; each step is
/// all-or-nothing.
const BATCH: usize = 50_000;

/// What to index, and where.
#[derive(Debug, Clone)]
pub struct IndexRequest {
    /// Catalog files (`-` for stdin).
    pub files: Vec<PathBuf>,
    /// The catalog's index directory (created if missing).
    pub catalog: PathBuf,
    /// auto, jsonl, csv or parquet.
    pub format: Format,
}

/// What an indexing run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexSummary {
    pub added: u64,
    pub replaced: u64,
    /// Lines or listings refused.
    pub rejected: u64,
    /// Listings stored with a thumbnail (a photo file that decoded).
    pub photos: u64,
}

/// Readies a listing for the catalog: its local photo files (paths relative to `base`) are
/// hashed in all 8 rotations and flips, as `sweep` hashes a listing's files, so a banned photo
/// finds a turned or mirrored copy from either side. Each hash names the listing photo it is
/// of. Returns a thumbnail of the first photo read and a message for each photo that could not
/// be used.
pub fn prepare_listing(l: &mut Listing, base: &Path) -> (Option<Vec<u8>>, Vec<String>) {
    let given = crate::photo::photos(&l.image_hashes).len();
    let read = super::photos::listing_photos(&l.images, base);
    for (file, hashes) in read.hashed {
        // Numbered after the photos the listing brought as hashes.
        let n = (given + file) as u32;
        l.image_hashes
            .extend(hashes.into_iter().map(|h| ImageHashRef {
                photo: Some(n),
                ..h
            }));
    }
    (read.thumb, read.problems)
}

/// The directory photo paths of `file` are relative to (the working directory for stdin).
pub fn base_of(file: &Path) -> &Path {
    if file.as_os_str() == "-" {
        return Path::new("");
    }
    file.parent().unwrap_or(Path::new(""))
}

struct Batch<'a> {
    store: &'a Store,
    records: Vec<BannedRecord>,
    thumbs: Vec<(String, Vec<u8>)>,
    summary: IndexSummary,
}

impl Batch<'_> {
    fn commit(&mut self) -> Result<()> {
        if self.records.is_empty() {
            return Ok(());
        }
        let c = super::ingest::commit(
            self.store,
            std::mem::take(&mut self.records),
            std::mem::take(&mut self.thumbs),
        )?;
        self.summary.added += c.added;
        self.summary.replaced += c.replaced;
        Ok(())
    }
}

/// Indexes `req.files` into `req.catalog`. Bad lines and unusable photos are told to `note`
/// (in input order) and skipped; an I/O or index error stops the run (batches committed before
/// it stay). Fails if no listing at all could be indexed.
pub fn index(req: &IndexRequest, mut note: impl FnMut(Note<'_>)) -> Result<IndexSummary> {
    let store = Store::open_or_create(&req.catalog)?;
    let mut batch = Batch {
        store: &store,
        records: Vec::new(),
        thumbs: Vec::new(),
        summary: IndexSummary::default(),
    };
    for path in &req.files {
        let format = feeds::sniff(path, req.format);
        if !matches!(
            format,
            Format::Auto | Format::Jsonl | Format::Csv | Format::Parquet
        ) {
            return Err(Error::Invalid(format!(
                "{}: a catalog is read as jsonl, csv or parquet, not {format:?}",
                path.display()
            )));
        }
        let base = base_of(path);
        let input = feeds::open(path)?;
        let mut failed: Option<Error> = None;
        feeds::read_records(path, input, format, Listing::from_value, |item| {
            if failed.is_some() {
                return;
            }
            match item {
                Ok((line, mut l)) => {
                    let (thumb, problems) = prepare_listing(&mut l, base);
                    for p in &problems {
                        note(Note::Warning {
                            path,
                            line,
                            message: p,
                        });
                    }
                    if let Some(t) = thumb {
                        batch.summary.photos += 1;
                        batch.thumbs.push((l.id.clone(), t));
                    }
                    match crate::pipeline::reverse::listing_record(&l) {
                        Ok(r) => batch.records.push(r),
                        Err(e) => {
                            batch.summary.rejected += 1;
                            note(Note::Rejected(&Error::Record {
                                path: path.clone(),
                                line,
                                reason: e.to_string(),
                            }));
                        }
                    }
                    if batch.records.len() >= BATCH {
                        failed = batch.commit().err();
                    }
                }
                Err(e) => {
                    batch.summary.rejected += 1;
                    note(Note::Rejected(&e));
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        note(Note::FileDone { path });
    }
    batch.commit()?;
    if batch.summary.added + batch.summary.replaced == 0 {
        return Err(Error::Invalid(format!(
            "no valid listings to index ({} lines rejected)",
            batch.summary.rejected
        )));
    }
    Ok(batch.summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_paths_are_relative_to_the_catalog_file() {
        assert_eq!(base_of(Path::new("shop/catalog.jsonl")), Path::new("shop"));
        assert_eq!(base_of(Path::new("catalog.jsonl")), Path::new(""));
        assert_eq!(base_of(Path::new("-")), Path::new(""));
        assert_eq!(base_of(Path::new("/data/c.csv")), Path::new("/data"));
    }

    #[test]
    fn listing_photos_are_numbered_after_their_given_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/images/photo-03.jpg"),
            dir.path().join("a.jpg"),
        )
        .unwrap();
        let mut l = Listing::from_value(serde_json::json!({
            "id": "L-1", "title": "offer", "images": ["missing.jpg", "a.jpg", "https://x/y.jpg"],
            "image_hashes": [{"algo": "dhash", "hash": "00ff00ff00ff00ff"},
                             {"algo": "phash", "hash": "00ff00ff00ff00ff"}]
        }))
        .unwrap();
        let (thumb, problems) = prepare_listing(&mut l, dir.path());
        assert!(thumb.is_some());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("image 'missing.jpg'"),
            "{problems:?}"
        );
        // The given pair is unnumbered (photo 1 by its order); `a.jpg`, the second file, is
        // photo 3 in its 8 variants.
        let numbers: Vec<Option<u32>> = l.image_hashes.iter().map(|h| h.photo).collect();
        let mut want = vec![None, None];
        want.extend([Some(3); 16]);
        assert_eq!(numbers, want);
        assert_eq!(l.image_hashes.len(), 2 + 16);
    }
}

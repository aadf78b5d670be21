//! Ingest: banned records from files into the index in one commit. Read (any format, the feeds
//! included) → hash the records' photo files (relative to the file that names them) → keep a
//! thumbnail of each record's first photo → commit.
//!
//! The server's `POST /v1/banned` shares the last step, [`commit`], and not the others: it never
//! reads a file a caller names, so its records bring their photos as `image_hashes` only.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::Note;
use crate::error::{Error, Result};
use crate::feeds::{self, Format};
use crate::index::{IngestCounts, Store};
use crate::model::{BannedRecord, Parsed};
use serde_json::Value;

/// What to ingest, and how.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    /// The index directory (created if missing).
    pub index: PathBuf,
    /// Files of banned records (`-` for stdin).
    pub files: Vec<PathBuf>,
    pub format: Format,
    /// Refuse the whole run at the first bad line; nothing is written.
    pub strict: bool,
    /// Do nothing if the index already holds records.
    pub if_empty: bool,
    /// Photos already downloaded from a feed, by file name: an image address ending in
    /// `/x/photo.jpg` is hashed from `DIR/photo.jpg` when that file is there. Nothing is fetched.
    pub feed_photos: Option<PathBuf>,
}

/// What one input file brought (for the feed summary and the "no records" message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    pub format: Format,
    pub records: u64,
    pub models: u64,
    pub gtins: u64,
}

/// How an ingest ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// `if_empty`, and the index already holds this many records: nothing was read.
    NotEmpty(u64),
    /// Committed (durable).
    Committed {
        added: u64,
        replaced: u64,
        rejected: u64,
    },
}

/// One file read and its photos hashed: records in input order, thumbnails by record id.
#[derive(Debug, Default)]
pub struct ReadFile {
    pub records: Vec<BannedRecord>,
    pub thumbs: Vec<(String, Vec<u8>)>,
    pub rejected: u64,
}

/// Runs an ingest: every file read and hashed, then one commit. `note` hears of bad lines and
/// warnings in input order, and of each file when it is done (`on_file`).
pub fn run(
    req: &IngestRequest,
    note: impl FnMut(Note<'_>),
    on_file: impl FnMut(&Path, &FileSummary),
) -> Result<IngestOutcome> {
    let store = Store::open_or_create(&req.index)?;
    run_on(&store, req, note, on_file)
}

/// [`run`] into a store already open (the Python package's index); `req.index` is not used.
pub fn run_on(
    store: &Store,
    req: &IngestRequest,
    mut note: impl FnMut(Note<'_>),
    mut on_file: impl FnMut(&Path, &FileSummary),
) -> Result<IngestOutcome> {
    if req.if_empty {
        let (n, _, _) = store.counts();
        if n > 0 {
            return Ok(IngestOutcome::NotEmpty(n));
        }
    }
    let mut records = Vec::new();
    let mut thumbs = Vec::new();
    let mut rejected = 0;
    for path in &req.files {
        let format = feeds::sniff(path, req.format);
        let read = read_file(
            path,
            format,
            req.strict,
            req.feed_photos.as_deref(),
            &mut note,
        )?;
        note(Note::FileDone { path });
        on_file(
            path,
            &FileSummary {
                format,
                records: read.records.len() as u64,
                models: read.records.iter().map(|r| r.models.len() as u64).sum(),
                gtins: read.records.iter().map(|r| r.gtins.len() as u64).sum(),
            },
        );
        records.extend(read.records);
        thumbs.extend(read.thumbs);
        rejected += read.rejected;
    }
    if records.is_empty() {
        return Err(Error::Invalid(format!(
            "no valid records to ingest ({rejected} lines rejected)"
        )));
    }
    let counts = commit(store, records, thumbs)?;
    Ok(IngestOutcome::Committed {
        added: counts.added,
        replaced: counts.replaced,
        rejected,
    })
}

/// Reads one file of banned records (already sniffed as `format`) and hashes their photos on
/// all cores (decoding dominates). Bad lines go to `note` as they are read (with `strict`, the
/// first one fails the run instead); warnings follow, in line order, once the file is hashed.
pub fn read_file(
    path: &Path,
    format: Format,
    strict: bool,
    feed_photos: Option<&Path>,
    mut note: impl FnMut(Note<'_>),
) -> Result<ReadFile> {
    let input = feeds::open(path)?;
    let mut fatal: Option<Error> = None;
    let mut out = ReadFile::default();
    let mut pending: Vec<(u64, Parsed<BannedRecord>)> = Vec::new();
    feeds::read_records(path, input, format, BannedRecord::from_value, |item| {
        if fatal.is_some() {
            return;
        }
        match item {
            Ok(ok) => pending.push(ok),
            Err(e) if strict => fatal = Some(e),
            Err(e) => {
                out.rejected += 1;
                note(Note::Rejected(&e));
            }
        }
    })?;
    if let Some(e) = fatal {
        return Err(Error::Invalid(format!("{e} (--strict: nothing ingested)")));
    }
    // Photos named by the record, relative to the file that names them.
    let base = path.parent().unwrap_or(Path::new("."));
    out.thumbs = pending
        .par_iter_mut()
        .filter_map(|(_, parsed)| {
            let thumb = hash_photos(parsed, base, feed_photos)?;
            Some((parsed.record.id.clone(), thumb))
        })
        .collect();
    for (line, parsed) in pending {
        for w in &parsed.warnings {
            note(Note::Warning {
                path,
                line,
                message: w,
            });
        }
        out.records.push(parsed.record);
    }
    Ok(out)
}

/// Records a caller holds as JSON values (the Python package's `ingest`), read as a file's lines
/// are: each validated, its photo files (relative to `base`) hashed on all cores, a thumbnail
/// kept. Items are named by their position from 0 ("item 3: field `title` is missing or
/// empty"); with `strict`, the first bad one fails the call and nothing is returned.
pub fn read_values(values: Vec<Value>, base: &Path, strict: bool) -> Result<ReadValues> {
    let mut out = ReadValues::default();
    let mut pending = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        match BannedRecord::from_value(v) {
            Ok(p) => pending.push((i, p)),
            Err(e) if strict => {
                return Err(Error::Invalid(format!(
                    "item {i}: {e} (strict: nothing ingested)"
                )));
            }
            Err(e) => out.rejected.push(format!("item {i}: {e}")),
        }
    }
    out.thumbs = pending
        .par_iter_mut()
        .filter_map(|(_, parsed)| {
            let thumb = hash_photos(parsed, base, None)?;
            Some((parsed.record.id.clone(), thumb))
        })
        .collect();
    for (i, parsed) in pending {
        out.warnings
            .extend(parsed.warnings.iter().map(|w| format!("item {i}: {w}")));
        out.records.push(parsed.record);
    }
    Ok(out)
}

/// What [`read_values`] read: records in input order, thumbnails by record id, and one message
/// per rejected item and per warning.
#[derive(Debug, Default)]
pub struct ReadValues {
    pub records: Vec<BannedRecord>,
    pub thumbs: Vec<(String, Vec<u8>)>,
    pub rejected: Vec<String>,
    pub warnings: Vec<String>,
}

/// Hashes a record's photo files into its `image_hashes` (problems become its warnings) and
/// returns the thumbnail of its first readable photo.
fn hash_photos(
    parsed: &mut Parsed<BannedRecord>,
    base: &Path,
    feed_photos: Option<&Path>,
) -> Option<Vec<u8>> {
    let r = &mut parsed.record;
    if r.images.is_empty() {
        return None;
    }
    let images = r.images.clone();
    parsed.warnings.extend(super::photos::record_photos(
        &images,
        base,
        &mut r.image_hashes,
    ));
    let mut thumb = None;
    if let Some(dir) = feed_photos {
        // Feed photos are addresses; their downloads sit in DIR by name.
        let local: Vec<String> = images
            .iter()
            .filter(|i| i.starts_with("http://") || i.starts_with("https://"))
            .filter_map(|u| u.rsplit('/').next())
            .map(|name| name.split(['?', '#']).next().unwrap_or(name))
            .filter(|name| !name.is_empty() && dir.join(name).is_file())
            .map(str::to_string)
            .collect();
        parsed.warnings.extend(super::photos::record_photos(
            &local,
            dir,
            &mut r.image_hashes,
        ));
        thumb = super::photos::thumbnail(&local, dir);
    }
    // The first photo is decoded a second time here; hashing keeps no pixels, and one small
    // decode per record is cheap beside the commit.
    thumb.or_else(|| super::photos::thumbnail(&images, base))
}

/// Commits records in one commit, their thumbnails first (a crash leaves at worst a thumbnail
/// no record points to). Returns after the commit is durable.
pub fn commit(
    store: &Store,
    records: Vec<BannedRecord>,
    thumbs: Vec<(String, Vec<u8>)>,
) -> Result<IngestCounts> {
    for (id, jpeg) in &thumbs {
        crate::index::thumbs::put(store.dir(), id, jpeg)?;
    }
    store.ingest(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/images/photo-03.jpg"
        ))
        .unwrap()
    }

    #[test]
    fn photos_are_read_beside_the_file_and_committed_with_a_thumbnail() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("feed/photos")).unwrap();
        std::fs::write(dir.path().join("feed/photos/a.jpg"), photo()).unwrap();
        let file = dir.path().join("feed/banned.jsonl");
        std::fs::write(
            &file,
            concat!(
                r#"{"id":"A","title":"night light","images":["photos/a.jpg","photos/gone.jpg"],"gtins":["123"]}"#,
                "\n{broken\n",
                r#"{"id":"B","title":"kettle"}"#,
                "\n"
            ),
        )
        .unwrap();
        let mut notes = Vec::new();
        let read = read_file(&file, Format::Auto, false, None, |n| {
            notes.push(match n {
                Note::Rejected(e) => format!("rejected {e}"),
                Note::Warning { line, message, .. } => format!("{line}: {message}"),
                Note::FileDone { .. } => "done".into(),
            })
        })
        .unwrap();
        assert_eq!(read.rejected, 1);
        assert_eq!(read.records.len(), 2);
        assert!(
            read.records[0].image_hashes.iter().any(|h| h.algo == "pdq"),
            "{:?}",
            read.records[0].image_hashes
        );
        assert_eq!(read.thumbs.len(), 1);
        assert_eq!(read.thumbs[0].0, "A");
        // The bad line as it is read, then the warnings in line order.
        assert!(
            notes[0].starts_with("rejected ") && notes[0].contains(":2:"),
            "{notes:?}"
        );
        assert!(notes[1].starts_with("1: field `gtins`"), "{notes:?}");
        assert!(
            notes[2].starts_with("1: image 'photos/gone.jpg'"),
            "{notes:?}"
        );
        // --strict: the first bad line fails the file, nothing is returned.
        let e = read_file(&file, Format::Auto, true, None, |_| {}).unwrap_err();
        assert!(e.to_string().contains("--strict: nothing ingested"), "{e}");

        let store = Store::open_or_create(&dir.path().join("index")).unwrap();
        let c = commit(&store, read.records, read.thumbs).unwrap();
        assert_eq!((c.added, c.replaced), (2, 0));
        assert!(crate::index::thumbs::get(store.dir(), "A").is_some());
        assert!(crate::index::thumbs::get(store.dir(), "B").is_none());
    }

    #[test]
    fn values_are_read_as_lines_are_with_photos_beside_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.jpg"), photo()).unwrap();
        let values = vec![
            serde_json::json!({"id": "A", "title": "night light", "images": ["a.jpg"],
                               "gtins": ["123"]}),
            serde_json::json!({"id": "B"}),
            serde_json::json!({"id": "C", "title": "kettle"}),
        ];
        let read = read_values(values.clone(), dir.path(), false).unwrap();
        let ids: Vec<&str> = read.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["A", "C"]);
        assert!(read.records[0].image_hashes.iter().any(|h| h.algo == "pdq"));
        assert_eq!(read.thumbs.len(), 1);
        assert_eq!(read.rejected, ["item 1: field `title` is missing or empty"]);
        assert!(
            read.warnings[0].starts_with("item 0: field `gtins`"),
            "{:?}",
            read.warnings
        );
        let e = read_values(values, dir.path(), true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "item 1: field `title` is missing or empty (strict: nothing ingested)"
        );
    }

    #[test]
    fn an_index_that_holds_records_is_left_alone_with_if_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.jsonl");
        std::fs::write(&file, "{\"id\":\"A\",\"title\":\"kettle\"}\n").unwrap();
        let mut req = IngestRequest {
            index: dir.path().join("index"),
            files: vec![file.clone()],
            format: Format::Auto,
            strict: false,
            if_empty: true,
            feed_photos: None,
        };
        let mut files = Vec::new();
        let done = run(
            &req,
            |_| {},
            |p, s| files.push((p.to_path_buf(), s.records)),
        )
        .unwrap();
        assert_eq!(
            done,
            IngestOutcome::Committed {
                added: 1,
                replaced: 0,
                rejected: 0
            }
        );
        assert_eq!(files, vec![(file.clone(), 1)]);
        assert_eq!(
            run(&req, |_| {}, |_, _| {}).unwrap(),
            IngestOutcome::NotEmpty(1)
        );
        req.if_empty = false;
        std::fs::write(&file, "{broken\n").unwrap();
        let e = run(&req, |_| {}, |_, _| {}).unwrap_err().to_string();
        assert_eq!(e, "no valid records to ingest (1 lines rejected)");
    }
}

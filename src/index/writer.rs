//! Opening the index directory and writing to it: each ingest or remove is one tantivy commit.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use tantivy::collector::Count;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::{FORMAT_VERSION, Fields, IndexTerms, Manifest, Snapshot};
use crate::error::{Error, Result};
use crate::model::{BannedRecord, RecordKind};

/// What an ingest did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IngestCounts {
    pub added: u64,
    pub replaced: u64,
}

/// An open index directory, or an index held in memory ([`Store::in_memory`]).
pub struct Store {
    /// None for an index in memory.
    dir: Option<PathBuf>,
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

const WRITER_HEAP: usize = 64 << 20;

/// What messages name an in-memory index by, where they would name a directory.
const IN_MEMORY: &str = "(in-memory index)";

fn text_dir(dir: &Path) -> PathBuf {
    dir.join("text")
}

impl Store {
    /// Opens an existing index; a directory without one is an error that says what to do.
    pub fn open(dir: &Path) -> Result<Store> {
        Manifest::read(dir)?;
        let td = text_dir(dir);
        if !td.join("meta.json").exists() {
            return Err(Error::index(
                dir,
                "no index here yet (run `relist ingest FILE` first, or pass --index DIR)",
            ));
        }
        let index = Index::open_in_dir(&td).map_err(|e| Error::index(dir, e))?;
        Store::from_index(Some(dir), index)
    }

    /// Opens the index, creating an empty one if the directory has none.
    pub fn open_or_create(dir: &Path) -> Result<Store> {
        if text_dir(dir).join("meta.json").exists() {
            return Store::open(dir);
        }
        Manifest::read(dir)?;
        let td = text_dir(dir);
        std::fs::create_dir_all(&td).map_err(|e| Error::io(&td, e))?;
        let (schema, _) = Fields::schema();
        let index = Index::create_in_dir(&td, schema).map_err(|e| Error::index(dir, e))?;
        let store = Store::from_index(Some(dir), index)?;
        store.write_manifest()?;
        Ok(store)
    }

    /// An empty index in memory (a tantivy RAM directory): the same ingest, commit and read
    /// views as a directory, with no manifest, thumbnails or files, gone when dropped. For
    /// records judged on their own (a benchmark's banned side).
    pub fn in_memory() -> Result<Store> {
        let (schema, _) = Fields::schema();
        let index = tantivy::IndexBuilder::new()
            .schema(schema)
            .create_in_ram()
            .map_err(|e| Error::index(IN_MEMORY, e))?;
        Store::from_index(None, index)
    }

    fn from_index(dir: Option<&Path>, index: Index) -> Result<Store> {
        let name = dir.unwrap_or(Path::new(IN_MEMORY));
        let fields = Fields::from_schema(&index.schema())
            .map_err(|e| Error::index(name, format!("not a relist index (schema: {e})")))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| Error::index(name, e))?;
        Ok(Store {
            dir: dir.map(Path::to_path_buf),
            index,
            reader,
            fields,
        })
    }

    /// The index directory; for an index in memory, a name for messages that is no path.
    pub fn dir(&self) -> &Path {
        self.dir.as_deref().unwrap_or(Path::new(IN_MEMORY))
    }

    /// Whether the index is held in memory ([`Store::in_memory`]).
    pub fn is_in_memory(&self) -> bool {
        self.dir.is_none()
    }

    /// A consistent read view of the last commit.
    pub fn snapshot(&self) -> Result<Snapshot> {
        Snapshot::new(self.reader.searcher(), self.fields).map_err(|e| Error::index(self.dir(), e))
    }

    /// Picks up commits made since the store was opened (by this or another process).
    pub fn reload(&self) -> Result<()> {
        self.reader
            .reload()
            .map_err(|e| Error::index(self.dir(), e))
    }

    /// Holds the index's write lock (no ingest or remove can commit) until dropped.
    pub fn write_lock(&self) -> Result<IndexWriter> {
        self.writer()
    }

    fn writer(&self) -> Result<IndexWriter> {
        let writer = self
            .index
            .writer_with_num_threads(1, WRITER_HEAP)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => Error::Busy(self.dir().to_path_buf()),
                e => Error::index(self.dir(), e),
            })?;
        // A writer killed after writing a segment's delete file (`<segment>.<opstamp>.del`) and
        // before its commit leaves that file behind, unreferenced. A rerun of the same ingest
        // deletes the same documents at the same opstamp, and tantivy refuses to write the
        // file again (`FileAlreadyExists`): retrying the interrupted ingest failed every time.
        // Only files no commit references are removed (tantivy's own collection, which every
        // commit runs too); we hold the write lock, so no other writer's files are in flight.
        writer
            .garbage_collect_files()
            .wait()
            .map_err(|e| Error::index(self.dir(), e))?;
        Ok(writer)
    }

    fn count(&self, searcher: &tantivy::Searcher, term: Term) -> u64 {
        searcher
            .search(&TermQuery::new(term, IndexRecordOption::Basic), &Count)
            .unwrap_or(0) as u64
    }

    fn document(&self, r: &BannedRecord, added: u64) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &r.id);
        doc.add_u64(f.added, added);
        doc.add_text(
            f.kind,
            match r.kind {
                RecordKind::Product => "product",
                RecordKind::Term => "term",
            },
        );
        if let Some(s) = &r.source {
            doc.add_text(f.source, s.to_lowercase());
        }
        for j in &r.jurisdictions {
            doc.add_text(f.jurisdiction, j);
        }
        // Term rules are matched by name, never retrieved by text.
        if r.kind == RecordKind::Product {
            let t = IndexTerms::of(r);
            if t.photo {
                doc.add_text(f.photo, "1");
            }
            doc.add_text(f.words, t.words.join(" "));
            doc.add_text(f.grams, t.grams.join(" "));
            doc.add_text(f.ids, t.ids.join(" "));
        }
        doc.add_text(
            f.record,
            serde_json::to_string(r).expect("records serialise"),
        );
        doc
    }

    fn commit(&self, mut writer: IndexWriter) -> Result<()> {
        let payload = format!("{{\"format\":\"relist-index\",\"version\":{FORMAT_VERSION}}}");
        let mut prepared = writer
            .prepare_commit()
            .map_err(|e| Error::index(self.dir(), e))?;
        prepared.set_payload(&payload);
        prepared.commit().map_err(|e| Error::index(self.dir(), e))?;
        writer
            .wait_merging_threads()
            .map_err(|e| Error::index(self.dir(), e))?;
        self.reload()?;
        self.write_manifest()
    }

    /// Adds or replaces records, all in one commit: after a crash, either all or none are there.
    pub fn ingest(&self, records: Vec<BannedRecord>) -> Result<IngestCounts> {
        self.ingest_iter(records.into_iter().map(Ok))
    }

    /// [`Store::ingest`] from a stream (a feed pull's spool file): each record goes to the
    /// writer as it comes, so memory is the writer's heap whatever the count, and all are
    /// committed at the end in one commit. An error from the stream abandons every record of
    /// it: nothing is committed.
    pub fn ingest_iter(
        &self,
        records: impl IntoIterator<Item = Result<BannedRecord>>,
    ) -> Result<IngestCounts> {
        let searcher = self.reader.searcher();
        let writer = self.writer()?;
        let mut counts = IngestCounts::default();
        let mut seen: HashSet<String> = HashSet::new();
        let added = unix_now();
        for r in records {
            let r = r?;
            let id_term = Term::from_field_text(self.fields.id, &r.id);
            if seen.contains(&r.id) || self.count(&searcher, id_term.clone()) > 0 {
                counts.replaced += 1;
                writer.delete_term(id_term);
            } else {
                counts.added += 1;
            }
            seen.insert(r.id.clone());
            let doc = self.document(&r, added);
            writer
                .add_document(doc)
                .map_err(|e| Error::index(self.dir(), e))?;
        }
        self.commit(writer)?;
        Ok(counts)
    }

    /// Removes records by id in one commit; returns the ids that were not in the index.
    pub fn remove(&self, ids: &[String]) -> Result<Vec<String>> {
        let searcher = self.reader.searcher();
        let writer = self.writer()?;
        let mut missing = Vec::new();
        for id in ids {
            let term = Term::from_field_text(self.fields.id, id);
            if self.count(&searcher, term.clone()) == 0 {
                missing.push(id.clone());
            }
            writer.delete_term(term);
        }
        self.commit(writer)?;
        if let Some(dir) = &self.dir {
            for id in ids {
                crate::index::thumbs::remove(dir, id);
            }
        }
        Ok(missing)
    }

    /// Counts from the last commit: (records, products, terms).
    pub fn counts(&self) -> (u64, u64, u64) {
        let s = self.reader.searcher();
        let products = self.count(&s, Term::from_field_text(self.fields.kind, "product"));
        let terms = self.count(&s, Term::from_field_text(self.fields.kind, "term"));
        (products + terms, products, terms)
    }

    fn write_manifest(&self) -> Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let (records, products, terms) = self.counts();
        Manifest::new(records, products, terms).write(dir)
    }

    /// Size of the index files on disk, in bytes.
    pub fn disk_size(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            std::fs::read_dir(p)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| match e.metadata() {
                            Ok(m) if m.is_dir() => walk(&e.path()),
                            Ok(m) => m.len(),
                            Err(_) => 0,
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        self.dir.as_deref().map_or(0, walk)
    }

    pub fn segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, title: &str) -> BannedRecord {
        let v = serde_json::json!({"id": id, "title": title});
        BannedRecord::from_value(v).expect("banned record").record
    }

    fn versions(title: &str, n: usize) -> Vec<BannedRecord> {
        (0..n)
            .map(|i| record(&format!("R{i}"), &format!("{title} {i}")))
            .collect()
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy_dir(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }

    /// A replace killed inside its commit, after tantivy wrote a segment's delete file
    /// (`<segment>.<opstamp>.del`, listed in `.managed.json` before it is written) and before
    /// `meta.json`, then run again: the rerun deletes the same documents at the same opstamp,
    /// so it writes a file of the same name. It must commit, each record once, replaced records
    /// in their new version.
    /// (`tests/crash.rs` met this once in many runs, by timing: `FileAlreadyExists`.)
    #[test]
    fn a_replace_killed_inside_its_commit_can_run_again() {
        let tmp = tempfile::tempdir().unwrap();
        let (killed, twin) = (tmp.path().join("killed"), tmp.path().join("twin"));
        Store::open_or_create(&killed)
            .unwrap()
            .ingest(versions("old toaster", 20))
            .unwrap();
        // The files the killed commit had written: those the same replace writes when it
        // completes, on a copy of the index.
        copy_dir(&killed, &twin);
        Store::open(&twin)
            .unwrap()
            .ingest(versions("new kettle", 10))
            .unwrap();
        let (text, twin_text) = (text_dir(&killed), text_dir(&twin));
        let mut managed: Vec<String> =
            serde_json::from_slice(&std::fs::read(text.join(".managed.json")).unwrap()).unwrap();
        let mut orphans = 0;
        for e in std::fs::read_dir(&twin_text).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".del") {
                std::fs::copy(twin_text.join(&name), text.join(&name)).unwrap();
                managed.push(name);
                orphans += 1;
            }
        }
        assert!(orphans > 0, "the replace wrote no delete file");
        std::fs::write(
            text.join(".managed.json"),
            serde_json::to_vec(&managed).unwrap(),
        )
        .unwrap();

        let store = Store::open(&killed).unwrap();
        let counts = store.ingest(versions("new kettle", 10)).unwrap();
        assert_eq!(counts.replaced, 10);
        assert_eq!(store.counts().0, 20);
        let s = store.reader.searcher();
        for i in 0..20 {
            let id = format!("R{i}");
            let q = TermQuery::new(
                Term::from_field_text(store.fields.id, &id),
                IndexRecordOption::Basic,
            );
            let top = s
                .search(
                    &q,
                    &tantivy::collector::TopDocs::with_limit(2).order_by_score(),
                )
                .unwrap();
            assert_eq!(top.len(), 1, "{id} is in the index once");
            let doc: TantivyDocument = s.doc(top[0].1).unwrap();
            let json = tantivy::schema::document::Value::as_str(
                &doc.get_first(store.fields.record).unwrap(),
            )
            .unwrap()
            .to_string();
            let version = if i < 10 { "new kettle" } else { "old toaster" };
            assert!(json.contains(version), "{id}: {json}");
        }
    }
}

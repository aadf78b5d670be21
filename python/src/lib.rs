//! relist's Python module, `relist._relist`: an index directory opened as `relist.Index` (checks,
//! batches of checks, sweeps over Arrow data, ingest, remove) and `relist.hash_image`, over the
//! library the command line uses: listings, results and errors are those of `relist check`,
//! `relist sweep`, `relist ingest`, `relist remove` and `relist hash`.
//!
//! What this file holds is the boundary only: Python objects to JSON values and back, the GIL
//! released around every call into the engine, and errors (and panics, which never cross into
//! Python) turned into the package's exceptions.

mod convert;

use convert::Json;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use arrow_array::RecordBatch;
use arrow_array::ffi_stream::RecordBatchStreamReader;
use arrow_pyarrow::{FromPyArrow, IntoPyArrow, Table};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString};
use relist::engine::{CheckOptions, Engine};
use relist::pipeline::arrow::{BadRows, results_schema, sweep_batch};
use relist::pipeline::ingest::{IngestOutcome, IngestRequest};
use relist::pipeline::stream::{Checker, SweepOptions};
use relist::pipeline::{Format, Note};
use serde_json::Value;

// The binary's allocator (src/main.rs), for the engine's allocations in this module; Python's
// own objects keep Python's allocator, and Arrow buffers handed out are freed through their
// release callbacks, here.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

create_exception!(
    relist,
    RelistError,
    PyException,
    "An error of relist's: its message is the one-line message the command line prints."
);
create_exception!(
    relist,
    InputError,
    RelistError,
    "Bad input: a listing, record, field, photo or argument that cannot be used; the message names it."
);
create_exception!(
    relist,
    IndexBusyError,
    RelistError,
    "Another process (or writer) holds the index's writer: nothing was written; try again later."
);

/// Listings handed to the engine at once by `check_many`: large enough to keep every core busy,
/// small enough that the next batch's Python objects are converted while this one is checked.
const CHUNK: usize = 256;

/// The package's exception for a library error, with the command line's message.
fn py_err(e: relist::Error) -> PyErr {
    use relist::Error as E;
    let msg = e.to_string();
    match e {
        E::Busy(_) => IndexBusyError::new_err(msg),
        E::Record { .. } | E::Invalid(_) | E::Image { .. } | E::NotFound(_) | E::Config(_) => {
            InputError::new_err(msg)
        }
        E::Io { .. } | E::Index { .. } | E::Fetch { .. } => RelistError::new_err(msg),
    }
}

/// Runs library code so that a panic becomes a `RelistError` instead of unwinding into Python.
fn guarded<T>(f: impl FnOnce() -> relist::Result<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(py_err),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Err(RelistError::new_err(format!("internal error: {what}")))
        }
    }
}

/// The thread pool of a call: rayon's global pool (one thread per core) for 0, else one of
/// `threads` threads, as `relist sweep --threads` builds.
fn pool(threads: usize) -> PyResult<Option<rayon::ThreadPool>> {
    if threads == 0 {
        return Ok(None);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map(Some)
        .map_err(|e| RelistError::new_err(format!("thread pool: {e}")))
}

fn install<T: Send>(pool: &Option<rayon::ThreadPool>, f: impl FnOnce() -> T + Send) -> T {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// A path argument: `str` or `os.PathLike`.
fn path_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<PathBuf> {
    obj.extract::<PathBuf>().map_err(|_| {
        InputError::new_err(format!(
            "{what}: expected a path (str or os.PathLike), got {}",
            convert::type_name(obj)
        ))
    })
}

/// An index directory opened for checks (and, with `writable=True`, for ingest and remove).
#[pyclass(module = "relist", name = "Index", frozen)]
struct Index {
    engine: Engine,
    path: PathBuf,
    writable: bool,
    /// One write at a time from this object: a second would find the writer taken.
    write: Mutex<()>,
}

impl Index {
    fn require_writable(&self, what: &str) -> PyResult<()> {
        if self.writable {
            return Ok(());
        }
        Err(RelistError::new_err(format!(
            "index {}: opened read-only; open it with relist.Index(path, writable=True) to {what}",
            self.path.display()
        )))
    }

    /// Runs one write (one commit) with the GIL released, then installs the new commit.
    fn write<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Engine) -> relist::Result<T> + Send,
    ) -> PyResult<T> {
        py.detach(|| {
            let _one = self.write.lock().unwrap_or_else(|p| p.into_inner());
            guarded(|| {
                let out = f(&self.engine)?;
                self.engine.reload()?;
                Ok(out)
            })
        })
    }
}

#[pymethods]
impl Index {
    #[new]
    #[pyo3(signature = (path, writable = false, config = None))]
    fn new(
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        writable: bool,
        config: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Index> {
        let path = path_arg(path, "path")?;
        let config = config.map(|c| path_arg(c, "config")).transpose()?;
        let dir = path.clone();
        let engine = py.detach(move || {
            guarded(|| {
                let config = match &config {
                    Some(p) => relist::config::Config::from_file(p)?,
                    None => relist::config::Config::default(),
                };
                config.validate().map_err(relist::Error::Config)?;
                // Writable opens create the index, as `relist ingest` does; read-only opens
                // refuse a directory without one, as `relist check` does.
                relist::pipeline::index::open_engine(&dir, config, writable)
            })
        })?;
        Ok(Index {
            engine,
            path,
            writable,
            write: Mutex::new(()),
        })
    }

    /// The index directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Whether this object may ingest and remove.
    #[getter]
    fn writable(&self) -> bool {
        self.writable
    }

    fn __len__(&self) -> usize {
        self.engine.store().counts().0 as usize
    }

    fn __repr__(&self) -> String {
        format!(
            "relist.Index({:?}, writable={}) with {} records",
            self.path.display().to_string(),
            if self.writable { "True" } else { "False" },
            self.engine.store().counts().0
        )
    }

    /// Picks up commits made by other processes since this object opened the index.
    fn reload(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| guarded(|| self.engine.reload()))
    }

    /// The banned record with this id as stored (a dict), or None.
    fn get<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id: String = id.extract().map_err(|_| {
            InputError::new_err(format!(
                "id: expected a str, got {}",
                convert::type_name(id)
            ))
        })?;
        let record = py.detach(|| {
            guarded(|| {
                self.engine
                    .snapshot()
                    .get(&id)
                    .map(|r| r.map(|r| Json::printed(&r)))
                    .map_err(|e| relist::Error::index(self.engine.store().dir(), e))
            })
        })?;
        match record {
            Some(v) => convert::to_py(py, &v),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Checks one listing (a dict) as `relist check` does; the result is its JSON as a dict,
    /// `evidence` included. Photo files in `images` are read relative to the current directory.
    /// Raises InputError naming the field for a listing that cannot be used.
    #[pyo3(signature = (listing, top = 5))]
    fn check<'py>(
        &self,
        py: Python<'py>,
        listing: &Bound<'py, PyAny>,
        top: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let value = convert::listing_value(listing, None)?;
        let result = py.detach(|| {
            guarded(|| {
                let listing =
                    relist::model::Listing::from_value(value).map_err(relist::Error::Invalid)?;
                let res = self.engine.check(&listing, CheckOptions::top(top))?;
                Ok(Json::printed(&res))
            })
        })?;
        convert::to_py(py, &result)
    }

    /// Checks listings (any iterable of dicts) in parallel, `threads` 0 meaning every core, with
    /// the GIL released; results in input order, each as `check` gives it. Every listing is
    /// read first: one that cannot be used raises InputError ("item 3: ...", from 0).
    #[pyo3(signature = (listings, top = 5, threads = 0))]
    fn check_many<'py>(
        &self,
        py: Python<'py>,
        listings: &Bound<'py, PyAny>,
        top: usize,
        threads: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut items = listings.try_iter().map_err(|_| {
            InputError::new_err(format!(
                "listings: expected an iterable of listing dicts, got {}",
                convert::type_name(listings)
            ))
        })?;
        if listings.is_instance_of::<PyDict>() || listings.is_instance_of::<PyString>() {
            return Err(InputError::new_err(format!(
                "listings: expected an iterable of listing dicts, got {} (use check() for one)",
                convert::type_name(listings)
            )));
        }
        let pool = pool(threads)?;
        let engine = &self.engine;
        let out = PyList::empty(py);
        // A worker thread checks one chunk while this thread, holding the GIL, turns the last
        // chunk's results and the next chunk's listings into objects: the conversions, which
        // need the GIL, overlap the matching, which does not.
        let (to_worker, chunks) = crossbeam_channel::bounded::<(usize, Vec<Value>)>(1);
        let (to_main, results) = crossbeam_channel::unbounded::<PyResult<Vec<Json>>>();
        std::thread::scope(|scope| -> PyResult<()> {
            scope.spawn(move || {
                for (first, chunk) in chunks {
                    let r = install(&pool, || {
                        guarded(|| {
                            relist::pipeline::listings::check_values(
                                engine,
                                chunk,
                                CheckOptions::top(top),
                                first,
                                |res| Json::printed(&res),
                            )
                        })
                    });
                    if to_main.send(r).is_err() {
                        return;
                    }
                }
            });
            let outcome = (|| -> PyResult<()> {
                let mut next = 0usize;
                let mut in_flight = 0usize;
                let mut exhausted = false;
                loop {
                    while in_flight < 2 && !exhausted {
                        let mut chunk = Vec::with_capacity(CHUNK);
                        for item in items.by_ref().take(CHUNK) {
                            let item = item?;
                            chunk.push(convert::listing_value(&item, Some(next + chunk.len()))?);
                        }
                        if chunk.is_empty() {
                            exhausted = true;
                            break;
                        }
                        let first = next;
                        next += chunk.len();
                        in_flight += 1;
                        to_worker
                            .send((first, chunk))
                            .map_err(|_| RelistError::new_err("internal error: worker gone"))?;
                    }
                    if in_flight == 0 {
                        return Ok(());
                    }
                    let done = py
                        .detach(|| results.recv())
                        .map_err(|_| RelistError::new_err("internal error: worker gone"))??;
                    in_flight -= 1;
                    for v in &done {
                        out.append(convert::to_py(py, v)?)?;
                    }
                    py.check_signals()?;
                }
            })();
            // Stop the worker and wait for it without the GIL: it may be checking a chunk.
            drop(to_worker);
            py.detach(|| while results.recv().is_ok() {});
            outcome
        })?;
        Ok(out)
    }

    /// Sweeps Arrow data (a pyarrow Table, RecordBatch or RecordBatchReader, or any object with
    /// `__arrow_c_stream__`) with the listing columns as `relist sweep` does, read in place:
    /// a pyarrow Table of `listing_id`, `decision`, `score`, `banned_id`, `result` (the JSON
    /// line the sweep writes) and `error`, for the rows decided review or block (every row with
    /// `all`). A bad row raises InputError naming it; `errors="keep"` gives it a row instead.
    #[pyo3(signature = (data, *, all = false, top = 5, threads = 0, banned_since = None, errors = "raise"))]
    #[allow(clippy::too_many_arguments)]
    fn sweep_arrow<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        all: bool,
        top: usize,
        threads: usize,
        banned_since: Option<&Bound<'py, PyAny>>,
        errors: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let bad = match errors {
            "raise" => BadRows::Fail,
            "keep" => BadRows::Keep,
            other => {
                return Err(InputError::new_err(format!(
                    "errors: '{other}' is neither \"raise\" nor \"keep\""
                )));
            }
        };
        let banned_since = banned_since.map(convert::since).transpose()?;
        let mut source = ArrowSource::of(data)?;
        let pool = pool(threads)?;
        let opts = SweepOptions {
            all,
            top,
            threads,
            banned_since,
            ..SweepOptions::default()
        };
        let checker = py.detach(|| guarded(|| Checker::new(&self.engine, &opts)))?;
        let mut out = Vec::new();
        let mut first_row = 1u64;
        while let Some(batch) = py.detach(|| source.next())? {
            let rows = batch.num_rows() as u64;
            let swept = py.detach(|| {
                install(&pool, || {
                    guarded(|| sweep_batch(&checker, &batch, first_row, bad))
                })
            })?;
            first_row += rows;
            out.push(swept);
            py.check_signals()?;
        }
        let table = Table::try_new(out, results_schema())
            .map_err(|e| RelistError::new_err(format!("results table: {e}")))?;
        table.into_pyarrow(py)
    }

    /// Adds or replaces banned records in one commit: dicts (photo paths relative to the
    /// current directory), or files (a path or a list of paths) read as `relist ingest` reads
    /// them. Returns the counts and the messages of rejected items and warnings.
    #[pyo3(signature = (records, *, strict = false, format = "auto"))]
    fn ingest<'py>(
        &self,
        py: Python<'py>,
        records: &Bound<'py, PyAny>,
        strict: bool,
        format: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.require_writable("ingest")?;
        let format: Format = format
            .parse()
            .map_err(|e| InputError::new_err(format!("format: {e}")))?;
        let (added, replaced, rejected, warnings) = match convert::records_arg(records)? {
            convert::Records::Files(files) => {
                let req = IngestRequest {
                    index: self.path.clone(),
                    files,
                    format,
                    strict,
                    if_empty: false,
                    feed_photos: None,
                };
                self.write(py, |engine| {
                    let mut rejected = Vec::new();
                    let mut warnings = Vec::new();
                    let outcome = relist::pipeline::ingest::run_on(
                        engine.store(),
                        &req,
                        |n| match n {
                            Note::Rejected(e) => rejected.push(e.to_string()),
                            Note::Warning {
                                path,
                                line,
                                message,
                            } => warnings.push(format!("{}:{line}: {message}", path.display())),
                            Note::FileDone { .. } => {}
                        },
                        |_, _| {},
                    )?;
                    match outcome {
                        IngestOutcome::Committed {
                            added, replaced, ..
                        } => Ok((added, replaced, rejected, warnings)),
                        IngestOutcome::NotEmpty(_) => unreachable!("if_empty is false"),
                    }
                })?
            }
            convert::Records::Values(values) => self.write(py, |engine| {
                let read = relist::pipeline::ingest::read_values(values, Path::new("."), strict)?;
                if read.records.is_empty() {
                    return Err(relist::Error::Invalid(format!(
                        "no valid records to ingest ({} items rejected{})",
                        read.rejected.len(),
                        read.rejected
                            .first()
                            .map_or(String::new(), |e| format!("; {e}"))
                    )));
                }
                let counts =
                    relist::pipeline::ingest::commit(engine.store(), read.records, read.thumbs)?;
                Ok((counts.added, counts.replaced, read.rejected, read.warnings))
            })?,
        };
        let d = PyDict::new(py);
        d.set_item("added", added)?;
        d.set_item("replaced", replaced)?;
        d.set_item("rejected", rejected.len())?;
        d.set_item("errors", rejected)?;
        d.set_item("warnings", warnings)?;
        Ok(d)
    }

    /// Removes banned records by id (a str or an iterable of str) in one commit.
    fn remove<'py>(
        &self,
        py: Python<'py>,
        ids: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.require_writable("remove")?;
        let ids = convert::ids_arg(ids)?;
        let done = self.write(py, |engine| {
            relist::pipeline::index::remove_ids(engine.store(), &ids)
        })?;
        let d = PyDict::new(py);
        d.set_item("removed", done.removed)?;
        d.set_item("missing", done.missing)?;
        Ok(d)
    }
}

/// Where `sweep_arrow` reads batches from: a C stream (Table, RecordBatchReader), or one batch.
enum ArrowSource {
    Stream(RecordBatchStreamReader),
    One(Option<RecordBatch>),
}

impl ArrowSource {
    fn of(data: &Bound<'_, PyAny>) -> PyResult<ArrowSource> {
        let not_arrow = || {
            InputError::new_err(format!(
                "data: expected a pyarrow Table, RecordBatch or RecordBatchReader (Arrow data \
                 with __arrow_c_stream__), got {}",
                convert::type_name(data)
            ))
        };
        if data.hasattr("__arrow_c_stream__")? {
            return RecordBatchStreamReader::from_pyarrow_bound(data)
                .map(ArrowSource::Stream)
                .map_err(|e| InputError::new_err(format!("data: {e}")));
        }
        if data.hasattr("__arrow_c_array__")? {
            return RecordBatch::from_pyarrow_bound(data)
                .map(|b| ArrowSource::One(Some(b)))
                .map_err(|e| InputError::new_err(format!("data: {e}")));
        }
        Err(not_arrow())
    }

    /// The next batch; the stream's producer takes the GIL itself if it needs it.
    fn next(&mut self) -> PyResult<Option<RecordBatch>> {
        match self {
            ArrowSource::One(b) => Ok(b.take()),
            ArrowSource::Stream(s) => s
                .next()
                .transpose()
                .map_err(|e| InputError::new_err(format!("data: {e}"))),
        }
    }
}

/// The perceptual hashes of a photo (a path, or its bytes) as `relist hash` prints them.
#[pyfunction]
fn hash_image<'py>(py: Python<'py>, image: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let hasher = relist::pipeline::photos::PhotoHasher::new();
    let fields = if let Ok(b) = image.cast::<PyBytes>() {
        let bytes = b.as_bytes();
        py.detach(|| guarded(|| relist::pipeline::photos::hash_bytes(&hasher, bytes, "<bytes>")))?
            .fields()
    } else if let Ok(b) = image.cast::<PyByteArray>() {
        let bytes = b.to_vec();
        py.detach(|| guarded(|| relist::pipeline::photos::hash_bytes(&hasher, &bytes, "<bytes>")))?
            .fields()
    } else {
        let path = image.extract::<PathBuf>().map_err(|_| {
            InputError::new_err(format!(
                "image: expected a path (str or os.PathLike) or bytes, got {}",
                convert::type_name(image)
            ))
        })?;
        let h = py.detach(|| guarded(|| relist::pipeline::photos::hash_file(&hasher, &path)))?;
        let mut line = serde_json::Map::new();
        line.insert("path".into(), Value::from(path.display().to_string()));
        line.extend(h.fields());
        line
    };
    convert::to_py(py, &Json::printed(&fields))
}

#[pymodule]
fn _relist(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Index>()?;
    m.add_function(wrap_pyfunction!(hash_image, m)?)?;
    m.add("RelistError", py.get_type::<RelistError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("IndexBusyError", py.get_type::<IndexBusyError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

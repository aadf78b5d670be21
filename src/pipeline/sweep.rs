//! A sweep to a results file that a stopped run resumes: the catalog streamed through
//! [`crate::pipeline::stream`], results written as JSON Lines, CSV or Parquet (and an HTML report), and a
//! checkpoint `OUT.checkpoint` rewritten atomically after every batch, saying how many input
//! lines are done and how many output bytes hold their results. A resumed run cuts the output
//! back to those bytes and skips those lines, so that its output is byte for byte that of an
//! uninterrupted run. The command line adds its flags and a progress bar, nothing else.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::feeds::{self, Format};
use crate::pipeline::stream::{Shard, SweepOptions, SweepSummary, sweep_with_progress};
use crate::present::output::{LineSink, OutputFormat, ParquetSink, Sink};
use crate::present::report::Collector;

/// A sweep as asked for.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    /// The catalog of listings (`-` for stdin).
    pub catalog: PathBuf,
    /// The results file; `None` or `-` for stdout (which cannot be resumed).
    pub out: Option<PathBuf>,
    /// Results as jsonl, csv or parquet; by default from `out`'s extension.
    pub out_format: Option<OutputFormat>,
    /// Continue from `out`'s checkpoint if there is one.
    pub resume: bool,
    /// Also write an HTML report of the hits here.
    pub report: Option<PathBuf>,
    /// Also write the flagged (listing, banned record) pairs with the listings' sellers here
    /// (CSV).
    pub sellers: Option<PathBuf>,
    /// Write every listing's result, not only review and block.
    pub all: bool,
    /// Matches per listing.
    pub top: usize,
    /// Worker threads; 0 for one per core.
    pub threads: usize,
    /// The catalog's format.
    pub format: Format,
    pub shard: Option<Shard>,
    /// Unix seconds: match only against banned records ingested since.
    pub banned_since: Option<u64>,
}

impl SweepRequest {
    /// The settings that change the output: a resume must use the same ones.
    pub fn settings(&self) -> String {
        format!(
            "all={} top={} shard={:?} since={:?} format={:?} out_format={:?}",
            self.all, self.top, self.shard, self.banned_since, self.format, self.out_format
        )
    }
}

/// Where a sweep writing to a file stands; rewritten (atomically) after every batch.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug, Clone)]
pub struct Checkpoint {
    /// The catalog as named on the command line.
    pub catalog: String,
    /// [`SweepRequest::settings`] of the run that wrote it.
    pub settings: String,
    /// Input lines done.
    pub lines: u64,
    /// Bytes of output that hold their results.
    pub out_bytes: u64,
}

/// The checkpoint of a results file: `OUT.checkpoint`.
pub fn checkpoint_path(out: &Path) -> PathBuf {
    let mut p = out.as_os_str().to_owned();
    p.push(".checkpoint");
    PathBuf::from(p)
}

impl Checkpoint {
    /// The checkpoint beside `out`, if there is one.
    pub fn read(out: &Path) -> Result<Option<Checkpoint>> {
        let path = checkpoint_path(out);
        match std::fs::read_to_string(&path) {
            Ok(t) => serde_json::from_str(&t).map(Some).map_err(|e| {
                Error::Invalid(format!("{}: not a sweep checkpoint: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Replaces the checkpoint beside `out`: written aside and renamed, so that a sweep killed
    /// at any moment leaves the old checkpoint or the new one, never half of one.
    pub fn write(&self, out: &Path) -> Result<()> {
        let path = checkpoint_path(out);
        let tmp = path.with_extension("checkpoint.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(self).expect("checkpoint serialises"),
        )
        .map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }
}

/// Counts the bytes read, for a progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.read.fetch_add(amt as u64, Ordering::Relaxed);
        self.inner.consume(amt)
    }
}

/// A sweep ready to run: input open, output created (or cut back to its checkpoint).
pub struct Sweep<'e> {
    engine: &'e Engine,
    req: SweepRequest,
    input: Box<dyn BufRead + Send>,
    read: Arc<AtomicU64>,
    out: Box<dyn Write>,
    /// The results file (not stdout).
    out_path: Option<PathBuf>,
    format: OutputFormat,
    skip_lines: u64,
    resumed: Option<u64>,
}

/// A finished sweep: its counts, and the report still to write.
pub struct Swept {
    pub summary: SweepSummary,
    report: Option<PathBuf>,
    sellers: Option<PathBuf>,
    collected: Option<Collector>,
    catalog: PathBuf,
    format: Format,
}

impl<'e> Sweep<'e> {
    /// Opens the catalog and the output. With `resume` and a checkpoint beside the output, the
    /// checkpoint must come from the same catalog and settings; the output is cut back to what
    /// it vouches for.
    pub fn start(engine: &'e Engine, req: SweepRequest) -> Result<Sweep<'e>> {
        let read = Arc::new(AtomicU64::new(0));
        let input: Box<dyn BufRead + Send> = Box::new(Counting {
            inner: feeds::open(&req.catalog)?,
            read: read.clone(),
        });
        let out_path = req.out.clone().filter(|p| p.as_os_str() != "-");
        let format = req.out_format.unwrap_or_else(|| {
            out_path
                .as_deref()
                .map_or(OutputFormat::Jsonl, OutputFormat::for_path)
        });
        if format == OutputFormat::Parquet && (out_path.is_none() || req.resume) {
            return Err(Error::Invalid(
                "Parquet results need --out FILE, and cannot be resumed (a Parquet file ends \
                 with its footer); use jsonl or csv for resumable sweeps"
                    .into(),
            ));
        }
        let mut skip_lines = 0;
        let mut resumed = None;
        let out: Box<dyn Write> = match &out_path {
            Some(p) => {
                let checkpoint = if req.resume {
                    Checkpoint::read(p)?
                } else {
                    None
                };
                let f = match checkpoint {
                    Some(cp) => {
                        if cp.catalog != req.catalog.display().to_string()
                            || cp.settings != req.settings()
                        {
                            return Err(Error::Invalid(format!(
                                "{}: made by a sweep of {} with {}; resume with the same catalog and flags",
                                checkpoint_path(p).display(),
                                cp.catalog,
                                cp.settings
                            )));
                        }
                        // Results written after the last checkpoint are dropped: they are redone.
                        let mut f = std::fs::OpenOptions::new()
                            .write(true)
                            .open(p)
                            .map_err(|e| Error::io(p, e))?;
                        f.set_len(cp.out_bytes).map_err(|e| Error::io(p, e))?;
                        std::io::Seek::seek(&mut f, std::io::SeekFrom::End(0))
                            .map_err(|e| Error::io(p, e))?;
                        skip_lines = cp.lines;
                        resumed = Some(cp.lines);
                        f
                    }
                    None => std::fs::File::create(p).map_err(|e| Error::io(p, e))?,
                };
                Box::new(std::io::BufWriter::with_capacity(1 << 16, f))
            }
            None => Box::new(std::io::BufWriter::with_capacity(
                1 << 16,
                std::io::stdout().lock(),
            )),
        };
        Ok(Sweep {
            engine,
            req,
            input,
            read,
            out,
            out_path,
            format,
            skip_lines,
            resumed,
        })
    }

    /// The input line a resumed sweep starts after; `None` for a fresh sweep.
    pub fn resumed_after(&self) -> Option<u64> {
        self.resumed
    }

    /// Sweeps to the end. Bad lines go to `on_error` (the sweep goes on); `on_progress` hears
    /// the running counts and the catalog bytes read after every batch, once its results and
    /// checkpoint are written. The checkpoint is removed at the end: nothing is left to resume.
    pub fn run(
        self,
        on_error: impl FnMut(&Error),
        mut on_progress: impl FnMut(&SweepSummary, u64),
    ) -> Result<Swept> {
        let Sweep {
            engine,
            req,
            input,
            read,
            mut out,
            out_path,
            format,
            skip_lines,
            resumed: _,
        } = self;
        let opts = SweepOptions {
            all: req.all,
            top: req.top,
            threads: req.threads,
            format: req.format,
            shard: req.shard,
            banned_since: req.banned_since,
            skip_lines,
        };
        let settings = req.settings();
        let write_checkpoint = |lines: u64| -> Result<()> {
            let Some(p) = out_path
                .as_ref()
                .filter(|_| format != OutputFormat::Parquet)
            else {
                return Ok(());
            };
            let out_bytes = std::fs::metadata(p).map_err(|e| Error::io(p, e))?.len();
            Checkpoint {
                catalog: req.catalog.display().to_string(),
                settings: settings.clone(),
                lines,
                out_bytes,
            }
            .write(p)
        };
        let mut checkpoint_error: Option<Error> = None;
        let mut parquet_sink;
        let mut line_sink;
        let sink: &mut dyn Sink = match (format, &out_path) {
            (OutputFormat::Parquet, Some(p)) => {
                parquet_sink = ParquetSink::create(p)?;
                &mut parquet_sink
            }
            _ => {
                line_sink = LineSink::new(&mut out, format, skip_lines == 0);
                &mut line_sink
            }
        };
        let mut collector = (req.report.is_some() || req.sellers.is_some()).then(|| {
            let c = Collector::new(crate::present::report::MAX_HITS);
            if req.sellers.is_some() {
                c.with_sellers()
            } else {
                c
            }
        });
        let mut tee;
        let sink: &mut dyn Sink = match &mut collector {
            Some(c) => {
                tee = c.tee(sink);
                &mut tee
            }
            None => sink,
        };
        let summary =
            sweep_with_progress(engine, &req.catalog, input, sink, &opts, on_error, |s| {
                if s.lines > 0 && checkpoint_error.is_none() {
                    checkpoint_error = write_checkpoint(s.lines.max(skip_lines)).err();
                }
                on_progress(s, read.load(Ordering::Relaxed));
            })?;
        if let Some(e) = checkpoint_error {
            return Err(e);
        }
        drop(out);
        // Done: nothing to resume.
        if let Some(p) = &out_path {
            let _ = std::fs::remove_file(checkpoint_path(p));
        }
        Ok(Swept {
            summary,
            report: req.report.clone(),
            sellers: req.sellers.clone(),
            collected: collector,
            catalog: req.catalog,
            format: req.format,
        })
    }
}

impl Swept {
    /// Writes the HTML report and the sellers file, those asked for; returns where.
    pub fn write_report(self, engine: &Engine) -> Result<Vec<PathBuf>> {
        let Some(collected) = self.collected else {
            return Ok(Vec::new());
        };
        let mut written = Vec::new();
        if let Some(path) = self.report {
            crate::present::report::write(
                &path,
                engine,
                &self.catalog,
                self.format,
                &self.summary,
                &collected,
            )?;
            written.push(path);
        }
        if let Some(path) = self.sellers {
            crate::present::report::write_sellers(&path, &self.catalog, self.format, &collected)?;
            written.push(path);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(out: &Path) -> SweepRequest {
        SweepRequest {
            catalog: "catalog.jsonl".into(),
            out: Some(out.to_path_buf()),
            out_format: None,
            resume: true,
            report: None,
            sellers: None,
            all: false,
            top: 5,
            threads: 1,
            format: Format::Auto,
            shard: None,
            banned_since: None,
        }
    }

    /// A sweep on two threads decides every listing of the fixture catalog as `check` does
    /// one at a time: the same decision, score and banned records in the same order (both
    /// retrieve through one per-thread scorer, so a thread's leftovers must not leak into
    /// another listing).
    #[test]
    fn a_sweep_decides_as_check_does() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let banned: Vec<crate::model::BannedRecord> =
            std::fs::read_to_string(fixtures.join("banned.jsonl"))
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let v = serde_json::from_str(l).unwrap();
                    crate::model::BannedRecord::from_value(v).unwrap().record
                })
                .collect();
        let engine = Engine::in_memory(banned, crate::config::Config::default()).unwrap();
        let catalog = fixtures.join("catalog.jsonl");
        let out = dir.path().join("results.jsonl");
        let req = SweepRequest {
            catalog: catalog.clone(),
            all: true,
            threads: 2,
            ..request(&out)
        };
        Sweep::start(&engine, req)
            .unwrap()
            .run(|e| panic!("{e}"), |_, _| {})
            .unwrap();
        let swept: Vec<serde_json::Value> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let listings: Vec<crate::model::Listing> = std::fs::read_to_string(&catalog)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut l =
                    crate::model::Listing::from_value(serde_json::from_str(l).unwrap()).unwrap();
                l.rebase_images(&catalog);
                l
            })
            .collect();
        assert_eq!(swept.len(), listings.len());
        let ids = |v: &serde_json::Value| -> Vec<String> {
            v["matches"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| m["banned_id"].to_string())
                .collect()
        };
        let mut blocked = 0;
        for l in &listings {
            let s = swept
                .iter()
                .find(|v| v["listing_id"] == l.id.as_str())
                .unwrap_or_else(|| panic!("{} not swept", l.id));
            let opts = crate::engine::CheckOptions {
                top: 5,
                ..Default::default()
            };
            let c = serde_json::to_value(engine.check(l, opts).unwrap()).unwrap();
            assert_eq!(s["decision"], c["decision"], "{}", l.id);
            // The sweep's lines round scores to three decimals.
            let rounded = |v: &serde_json::Value| v.as_f64().map(|x| (x * 1000.0).round());
            assert_eq!(rounded(&s["score"]), rounded(&c["score"]), "{}", l.id);
            assert_eq!(ids(s), ids(&c), "{}", l.id);
            blocked += usize::from(c["decision"] == "block");
        }
        assert!(blocked > 10, "{blocked}");
    }

    #[test]
    fn checkpoints_are_replaced_whole_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("results.jsonl");
        assert_eq!(Checkpoint::read(&out).unwrap(), None);
        let cp = Checkpoint {
            catalog: "catalog.jsonl".into(),
            settings: request(&out).settings(),
            lines: 512,
            out_bytes: 1234,
        };
        cp.write(&out).unwrap();
        assert_eq!(
            checkpoint_path(&out),
            dir.path().join("results.jsonl.checkpoint")
        );
        assert_eq!(Checkpoint::read(&out).unwrap(), Some(cp));
        assert!(!dir.path().join("results.jsonl.checkpoint.tmp").exists());
        std::fs::write(checkpoint_path(&out), "{").unwrap();
        let e = Checkpoint::read(&out).unwrap_err().to_string();
        assert!(e.contains("not a sweep checkpoint"), "{e}");
    }

    /// The protocol without the command line: a sweep stopped after its first batch (its output
    /// holding results past the checkpoint, as a killed run's may) resumes to the bytes of an
    /// uninterrupted run.
    #[test]
    fn a_stopped_sweep_resumes_to_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let banned = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/banned.jsonl");
        let ingest = super::super::ingest::IngestRequest {
            index: dir.path().join("index"),
            files: vec![banned.into()],
            format: Format::Auto,
            strict: true,
            if_empty: false,
            feed_photos: None,
        };
        super::super::ingest::run(&ingest, |_| {}, |_, _| {}).unwrap();
        let engine = Engine::open(&ingest.index, crate::config::Config::default()).unwrap();
        // Enough listings for several batches; every third one a relisting.
        let catalog = dir.path().join("catalog.jsonl");
        let lines: String = (0..700)
            .map(|i| {
                let title = if i % 3 == 0 {
                    "VoltMax HB-2210X power bank"
                } else {
                    "garden hose with nozzle"
                };
                format!("{{\"id\":\"L{i}\",\"title\":\"{title} {i}\"}}\n")
            })
            .collect();
        std::fs::write(&catalog, lines).unwrap();
        let out = dir.path().join("results.jsonl");
        let req = SweepRequest {
            catalog: catalog.clone(),
            ..request(&out)
        };
        let mut first: Option<(Vec<u8>, Vec<u8>)> = None;
        let swept = Sweep::start(&engine, req.clone())
            .unwrap()
            .run(
                |e| panic!("{e}"),
                |_, _| {
                    // After the first batch: the checkpoint and the output as they stood.
                    if first.is_none() {
                        first = Some((
                            std::fs::read(checkpoint_path(&out)).unwrap(),
                            std::fs::read(&out).unwrap(),
                        ));
                    }
                },
            )
            .unwrap();
        assert_eq!(swept.summary.listings, 700);
        assert!(!checkpoint_path(&out).exists(), "done: nothing to resume");
        let whole = std::fs::read(&out).unwrap();
        let (cp, partial) = first.unwrap();
        let cp_parsed: Checkpoint = serde_json::from_slice(&cp).unwrap();
        assert!(
            cp_parsed.lines > 0 && cp_parsed.lines < 700,
            "{cp_parsed:?}"
        );
        assert_eq!(cp_parsed.out_bytes, partial.len() as u64);
        // The stopped run: its checkpoint, and a half-written result after it.
        let mut stopped = partial.clone();
        stopped.extend_from_slice(b"{\"listing_id\":\"L-half");
        std::fs::write(&out, &stopped).unwrap();
        std::fs::write(checkpoint_path(&out), &cp).unwrap();
        let sweep = Sweep::start(&engine, req.clone()).unwrap();
        assert_eq!(sweep.resumed_after(), Some(cp_parsed.lines));
        let resumed = sweep.run(|e| panic!("{e}"), |_, _| {}).unwrap();
        assert!(resumed.summary.listings < 700);
        assert_eq!(std::fs::read(&out).unwrap(), whole);
        // Other settings refuse the checkpoint, naming it.
        std::fs::write(checkpoint_path(&out), &cp).unwrap();
        let e = Sweep::start(&engine, SweepRequest { top: 9, ..req })
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("resume with the same catalog and flags"), "{e}");
        assert!(e.contains("results.jsonl.checkpoint"), "{e}");
    }

    #[test]
    fn settings_name_everything_that_changes_the_output() {
        let out = Path::new("r.jsonl");
        let a = request(out);
        assert_eq!(
            a.settings(),
            "all=false top=5 shard=None since=None format=Auto out_format=None"
        );
        // Threads, the report and resuming itself do not change the results.
        let same = SweepRequest {
            threads: 4,
            resume: false,
            ..a.clone()
        };
        assert_eq!(same.settings(), a.settings());
        for other in [
            SweepRequest {
                all: true,
                ..a.clone()
            },
            SweepRequest {
                top: 6,
                ..a.clone()
            },
            SweepRequest {
                banned_since: Some(1),
                ..a.clone()
            },
            SweepRequest {
                shard: Some(Shard { index: 0, count: 2 }),
                ..a.clone()
            },
            SweepRequest {
                out_format: Some(OutputFormat::Csv),
                ..a.clone()
            },
        ] {
            assert_ne!(other.settings(), a.settings());
        }
    }
}

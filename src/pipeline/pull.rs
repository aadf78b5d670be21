//! `relist feed pull`: a regulator feed fetched page by page into the index in one commit.
//! Fetch a page (retried, bounded) → keep its raw payload for audit → records through the
//! feed's adapter → their photos downloaded and hashed like local ones → spooled to a file;
//! at the end, the spool streamed into one commit ([`Store::ingest_iter`]), then the source's
//! state (last pull, newest recall day) is written.
//!
//! Nothing reaches the index before the commit: a pull stopped at any point (a dropped
//! connection, an error body, a kill) leaves the index as it was, and the next pull starts
//! afresh. Thumbnails wait beside the spool and move in just before the commit, as `ingest`
//! writes its own before its commit.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::dates::Date;
use crate::error::{Error, Result};
use crate::feeds::pull::{Plan, Source};
use crate::index::Store;
use crate::model::BannedRecord;
use crate::net::{Client, Limits, Retry};

/// Photos fetched per record at most; a record naming more keeps the rest as addresses.
pub const MAX_PHOTOS_PER_RECORD: usize = 8;

/// What to pull, and how. No `Debug`: it holds the key.
#[derive(Clone)]
pub struct PullRequest {
    pub index: PathBuf,
    pub source: Source,
    /// `http(s)://host[:port]` standing in for the documented endpoint's.
    pub base_url: Option<String>,
    /// The source's key, if it has one (never printed).
    pub key: Option<String>,
    /// Only records recalled on or after this day.
    pub since: Option<Date>,
    /// Without `since`: from the newest recall day of the last successful pull.
    pub incremental: bool,
    pub allow_private: bool,
    pub photos: bool,
    pub retry: Retry,
    pub page_limits: Limits,
    pub photo_limits: Limits,
    /// Most pages one pull may read (a feed that never ends is an error, not a hang).
    pub max_pages: u64,
    /// Audit folders kept per source (the newest).
    pub audit_keep: usize,
    /// Photo downloads at once.
    pub photo_threads: usize,
    /// Refuse the pull at the first record that cannot be used.
    pub strict: bool,
}

/// What a pull did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PullSummary {
    pub source: String,
    pub pages: u64,
    /// Records the pages held that were used.
    pub records: u64,
    /// Records `--since` left out.
    pub older: u64,
    pub added: u64,
    pub replaced: u64,
    pub rejected: u64,
    pub photos: u64,
    pub photo_failures: u64,
    /// The first recall day asked for, if any.
    pub since: Option<String>,
    /// Unix seconds just before the commit: `sweep --banned-since` this time sweeps against
    /// exactly the records of this pull.
    pub pulled_at: u64,
    /// Whether anything was committed (an incremental pull may find nothing new).
    pub committed: bool,
    pub seconds: f64,
    /// Where this pull's raw pages are.
    pub audit: String,
}

/// What a pull tells its caller as it goes.
#[derive(Debug)]
pub enum PullNote<'a> {
    Page {
        n: u64,
        url: &'a str,
        records: usize,
    },
    Retry {
        why: &'a str,
        wait: Duration,
    },
    /// A record kept with something unusable (a photo that could not be fetched).
    Warning {
        id: &'a str,
        message: &'a str,
    },
    /// A record that could not be used.
    Rejected(&'a str),
}

/// What the index directory remembers of each source's pulls (`INDEX/feeds/state.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PullState {
    #[serde(default)]
    pub sources: BTreeMap<String, SourceState>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SourceState {
    /// Unix seconds of the last successful pull's commit (see [`PullSummary::pulled_at`]).
    pub last_pull: u64,
    /// The same, as `YYYY-MM-DDTHH:MM:SSZ`, for people reading the file.
    pub last_pull_time: String,
    /// The newest recall day any successful pull brought: where `--incremental` starts.
    pub newest_recall: Option<String>,
    pub records: u64,
}

fn feeds_dir(index: &Path) -> PathBuf {
    index.join("feeds")
}

impl PullState {
    pub fn path(index: &Path) -> PathBuf {
        feeds_dir(index).join("state.json")
    }

    /// The state, or an empty one if no pull has succeeded here.
    pub fn read(index: &Path) -> Result<PullState> {
        let p = Self::path(index);
        match std::fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::Invalid(format!("{}: {e}", p.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PullState::default()),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    fn write(&self, index: &Path) -> Result<()> {
        let p = Self::path(index);
        let tmp = p.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).expect("state serialises");
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &p).map_err(|e| Error::io(&p, e))
    }

    /// The time of the last successful pull of `source`, or of any source for `last`.
    pub fn last_pull(&self, which: &str) -> Option<u64> {
        if which.eq_ignore_ascii_case("last") {
            return self.sources.values().map(|s| s.last_pull).max();
        }
        self.sources
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(which))
            .map(|(_, s)| s.last_pull)
    }
}

/// Files of one pull in progress: the spool of records and the thumbnails waiting for the
/// commit. Both are left from a pull that was stopped, and cleared when the next one starts.
struct Pending {
    dir: PathBuf,
    spool: PathBuf,
}

impl Pending {
    fn new(index: &Path, source: Source) -> Result<Pending> {
        let dir = feeds_dir(index).join(format!("pending-{}", source.name()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        std::fs::create_dir_all(dir.join("photos")).map_err(|e| Error::io(&dir, e))?;
        Ok(Pending {
            spool: dir.join("records.jsonl"),
            dir,
        })
    }

    fn photos(&self) -> PathBuf {
        self.dir.join("photos")
    }

    /// Thumbnails are stored under `dir` as the index stores its own, so moving one in is a
    /// rename to the same name.
    fn thumbs(&self) -> PathBuf {
        crate::index::thumbs::dir(&self.dir)
    }

    fn clear(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The raw pages of one pull, kept for audit in `INDEX/feeds/audit/SOURCE/TIME/`, with an
/// `index.json` of their (redacted) addresses; the newest `keep` pulls of a source are kept.
struct Audit {
    dir: PathBuf,
    pages: Vec<serde_json::Value>,
}

impl Audit {
    fn new(index: &Path, source: Source, started: u64, keep: usize) -> Result<Audit> {
        let root = feeds_dir(index).join("audit").join(source.name());
        // Oldest first by name (the time), so rotation drops the oldest.
        if let Ok(rd) = std::fs::read_dir(&root) {
            let mut old: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            old.sort();
            let drop = old.len().saturating_sub(keep.saturating_sub(1));
            for d in old.into_iter().take(drop) {
                let _ = std::fs::remove_dir_all(d);
            }
        }
        let name = crate::dates::rfc3339(started).replace(':', "");
        let mut dir = root.join(&name);
        let mut n = 1;
        while dir.exists() {
            n += 1;
            dir = root.join(format!("{name}-{n}"));
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Audit {
            dir,
            pages: Vec::new(),
        })
    }

    fn page(&mut self, n: u64, url: &str, body: &[u8], ext: &str) -> Result<()> {
        let file = format!("page-{n:05}.{ext}");
        let p = self.dir.join(&file);
        std::fs::write(&p, body).map_err(|e| Error::io(&p, e))?;
        self.pages
            .push(serde_json::json!({"page": n, "url": url, "file": file, "bytes": body.len()}));
        self.write_index("in progress")
    }

    fn write_index(&self, status: &str) -> Result<()> {
        let p = self.dir.join("index.json");
        let doc = serde_json::json!({"status": status, "pages": self.pages});
        std::fs::write(&p, serde_json::to_vec_pretty(&doc).expect("json"))
            .map_err(|e| Error::io(&p, e))
    }
}

/// Only one pull of a source at a time in one index: they share the pending files.
fn lock(index: &Path, source: Source) -> Result<std::fs::File> {
    let p = feeds_dir(index).join(format!("{}.lock", source.name()));
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| Error::io(&p, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Invalid(format!(
            "{}: another pull of {} is running in this index",
            p.display(),
            source.name()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&p, e)),
    }
}

/// One record's photos fetched and hashed.
#[derive(Default)]
struct Photos {
    hashed: u64,
    failed: u64,
    thumb: Option<Vec<u8>>,
    warnings: Vec<String>,
}

fn is_address(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// Downloads `r`'s photo addresses into `tmp` one at a time, hashes each as a local photo
/// (the same hashes, crops and PDQ as `ingest`), and keeps the first one's thumbnail.
fn fetch_photos(
    client: &Client,
    r: &mut BannedRecord,
    tmp: &Path,
    slot: usize,
    limits: &Limits,
) -> Photos {
    let mut out = Photos::default();
    let urls: Vec<String> = r.images.iter().filter(|i| is_address(i)).cloned().collect();
    if urls.len() > MAX_PHOTOS_PER_RECORD {
        out.warnings.push(format!(
            "{} photos named; the first {MAX_PHOTOS_PER_RECORD} fetched",
            urls.len()
        ));
    }
    for (i, url) in urls.iter().take(MAX_PHOTOS_PER_RECORD).enumerate() {
        let fetched = match client.get(url, &[], limits, |_, _| {}) {
            Ok(f) => f,
            Err(e) => {
                out.failed += 1;
                out.warnings
                    .push(format!("photo {e}; the record is kept without it"));
                continue;
            }
        };
        let name = format!("{slot}-{i}.img");
        let path = tmp.join(&name);
        if let Err(e) = std::fs::write(&path, &fetched.body) {
            out.failed += 1;
            out.warnings
                .push(format!("photo {}: {e}", client.redact(url)));
            continue;
        }
        let names = [name];
        let before = r.image_hashes.len();
        let problems = super::photos::record_photos(&names, tmp, &mut r.image_hashes);
        if r.image_hashes.len() > before {
            out.hashed += 1;
        } else {
            out.failed += 1;
        }
        // The messages name the temporary file; the address is what a person can look up.
        let file = format!("{}: ", path.display());
        let prefix = format!("image '{}': ", names[0]);
        for p in problems {
            let why = match p.find(&file) {
                Some(i) => &p[i + file.len()..],
                None => p.strip_prefix(&prefix).unwrap_or(&p),
            };
            out.warnings
                .push(format!("photo {}: {why}", client.redact(url)));
        }
        if out.thumb.is_none() {
            out.thumb = super::photos::thumbnail(&names, tmp);
        }
        let _ = std::fs::remove_file(&path);
    }
    out
}

/// Runs a pull. `note` hears of pages, retries, warnings and rejected records as they come.
pub fn run(req: &PullRequest, mut note: impl FnMut(PullNote<'_>)) -> Result<PullSummary> {
    let t0 = Instant::now();
    let started = crate::index::unix_now();
    let index = &req.index;
    // An index already there is checked first (version, schema): a pull must not fetch for an
    // hour to fail at the commit.
    if index.join("text").join("meta.json").exists() {
        Store::open(index)?;
    }
    let fd = feeds_dir(index);
    std::fs::create_dir_all(&fd).map_err(|e| Error::io(&fd, e))?;
    let _lock = lock(index, req.source)?;
    let mut state = PullState::read(index)?;
    let since = match (req.since, req.incremental) {
        (Some(s), _) => Some(s),
        (None, true) => state
            .sources
            .get(req.source.name())
            .and_then(|s| s.newest_recall.as_deref())
            .and_then(crate::dates::iso),
        (None, false) => None,
    };
    let base = req
        .base_url
        .as_deref()
        .map(crate::feeds::pull::check_base)
        .transpose()
        .map_err(Error::Invalid)?;
    if let Some(spec) = req.source.key()
        && req.key.as_deref().is_none_or(|k| k.trim().is_empty())
    {
        let what = match spec.place {
            crate::feeds::pull::KeyPlace::Header(h) | crate::feeds::pull::KeyPlace::Query(h) => h,
        };
        return Err(Error::Invalid(format!(
            "feed pull {}: the feed wants a key ({what}): --key, {} or `{}` under [feeds] in the config file",
            req.source.name(),
            spec.env,
            spec.config
        )));
    }
    let secrets: Vec<String> = req.key.iter().cloned().collect();
    let client = Client::new(req.allow_private, req.retry.clone(), secrets);
    let today = Date::of_unix(started);
    let mut plan = Plan::new(req.source, base, req.key.clone(), since, today);
    let pending = Pending::new(index, req.source)?;
    let mut audit = Audit::new(index, req.source, started, req.audit_keep.max(1))?;
    let ext = match req.source {
        Source::SafetyGate | Source::Consumer24 | Source::Accc => "xml",
        _ => "json",
    };
    let mut summary = PullSummary {
        source: req.source.name().to_string(),
        since: since.map(|d| d.to_string()),
        audit: audit.dir.display().to_string(),
        ..PullSummary::default()
    };
    let result = pull_pages(
        req,
        &client,
        &mut plan,
        &pending,
        &mut audit,
        ext,
        &mut summary,
        &mut note,
    );
    let outcome = result.and_then(|newest| commit(req, &pending, &mut state, &mut summary, newest));
    let _ = audit.write_index(if outcome.is_ok() {
        "committed"
    } else {
        "failed: nothing ingested"
    });
    pending.clear();
    outcome?;
    summary.pages = plan.pages();
    summary.seconds = t0.elapsed().as_secs_f64();
    Ok(summary)
}

/// Fetches every page into the spool; returns the newest recall day seen.
#[allow(clippy::too_many_arguments)]
fn pull_pages(
    req: &PullRequest,
    client: &Client,
    plan: &mut Plan,
    pending: &Pending,
    audit: &mut Audit,
    ext: &str,
    summary: &mut PullSummary,
    note: &mut impl FnMut(PullNote<'_>),
) -> Result<Option<Date>> {
    let spool_file =
        std::fs::File::create(&pending.spool).map_err(|e| Error::io(&pending.spool, e))?;
    let mut spool = std::io::BufWriter::new(spool_file);
    let mut newest: Option<Date> = None;
    let mut slot = 0usize;
    while let Some(page) = plan.next_page() {
        if plan.pages() >= req.max_pages {
            return Err(Error::Invalid(format!(
                "feed pull {}: more than {} pages; raise --max-pages if the feed is that long",
                req.source.name(),
                req.max_pages
            )));
        }
        let shown = client.redact(&page.url);
        let fetched = client.get(&page.url, &page.headers, &req.page_limits, |why, wait| {
            note(PullNote::Retry { why, wait })
        })?;
        let n = plan.pages() + 1;
        audit.page(n, &shown, &fetched.body, ext)?;
        let read = plan.read(&fetched.body).map_err(|e| Error::Fetch {
            url: shown.clone(),
            reason: client.redact(&e),
        })?;
        drop(fetched);
        summary.older += read.older;
        note(PullNote::Page {
            n,
            url: &shown,
            records: read.records.len(),
        });
        let mut parsed = Vec::with_capacity(read.records.len());
        for (i, v) in read.records.into_iter().enumerate() {
            match BannedRecord::from_value(v) {
                Ok(p) => parsed.push(p),
                Err(e) => {
                    let msg = format!("{shown}: record {}: {e}", i + 1);
                    if req.strict {
                        return Err(Error::Invalid(format!(
                            "{msg} (--strict: nothing ingested)"
                        )));
                    }
                    summary.rejected += 1;
                    note(PullNote::Rejected(&msg));
                }
            }
        }
        let photos: Vec<Photos> = if req.photos {
            fetch_all_photos(client, &mut parsed, pending, slot, req)
        } else {
            Vec::new()
        };
        slot += parsed.len();
        for (i, p) in parsed.iter().enumerate() {
            for w in &p.warnings {
                note(PullNote::Warning {
                    id: &p.record.id,
                    message: w,
                });
            }
            if let Some(ph) = photos.get(i) {
                summary.photos += ph.hashed;
                summary.photo_failures += ph.failed;
                for w in &ph.warnings {
                    note(PullNote::Warning {
                        id: &p.record.id,
                        message: w,
                    });
                }
                if let Some(t) = &ph.thumb {
                    crate::index::thumbs::put(&pending.dir, &p.record.id, t)?;
                }
            }
            if let Some(d) = p.record.recalled_at.as_deref().and_then(crate::dates::iso) {
                newest = newest.max(Some(d));
            }
            serde_json::to_writer(&mut spool, &p.record).expect("records serialise");
            spool
                .write_all(b"\n")
                .map_err(|e| Error::io(&pending.spool, e))?;
            summary.records += 1;
        }
    }
    spool.flush().map_err(|e| Error::io(&pending.spool, e))?;
    Ok(newest)
}

/// The photos of a page's records, `photo_threads` downloads at a time.
fn fetch_all_photos(
    client: &Client,
    parsed: &mut [crate::model::Parsed<BannedRecord>],
    pending: &Pending,
    slot: usize,
    req: &PullRequest,
) -> Vec<Photos> {
    let tmp = pending.photos();
    let next = AtomicUsize::new(0);
    let cells: Vec<std::sync::Mutex<(&mut BannedRecord, Option<Photos>)>> = parsed
        .iter_mut()
        .map(|p| std::sync::Mutex::new((&mut p.record, None)))
        .collect();
    std::thread::scope(|s| {
        for _ in 0..req.photo_threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(cell) = cells.get(i) else { break };
                    let mut guard = cell.lock().unwrap_or_else(|p| p.into_inner());
                    let (rec, out) = &mut *guard;
                    *out = Some(fetch_photos(client, rec, &tmp, slot + i, &req.photo_limits));
                }
            });
        }
    });
    cells
        .into_iter()
        .map(|c| {
            c.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .1
                .unwrap_or_default()
        })
        .collect()
}

/// Moves the waiting thumbnails in and commits the spool in one commit; then the state.
fn commit(
    req: &PullRequest,
    pending: &Pending,
    state: &mut PullState,
    summary: &mut PullSummary,
    newest: Option<Date>,
) -> Result<()> {
    let index = &req.index;
    summary.pulled_at = crate::index::unix_now();
    if summary.records > 0 {
        let store = Store::open_or_create(index)?;
        if let Ok(rd) = std::fs::read_dir(pending.thumbs()) {
            let to = crate::index::thumbs::dir(index);
            std::fs::create_dir_all(&to).map_err(|e| Error::io(&to, e))?;
            for e in rd.flatten() {
                let dest = to.join(e.file_name());
                std::fs::rename(e.path(), &dest).map_err(|err| Error::io(&dest, err))?;
            }
        }
        let f = std::fs::File::open(&pending.spool).map_err(|e| Error::io(&pending.spool, e))?;
        let spool = &pending.spool;
        let lines = std::io::BufReader::new(f).lines().map(|l| {
            let l = l.map_err(|e| Error::io(spool, e))?;
            serde_json::from_str::<BannedRecord>(&l)
                .map_err(|e| Error::Invalid(format!("{}: {e}", spool.display())))
        });
        let counts = store.ingest_iter(lines)?;
        summary.added = counts.added;
        summary.replaced = counts.replaced;
        summary.committed = true;
    }
    let entry = state
        .sources
        .entry(req.source.name().to_string())
        .or_default();
    // The time moves on even when nothing was committed: `--banned-from-pull` after a pull
    // that found nothing new then selects no records, which is what that pull brought.
    entry.last_pull = summary.pulled_at;
    entry.last_pull_time = crate::dates::rfc3339(summary.pulled_at);
    entry.records = summary.records;
    let newest = newest.map(|d| d.to_string());
    if newest > entry.newest_recall {
        entry.newest_recall = newest;
    }
    state.write(index)
}

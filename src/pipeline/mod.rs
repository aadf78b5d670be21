//! The pipelines: what relist does with files, photos, the index and the regulator feeds, as
//! library calls. The command line and the server are thin around them (arguments or a request
//! in, a pipeline call, results printed or answered), and reach [`crate::photo`],
//! [`crate::index`] and [`crate::feeds`] only through them, so that a rule (where photo paths
//! are relative to, what one commit holds, how a sweep resumes) is written once.
//!
//! - [`ingest`]: banned records from files (or a request body) into the index: read → hash
//!   photos → thumbnail → one commit.
//! - [`pull`]: a regulator feed fetched page by page (and its photos) into one commit.
//! - [`index`]: the index directory itself: remove records, statistics, export and import.
//! - [`catalog`]: the same over listings, into a catalog for reverse queries.
//! - [`sweep`]: a catalog swept to a results file that a stopped run resumes byte for byte.
//! - [`query`]: one search request (the banned index, or a catalog by banned records or by a
//!   probe) behind `relist query`, `GET /v1/query` and the web page.
//! - [`explain`]: pairs (banned record, listing) judged as `check` judges them, whatever their
//!   score, behind `relist explain` and `POST /v1/explain`.
//! - [`listings`]: listings and labelled listings read from files for `check`, `eval` and
//!   `calibrate`, and listings a caller holds checked in parallel (the Python package).
//! - [`arrow`]: a sweep over Arrow record batches a caller holds (the Python package,
//!   Spark's `mapInArrow`), with the results `sweep` writes.
//! - [`photos`]: a photo file or upload into the hash set each of those needs.
//! - [`stream`]: the streaming core of a sweep (reader thread, parallel batches, ordered
//!   output); [`reverse`]: reverse queries over a catalog; [`search`]: the banned index searched
//!   by a probe, with filters; [`eval`] and [`em`]: labelled listings and public benchmarks;
//!   [`hardcases`]: generated hard cases (model and line variants, spec-token collisions,
//!   several codes, many languages, GTIN-only relistings) per seed, for tests and training.

pub mod arrow;
pub mod catalog;
pub mod em;
pub mod eval;
pub mod explain;
pub mod hardcases;
pub mod index;
pub mod ingest;
pub mod listings;
pub mod photo_suite;
pub mod photos;
pub mod pull;
pub mod query;
pub mod reverse;
pub mod search;
pub mod stream;
pub mod sweep;
pub mod train;

use std::path::Path;

use crate::error::Error;

/// What a pipeline tells its caller as it reads, in input order: the command line prints these
/// (within its per-file message limit), the server collects them.
#[derive(Debug)]
pub enum Note<'a> {
    /// A line or record that could not be used; skipped and counted as rejected. The error
    /// names the file and line.
    Rejected(&'a Error),
    /// A record kept with something dropped or unusable (a GTIN failing its check digit, a
    /// photo that cannot be read).
    Warning {
        path: &'a Path,
        line: u64,
        message: &'a str,
    },
    /// An input file read to its end.
    FileDone { path: &'a Path },
}

/// Input formats, for front ends that name one.
pub use crate::feeds::Format;

//! relist finds banned products that come back under new listings.
//!
//! Regulators publish products found to be dangerous or illegal; sellers relist them with a new
//! title, a misspelled brand or a reformatted model number. relist keeps an index of banned
//! products ([`index::Store`]) and matches listings against it ([`engine::Engine`]) by fuzzy
//! text, product identifiers and term rules, with reasons a person can check.
//!
//! ```
//! use relist::{config::Config, engine::{CheckOptions, Engine}, model::*, index::Store};
//! use relist::matching::evidence::{Evidence, Voice};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open_or_create(dir.path()).unwrap();
//! let banned: BannedRecord = BannedRecord::from_value(serde_json::json!({
//!     "id": "CPSC-1", "title": "VoltMax HB-2210X 20000mAh power bank", "brand": "VoltMax",
//!     "models": ["HB-2210X"], "hazard": "fire"
//! })).unwrap().record;
//! store.ingest(vec![banned]).unwrap();
//!
//! let engine = Engine::new(store, Config::default()).unwrap();
//! let listing = Listing::from_value(serde_json::json!({
//!     "id": "L-1", "title": "Vоltmax hb 2210x portable charger" // Cyrillic о
//! })).unwrap();
//! let result = engine.check(&listing, CheckOptions::default()).unwrap();
//! assert_eq!(result.decision, Decision::Block);
//! // The evidence as data (what the page and programs read) and as sentences (for people).
//! let m = &result.matches[0];
//! assert!(m.evidence.iter().any(|e| matches!(e, Evidence::Model { banned, .. } if banned == "HB-2210X")));
//! assert_eq!(m.reasons[0], m.evidence[0].reason(Voice::BANNED));
//! ```
//!
//! Module map, in the order a listing flows through it:
//! - [`model`], [`config`], [`error`], [`dates`]: records, listings and results; the matching
//!   policy; errors; ISO dates.
//! - [`text`]: normal forms ([`text::normalize`]), identifiers ([`text::ident`]) and
//!   similarities, the vocabulary both matching and the index speak.
//! - [`matching`]: per-pair features, identifier roles, typed evidence, the learned trees and
//!   the decision, term rules, and the one judging stage ([`matching::matcher::Matcher`]): pure,
//!   no I/O.
//! - [`photo`]: bounded decoding, dHash/pHash/PDQ and crops, Hamming search.
//! - [`index`]: the index directory (tantivy, manifest, index terms, read snapshots).
//! - [`engine`]: retrieval from an index plus the matcher ([`engine::Engine`]); one pair
//!   explained whatever its score ([`engine::Explanation`]).
//! - [`pipeline`]: ingest, sweeps, catalogs and reverse queries, searches, evaluation, pairs
//!   explained, generated hard cases ([`pipeline::hardcases`]) for tests and training, and
//!   training the matcher ([`pipeline::train`]).
//! - [`present`]: JSON/CSV/Parquet output, HTML cards, the sweep report, thumbnails.
//! - [`feeds`]: the record readers (JSON Lines, CSV, Parquet) and the regulators' formats.
//! - [`net`]: outbound HTTP for feed pulls (bounded, retried, inside addresses refused).
//! - [`server`]: the HTTP API and the web page. The command line is the binary (`src/cli/`).

pub mod config;
pub mod dates;
pub mod engine;
pub mod error;
pub mod feeds;
pub mod index;
pub mod matching;
pub mod model;
pub mod net;
pub mod photo;
pub mod pipeline;
pub mod present;
pub mod server;
pub mod text;

pub use error::{Error, Result};

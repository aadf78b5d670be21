//! relist finds banned products that come back under new listings.
//!
//! Regulators publish products found to be dangerous or illegal; sellers relist them with a new
//! title, a misspelled brand or a reformatted model number. relist keeps an index of banned
//! products ([`store::Store`]) and matches listings against it ([`engine::Engine`]) by fuzzy
//! text, product identifiers and term rules, with reasons a person can check.
//!
//! ```
//! use relist::{config::Config, engine::{CheckOptions, Engine}, model::*, store::Store};
//! use relist::evidence::{Evidence, Voice};
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
//! Module map: [`normalize`] and [`ident`] turn text into comparable keys; [`features`]
//! compares a listing with a banned record field by field; [`score`] fuses the evidence and
//! decides; [`store`] is the index directory (or an index in memory), which defines the terms
//! it retrieves by; [`view`] is what matching derives from one of its snapshots (prepared
//! records, word rarity, term rules); [`engine`] ties them together for [`sweep`],
//! [`eval`] and the command line. [`imghash`] decodes and hashes photos (dHash, pHash, PDQ,
//! crops) and [`hamming`] searches the hashes: photo evidence is fused into the score with the
//! text. [`catalog`] answers reverse queries
//! (the listings of a catalog that match a banned record); [`html`] and [`report`] show results
//! to people, with the photos [`thumbs`] keeps beside an index. [`pipeline`] holds what the
//! command line and the server do (ingest, catalog indexing, resumable sweeps, the query
//! request, photos in), so that both stay thin; [`dates`] reads every date the inputs carry.

pub mod attrs;
pub mod calibrate;
pub mod catalog;
pub mod config;
pub mod dates;
pub mod em;
pub mod engine;
pub mod error;
pub mod eval;
pub mod evidence;
pub mod features;
pub mod hamming;
pub mod html;
pub mod ident;
pub mod imghash;
pub mod ingest;
pub mod matcher;
pub mod model;
pub mod normalize;
pub mod output;
pub mod pipeline;
pub mod query;
pub mod report;
pub mod score;
pub mod server;
pub mod store;
pub mod sweep;
pub mod terms;
pub mod text;
pub mod thumbs;
pub mod view;

pub use error::{Error, Result};

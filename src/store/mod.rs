//! The index directory: a tantivy index of banned records and a versioned manifest.

mod archive;
mod manifest;
mod schema;
mod snapshot;
pub mod terms;
mod writer;

pub use archive::{export, import};
pub use manifest::{FORMAT_VERSION, Manifest};
pub use schema::Fields;
pub use snapshot::{Probe, Snapshot};
pub use terms::IndexTerms;
pub use writer::{IngestCounts, Store, unix_now};

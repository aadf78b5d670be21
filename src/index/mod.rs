//! The index directory: a tantivy index of banned records (or a catalog's listings), the
//! terms each record is indexed by, a versioned manifest, and the thumbnails kept beside it.

mod archive;
mod manifest;
pub mod memo;
mod schema;
mod snapshot;
pub mod terms;
pub mod thumbs;
mod writer;

pub use archive::{export, import};
pub use manifest::{FORMAT_VERSION, Manifest};
pub use schema::Fields;
pub use snapshot::{Probe, Snapshot};
pub use terms::IndexTerms;
pub use writer::{IngestCounts, Store, unix_now};

//! One search request behind `relist query`, `GET /v1/query` and the web page: the banned index
//! by a probe (text, model numbers, GTINs, photos) with filters, or a catalog for the listings
//! that match banned records (by id or filters) or a probe. Each front end turns its arguments,
//! parameters or form into a [`QueryRequest`], checks what it has always checked (with its own
//! messages), and renders the [`QueryAnswer`]; the dispatch is here, once.

use std::path::{Path, PathBuf};

use crate::catalog::{CatalogHit, Judge};
use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::ImageHashRef;
use crate::query::{Filters, Hit, Query};

/// Where a request looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// The banned index: banned records like the probe.
    #[default]
    Banned,
    /// A catalog: listings like the banned records asked for, or like the probe.
    Catalog,
}

/// What to look for, and where.
#[derive(Debug, Clone, Default)]
pub struct QueryRequest {
    pub target: Target,
    /// Free text: a title, brand or words from a listing.
    pub text: Option<String>,
    pub models: Vec<String>,
    pub gtins: Vec<String>,
    /// Photo files (the command line only; the server never reads a file a caller names).
    pub image_files: Vec<PathBuf>,
    /// Photos already hashed (an upload, through [`super::photos::probe_upload`]).
    pub image_hashes: Vec<ImageHashRef>,
    /// Catalog only: the listings that match these banned records (each must exist).
    pub banned_ids: Vec<String>,
    /// Which banned records may be found (the banned index), or are asked about (a catalog,
    /// without a probe).
    pub filters: Filters,
    /// Most results (for a catalog: per banned record).
    pub limit: usize,
    /// Catalog only: most banned records the filters may select.
    pub max_banned: usize,
}

impl QueryRequest {
    /// Whether the request names something to look for itself (rather than banned records).
    pub fn has_probe(&self) -> bool {
        self.text.as_deref().is_some_and(|t| !t.trim().is_empty())
            || !self.models.is_empty()
            || !self.gtins.is_empty()
            || !self.image_files.is_empty()
            || !self.image_hashes.is_empty()
    }
}

/// What a request found.
#[derive(Debug, Clone)]
pub enum QueryAnswer {
    /// Banned records, best first.
    Banned(Vec<Hit>),
    /// Catalog listings, ranked by decision then score.
    Listings {
        hits: Vec<CatalogHit>,
        /// How many banned records the request was about; `None` for a probe.
        selected: Option<usize>,
    },
}

/// The banned index a request is judged against: open already (the server), or opened only if
/// the request needs it (the command line: a catalog probe needs no banned index).
pub enum BannedIndex<'a> {
    Open(&'a Engine),
    At(&'a Path, Config),
}

impl BannedIndex<'_> {
    /// The engine, opened into `slot` if need be.
    fn engine<'s>(&'s self, slot: &'s mut Option<Engine>) -> Result<&'s Engine> {
        Ok(match self {
            BannedIndex::Open(e) => e,
            BannedIndex::At(dir, config) => slot.insert(Engine::open(dir, config.clone())?),
        })
    }

    fn config(&self) -> Config {
        match self {
            BannedIndex::Open(e) => e.config().clone(),
            BannedIndex::At(_, c) => c.clone(),
        }
    }
}

/// Runs a request. `catalog` is the catalog's engine, needed for [`Target::Catalog`].
pub fn run(
    req: &QueryRequest,
    banned: BannedIndex<'_>,
    catalog: Option<&Engine>,
) -> Result<QueryAnswer> {
    req.filters.validate()?;
    let mut opened = None;
    match req.target {
        Target::Banned => {
            if !req.banned_ids.is_empty() {
                return Err(Error::Invalid(
                    "query: a banned record id is looked for in a catalog (--catalog DIR)".into(),
                ));
            }
            let q = Query {
                text: req.text.clone(),
                models: req.models.clone(),
                gtins: req.gtins.clone(),
                images: req
                    .image_files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
                image_hashes: req.image_hashes.clone(),
                filters: req.filters.clone(),
                limit: req.limit,
            };
            Ok(QueryAnswer::Banned(crate::query::search(banned.engine(&mut opened)?, &q)?))
        }
        Target::Catalog => {
            let catalog = catalog.ok_or_else(|| {
                Error::Invalid("query: no catalog to search (--catalog DIR)".into())
            })?;
            // Banned records asked for by id come first: the page's record field wins over
            // its words.
            if !req.banned_ids.is_empty() || !req.has_probe() {
                let engine = banned.engine(&mut opened)?;
                let records = crate::catalog::select_banned(
                    engine,
                    &req.banned_ids,
                    &req.filters,
                    req.max_banned,
                )?;
                let hits = crate::catalog::find_listings(
                    catalog,
                    &records,
                    Judge::Index(engine),
                    req.limit,
                )?;
                return Ok(QueryAnswer::Listings {
                    hits,
                    selected: Some(records.len()),
                });
            }
            let mut hashes = req.image_hashes.clone();
            for p in &req.image_files {
                hashes.extend(super::photos::probe_file(p)?);
            }
            let probe =
                crate::catalog::probe_record(req.text.as_deref(), &req.models, &req.gtins, hashes)?;
            let hits = crate::catalog::find_listings(
                catalog,
                &[probe],
                Judge::Scratch(banned.config()),
                req.limit,
            )?;
            Ok(QueryAnswer::Listings {
                hits,
                selected: None,
            })
        }
    }
}

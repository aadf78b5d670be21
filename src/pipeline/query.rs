//! One search request behind `relist query`, `GET /v1/query` and the web page: the banned index
//! by a probe (text, model numbers, GTINs, photos) with filters, or a catalog for the listings
//! that match banned records (by id or filters) or a probe. Each front end turns its arguments,
//! parameters or form into a [`QueryRequest`], checks what it has always checked (with its own
//! messages), and renders the [`QueryAnswer`]; the dispatch is here, once.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::ImageHashRef;
use crate::pipeline::reverse::{CatalogHit, Judge};
use crate::pipeline::search::{Browse, Filters, Hit, Query};

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
    /// The banned index only: uploads decoded into hashes and keypoints
    /// ([`super::photos::add_upload`]), searched instead of `image_hashes` as a check
    /// searches a listing's photos.
    pub photos: Option<crate::photo::QueryPhotos>,
    /// Catalog only: the listings that match these banned records (each must exist).
    pub banned_ids: Vec<String>,
    /// Which banned records may be found (the banned index), or are asked about (a catalog,
    /// without a probe).
    pub filters: Filters,
    /// Most results (for a catalog: per banned record).
    pub limit: usize,
    /// The banned index only: results skipped before the first returned.
    pub offset: usize,
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
            || self.photos.is_some()
    }
}

/// What a request found.
#[derive(Debug, Clone)]
pub enum QueryAnswer {
    /// Banned records found by a probe, best first.
    Banned(Vec<Hit>),
    /// Banned records listed by filters alone (or none), newest recall first.
    Records(Browse),
    /// Catalog listings, ranked by decision then score.
    Listings {
        hits: Vec<CatalogHit>,
        /// How many banned records the request was about; `None` for a probe.
        selected: Option<usize>,
    },
}

/// The banned index a request is judged against: open already (the server), or opened only if
/// the request needs it (the command line: a catalog probe needs no banned index).
// A request value, built once per query and moved, never stored: the config it carries
// by value is cheaper than a box.
#[allow(clippy::large_enum_variant)]
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
            if !req.has_probe() {
                return Ok(QueryAnswer::Records(crate::pipeline::search::browse(
                    banned.engine(&mut opened)?,
                    &req.filters,
                    req.limit,
                    req.offset,
                )?));
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
                photos: req.photos.clone(),
                filters: req.filters.clone(),
                limit: req.limit,
                offset: req.offset,
            };
            Ok(QueryAnswer::Banned(crate::pipeline::search::search(
                banned.engine(&mut opened)?,
                &q,
            )?))
        }
        Target::Catalog => {
            let catalog = catalog.ok_or_else(|| {
                Error::Invalid("query: no catalog to search (--catalog DIR)".into())
            })?;
            // Banned records asked for by id come first: the page's record field wins over
            // its words.
            if !req.banned_ids.is_empty() || !req.has_probe() {
                let engine = banned.engine(&mut opened)?;
                let records = crate::pipeline::reverse::select_banned(
                    engine,
                    &req.banned_ids,
                    &req.filters,
                    req.max_banned,
                )?;
                let hits = crate::pipeline::reverse::find_listings(
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
            let probe = crate::pipeline::reverse::probe_record(
                req.text.as_deref(),
                &req.models,
                &req.gtins,
                hashes,
            )?;
            let hits = crate::pipeline::reverse::find_listings(
                catalog,
                &[probe],
                Judge::Probe(banned.config()),
                req.limit,
            )?;
            Ok(QueryAnswer::Listings {
                hits,
                selected: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{catalog, ingest};

    /// The shipped banned list, and a catalog of three listings.
    fn setup(dir: &Path) -> (Engine, Engine) {
        let req = ingest::IngestRequest {
            index: dir.join("index"),
            files: vec![concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/banned.jsonl").into()],
            format: crate::pipeline::Format::Auto,
            strict: true,
            if_empty: false,
            feed_photos: None,
        };
        ingest::run(&req, |_| {}, |_, _| {}).unwrap();
        let file = dir.join("catalog.jsonl");
        std::fs::write(
            &file,
            concat!(
                r#"{"id":"L-V1","title":"Vоltmax hb 2210x portable charger","seller":"TechHub"}"#,
                "\n",
                r#"{"id":"L-X","title":"Garden hose 20 m with spray nozzle"}"#,
                "\n",
            ),
        )
        .unwrap();
        let creq = catalog::IndexRequest {
            files: vec![file],
            catalog: dir.join("cat"),
            format: crate::pipeline::Format::Auto,
        };
        let s = catalog::index(&creq, |n| {
            assert!(matches!(n, crate::pipeline::Note::FileDone { .. }), "{n:?}")
        })
        .unwrap();
        assert_eq!((s.added, s.photos), (2, 0));
        let config = Config::default();
        (
            Engine::open(&dir.join("index"), config.clone()).unwrap(),
            Engine::open(&dir.join("cat"), config).unwrap(),
        )
    }

    #[test]
    fn one_request_for_the_banned_index_and_a_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let (banned, cat) = setup(dir.path());
        let by_model = QueryRequest {
            models: vec!["HB-2210X".into()],
            limit: 3,
            ..Default::default()
        };
        let QueryAnswer::Banned(hits) = run(&by_model, BannedIndex::Open(&banned), None).unwrap()
        else {
            panic!("a banned-index query answers banned records")
        };
        assert_eq!(hits[0].record.id, "CPSC-26-0412");
        assert!(hits.len() <= 3);

        // The same probe in the catalog: judged on its own, so no banned index is opened.
        let probe = QueryRequest {
            target: Target::Catalog,
            ..by_model.clone()
        };
        let nowhere = dir.path().join("no-such-index");
        let QueryAnswer::Listings { hits, selected } = run(
            &probe,
            BannedIndex::At(&nowhere, Config::default()),
            Some(&cat),
        )
        .unwrap() else {
            panic!("a catalog query answers listings")
        };
        assert_eq!(selected, None);
        assert_eq!(hits[0].listing.id, "L-V1");
        assert!(!nowhere.exists());

        // Banned records by id, judged against the whole banned index.
        let by_id = QueryRequest {
            target: Target::Catalog,
            banned_ids: vec!["CPSC-26-0412".into()],
            limit: 5,
            ..Default::default()
        };
        let QueryAnswer::Listings { hits, selected } =
            run(&by_id, BannedIndex::Open(&banned), Some(&cat)).unwrap()
        else {
            panic!("a catalog query answers listings")
        };
        assert_eq!(selected, Some(1));
        assert_eq!(hits[0].listing.id, "L-V1");
        assert_eq!(hits[0].banned.id, "CPSC-26-0412");
        assert!(hits.iter().all(|h| h.listing.id != "L-X"), "{hits:?}");

        // Requests that cannot be answered say why.
        let err = |r: &QueryRequest, c: Option<&Engine>| {
            run(r, BannedIndex::Open(&banned), c)
                .unwrap_err()
                .to_string()
        };
        let ids_in_banned = QueryRequest {
            target: Target::Banned,
            ..by_id.clone()
        };
        assert!(err(&ids_in_banned, None).contains("looked for in a catalog"));
        assert!(err(&by_id, None).contains("no catalog"));
        let bad_date = QueryRequest {
            filters: Filters {
                since: Some("2024-1-5".into()),
                ..Default::default()
            },
            ..by_model
        };
        assert!(err(&bad_date, None).contains("--since: '2024-1-5'"));
        let unknown = QueryRequest {
            banned_ids: vec!["NOPE".into()],
            ..by_id
        };
        assert!(err(&unknown, Some(&cat)).contains("'NOPE' is not in the index"));
    }
}

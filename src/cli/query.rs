//! `relist query`: ad-hoc search of the banned index by text, model number, GTIN or photo
//! (ranked by relevance), the banned list browsed by filters alone (newest recall first), or a
//! catalog (`--catalog DIR`) searched for the listings that match banned records or a probe.

use std::io::Write;

use clap::{Args, ValueEnum};
use relist::engine::Engine;
use relist::model::{BannedRecord, Match};
use relist::pipeline::query::{self, BannedIndex, QueryAnswer, QueryRequest, Target};
use relist::pipeline::reverse::CatalogHit;
use relist::pipeline::search::{Browse, Filters, Hit};
use relist::{Error, Result};

use super::{Global, Outcome};

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Args)]
pub struct QueryArgs {
    /// Free text: a title, brand or words from a listing.
    text: Option<String>,
    /// A model number.
    #[arg(long)]
    model: Vec<String>,
    /// A GTIN (UPC, EAN).
    #[arg(long)]
    gtin: Vec<String>,
    /// A photo: banned products with a matching photo (any rotation or flip).
    #[arg(long)]
    image: Vec<std::path::PathBuf>,
    /// Only banned records from this source (e.g. CPSC).
    #[arg(long)]
    source: Option<String>,
    /// Only banned records that apply in this market (ISO 3166 alpha-2).
    #[arg(long)]
    jurisdiction: Option<String>,
    /// Only banned records recalled on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    since: Option<String>,
    /// Only banned records recalled on or before this day (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    until: Option<String>,
    /// Only banned records whose category contains this (case-insensitive).
    #[arg(long)]
    category: Option<String>,
    /// Only banned records whose hazard contains this (case-insensitive), e.g. fire.
    #[arg(long)]
    hazard: Option<String>,
    /// Search this catalog (made by `relist catalog index`) for listings instead of the
    /// banned index for banned records.
    #[arg(long, env = "RELIST_CATALOG", value_name = "DIR")]
    catalog: Option<std::path::PathBuf>,
    /// With --catalog: the listings that match this banned record (repeatable). Without it
    /// and without a text, model, GTIN or photo, every banned record the filters accept.
    #[arg(long, value_name = "ID", requires = "catalog")]
    banned: Vec<String>,
    /// With --catalog: most banned records the filters may select.
    #[arg(long, default_value_t = 1000, requires = "catalog")]
    max_banned: usize,
    /// Most results (with --catalog: per banned record).
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Results skipped first (the next page of a search or of the banned list).
    #[arg(long, default_value_t = 0, conflicts_with = "catalog")]
    offset: usize,
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,
    #[arg(skip)]
    quiet: bool,
}

impl QueryArgs {
    /// Footers are for people at a table; a program reading JSON or CSV has its counts.
    fn quiet_footer(&self) -> bool {
        self.quiet || !matches!(self.format, OutputFormat::Table)
    }
}

pub fn run(g: &Global, a: QueryArgs) -> Result<Outcome> {
    let a = QueryArgs {
        quiet: g.quiet,
        ..a
    };
    // An empty filter (`--category ""`, from a script) is no filter.
    let f = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let filters = Filters {
        source: f(&a.source),
        jurisdiction: f(&a.jurisdiction),
        since: f(&a.since),
        until: f(&a.until),
        category: f(&a.category),
        hazard: f(&a.hazard),
    };
    filters.validate()?;
    let req = QueryRequest {
        target: if a.catalog.is_some() {
            Target::Catalog
        } else {
            Target::Banned
        },
        text: a.text.clone(),
        models: a.model.clone(),
        gtins: a.gtin.clone(),
        image_files: a.image.clone(),
        image_hashes: Vec::new(),
        photos: None,
        banned_ids: a.banned.clone(),
        filters,
        limit: a.limit,
        offset: a.offset,
        max_banned: a.max_banned,
    };
    let banned = BannedIndex::At(&g.index, g.config()?);
    let answer = match &a.catalog {
        Some(dir) => {
            let catalog = Engine::open(dir, g.config()?)?;
            if req.has_probe() && (!req.banned_ids.is_empty() || !req.filters.is_empty()) {
                return Err(Error::Invalid(
                    "query --catalog: ask for a text, --model, --gtin or --image, or for banned \
                     records (--banned ID, filters), not both"
                        .into(),
                ));
            }
            query::run(&req, banned, Some(&catalog))?
        }
        None => query::run(&req, banned, None)?,
    };
    match answer {
        QueryAnswer::Banned(hits) => print_banned(&a, &hits),
        QueryAnswer::Records(b) => print_records(&a, &b),
        QueryAnswer::Listings { hits, selected } => {
            if selected == Some(0) {
                eprintln!("no banned record passes the filters");
            }
            print_listings(&a, &hits)
        }
    }
}

/// Banned records found by a search, ranked by relevance, in the chosen format. A search
/// is no check: no block/review/allow is printed, only rank, score and evidence.
fn print_banned(a: &QueryArgs, hits: &[Hit]) -> Result<Outcome> {
    let rows: Vec<(usize, &Match, &BannedRecord)> = hits
        .iter()
        .map(|h| (h.rank, &h.matched, &h.record))
        .collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let io = |e| Error::io("<stdout>", e);
    match a.format {
        OutputFormat::Json => {
            for hit in hits {
                writeln!(out, "{}", hit.to_value()).map_err(io)?;
            }
        }
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["rank", "banned_id", "score", "source", "title", "reasons"])
                .map_err(|e| Error::Invalid(e.to_string()))?;
            for (rank, m, r) in rows.iter().copied() {
                w.write_record([
                    rank.to_string().as_str(),
                    m.banned_id.as_str(),
                    &format!("{:.3}", m.score),
                    r.source.as_deref().unwrap_or(""),
                    r.title.as_str(),
                    &m.reasons.join("; "),
                ])
                .map_err(|e| Error::Invalid(e.to_string()))?;
            }
            w.flush().map_err(io)?;
        }
        OutputFormat::Table => {
            if rows.is_empty() {
                eprintln!("no banned record matches");
            }
            for (rank, m, r) in rows.iter().copied() {
                let title = if r.title.is_empty() {
                    r.terms.join(", ")
                } else {
                    r.title.clone()
                };
                writeln!(
                    out,
                    "{rank:>2}. score {:.3}  {:<18} {} [{}]",
                    m.score,
                    m.banned_id,
                    title,
                    r.source.as_deref().unwrap_or("-")
                )
                .map_err(io)?;
                for reason in &m.reasons {
                    writeln!(out, "      - {reason}").map_err(io)?;
                }
            }
            if !a.quiet_footer() && !rows.is_empty() {
                eprintln!("search results, ranked by relevance (a search, not a check)");
            }
        }
    }
    out.flush().map_err(io)?;
    Ok(Outcome::Clean)
}

/// Banned records listed by filters alone, newest recall first.
fn print_records(a: &QueryArgs, b: &Browse) -> Result<Outcome> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let io = |e| Error::io("<stdout>", e);
    let csv_err = |e: csv::Error| Error::Invalid(e.to_string());
    let ranked = b
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| (b.offset + i + 1, r));
    match a.format {
        OutputFormat::Json => {
            for (rank, r) in ranked {
                writeln!(out, "{}", relist::pipeline::search::listed_value(rank, r)).map_err(io)?;
            }
        }
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "rank",
                "banned_id",
                "recalled_at",
                "source",
                "title",
                "category",
                "hazard",
                "url",
            ])
            .map_err(csv_err)?;
            for (rank, r) in ranked {
                w.write_record([
                    rank.to_string().as_str(),
                    r.id.as_str(),
                    r.recalled_at.as_deref().unwrap_or(""),
                    r.source.as_deref().unwrap_or(""),
                    r.title.as_str(),
                    r.category.as_deref().unwrap_or(""),
                    r.hazard.as_deref().unwrap_or(""),
                    r.url.as_deref().unwrap_or(""),
                ])
                .map_err(csv_err)?;
            }
            w.flush().map_err(io)?;
        }
        OutputFormat::Table => {
            for (rank, r) in ranked {
                let title = if r.title.is_empty() {
                    r.terms.join(", ")
                } else {
                    r.title.clone()
                };
                writeln!(
                    out,
                    "{rank:>3}. {:<10} {:<18} {} [{}]",
                    r.recalled_at.as_deref().unwrap_or("-"),
                    r.id,
                    title,
                    r.source.as_deref().unwrap_or("-")
                )
                .map_err(io)?;
                if let Some(h) = &r.hazard {
                    writeln!(out, "       hazard: {h}").map_err(io)?;
                }
            }
        }
    }
    out.flush().map_err(io)?;
    if !a.quiet_footer() {
        let shown = b.records.len();
        if shown == 0 {
            eprintln!("no banned record passes the filters ({} in all)", b.total);
        } else {
            let more = if (b.offset + shown) < b.total as usize {
                format!("; --offset {} for more", b.offset + shown)
            } else {
                String::new()
            };
            eprintln!(
                "records {}–{} of {}, newest recall first{more}",
                b.offset + 1,
                b.offset + shown,
                b.total
            );
        }
    }
    Ok(Outcome::Clean)
}

/// Catalog listings found (`query --catalog DIR`), in the chosen format.
fn print_listings(a: &QueryArgs, hits: &[CatalogHit]) -> Result<Outcome> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let io = |e| Error::io("<stdout>", e);
    let csv_err = |e: csv::Error| Error::Invalid(e.to_string());
    match a.format {
        OutputFormat::Json => {
            for h in hits {
                writeln!(out, "{}", h.to_value()).map_err(io)?;
            }
        }
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "listing_id",
                "score",
                "decision",
                "banned_id",
                "listing_title",
                "seller",
                "reasons",
            ])
            .map_err(csv_err)?;
            for h in hits {
                w.write_record([
                    h.listing.id.as_str(),
                    &format!("{:.3}", h.matched.score),
                    h.matched.decision.as_str(),
                    h.banned.id.as_str(),
                    h.listing.title.as_str(),
                    h.listing.seller.as_deref().unwrap_or(""),
                    &h.matched.reasons.join("; "),
                ])
                .map_err(csv_err)?;
            }
            w.flush().map_err(io)?;
        }
        OutputFormat::Table => {
            if hits.is_empty() {
                eprintln!("no listing matches");
            }
            for (i, h) in hits.iter().enumerate() {
                writeln!(
                    out,
                    "{:>2}. {:.3} {:<6} {:<14} {} [{}] <- {}",
                    i + 1,
                    h.matched.score,
                    h.matched.decision.as_str(),
                    h.listing.id,
                    h.listing.title,
                    h.listing.seller.as_deref().unwrap_or("-"),
                    h.banned.id,
                )
                .map_err(io)?;
                for reason in &h.matched.reasons {
                    writeln!(out, "      - {reason}").map_err(io)?;
                }
            }
        }
    }
    out.flush().map_err(io)?;
    Ok(Outcome::Clean)
}

//! `relist query`: ad-hoc search of the banned index by text, model number or GTIN.

use std::io::Write;

use clap::{Args, ValueEnum};
use relist::engine::Engine;
use relist::model::{BannedRecord, Match};
use relist::query::{Hit, Query};
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
    /// Only records from this source (e.g. CPSC).
    #[arg(long)]
    source: Option<String>,
    /// Only records that apply in this market (ISO 3166 alpha-2).
    #[arg(long)]
    jurisdiction: Option<String>,
    /// Most results.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,
}

pub fn run(g: &Global, a: QueryArgs) -> Result<Outcome> {
    let engine = Engine::open(&g.index, g.config()?)?;
    let q = Query {
        text: a.text.clone(),
        models: a.model.clone(),
        gtins: a.gtin.clone(),
        images: a.image.iter().map(|p| p.display().to_string()).collect(),
        source: a.source.clone(),
        jurisdiction: a.jurisdiction.clone(),
        limit: a.limit,
    };
    let rows: Vec<(Match, BannedRecord)> = relist::query::search(&engine, &q)?
        .into_iter()
        .map(|h| (h.matched, h.record))
        .collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let io = |e| Error::io("<stdout>", e);
    match a.format {
        OutputFormat::Json => {
            for (m, r) in &rows {
                let hit = Hit {
                    matched: m.clone(),
                    record: r.clone(),
                };
                writeln!(out, "{}", hit.to_value()).map_err(io)?;
            }
        }
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "banned_id",
                "score",
                "decision",
                "source",
                "title",
                "reasons",
            ])
            .map_err(|e| Error::Invalid(e.to_string()))?;
            for (m, r) in &rows {
                w.write_record([
                    m.banned_id.as_str(),
                    &format!("{:.3}", m.score),
                    m.decision.as_str(),
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
            for (i, (m, r)) in rows.iter().enumerate() {
                let title = if r.title.is_empty() {
                    r.terms.join(", ")
                } else {
                    r.title.clone()
                };
                writeln!(
                    out,
                    "{:>2}. {:.3} {:<6} {:<18} {} [{}]",
                    i + 1,
                    m.score,
                    m.decision.as_str(),
                    m.banned_id,
                    title,
                    r.source.as_deref().unwrap_or("-")
                )
                .map_err(io)?;
                for reason in &m.reasons {
                    writeln!(out, "      - {reason}").map_err(io)?;
                }
            }
        }
    }
    out.flush().map_err(io)?;
    Ok(Outcome::Clean)
}

//! `relist query`: ad-hoc search of the banned index by text, model number or GTIN.

use std::io::Write;

use clap::{Args, ValueEnum};
use relist::engine::{CheckOptions, Engine};
use relist::model::{BannedRecord, Listing, Match};
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
    let mut title = a.text.clone().unwrap_or_default();
    for m in &a.model {
        title.push(' ');
        title.push_str(m);
    }
    if title.trim().is_empty() && a.gtin.is_empty() {
        return Err(Error::Invalid(
            "query: give a text, --model or --gtin".into(),
        ));
    }
    let probe = Listing {
        id: "query".into(),
        title: title.trim().to_string(),
        models: a.model.clone(),
        gtins: a.gtin.clone(),
        ..Listing::default()
    };
    let res = engine.check(
        &probe,
        CheckOptions {
            top: a.limit.saturating_mul(4).max(40),
            min_score: 0.0,
        },
    )?;
    let snap = engine.snapshot();
    let mut rows: Vec<(Match, BannedRecord)> = Vec::new();
    for m in res.matches {
        let Some(rec) = snap
            .get(&m.banned_id)
            .map_err(|e| Error::index(&g.index, e))?
        else {
            continue;
        };
        if let Some(s) = &a.source {
            if !rec
                .source
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(s))
            {
                continue;
            }
        }
        if let Some(j) = &a.jurisdiction {
            if !rec.applies_to(Some(j)) {
                continue;
            }
        }
        rows.push((m, rec));
        if rows.len() == a.limit {
            break;
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let io = |e| Error::io("<stdout>", e);
    match a.format {
        OutputFormat::Json => {
            for (m, r) in &rows {
                let v = serde_json::json!({
                    "banned_id": m.banned_id, "score": m.score, "decision": m.decision,
                    "title": r.title, "source": r.source, "jurisdictions": r.jurisdictions,
                    "url": r.url, "reasons": m.reasons,
                });
                writeln!(out, "{v}").map_err(io)?;
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

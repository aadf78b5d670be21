//! `relist sweep --report FILE.html`: one self-contained HTML file a person can open anywhere:
//! counts by decision, source and hazard, and every hit with both photos (inline thumbnails)
//! and its reasons, sortable by score. `--sellers FILE.csv`: "who still sells it", one row per
//! listing and banned record it was flagged for, with the listing's seller, platform and
//! address.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::feeds::{self, Format};
use crate::model::{CheckResult, Decision, Listing};
use crate::pipeline::stream::SweepSummary;
use crate::present::html::{self, Card, Side, esc};
use crate::present::output::Sink;

/// Most hits shown one by one; beyond, the report says how many were left out (the counts
/// still cover them). Each hit costs two thumbnails of a few KiB.
pub const MAX_HITS: usize = 5000;

/// Keeps the sweep's hits (review and block) for the report while passing every result on.
pub struct Collector {
    hits: Vec<CheckResult>,
    left_out: u64,
    limit: usize,
    /// For `--sellers`: every flagged (listing, banned record) pair, whatever the limit; a
    /// row is a few ids and a score, so even a large sweep's hits fit.
    flagged: Option<Vec<Flagged>>,
}

/// One flagged pair for the sellers file.
struct Flagged {
    listing_id: String,
    banned_id: String,
    decision: Decision,
    score: f32,
}

impl Collector {
    pub fn new(limit: usize) -> Collector {
        Collector {
            hits: Vec::new(),
            left_out: 0,
            limit,
            flagged: None,
        }
    }

    /// Also keeps every flagged pair for [`write_sellers`].
    pub fn with_sellers(mut self) -> Collector {
        self.flagged = Some(Vec::new());
        self
    }

    /// A sink that writes to `inner` and keeps the hits here.
    pub fn tee<'a>(&'a mut self, inner: &'a mut dyn Sink) -> Tee<'a> {
        Tee {
            inner,
            collector: self,
        }
    }
}

pub struct Tee<'a> {
    inner: &'a mut dyn Sink,
    collector: &'a mut Collector,
}

impl Sink for Tee<'_> {
    fn result(&mut self, res: &CheckResult) -> Result<()> {
        self.inner.result(res)?;
        let c = &mut *self.collector;
        if let Some(rows) = &mut c.flagged {
            for m in res.matches.iter().filter(|m| m.decision != Decision::Allow) {
                rows.push(Flagged {
                    listing_id: res.listing_id.clone(),
                    banned_id: m.banned_id.clone(),
                    decision: m.decision,
                    score: m.score,
                });
            }
        }
        if res.decision != Decision::Allow {
            if c.hits.len() < c.limit {
                c.hits.push(res.clone());
            } else {
                c.left_out += 1;
            }
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }
    fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }
}

fn data_uri(jpeg: &[u8]) -> String {
    format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    )
}

/// The listings of the hits, read again from the catalog file (a catalog read from stdin
/// cannot be: its hits are shown by id only).
fn hit_listings(catalog: &Path, format: Format, ids: &HashSet<&str>) -> HashMap<String, Listing> {
    let mut out = HashMap::new();
    if catalog.as_os_str() == "-" {
        return out;
    }
    let Ok(input) = feeds::open(catalog) else {
        return out;
    };
    let _ = feeds::read_records(catalog, input, format, Listing::from_value, |item| {
        if let Ok((_, mut l)) = item
            && ids.contains(l.id.as_str())
        {
            l.rebase_images(catalog);
            out.insert(l.id.clone(), l);
        }
    });
    out
}

/// Writes the sellers file: `listing_id, seller, platform, url, banned_id, decision, score`,
/// one row per flagged pair in catalog order (the listings' fields read again from the
/// catalog; from stdin they are left empty).
pub fn write_sellers(
    path: &Path,
    catalog: &Path,
    format: Format,
    collected: &Collector,
) -> Result<()> {
    let rows: &[Flagged] = collected.flagged.as_deref().unwrap_or(&[]);
    let ids: HashSet<&str> = rows.iter().map(|r| r.listing_id.as_str()).collect();
    let listings = hit_listings(catalog, format, &ids);
    let tmp = path.with_extension("csv.tmp");
    let csv_err = |e: csv::Error| Error::Invalid(format!("{}: {e}", path.display()));
    let mut w = csv::Writer::from_path(&tmp).map_err(csv_err)?;
    w.write_record([
        "listing_id",
        "seller",
        "platform",
        "url",
        "banned_id",
        "decision",
        "score",
    ])
    .map_err(csv_err)?;
    for r in rows {
        let l = listings.get(&r.listing_id);
        let field =
            |f: fn(&Listing) -> &Option<String>| l.and_then(|l| f(l).clone()).unwrap_or_default();
        w.write_record([
            r.listing_id.as_str(),
            &field(|l| &l.seller),
            &field(|l| &l.platform),
            &field(|l| &l.url),
            r.banned_id.as_str(),
            r.decision.as_str(),
            &format!("{:.3}", r.score),
        ])
        .map_err(csv_err)?;
    }
    w.flush().map_err(|e| Error::io(&tmp, e))?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn count_table(title: &str, what: &str, id: &str, counts: &BTreeMap<String, u64>) -> String {
    let mut rows: Vec<(&String, &u64)> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut t = format!(
        "<table class=\"counts\" id=\"{id}\"><tr><th>{}</th><th>{}</th></tr>",
        esc(title),
        esc(what)
    );
    for (k, n) in rows {
        let _ = write!(t, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", esc(k));
    }
    t.push_str("</table>");
    t
}

/// Writes the report of a finished sweep.
pub fn write(
    path: &Path,
    engine: &Engine,
    catalog: &Path,
    format: Format,
    summary: &SweepSummary,
    collected: &Collector,
) -> Result<()> {
    let snap = engine.snapshot();
    let index = engine.store().dir();
    let ids: HashSet<&str> = collected
        .hits
        .iter()
        .map(|r| r.listing_id.as_str())
        .collect();
    let listings = hit_listings(catalog, format, &ids);
    let mut by_source: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_hazard: BTreeMap<String, u64> = BTreeMap::new();
    let mut banned_thumbs: HashMap<String, Option<String>> = HashMap::new();
    let mut cards = String::new();
    for (order, res) in collected.hits.iter().enumerate() {
        let Some(best) = res.matches.first() else {
            continue;
        };
        let record = snap
            .get(&best.banned_id)
            .map_err(|e| Error::index(index, e))?;
        let source = record
            .as_ref()
            .and_then(|r| r.source.clone())
            .unwrap_or_else(|| "(none)".into());
        let hazard = record
            .as_ref()
            .and_then(|r| r.hazard.clone())
            .unwrap_or_else(|| "(none)".into());
        *by_source.entry(source.clone()).or_default() += 1;
        *by_hazard.entry(hazard.clone()).or_default() += 1;
        let banned_img = banned_thumbs
            .entry(best.banned_id.clone())
            .or_insert_with(|| {
                crate::index::thumbs::get(index, &best.banned_id).map(|j| data_uri(&j))
            })
            .clone();
        let listing = listings.get(&res.listing_id);
        // Listing photos are paths as the sweep read them: relative to the working directory.
        let listing_img = listing
            .and_then(|l| crate::index::thumbs::from_images(&l.images, Path::new("")))
            .map(|j| data_uri(&j));
        let words = crate::matching::evidence::marked_words(&best.evidence);
        let mut facts = vec![
            ("Listing".to_string(), res.listing_id.clone()),
            ("Banned".to_string(), best.banned_id.clone()),
            ("Source".to_string(), source),
            ("Hazard".to_string(), hazard),
        ];
        if let Some(l) = listing {
            for (k, v) in [("Seller", &l.seller), ("Platform", &l.platform)] {
                if let Some(v) = v {
                    facts.push((k.to_string(), v.clone()));
                }
            }
        }
        if res.matches.len() > 1 {
            let others: Vec<String> = res.matches[1..]
                .iter()
                .map(|m| format!("{} ({:.2}, {})", m.banned_id, m.score, m.decision))
                .collect();
            facts.push(("Also like".into(), others.join("; ")));
        }
        let card = Card {
            banned: Side {
                label: "Banned product".into(),
                img: banned_img,
                caption: esc(record
                    .as_ref()
                    .map_or(best.banned_id.as_str(), |r| &r.title)),
            },
            listing: Side {
                label: "Listing".into(),
                img: listing_img,
                caption: listing.map_or_else(
                    || esc(&res.listing_id),
                    |l| html::highlight(&l.title, &words),
                ),
            },
            banned_id: best.banned_id.clone(),
            listing_id: res.listing_id.clone(),
            decision: best.decision,
            score: best.score,
            rank: None,
            evidence: best.evidence.clone(),
            voice: crate::matching::evidence::Voice::BANNED,
            image_distance: best.signals.image_distance,
            facts,
            notice_url: record.as_ref().and_then(|r| r.url.clone()),
            listing_url: listing.and_then(|l| l.url.clone()),
        };
        cards.push_str(&html::card(&card).replacen(
            "<article ",
            &format!("<article data-order=\"{order}\" "),
            1,
        ));
    }
    let mut decisions = BTreeMap::new();
    decisions.insert("block".to_string(), summary.block);
    decisions.insert("review".to_string(), summary.review);
    decisions.insert("allow".to_string(), summary.allow);
    let left_out = if collected.left_out > 0 {
        format!(
            "<p class=\"summary\">{} more hits are counted but not shown (at most {MAX_HITS} are).</p>",
            collected.left_out
        )
    } else {
        String::new()
    };
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>relist sweep report — {name}</title>\
<style>{css}</style></head><body><header><h1>Sweep report</h1><p>{name}: {listings} listings swept, {bad} unreadable lines, index {index} ({records} records)</p></header><main>\
<section id=\"counts\">{dec}{src}{haz}</section>\
<p><button type=\"button\" id=\"sort-score-desc\" onclick=\"sortCards(-1)\">Score, highest first</button> \
<button type=\"button\" id=\"sort-score-asc\" onclick=\"sortCards(1)\">Score, lowest first</button> \
<button type=\"button\" id=\"sort-input\" onclick=\"sortCards(0)\">Catalog order</button></p>{left_out}\
<section id=\"hits\">{cards}</section></main>\
<script>function sortCards(dir){{const list=document.getElementById('hits');\
const cards=Array.from(list.querySelectorAll('article.card'));\
cards.sort((a,b)=>(dir===0?0:dir*(parseFloat(a.dataset.score)-parseFloat(b.dataset.score)))||(a.dataset.order-b.dataset.order));\
cards.forEach(c=>list.appendChild(c));}}</script></body></html>",
        name = esc(&catalog.display().to_string()),
        css = html::CSS,
        listings = summary.listings,
        bad = summary.errors,
        index = esc(&index.display().to_string()),
        records = snap.num_docs(),
        dec = count_table("Decision", "listings", "by-decision", &decisions),
        src = count_table("Source", "hits", "by-source", &by_source),
        haz = count_table("Hazard", "hits", "by-hazard", &by_hazard),
    );
    // Written aside and renamed: a half-written report is never left under the name asked for.
    let tmp = path.with_extension("html.tmp");
    std::fs::write(&tmp, page).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

//! Reverse queries: which listings of a catalog match a banned record, a text, a model number
//! or a photo.
//!
//! A catalog is an index directory like the banned index ([`crate::index::Store`]), holding
//! listings instead of banned records, so the same retrieval finds listings for a probe. Every
//! candidate listing is then judged the way `relist check` judges it: against the banned index
//! itself for stored banned records (so a listing's score here is its score in a sweep), or by
//! the [`Matcher`] against the probe alone, in memory, for an ad-hoc text, model or photo.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use std::sync::Arc;

use crate::config::Config;
use crate::engine::{CheckOptions, Engine};
use crate::error::{Error, Result};
use crate::matching::evidence::Voice;
use crate::matching::features::{PreparedBanned, PreparedListing, Uniform};
use crate::matching::matcher::Matcher;
use crate::model::{BannedRecord, ImageHashRef, Listing, Match, RecordKind};
use crate::photo::QueryPhotos;
use crate::pipeline::search::Filters;

/// Id of the ad-hoc probe record (a text, model or photo query).
pub const PROBE_ID: &str = "query";

/// A listing as the catalog stores it: the record fields it shares with banned records, and
/// the rest (price, seller, market, ...) kept as extra fields. `images` are kept as given;
/// their hashes are expected in `image_hashes`, each naming the listing photo it is of.
pub fn listing_record(l: &Listing) -> Result<BannedRecord> {
    if l.title.trim().is_empty() {
        return Err(Error::Invalid(format!(
            "listing '{}': field `title` is missing or empty",
            l.id
        )));
    }
    let mut extra = l.extra.clone();
    let mut keep = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            extra.insert(k.to_string(), v);
        }
    };
    keep("price", l.price.map(Value::from));
    keep("currency", l.currency.clone().map(Value::from));
    keep("seller", l.seller.clone().map(Value::from));
    keep("platform", l.platform.clone().map(Value::from));
    keep("market", l.market.clone().map(Value::from));
    Ok(BannedRecord {
        id: l.id.clone(),
        kind: RecordKind::Product,
        title: l.title.clone(),
        brand: l.brand.clone(),
        category: l.category.clone(),
        description: l.description.clone(),
        models: l.models.clone(),
        // As a banned record keeps them: valid ones, as GTIN-14.
        gtins: l
            .gtins
            .iter()
            .filter_map(|g| crate::text::ident::gtin14(g))
            .collect(),
        images: l.images.clone(),
        image_hashes: l.image_hashes.clone(),
        url: l.url.clone(),
        extra,
        ..BannedRecord::default()
    })
}

/// The listing a catalog record was made from. Its photos are its stored hashes (each naming
/// the listing photo it is of): the files they came from are not read again.
pub fn record_listing(r: &BannedRecord) -> Listing {
    let mut extra = r.extra.clone();
    let mut take = |k: &str| extra.remove(k);
    let text = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_string));
    let price = take("price").and_then(|v| v.as_f64());
    let currency = text(take("currency"));
    let seller = text(take("seller"));
    let platform = text(take("platform"));
    let market = text(take("market"));
    let mut image_hashes = r.image_hashes.clone();
    // Catalogs indexed before hashes named their photo kept the numbers beside them, one per
    // dHash/pHash pair in order.
    if let Some(Value::Array(numbers)) = take("photo_numbers") {
        for algo in ["dhash", "phash"] {
            let of_algo = image_hashes.iter_mut().filter(|h| h.algo == algo);
            for (h, n) in of_algo.zip(&numbers) {
                h.photo = h.photo.or(n.as_u64().map(|n| n as u32));
            }
        }
    }
    Listing {
        id: r.id.clone(),
        title: r.title.clone(),
        description: r.description.clone(),
        brand: r.brand.clone(),
        models: r.models.clone(),
        gtins: r.gtins.clone(),
        category: r.category.clone(),
        price,
        currency,
        seller,
        platform,
        url: r.url.clone(),
        market,
        images: Vec::new(),
        image_hashes,
        extra,
    }
}

/// A banned record as a probe listing, to retrieve the catalog's listings like it.
fn probe_listing(b: &BannedRecord) -> Listing {
    let title = if b.kind == RecordKind::Term {
        b.terms.join(" ")
    } else {
        b.title.clone()
    };
    Listing {
        id: b.id.clone(),
        title,
        brand: b.brand.clone(),
        models: b.models.clone(),
        gtins: b.gtins.clone(),
        image_hashes: b.image_hashes.clone(),
        ..Listing::default()
    }
}

/// An ad-hoc probe: a text, model numbers, GTINs and photo hashes (a photo in all 8
/// rotations and flips, so a listing's photo matches however it was turned).
pub fn probe_record(
    text: Option<&str>,
    models: &[String],
    gtins: &[String],
    image_hashes: Vec<ImageHashRef>,
) -> Result<BannedRecord> {
    let mut title = text.unwrap_or_default().trim().to_string();
    for m in models {
        title.push(' ');
        title.push_str(m);
    }
    let title = title.trim().to_string();
    if title.is_empty() && gtins.is_empty() && image_hashes.is_empty() {
        return Err(Error::Invalid(
            "query: give a text, --model, --gtin, --image, --banned ID or a filter".into(),
        ));
    }
    let mut v = serde_json::json!({
        "id": PROBE_ID,
        // A record needs a title; a GTIN or photo alone is still a probe.
        "title": if title.is_empty() { "(photo or GTIN query)" } else { title.as_str() },
        "models": models,
        "gtins": gtins,
    });
    v["image_hashes"] = serde_json::to_value(&image_hashes).expect("hashes serialise");
    BannedRecord::from_value(v)
        .map(|p| p.record)
        .map_err(|e| Error::Invalid(format!("query: {e}")))
}

/// The banned records a reverse query is about: the ids asked for (each must exist), or, with
/// no id, every product or term record the filters accept. Filters narrow the ids too.
pub fn select_banned(
    banned: &Engine,
    ids: &[String],
    filters: &Filters,
    max: usize,
) -> Result<Vec<BannedRecord>> {
    let snap = banned.snapshot();
    let dir = banned.store().dir();
    let mut out = Vec::new();
    if !ids.is_empty() {
        for id in ids {
            let r = snap
                .get(id)
                .map_err(|e| Error::index(dir, e))?
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "banned record '{id}' is not in the index {}",
                        dir.display()
                    ))
                })?;
            if filters.accepts(&r) {
                out.push(r);
            }
        }
        return Ok(out);
    }
    if filters.is_empty() {
        return Err(Error::Invalid(
            "query --catalog: give a text, --model, --gtin, --image, --banned ID or a filter \
             (--source, --jurisdiction, --since, --until, --category, --hazard)"
                .into(),
        ));
    }
    for a in snap.all_addresses() {
        let r = snap.record(a).map_err(|e| Error::index(dir, e))?;
        if filters.accepts(&r) {
            out.push(r);
            if out.len() > max {
                return Err(Error::Invalid(format!(
                    "the filters select more than {max} banned records; narrow them or raise \
                     --max-banned"
                )));
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// One listing found for one banned record (or probe), with the match that judged it.
#[derive(Debug, Clone)]
pub struct CatalogHit {
    pub listing: Listing,
    pub banned: BannedRecord,
    pub matched: Match,
}

impl CatalogHit {
    /// The JSON shape of `relist query --catalog --format json` (one per line).
    pub fn to_value(&self) -> Value {
        let (l, b, m) = (&self.listing, &self.banned, &self.matched);
        serde_json::json!({
            "listing_id": l.id, "listing_title": l.title, "seller": l.seller,
            "platform": l.platform, "market": l.market, "listing_url": l.url,
            "banned_id": b.id, "banned_title": b.title, "source": b.source,
            "hazard": b.hazard, "url": b.url,
            "score": m.score, "decision": m.decision, "reasons": m.reasons,
            "evidence": m.evidence, "signals": m.signals,
        })
    }
}

/// Where the banned side of a reverse query is judged.
// A request value, built once per query and moved, never stored: the config it carries
// by value is cheaper than a box.
#[allow(clippy::large_enum_variant)]
pub enum Judge<'a> {
    /// Records stored in this banned index: listings are judged against the whole index, as a
    /// sweep would judge them.
    Index(&'a Engine),
    /// Records (an ad-hoc probe) judged on their own, in memory, with this config's policy.
    Probe(Config),
}

/// The listings of `catalog` that match each of `banned`, best first within each record, at
/// most `per_banned` each (matches of score at least 0.05, decided allow included as context),
/// all ranked by decision then score.
pub fn find_listings(
    catalog: &Engine,
    banned: &[BannedRecord],
    judge: Judge,
    per_banned: usize,
) -> Result<Vec<CatalogHit>> {
    if banned.is_empty() || per_banned == 0 {
        return Ok(Vec::new());
    }
    let csnap = catalog.snapshot();
    let cdir = catalog.store().dir();
    // Candidates: the catalog's retrieval (words, n-grams, identifiers, photos) for each probe.
    let retrieve = CheckOptions {
        top: per_banned.saturating_mul(4).max(40),
        min_score: 0.0,
    };
    let mut candidates: BTreeMap<String, Listing> = BTreeMap::new();
    for b in banned {
        let probe = probe_listing(b);
        let photos = QueryPhotos::from_hashes(&probe.image_hashes);
        let res = catalog.check_with_photos(&probe, photos, retrieve)?;
        for m in res.matches {
            if candidates.contains_key(&m.banned_id) {
                continue;
            }
            if let Some(rec) = csnap.get(&m.banned_id).map_err(|e| Error::index(cdir, e))? {
                candidates.insert(m.banned_id.clone(), record_listing(&rec));
            }
        }
    }
    let wanted: HashMap<&str, &BannedRecord> = banned.iter().map(|b| (b.id.as_str(), b)).collect();
    // Enough matches per listing that every wanted record judged is kept.
    let judge_opts = CheckOptions {
        top: 64.max(banned.len()),
        ..CheckOptions::default()
    };
    // An ad-hoc probe is judged on its own: its words are as rare as each other, and the other
    // side of its reasons is the query, not a banned record.
    let (probes, probe_matcher): (Vec<Arc<PreparedBanned>>, Option<Matcher>) = match &judge {
        Judge::Index(_) => (Vec::new(), None),
        Judge::Probe(config) => (
            banned
                .iter()
                .map(|b| Arc::new(PreparedBanned::new(b.clone(), &Uniform)))
                .collect(),
            Some(Matcher::new(config.clone()).with_voice(Voice::QUERY)),
        ),
    };
    let mut per: HashMap<&str, Vec<CatalogHit>> = HashMap::new();
    for listing in candidates.into_values() {
        // A catalog listing's photos are its stored hashes; nothing is read.
        let photos = QueryPhotos::from_hashes(&listing.image_hashes);
        let res = match &judge {
            Judge::Index(engine) => engine.check_with_photos(&listing, photos, judge_opts)?,
            Judge::Probe(_) => {
                let prepared = PreparedListing::new(&listing, photos, &Uniform);
                let m = probe_matcher.as_ref().expect("a probe has its matcher");
                m.judge(&prepared, &probes, &Uniform, None, judge_opts)
            }
        };
        for m in res.matches {
            if let Some((id, b)) = wanted.get_key_value(m.banned_id.as_str()) {
                per.entry(id).or_default().push(CatalogHit {
                    listing: listing.clone(),
                    banned: (*b).clone(),
                    matched: m,
                });
            }
        }
    }
    let rank = |a: &CatalogHit, b: &CatalogHit| {
        b.matched
            .decision
            .cmp(&a.matched.decision)
            .then(b.matched.score.total_cmp(&a.matched.score))
            .then(a.listing.id.cmp(&b.listing.id))
            .then(a.banned.id.cmp(&b.banned.id))
    };
    let mut out = Vec::new();
    for (_, mut hits) in per {
        hits.sort_by(rank);
        hits.truncate(per_banned);
        out.extend(hits);
    }
    out.sort_by(rank);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn listings_round_trip_through_catalog_records() {
        let l = Listing::from_value(json!({
            "id": "L-1", "title": "VoltMax power bank", "seller": "s1", "price": 12.5,
            "market": "US", "models": ["HB-2210X"], "images": ["a.jpg"],
            "image_hashes": [{"algo": "dhash", "hash": "00ff00ff00ff00ff"}]
        }))
        .unwrap();
        let r = listing_record(&l).unwrap();
        assert!(
            r.jurisdictions.is_empty(),
            "a market is not a ban's jurisdiction"
        );
        let back = record_listing(&r);
        assert_eq!(back.seller.as_deref(), Some("s1"));
        assert_eq!(back.price, Some(12.5));
        assert_eq!(back.market.as_deref(), Some("US"));
        assert_eq!(back.models, vec!["HB-2210X"]);
        assert!(
            back.images.is_empty(),
            "photos come back as their hashes only"
        );
        assert_eq!(back.image_hashes.len(), 1);
    }

    #[test]
    fn a_probe_needs_something_to_look_for() {
        assert!(probe_record(Some("  "), &[], &[], vec![]).is_err());
        let p = probe_record(Some("power bank"), &["HB-2210X".into()], &[], vec![]).unwrap();
        assert_eq!(p.title, "power bank HB-2210X");
        assert_eq!(p.id, PROBE_ID);
    }
}

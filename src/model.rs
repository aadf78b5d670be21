//! The external records: banned products, listings and results (see DESIGN.md, "Data contracts").
//!
//! Records are parsed from `serde_json::Value` by hand rather than derived, so that a bad field
//! is reported by name ("field `models`: expected a list of strings") and so that the lenient
//! shapes real feeds use (a number where a string is meant, `"a;b"` where a list is meant) are
//! accepted instead of rejected.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A perceptual hash sent instead of (or beside) pixels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImageHashRef {
    pub algo: String,
    pub hash: String,
    /// Which of the record's photos the hash is of (from 1), when several hashes are of one
    /// photo: a catalog keeps each listing photo in its 8 rotations and flips, and its results
    /// name the listing's photo, not the hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<u32>,
}

/// `product` bans one product; `term` bans a substance or category by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    #[default]
    Product,
    Term,
}

/// A banned product or term rule, as ingested.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BannedRecord {
    pub id: String,
    #[serde(default)]
    pub kind: RecordKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hazard: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Valid GTINs, normalised to 14 digits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gtins: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_hashes: Vec<ImageHashRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jurisdictions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalled_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Fields relist does not know, kept as they came.
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Map<String, Value>,
}

/// A marketplace listing to check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Listing {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gtins: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// ISO 3166 alpha-2 code of the market the listing is offered in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_hashes: Vec<ImageHashRef>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Map<String, Value>,
}

/// What to do with a listing. Ordered: `Allow < Review < Block`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Review,
    Block,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Review => "review",
            Decision::Block => "block",
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The per-kind evidence behind a match, each in [0, 1] except the image distance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Signals {
    pub text: f32,
    pub identifier: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_distance: Option<u32>,
}

/// One banned record a listing was compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Match {
    pub banned_id: String,
    pub score: f32,
    pub decision: Decision,
    /// The evidence as sentences, rendered from `evidence`, strongest first.
    pub reasons: Vec<String>,
    /// The evidence as data: objects with a `kind` field (see `evidence::Evidence`).
    #[serde(default)]
    pub evidence: Vec<crate::matching::evidence::Evidence>,
    pub signals: Signals,
}

/// The answer for one listing: its decision and the matches behind it, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckResult {
    pub listing_id: String,
    pub decision: Decision,
    pub score: f32,
    pub matches: Vec<Match>,
    /// What went wrong: the listing could not be checked at all (its decision is then `review`),
    /// or a part of it (a photo that could not be read) was left out of the judgment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Lenient field readers. Each returns a reason naming the field; callers add file and line.

fn field_err(name: &str, expected: &str, got: &Value) -> String {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    format!("field `{name}`: expected {expected}, got {kind}")
}

/// Longest text field (title, description, ...) and longest list field in total, in bytes.
/// Hostile listings and broken feeds send megabytes where a title belongs; every later stage
/// (normalising, n-grams, scoring) costs in proportion, so the record is refused here.
pub const MAX_TEXT_BYTES: usize = 64 << 10;
/// Most entries of a list field (models, GTINs, terms, jurisdictions).
pub const MAX_LIST_ITEMS: usize = 1000;
/// Most photos a record or listing may name (`images`); `image_hashes` may hold three
/// hashes (dhash, phash, pdq) per photo.
pub const MAX_PHOTOS: usize = 256;

fn too_long(name: &str, len: usize) -> String {
    format!(
        "field `{name}`: {len} bytes, over the limit of {} KiB",
        MAX_TEXT_BYTES >> 10
    )
}

fn take_string(obj: &mut Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match obj.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_TEXT_BYTES => Err(too_long(name, s.len())),
        Some(Value::String(s)) => {
            let t = s.trim();
            Ok(if t.is_empty() {
                None
            } else {
                Some(t.to_string())
            })
        }
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(field_err(name, "a string", &other)),
    }
}

fn take_list(obj: &mut Map<String, Value>, name: &str) -> Result<Vec<String>, String> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    let max_items = if name == "images" {
        MAX_PHOTOS
    } else {
        MAX_LIST_ITEMS
    };
    let v = obj.remove(name);
    let (bytes, items) = match &v {
        Some(Value::String(s)) => (s.len(), 1),
        Some(Value::Array(items)) => (
            items
                .iter()
                .map(|i| i.as_str().map_or(0, str::len))
                .sum::<usize>(),
            items.len(),
        ),
        _ => (0, 0),
    };
    if items > max_items {
        return Err(format!(
            "field `{name}`: {items} entries, over the limit of {max_items}"
        ));
    }
    if bytes > MAX_TEXT_BYTES {
        return Err(too_long(name, bytes));
    }
    let out: Vec<String> = match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => {
            let out = split_list(&s);
            if out.len() > max_items {
                return Err(format!(
                    "field `{name}`: {} entries, over the limit of {max_items}",
                    out.len()
                ));
            }
            out
        }
        Some(Value::Number(n)) => vec![n.to_string()],
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match scalar(item) {
                    Some(s) => out.push(s),
                    None => return Err(field_err(&format!("{name}[{i}]"), "a string", item)),
                }
            }
            out
        }
        Some(other) => return Err(field_err(name, "a list of strings", &other)),
    };
    Ok(out.into_iter().filter(|s| !s.is_empty()).collect())
}

/// Splits a list written as one string (CSV cells, lenient JSON): `"a; b;c"`.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(';')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn take_hashes(obj: &mut Map<String, Value>) -> Result<Vec<ImageHashRef>, String> {
    match obj.remove("image_hashes") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() > 3 * MAX_PHOTOS => Err(format!(
            "field `image_hashes`: {} entries, over the limit of {} (3 per photo, {MAX_PHOTOS} photos)",
            items.len(),
            3 * MAX_PHOTOS
        )),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let name = format!("image_hashes[{i}]");
                let Value::Object(mut o) = item else {
                    return Err(field_err(&name, "an object {algo, hash}", &item));
                };
                let algo = take_string(&mut o, "algo")?
                    .ok_or_else(|| format!("field `{name}.algo` is missing"))?
                    .to_ascii_lowercase();
                let hash = take_string(&mut o, "hash")?
                    .ok_or_else(|| format!("field `{name}.hash` is missing"))?;
                if !matches!(algo.as_str(), "pdq" | "phash" | "dhash") {
                    return Err(format!(
                        "field `{name}.algo`: unknown algorithm '{algo}' (pdq, phash, dhash)"
                    ));
                }
                // PDQ is 256 bits (64 hex digits), the longest hash there is.
                if hash.len() > 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!(
                        "field `{name}.hash`: not a hex string of at most 64 digits"
                    ));
                }
                // A hash of the wrong width would be dropped unseen when compared.
                let digits = if algo == "pdq" { 64 } else { 16 };
                if hash.len() != digits {
                    return Err(format!(
                        "field `{name}.hash`: a {algo} hash has {digits} hex digits, not {}",
                        hash.len()
                    ));
                }
                Ok(ImageHashRef {
                    algo,
                    hash,
                    photo: None,
                })
            })
            .collect(),
        Some(other) => Err(field_err("image_hashes", "a list", &other)),
    }
}

fn country_codes(name: &str, codes: Vec<String>) -> Result<Vec<String>, String> {
    codes
        .into_iter()
        .map(|c| {
            let up = c.trim().to_ascii_uppercase();
            if up.len() == 2 && up.bytes().all(|b| b.is_ascii_alphabetic()) {
                Ok(up)
            } else {
                Err(format!(
                    "field `{name}`: '{c}' is not an ISO 3166 alpha-2 country code"
                ))
            }
        })
        .collect()
}

fn check_date(s: &str) -> Result<(), String> {
    match crate::dates::iso(s) {
        Some(_) => Ok(()),
        None => Err(format!(
            "field `recalled_at`: '{s}' is not a date YYYY-MM-DD"
        )),
    }
}

fn as_object(v: Value) -> Result<Map<String, Value>, String> {
    match v {
        Value::Object(o) => Ok(o),
        other => Err(format!(
            "expected a JSON object, got {}",
            field_err("", "", &other)
                .rsplit("got ")
                .next()
                .unwrap_or("something else")
        )),
    }
}

/// Outcome of parsing a banned record: the record and any non-fatal warnings.
#[derive(Debug)]
pub struct Parsed<T> {
    pub record: T,
    pub warnings: Vec<String>,
}

impl BannedRecord {
    /// Parses and validates a banned record. GTINs failing their check digit are dropped with a
    /// warning rather than losing the whole ban.
    pub fn from_value(v: Value) -> Result<Parsed<BannedRecord>, String> {
        let mut o = as_object(v)?;
        let id = take_string(&mut o, "id")?.ok_or("field `id` is missing or empty")?;
        let kind = match take_string(&mut o, "kind")?.as_deref() {
            None | Some("product") => RecordKind::Product,
            Some("term") => RecordKind::Term,
            Some(other) => {
                return Err(format!(
                    "field `kind`: '{other}' is neither \"product\" nor \"term\""
                ));
            }
        };
        let title = take_string(&mut o, "title")?.unwrap_or_default();
        let terms = take_list(&mut o, "terms")?;
        match kind {
            RecordKind::Product if title.is_empty() => {
                return Err("field `title` is missing or empty".into());
            }
            RecordKind::Term if terms.is_empty() => {
                return Err("field `terms` is missing or empty (a term rule needs terms)".into());
            }
            _ => {}
        }
        let mut warnings = Vec::new();
        let mut gtins = Vec::new();
        for g in take_list(&mut o, "gtins")? {
            match crate::text::ident::gtin14(&g) {
                Some(n) => gtins.push(n),
                None => warnings.push(format!(
                    "field `gtins`: '{g}' is not a valid GTIN (length or check digit); ignored"
                )),
            }
        }
        let recalled_at = take_string(&mut o, "recalled_at")?;
        if let Some(d) = &recalled_at {
            check_date(d)?;
        }
        let record = BannedRecord {
            id,
            kind,
            title,
            brand: take_string(&mut o, "brand")?,
            category: take_string(&mut o, "category")?,
            description: take_string(&mut o, "description")?,
            hazard: take_string(&mut o, "hazard")?,
            models: take_list(&mut o, "models")?,
            gtins,
            terms,
            images: take_list(&mut o, "images")?,
            image_hashes: take_hashes(&mut o)?,
            source: take_string(&mut o, "source")?,
            jurisdictions: country_codes("jurisdictions", take_list(&mut o, "jurisdictions")?)?,
            recalled_at,
            url: take_string(&mut o, "url")?,
            extra: o,
        };
        Ok(Parsed { record, warnings })
    }

    /// Whether this ban applies to a listing offered in `market` (None: unknown market).
    pub fn applies_to(&self, market: Option<&str>) -> bool {
        applies_in(&self.jurisdictions, market)
    }
}

/// Whether a record of these `jurisdictions` applies in `market` (see
/// [`BannedRecord::applies_to`]).
pub fn applies_in(jurisdictions: &[String], market: Option<&str>) -> bool {
    match market {
        None => true,
        Some(m) => {
            jurisdictions.is_empty() || jurisdictions.iter().any(|j| j.eq_ignore_ascii_case(m))
        }
    }
}

impl Listing {
    /// Makes the photo paths of a listing read from `file` relative to that file, as the record
    /// format says (`images`: relative to the file that names them). Addresses, absolute paths
    /// and listings from standard input (`-`) are left as they are.
    pub fn rebase_images(&mut self, file: &std::path::Path) {
        if file.as_os_str() == "-" {
            return;
        }
        let Some(base) = file.parent().filter(|b| !b.as_os_str().is_empty()) else {
            return;
        };
        for img in &mut self.images {
            let is_url = img.starts_with("http://") || img.starts_with("https://");
            if !is_url && std::path::Path::new(img.as_str()).is_relative() {
                *img = base.join(img.as_str()).to_string_lossy().into_owned();
            }
        }
    }

    /// Parses and validates a listing record.
    pub fn from_value(v: Value) -> Result<Listing, String> {
        let mut o = as_object(v)?;
        let id = take_string(&mut o, "id")?.ok_or("field `id` is missing or empty")?;
        let title = take_string(&mut o, "title")?.ok_or("field `title` is missing or empty")?;
        let price = match o.remove("price") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(
                s.trim()
                    .replace(',', "")
                    .parse::<f64>()
                    .map_err(|_| format!("field `price`: '{s}' is not a number"))?,
            ),
            Some(other) => return Err(field_err("price", "a number", &other)),
        }
        .filter(|p| p.is_finite() && *p >= 0.0);
        let market = take_string(&mut o, "market")?
            .map(|m| country_codes("market", vec![m]).map(|mut v| v.remove(0)))
            .transpose()?;
        Ok(Listing {
            id,
            title,
            description: take_string(&mut o, "description")?,
            brand: take_string(&mut o, "brand")?,
            models: take_list(&mut o, "models")?,
            gtins: take_list(&mut o, "gtins")?,
            category: take_string(&mut o, "category")?,
            price,
            currency: take_string(&mut o, "currency")?,
            seller: take_string(&mut o, "seller")?,
            platform: take_string(&mut o, "platform")?,
            url: take_string(&mut o, "url")?,
            market,
            images: take_list(&mut o, "images")?,
            image_hashes: take_hashes(&mut o)?,
            extra: o,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn banned_record_lenient_shapes() {
        let p = BannedRecord::from_value(json!({
            "id": "X-1", "title": "Toy", "models": "A-1; B-2", "gtins": [ "036000291452", "123" ],
            "jurisdictions": ["kr"], "custom": 5
        }))
        .unwrap();
        assert_eq!(p.record.models, vec!["A-1", "B-2"]);
        assert_eq!(p.record.gtins, vec!["00036000291452"]);
        assert_eq!(p.record.jurisdictions, vec!["KR"]);
        assert_eq!(p.record.extra["custom"], json!(5));
        assert_eq!(p.warnings.len(), 1);
    }

    #[test]
    fn errors_name_the_field() {
        let e = BannedRecord::from_value(json!({"id": "X", "title": {"a": 1}})).unwrap_err();
        assert!(e.contains("`title`"), "{e}");
        let e = BannedRecord::from_value(json!({"id": "X"})).unwrap_err();
        assert!(e.contains("`title`"), "{e}");
        let e = BannedRecord::from_value(json!({"id": "X", "kind": "term"})).unwrap_err();
        assert!(e.contains("`terms`"), "{e}");
        let e = BannedRecord::from_value(json!([1])).unwrap_err();
        assert!(e.contains("object"), "{e}");
        let e =
            Listing::from_value(json!({"id": "L", "title": "t", "market": "Korea"})).unwrap_err();
        assert!(e.contains("`market`"), "{e}");
    }

    #[test]
    fn oversized_fields_are_refused_by_name() {
        let big = "x".repeat(MAX_TEXT_BYTES + 1);
        let e = Listing::from_value(json!({"id": "L", "title": big})).unwrap_err();
        assert!(
            e.starts_with("field `title`: 65537 bytes, over the limit"),
            "{e}"
        );
        let e = BannedRecord::from_value(json!({"id": "X", "title": "t", "description": big}))
            .unwrap_err();
        assert!(e.contains("`description`"), "{e}");
        let e = Listing::from_value(json!({"id": "L", "title": "t", "models": [big]})).unwrap_err();
        assert!(e.contains("`models`"), "{e}");
        let photos: Vec<String> = (0..=MAX_PHOTOS).map(|i| format!("{i}.jpg")).collect();
        let e =
            Listing::from_value(json!({"id": "L", "title": "t", "images": photos})).unwrap_err();
        assert!(e.contains("`images`: 257 entries"), "{e}");
        let e = Listing::from_value(json!({"id": "L", "title": "t", "images": photos.join(";")}))
            .unwrap_err();
        assert!(e.contains("`images`"), "{e}");
        let hashes: Vec<Value> = (0..=3 * MAX_PHOTOS)
            .map(|_| json!({"algo": "dhash", "hash": "ff"}))
            .collect();
        let e = Listing::from_value(json!({"id": "L", "title": "t", "image_hashes": hashes}))
            .unwrap_err();
        assert!(e.contains("`image_hashes`"), "{e}");
        let h = json!([{"algo": "pdq", "hash": "f".repeat(65)}]);
        let e =
            Listing::from_value(json!({"id": "L", "title": "t", "image_hashes": h})).unwrap_err();
        assert!(e.contains("`image_hashes[0].hash`"), "{e}");
        // At the limits, accepted.
        let ok = "y".repeat(MAX_TEXT_BYTES);
        let photos: Vec<String> = photos[..MAX_PHOTOS].to_vec();
        assert!(Listing::from_value(json!({"id": "L", "title": ok, "images": photos})).is_ok());
    }

    #[test]
    fn jurisdictions_limit_where_a_ban_applies() {
        let r = BannedRecord {
            jurisdictions: vec!["KR".into()],
            ..Default::default()
        };
        assert!(r.applies_to(None));
        assert!(r.applies_to(Some("KR")));
        assert!(!r.applies_to(Some("US")));
    }
}

//! US CPSC recall feeds as banned records: the Recalls API JSON (saferproducts.gov), the older
//! recalls.gov search output, and the derived "second-look" shape; each record keeps its
//! original under `original`.
//!
//! Quirks handled (see shared/formats/FORMATS.md): errors come back as HTTP 200 bodies with
//! `RecallID` 0; model numbers mostly live in the description prose; empty strings stand where
//! numbers are expected; dates come as `2026-08-14T00:00:00` or `2013-11-05`; there is no brand
//! field ("dba X" in an importer's or retailer's name is the brand when present).

use serde_json::{Map, Value, json};

use super::put;

use crate::text::ident;

/// Which CPSC shape a JSON document is, if any.
pub fn detect(doc: &Value) -> bool {
    match doc {
        Value::Array(items) => items.first().is_some_and(|r| r.get("RecallID").is_some()),
        Value::Object(o) => {
            o.get("success").and_then(|s| s.get("results")).is_some()
                || o.get("recalls").is_some_and(Value::is_array)
        }
        _ => false,
    }
}

fn s(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `[{"Name": ...}, ...]` → the non-empty values of `key`.
fn names(v: Option<&Value>, key: &str) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| s(x.get(key)).or_else(|| s(Some(x))))
                .collect()
        })
        .unwrap_or_default()
}

fn date(v: Option<&Value>) -> Option<String> {
    // A multi-byte letter across byte 10 once panicked here (found by fuzzing); `dates` reads
    // by `get`.
    crate::dates::iso_prefix(&s(v)?).map(|d| d.to_string())
}

/// "Shenzhen Example Trading Co., dba HomezoDirect, of China" → "HomezoDirect".
fn dba(names: &[String]) -> Option<String> {
    names.iter().find_map(|n| {
        // ASCII lowering keeps byte offsets (full Unicode lowering may not: 'İ' grows).
        let i = n.to_ascii_lowercase().find("dba ")?;
        let rest = &n[i + 4..];
        let end = rest.find([',', ';', '(']).unwrap_or(rest.len());
        let b = rest[..end].trim();
        (!b.is_empty()).then(|| b.to_string())
    })
}

/// Model numbers written in prose: primary model-like tokens of the text.
fn models_in(text: &str) -> Vec<String> {
    ident::extract_models(text)
        .into_iter()
        .filter(|m| m.primary && m.key.len() >= 5)
        .map(|m| m.raw.to_uppercase())
        .collect()
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.to_uppercase()));
    v
}

/// One Recalls API record.
fn api(r: &Value) -> Map<String, Value> {
    let products = r
        .get("Products")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let description = s(r.get("Description"));
    let mut models: Vec<String> = products.iter().filter_map(|p| s(p.get("Model"))).collect();
    for p in &products {
        if let Some(d) = s(p.get("Description")) {
            models.extend(models_in(&d));
        }
    }
    if let Some(d) = &description {
        models.extend(models_in(d));
    }
    let mut companies = names(r.get("Importers"), "Name");
    companies.extend(names(r.get("Manufacturers"), "Name"));
    companies.extend(names(r.get("Retailers"), "Name"));
    companies.extend(names(r.get("Distributors"), "Name"));
    let title = products
        .iter()
        .find_map(|p| s(p.get("Name")))
        .or_else(|| s(r.get("Title")))
        .unwrap_or_default();
    let number = s(r.get("RecallNumber"))
        .or_else(|| s(r.get("RecallID")))
        .unwrap_or_default();
    let mut o = Map::new();
    o.insert("id".into(), json!(format!("CPSC-{number}")));
    o.insert("title".into(), json!(title));
    put(&mut o, "brand", dba(&companies));
    put(&mut o, "description", description);
    let hazards = names(r.get("Hazards"), "Name");
    if !hazards.is_empty() {
        o.insert("hazard".into(), json!(hazards.join(" ")));
    }
    o.insert("models".into(), json!(dedup(models)));
    o.insert("gtins".into(), json!(names(r.get("ProductUPCs"), "UPC")));
    o.insert("images".into(), json!(names(r.get("Images"), "URL")));
    o.insert("source".into(), json!("CPSC"));
    o.insert("jurisdictions".into(), json!(["US"]));
    put(&mut o, "recalled_at", date(r.get("RecallDate")));
    put(&mut o, "url", s(r.get("URL")));
    o
}

/// One record of the 2013 recalls.gov search output.
fn recalls_gov(r: &Value) -> Map<String, Value> {
    let descriptions = names(r.get("descriptions"), "");
    let manufacturers = names(r.get("manufacturers"), "");
    let text = descriptions.join(" ");
    let mut o = Map::new();
    let number = s(r.get("recall_number")).unwrap_or_default();
    o.insert("id".into(), json!(format!("CPSC-{number}")));
    let title = descriptions
        .first()
        .cloned()
        .or_else(|| names(r.get("product_types"), "").first().cloned())
        .unwrap_or_default();
    o.insert("title".into(), json!(title));
    put(&mut o, "brand", manufacturers.first().cloned());
    if !text.is_empty() {
        o.insert("description".into(), json!(text));
    }
    let hazards = names(r.get("hazards"), "");
    if !hazards.is_empty() {
        o.insert("hazard".into(), json!(hazards.join(" ")));
    }
    o.insert("models".into(), json!(dedup(models_in(&text))));
    o.insert("gtins".into(), json!(names(r.get("upcs"), "")));
    o.insert(
        "source".into(),
        json!(s(r.get("organization")).unwrap_or_else(|| "CPSC".into())),
    );
    o.insert("jurisdictions".into(), json!(["US"]));
    put(&mut o, "recalled_at", date(r.get("recall_date")));
    put(&mut o, "url", s(r.get("recall_url")));
    o
}

/// One record of the derived shape (`number`, `name`, `modelTokens`, ...).
fn second_look(r: &Value) -> Map<String, Value> {
    let mut o = Map::new();
    let number = s(r.get("number"))
        .or_else(|| s(r.get("id")))
        .unwrap_or_default();
    o.insert("id".into(), json!(format!("CPSC-{number}")));
    let title = s(r.get("name"))
        .or_else(|| s(r.get("title")))
        .unwrap_or_default();
    o.insert("title".into(), json!(title));
    let description = s(r.get("description")).unwrap_or_default();
    if !description.is_empty() {
        o.insert("description".into(), json!(description));
    }
    put(&mut o, "hazard", s(r.get("hazard")));
    let mut models = names(r.get("modelTokens"), "");
    models.extend(models_in(&description));
    o.insert("models".into(), json!(dedup(models)));
    o.insert("gtins".into(), json!(names(r.get("upcs"), "")));
    if let Some(i) = s(r.get("image")) {
        o.insert("images".into(), json!([i]));
    }
    o.insert("source".into(), json!("CPSC"));
    o.insert("jurisdictions".into(), json!(["US"]));
    put(&mut o, "recalled_at", date(r.get("date")));
    put(&mut o, "url", s(r.get("url")));
    o
}

/// Converts a CPSC document into banned-record objects (each with its `original`), or says
/// why it cannot: an API error body, or not a CPSC shape.
pub fn convert(doc: Value) -> Result<Vec<Value>, String> {
    type Mapper = fn(&Value) -> Map<String, Value>;
    let (items, map): (Vec<Value>, Mapper) = match doc {
        Value::Array(items) => {
            if let Some(err) = items.iter().find(|r| {
                r.get("RecallID").and_then(Value::as_i64) == Some(0)
                    && s(r.get("Title")).is_some_and(|t| t.starts_with("Error"))
            }) {
                return Err(format!(
                    "the CPSC API answered with an error: {}",
                    s(err.get("Title")).unwrap_or_default()
                ));
            }
            (items, api)
        }
        Value::Object(mut o) => {
            if let Some(Value::Array(r)) = o.remove("recalls") {
                (r, second_look)
            } else if let Some(Value::Array(r)) = o
                .remove("success")
                .and_then(|mut s| s.as_object_mut().and_then(|m| m.remove("results")))
            {
                (r, recalls_gov)
            } else {
                return Err("not a CPSC recall document".into());
            }
        }
        _ => return Err("not a CPSC recall document".into()),
    };
    Ok(items
        .into_iter()
        .map(|r| {
            let mut o = map(&r);
            o.insert("original".into(), r);
            Value::Object(o)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_records_map_with_models_from_prose_and_dba_brands() {
        let doc = json!([{
            "RecallID": 10901, "RecallNumber": "26702", "RecallDate": "2026-08-14T00:00:00",
            "Description": "This recall involves HOMEZO portable space heaters, model HZ-1500B.",
            "Products": [{"Name": "HOMEZO Portable Space Heaters", "Model": "", "NumberOfUnits": ""}],
            "Importers": [{"Name": "Shenzhen Example Trading Co., dba HomezoDirect, of China"}],
            "ProductUPCs": [{"UPC": "712345678904"}], "Images": [{"URL": "https://x/y.jpg"}],
            "Hazards": [{"Name": "Fire hazard.", "HazardType": ""}], "URL": "https://cpsc.gov/r"
        }]);
        assert!(detect(&doc));
        let recs = convert(doc).unwrap();
        let r = &recs[0];
        assert_eq!(r["id"], "CPSC-26702");
        assert_eq!(r["models"], json!(["HZ-1500B"]));
        assert_eq!(r["brand"], "HomezoDirect");
        assert_eq!(r["recalled_at"], "2026-08-14");
        assert_eq!(r["original"]["RecallID"], 10901);
    }

    /// fuzz/artifacts/ingest_cpsc/crash-0cb515c1…: a date with a two-byte letter across byte 10
    /// panicked (a string sliced inside a character); so could a "dba" after a letter that
    /// grows when lowered.
    #[test]
    fn non_ascii_dates_and_names_are_no_panic() {
        let doc = json!([{
            "RecallID": 91001, "RecallNumber": "13450", "RecallDate": "2026-09-0\u{3eb}00:00:00",
            "Products": [{"Name": "Heater"}],
            "Importers": [{"Name": "İİİİ Trading dba Acme, of China"}],
        }]);
        let recs = convert(doc).unwrap();
        assert!(recs[0].get("recalled_at").is_none(), "{}", recs[0]);
        assert_eq!(recs[0]["brand"], "Acme");
        let seed =
            include_bytes!("../../fuzz/corpus/ingest_cpsc/regression-date-char-boundary.json");
        let doc: Value = serde_json::from_slice(seed).unwrap();
        assert!(convert(doc).is_ok());
    }

    #[test]
    fn error_bodies_are_errors() {
        let doc =
            json!([{"RecallID": 0, "RecallNumber": null, "Title": "Error retrieving Recalls: x"}]);
        assert!(
            convert(doc)
                .unwrap_err()
                .contains("Error retrieving Recalls")
        );
    }
}

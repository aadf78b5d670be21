//! Health Canada's recalls open data (HCRSAMOpenData.json): flat records, no models or UPCs
//! (those are only on the notice pages), site-relative URLs, English titles with stray spaces.

use serde_json::{Map, Value, json};

use super::put;

pub fn detect(doc: &Value) -> bool {
    doc.as_array()
        .and_then(|a| a.first())
        .is_some_and(|r| r.get("NID").is_some() && r.get("Last updated").is_some())
}

use super::json_text as s;

pub fn convert(doc: Value) -> Result<Vec<Value>, String> {
    let Value::Array(items) = doc else {
        return Err("not a Health Canada recalls document (expected a JSON array)".into());
    };
    Ok(items
        .into_iter()
        .map(|r| {
            let mut o = Map::new();
            o.insert(
                "id".into(),
                json!(format!("HC-{}", s(&r, "NID").unwrap_or_default())),
            );
            let title = s(&r, "Product")
                .or_else(|| s(&r, "Title"))
                .unwrap_or_default();
            o.insert("title".into(), json!(title));
            let description: Vec<String> = ["Title", "What you should do"]
                .iter()
                .filter_map(|k| s(&r, k))
                .collect();
            if !description.is_empty() {
                o.insert("description".into(), json!(description.join(" ")));
            }
            put(&mut o, "hazard", s(&r, "Issue"));
            put(&mut o, "category", s(&r, "Category"));
            if let Some(u) = s(&r, "URL") {
                let url = if u.starts_with('/') {
                    format!("https://recalls-rappels.canada.ca{u}")
                } else {
                    u
                };
                o.insert("url".into(), json!(url));
            }
            if let Some(d) = s(&r, "Last updated").and_then(|d| crate::dates::iso_prefix(&d)) {
                o.insert("recalled_at".into(), json!(d.to_string()));
            }
            o.insert("source".into(), json!("HealthCanada"));
            o.insert("jurisdictions".into(), json!(["CA"]));
            o.insert("original".into(), r);
            Value::Object(o)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "Last updated" with a multi-byte letter across byte 10 (the CPSC adapter's fuzzing
    /// finding, fixed here as well): no date, no panic.
    #[test]
    fn a_non_ascii_date_is_dropped_not_a_panic() {
        let recs =
            convert(json!([{"NID": "1", "Product": "Seat", "Last updated": "2026-09-0\u{3eb}"}]))
                .unwrap();
        assert!(recs[0].get("recalled_at").is_none(), "{}", recs[0]);
        let recs =
            convert(json!([{"NID": "1", "Product": "Seat", "Last updated": "2026-09-02 10:00"}]))
                .unwrap();
        assert_eq!(recs[0]["recalled_at"], "2026-09-02");
        // fuzz/artifacts/ingest_healthcanada/crash-6ac9ba4f…, found on the unfixed code.
        let seed = include_bytes!(
            "../../fuzz/corpus/ingest_healthcanada/regression-date-char-boundary.json"
        );
        let doc: Value = serde_json::from_slice(seed).unwrap();
        assert!(convert(doc).is_ok());
    }
}

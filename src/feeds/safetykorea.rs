//! Korea's SafetyKorea (KATS) recall API: domestic (`recallList`, `recallUid`) and overseas
//! (`fRecallList`, `fRecallUid`) lists in one envelope `{resultCode, resultMsg, resultData[]}`.
//! Dates are `yyyyMMdd`; several model numbers share one comma-separated field.

use serde_json::{Map, Value, json};

use super::put;

pub fn detect(doc: &Value) -> bool {
    doc.get("resultCode").is_some() && doc.get("resultData").is_some()
}

use super::json_text as s;

/// The feed's `yyyyMMdd`, also when written with separators (`2026.09.05`, `2026-09-05`).
fn ymd(d: &str) -> Option<String> {
    let d: String = d.chars().filter(char::is_ascii_digit).collect();
    crate::dates::compact(&d).map(|d| d.to_string())
}

pub fn convert(doc: Value) -> Result<Vec<Value>, String> {
    let code = s(&doc, "resultCode").unwrap_or_default();
    if code != "2000" {
        return Err(format!(
            "SafetyKorea answered {code}: {}",
            s(&doc, "resultMsg").unwrap_or_default()
        ));
    }
    let Some(Value::Array(items)) = doc.get("resultData").cloned() else {
        return Err("SafetyKorea: resultData is not a list".into());
    };
    Ok(items
        .into_iter()
        .map(|r| {
            let mut o = Map::new();
            let id = match (s(&r, "recallUid"), s(&r, "fRecallUid")) {
                (Some(u), _) => format!("KATS-{u}"),
                (None, Some(f)) => format!("KATS-F-{f}"),
                (None, None) => String::new(),
            };
            o.insert("id".into(), json!(id));
            o.insert(
                "title".into(),
                json!(s(&r, "recallProductName").unwrap_or_default()),
            );
            put(
                &mut o,
                "brand",
                s(&r, "recallBrandName").filter(|b| !b.eq_ignore_ascii_case("unknown")),
            );
            let models: Vec<String> = s(&r, "recallModelName")
                .map(|m| {
                    m.split([',', '/', ';', '、'])
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            o.insert("models".into(), json!(models));
            let gtins: Vec<String> = s(&r, "barcodeNum")
                .map(|b| {
                    b.split([',', ' '])
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            o.insert("gtins".into(), json!(gtins));
            put(&mut o, "category", s(&r, "categoryName"));
            put(
                &mut o,
                "hazard",
                s(&r, "harmDscr").or_else(|| s(&r, "violateDscr")),
            );
            let description: Vec<String> = ["recallProductDscr", "publishActionDscr"]
                .iter()
                .filter_map(|k| s(&r, k))
                .collect();
            if !description.is_empty() {
                o.insert("description".into(), json!(description.join(" ")));
            }
            let mut images: Vec<String> = r
                .get("recallFiles")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|f| s(f, "imageUrl")).collect())
                .unwrap_or_default();
            images.extend(s(&r, "imageUrl"));
            o.insert("images".into(), json!(images));
            put(&mut o, "url", s(&r, "recallUrl"));
            put(
                &mut o,
                "recalled_at",
                s(&r, "publishDate").and_then(|d| ymd(&d)),
            );
            o.insert("source".into(), json!("SafetyKorea"));
            o.insert("jurisdictions".into(), json!(["KR"]));
            o.insert("original".into(), r);
            Value::Object(o)
        })
        .collect())
}

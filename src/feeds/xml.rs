//! Flat XML feeds (EU Safety Gate weekly reports, Korea's Consumer24) as banned records.
//!
//! Both put one record per element (`<notifications>`, `<content>`) whose children are leaves,
//! or lists of leaves (`<pictures><picture>`): read into `tag → values` maps with quick-xml.

use std::collections::BTreeMap;

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Map, Value, json};

use super::put;

/// One record: each leaf tag and its non-empty texts.
type Fields = BTreeMap<String, Vec<String>>;

/// The records under every `<record_tag>` element, and the leaves outside them.
fn records(xml: &str, record_tag: &str) -> Result<(Vec<Fields>, Fields), String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut out = Vec::new();
    let mut outside = Fields::new();
    let mut current: Option<Fields> = None;
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Err(e) => return Err(format!("XML at byte {}: {e}", reader.error_position())),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                let local = e.local_name();
                let name: &str = local.as_ref();
                let name = name.to_string();
                if name == record_tag && current.is_none() {
                    current = Some(Fields::new());
                }
                stack.push(name);
                text.clear();
            }
            // Entities come as their own events, so text here is literal.
            Ok(Event::Text(t)) => text.push_str(t.as_ref()),
            Ok(Event::CData(t)) => text.push_str(t.as_ref()),
            Ok(Event::GeneralRef(r)) => {
                let name: &str = r.as_ref();
                text.push_str(match name {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                });
            }
            Ok(Event::End(_)) => {
                let name = stack.pop().unwrap_or_default();
                if name == record_tag {
                    if let Some(f) = current.take() {
                        out.push(f);
                    }
                } else {
                    let value = text.trim().to_string();
                    let target = current.as_mut().unwrap_or(&mut outside);
                    if !value.is_empty() {
                        target.entry(name).or_default().push(value);
                    }
                }
                text.clear();
            }
            Ok(_) => {}
        }
    }
    Ok((out, outside))
}

fn one(f: &Fields, k: &str) -> Option<String> {
    f.get(k).and_then(|v| v.first()).cloned()
}

fn list(f: &Fields, k: &str) -> Vec<String> {
    f.get(k)
        .into_iter()
        .flatten()
        .flat_map(|v| {
            v.split([',', ';'])
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn original(f: &Fields) -> Value {
    Value::Object(f.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// EU and EEA members: where a Safety Gate alert applies.
const EU_EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

pub fn is_safety_gate(xml: &str) -> bool {
    xml.contains("<Safety-Gate") && xml.contains("<notifications")
}

pub fn is_consumer24(xml: &str) -> bool {
    xml.contains("selectCntntsForOpenAPIResponse")
}

/// The weekly reports an EU Safety Gate list names (`<weeklyReport>`): each one's publication
/// day (when it reads as `DD/MM/YYYY`) and the address of its detail XML.
pub fn safety_gate_reports(xml: &str) -> Result<Vec<(Option<crate::dates::Date>, String)>, String> {
    if !xml.contains("<Safety-Gate") {
        return Err("not a Safety Gate weekly report list".into());
    }
    let (items, _) = records(xml, "weeklyReport")?;
    Ok(items
        .iter()
        .filter_map(|f| {
            let url = one(f, "URL")?;
            let day = one(f, "publicationDate").and_then(|d| crate::dates::dmy(&d));
            Some((day, url))
        })
        .collect())
}

/// EU Safety Gate weekly report (detail XML). A notification is dated by its report's
/// `report_date` (the notices carry no date of their own).
pub fn safety_gate(xml: &str) -> Result<Vec<Value>, String> {
    let (items, outside) = records(xml, "notifications")?;
    let reported = one(&outside, "report_date")
        .and_then(|d| crate::dates::dmy(&d))
        .map(|d| d.to_string());
    Ok(items
        .iter()
        .map(|f| {
            let mut o = Map::new();
            o.insert(
                "id".into(),
                json!(format!("EU-{}", one(f, "caseNumber").unwrap_or_default())),
            );
            let title = one(f, "name")
                .or_else(|| one(f, "product"))
                .unwrap_or_default();
            o.insert("title".into(), json!(title));
            put(
                &mut o,
                "brand",
                one(f, "brand").filter(|b| !b.eq_ignore_ascii_case("unknown")),
            );
            o.insert("models".into(), json!(list(f, "type_numberOfModel")));
            o.insert("gtins".into(), json!(list(f, "barcode")));
            put(&mut o, "category", one(f, "category"));
            put(&mut o, "description", one(f, "description"));
            let hazard: Vec<String> = ["riskType", "danger"]
                .iter()
                .filter_map(|k| one(f, k))
                .collect();
            if !hazard.is_empty() {
                o.insert("hazard".into(), json!(hazard.join(": ")));
            }
            put(
                &mut o,
                "url",
                one(f, "reference").or_else(|| one(f, "URLrecall")),
            );
            o.insert(
                "images".into(),
                json!(f.get("picture").cloned().unwrap_or_default()),
            );
            put(&mut o, "recalled_at", reported.clone());
            o.insert("source".into(), json!("EU-SafetyGate"));
            o.insert("jurisdictions".into(), json!(EU_EEA));
            o.insert("original".into(), original(f));
            Value::Object(o)
        })
        .collect())
}

/// Korea's Consumer24 recall API (XML).
pub fn consumer24(xml: &str) -> Result<Vec<Value>, String> {
    consumer24_page(xml).map(|(records, _)| records)
}

/// One page of Consumer24's API: its records and `allCnt`, the count of all its pages'.
pub fn consumer24_page(xml: &str) -> Result<(Vec<Value>, Option<u64>), String> {
    let (items, outside) = records(xml, "content")?;
    let code = one(&outside, "code").unwrap_or_default();
    if code != "00" {
        return Err(format!(
            "Consumer24 answered {code}: {}",
            one(&outside, "codeMsg").unwrap_or_default()
        ));
    }
    let total = one(&outside, "allCnt").and_then(|n| n.parse().ok());
    let records = items
        .iter()
        .map(|f| {
            let mut o = Map::new();
            o.insert(
                "id".into(),
                json!(format!("KCA-{}", one(f, "recallSn").unwrap_or_default())),
            );
            o.insert(
                "title".into(),
                json!(one(f, "productNm").unwrap_or_default()),
            );
            put(&mut o, "brand", one(f, "makr").or_else(|| one(f, "bsnmNm")));
            o.insert("models".into(), json!(list(f, "modlNmInfo")));
            o.insert("gtins".into(), json!(list(f, "stdBrcd")));
            put(&mut o, "hazard", one(f, "shrtcomCn"));
            let description: Vec<String> = ["injryCauseResult", "cnsmrGhvrTips"]
                .iter()
                .filter_map(|k| one(f, k))
                .collect();
            if !description.is_empty() {
                o.insert("description".into(), json!(description.join(" ")));
            }
            put(&mut o, "url", one(f, "infoOriginUrl"));
            // yyyyMMdd; a hostile feed may put multi-byte letters there (`dates` reads by `get`).
            if let Some(d) = one(f, "recallPublictBgnde").and_then(|d| crate::dates::compact(&d)) {
                o.insert("recalled_at".into(), json!(d.to_string()));
            }
            o.insert("images".into(), json!(list(f, "recallImgUrls")));
            o.insert("source".into(), json!("Consumer24"));
            o.insert("jurisdictions".into(), json!(["KR"]));
            o.insert("original".into(), original(f));
            Value::Object(o)
        })
        .collect();
    Ok((records, total))
}

pub fn is_accc(xml: &str) -> bool {
    xml.contains("<rss") && (xml.contains("productsafety.gov.au") || xml.contains("psa-recall"))
}

/// Text of an HTML fragment: tags dropped, the common entities decoded, spaces collapsed.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&amp;", "&")
        .replace("&nbsp;", " ")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The Drupal field blocks of an ACCC description: `field-psa-recall-NAME` → text.
fn accc_fields(html: &str) -> BTreeMap<String, String> {
    const MARK: &str = "field--name-field-psa-recall-";
    let mut out = BTreeMap::new();
    let mut rest = html;
    while let Some(i) = rest.find(MARK) {
        rest = &rest[i + MARK.len()..];
        let name_end = rest.find(['"', ' ']).unwrap_or(rest.len());
        let name = rest[..name_end].to_string();
        let body_start = rest.find('>').map_or(rest.len(), |j| j + 1);
        let body_end = rest
            .find(MARK)
            .map_or(rest.len(), |j| rest[..j].rfind('<').unwrap_or(j));
        let body = if body_start <= body_end {
            &rest[body_start..body_end]
        } else {
            ""
        };
        // The published date is in a <time datetime="..."> attribute.
        let text = match body.find("datetime=\"") {
            Some(d) if name == "published-date" => body[d + 10..].chars().take(10).collect(),
            _ => html_text(body),
        };
        out.insert(name, text);
    }
    out
}

/// Australia's ACCC product safety recalls RSS: each item's description holds the notice's
/// fields as HTML blocks.
pub fn accc(xml: &str) -> Result<Vec<Value>, String> {
    let (items, _) = records(xml, "item")?;
    Ok(items
        .iter()
        .map(|f| {
            let html = one(f, "description").unwrap_or_default();
            let fields = accc_fields(&html);
            let field = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
            let mut o = Map::new();
            let id = one(f, "guid")
                .or_else(|| field("pra-number").map(|p| p.trim_start_matches("PRA ").to_string()))
                .unwrap_or_default();
            o.insert("id".into(), json!(format!("ACCC-{id}")));
            let title = one(f, "title").unwrap_or_default();
            let brand = field("brand").or_else(|| {
                title
                    .split_once(" - ")
                    .map(|(trader, _)| trader.trim().to_string())
            });
            put(&mut o, "brand", brand);
            o.insert("title".into(), json!(title));
            let product = field("product-desc").unwrap_or_default();
            let mut models: Vec<String> = field("model").map(|m| vec![m]).unwrap_or_default();
            models.extend(
                crate::text::ident::extract_models(&product)
                    .into_iter()
                    .filter(|m| m.primary && m.key.len() >= 5)
                    .map(|m| m.raw.to_uppercase()),
            );
            o.insert("models".into(), json!(models));
            let mut gtins: Vec<String> = field("gtin").map(|g| vec![g]).unwrap_or_default();
            gtins.extend(crate::text::ident::extract_gtins(&product));
            o.insert("gtins".into(), json!(gtins));
            let description: Vec<String> = ["product-desc", "consumer-action"]
                .iter()
                .filter_map(|k| field(k))
                .collect();
            if !description.is_empty() {
                o.insert("description".into(), json!(description.join(" ")));
            }
            let hazard: Vec<String> = ["product-defects", "hazards"]
                .iter()
                .filter_map(|k| field(k))
                .collect();
            if !hazard.is_empty() {
                o.insert("hazard".into(), json!(hazard.join(" ")));
            }
            put(&mut o, "category", one(f, "category"));
            put(&mut o, "url", one(f, "link"));
            let date = field("published-date")
                .and_then(|d| crate::dates::iso_prefix(&d))
                .or_else(|| one(f, "pubDate").and_then(|d| crate::dates::rfc2822(&d)));
            put(&mut o, "recalled_at", date.map(|d| d.to_string()));
            let images: Vec<String> = html
                .split("href=\"")
                .skip(1)
                .filter_map(|s| s.split('"').next())
                .filter(|u| u.contains("/system/files/"))
                .map(str::to_string)
                .collect();
            o.insert("images".into(), json!(images));
            o.insert("source".into(), json!("ACCC"));
            o.insert("jurisdictions".into(), json!(["AU"]));
            o.insert("original".into(), original(f));
            Value::Object(o)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Consumer24 date with multi-byte letters in its first 8 bytes (the CPSC adapter's
    /// fuzzing finding, fixed here as well): no date, no panic.
    #[test]
    fn a_non_ascii_date_is_dropped_not_a_panic() {
        let doc = |d: &str| {
            format!(
                "<selectCntntsForOpenAPIResponse><channel><return><code>00</code><content>\
                 <recallSn>1</recallSn><productNm>킥보드</productNm>\
                 <recallPublictBgnde>{d}</recallPublictBgnde></content></return></channel>\
                 </selectCntntsForOpenAPIResponse>"
            )
        };
        let recs = consumer24(&doc("2026년9월5일")).unwrap();
        assert!(recs[0].get("recalled_at").is_none(), "{}", recs[0]);
        let recs = consumer24(&doc("20260905")).unwrap();
        assert_eq!(recs[0]["recalled_at"], "2026-09-05");
    }
}

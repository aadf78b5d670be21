//! HTML for people: result cards with the two photos side by side and the evidence marked,
//! shared by the web page (`relist serve`) and the sweep report (`sweep --report`).
//!
//! Pages are built with `format!` from escaped parts: a few fixed templates do not justify a
//! template engine dependency. Everything that comes from a record, a listing or a request goes
//! through [`esc`]; links are only written for `http(s)` addresses, so a feed cannot put a
//! `javascript:` URL on the page.

use std::fmt::Write;

use crate::matching::evidence::{Evidence, Piece, Voice};
use crate::model::Decision;
use crate::text::normalize::TextKeys;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `url` if it is a web address, for an `href`.
pub fn safe_url(url: Option<&str>) -> Option<&str> {
    url.filter(|u| {
        let l = u.trim_start().to_ascii_lowercase();
        l.starts_with("https://") || l.starts_with("http://")
    })
}

/// Percent-encodes an id for a URL path segment (RFC 3986 unreserved characters pass). One
/// loop does not justify a dependency.
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `text` escaped, with each word that folds to one of `words` marked: "VοltΜaх" (Greek
/// letters) is marked for "voltmax", as the matcher saw it.
pub fn highlight(text: &str, words: &[String]) -> String {
    let keys: Vec<String> = words
        .iter()
        .map(|w| TextKeys::new(w).spaceless)
        .filter(|k| !k.is_empty())
        .collect();
    let mut out = String::new();
    for (i, tok) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let key = TextKeys::new(tok).spaceless;
        if !key.is_empty() && keys.contains(&key) {
            let _ = write!(out, "<mark>{}</mark>", esc(tok));
        } else {
            out.push_str(&esc(tok));
        }
    }
    out
}

/// One item's reason, escaped, with its values marked (model numbers, brands, terms, the
/// shared words) and its photo distance marked apart.
pub fn reason_html(e: &Evidence, v: Voice) -> String {
    let mut out = String::new();
    for p in e.pieces(v) {
        match p {
            Piece::Text(t) => out.push_str(&esc(&t)),
            Piece::Value(t) => {
                let _ = write!(out, "<mark>{}</mark>", esc(&t));
            }
            Piece::Distance(t) => {
                let _ = write!(out, "<mark class=\"photo\">{}</mark>", esc(&t));
            }
        }
    }
    out
}

/// One side of a card: a photo (a URL or a data URI) or an empty frame, and what it shows.
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub label: String,
    pub img: Option<String>,
    /// HTML (already escaped) under the photo.
    pub caption: String,
}

/// A result card: the banned side and the listing side, the decision and the evidence.
#[derive(Debug, Clone)]
pub struct Card {
    pub banned: Side,
    pub listing: Side,
    pub banned_id: String,
    pub listing_id: String,
    pub decision: Decision,
    pub score: f32,
    /// A search of the banned index: the hit's rank, shown instead of the decision (a search
    /// is no check of a listing).
    pub rank: Option<usize>,
    /// What the match rests on, rendered as its reasons in `voice`.
    pub evidence: Vec<Evidence>,
    pub voice: Voice,
    pub image_distance: Option<u32>,
    /// Facts shown under the photos: (name, value), escaped here.
    pub facts: Vec<(String, String)>,
    pub notice_url: Option<String>,
    pub listing_url: Option<String>,
}

fn side(s: &Side, class: &str) -> String {
    let img = match &s.img {
        Some(src) => format!(
            "<img src=\"{}\" alt=\"{}\" width=\"160\">",
            esc(src),
            esc(&s.label)
        ),
        None => "<div class=\"nophoto\">no photo</div>".to_string(),
    };
    format!(
        "<figure class=\"{class}\"><figcaption class=\"label\">{}</figcaption>{img}<div class=\"caption\">{}</div></figure>",
        esc(&s.label),
        s.caption
    )
}

/// The card as an `<article>`; `data-*` attributes carry the score and ids for scripts
/// (sorting) and tests.
pub fn card(c: &Card) -> String {
    let mut facts = String::new();
    for (k, v) in &c.facts {
        let _ = write!(facts, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    }
    let mut reasons = String::new();
    for e in &c.evidence {
        let _ = write!(reasons, "<li>{}</li>", reason_html(e, c.voice));
    }
    let mut links = String::new();
    if let Some(u) = safe_url(c.notice_url.as_deref()) {
        let _ = write!(
            links,
            "<a class=\"notice\" href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">Regulator's notice</a>",
            esc(u)
        );
    }
    if let Some(u) = safe_url(c.listing_url.as_deref()) {
        let _ = write!(
            links,
            " <a class=\"listing-link\" href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">Listing</a>",
            esc(u)
        );
    }
    let photo = c
        .image_distance
        .map(|d| format!("<span class=\"distance\">photo distance {d} of 64</span>"))
        .unwrap_or_default();
    if let Some(rank) = c.rank {
        return format!(
            "<article class=\"card search\" data-score=\"{score:.3}\" data-rank=\"{rank}\" data-banned-id=\"{bid}\">\
<div class=\"photos\">{left}{right}</div>\
<div class=\"body\"><p class=\"verdict\"><span class=\"badge rank\">#{rank}</span> <span class=\"score\">relevance {score:.3}</span> {photo}</p>\
<dl>{facts}</dl><ul class=\"evidence\">{reasons}</ul><p class=\"links\">{links}</p></div></article>",
            score = c.score,
            bid = esc(&c.banned_id),
            left = side(&c.banned, "banned"),
            right = side(&c.listing, "listing"),
        );
    }
    format!(
        "<article class=\"card {dec}\" data-score=\"{score:.3}\" data-decision=\"{dec}\" data-banned-id=\"{bid}\" data-listing-id=\"{lid}\">\
<div class=\"photos\">{left}{right}</div>\
<div class=\"body\"><p class=\"verdict\"><span class=\"badge {dec}\">{dec}</span> <span class=\"score\">score {score:.3}</span> {photo}</p>\
<dl>{facts}</dl><ul class=\"evidence\">{reasons}</ul><p class=\"links\">{links}</p></div></article>",
        dec = c.decision.as_str(),
        score = c.score,
        bid = esc(&c.banned_id),
        lid = esc(&c.listing_id),
        left = side(&c.banned, "banned"),
        right = side(&c.listing, "listing"),
    )
}

/// One banned record listed by a browse: its photo, its facts and the notice, ranked by
/// recall date (no score: nothing was compared).
pub fn record_card(
    rank: usize,
    photo: &Side,
    banned_id: &str,
    facts: &[(String, String)],
    notice_url: Option<&str>,
) -> String {
    let mut dl = String::new();
    for (k, v) in facts {
        let _ = write!(dl, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    }
    let link = safe_url(notice_url)
        .map(|u| {
            format!(
                "<a class=\"notice\" href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">Regulator's notice</a>",
                esc(u)
            )
        })
        .unwrap_or_default();
    format!(
        "<article class=\"card record\" data-rank=\"{rank}\" data-banned-id=\"{bid}\">\
<div class=\"photos\">{left}</div>\
<div class=\"body\"><p class=\"verdict\"><span class=\"badge rank\">#{rank}</span></p>\
<dl>{dl}</dl><p class=\"links\">{link}</p></div></article>",
        bid = esc(banned_id),
        left = side(photo, "banned"),
    )
}

/// The style of pages and reports (embedded: nothing is fetched at run time).
pub const CSS: &str = r#"
body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c7ccd6}main{padding:16px 24px;max-width:1100px}
form.search{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:12px 16px;display:flex;flex-wrap:wrap;gap:10px 18px;align-items:end}
form.search label{display:flex;flex-direction:column;font-size:13px;color:#4a5366}
form.search input[type=text]{font-size:15px;padding:5px 8px;border:1px solid #b9c0cc;border-radius:4px;min-width:220px}
form.search button{font-size:15px;padding:6px 18px;background:#2456c7;color:#fff;border:0;border-radius:4px;cursor:pointer}
fieldset{border:0;padding:0;margin:0;font-size:13px}
form.search fieldset label{display:inline-flex;flex-direction:row;gap:4px;align-items:center;margin-right:10px}
.summary{color:#4a5366}.error{background:#fde8e8;border:1px solid #e3a0a0;padding:8px 12px;border-radius:6px}
.card{background:#fff;border:1px solid #d8dce3;border-left:6px solid #9aa3b2;border-radius:8px;margin:12px 0;display:flex;gap:16px;padding:12px}
.card.block{border-left-color:#c62828}.card.review{border-left-color:#ef8f00}.card.allow{border-left-color:#7b8494}
.photos{display:flex;gap:8px;flex:none}figure{margin:0;width:170px}
.label{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#6b7486}
figure img,.nophoto{width:160px;height:160px;object-fit:contain;background:#eef0f3;border-radius:4px;display:block}
.nophoto{display:flex;align-items:center;justify-content:center;color:#8a93a3;font-size:13px}
.caption{font-size:13px;margin-top:4px;word-break:break-word}
.body{flex:1;min-width:0}.verdict{margin:0 0 6px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:13px;background:#7b8494}
.badge.block{background:#c62828}.badge.review{background:#ef8f00}.badge.rank{background:#2456c7}
.card.search,.card.record{border-left-color:#2456c7}
form.search input[type=date]{font-size:15px;padding:4px 6px;border:1px solid #b9c0cc;border-radius:4px}
form.search input.small{min-width:90px;width:110px}
a.next{display:inline-block;margin:8px 0}
.score{font-variant-numeric:tabular-nums;color:#4a5366}
.distance{background:#e3ecff;border-radius:4px;padding:1px 6px;font-size:13px}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:4px 0;font-size:13px}dt{color:#6b7486}dd{margin:0}
ul.evidence{margin:6px 0;padding-left:18px}mark{background:#fff2a8;padding:0 2px;border-radius:2px}
mark.photo{background:#cfe0ff}
table.counts{border-collapse:collapse;background:#fff;margin:0 16px 12px 0;display:inline-table;vertical-align:top}
table.counts td,table.counts th{border:1px solid #d8dce3;padding:3px 10px;text-align:left}
table.counts td.n{text-align:right;font-variant-numeric:tabular-nums}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_records_is_escaped_and_only_web_links_are_written() {
        assert_eq!(
            esc("<script>\"x\" & 'y'"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;"
        );
        assert_eq!(safe_url(Some("javascript:alert(1)")), None);
        assert_eq!(
            safe_url(Some("https://cpsc.gov/x")),
            Some("https://cpsc.gov/x")
        );
        assert_eq!(path_segment("EU A/12?"), "EU%20A%2F12%3F");
    }

    #[test]
    fn evidence_is_marked() {
        use crate::matching::evidence::{BrandRelation, HashKind, ModelRelation, Origin};
        let v = Voice::BANNED;
        let m = Evidence::Model {
            relation: ModelRelation::Equal,
            listing: "hb-2210x".into(),
            banned: "HB-2210X".into(),
            listing_from: Origin::Title,
            from: Origin::Models,
            coverage: None,
        };
        assert_eq!(
            reason_html(&m, v),
            "model &#39;<mark>hb-2210x</mark>&#39; equals banned model &#39;<mark>HB-2210X</mark>&#39;"
        );
        let w = Evidence::SharedWords {
            share: 1.0,
            words: vec!["voltmax".into(), "power".into()],
            ngram_overlap: 0.9,
        };
        assert_eq!(
            reason_html(&w, v),
            "title shares 100 % of the banned title&#39;s weighted words (<mark>voltmax, power</mark>); character overlap 90 %"
        );
        let b = Evidence::Brand {
            relation: BrandRelation::Mismatch,
            brand: "O'Neill".into(),
            other: None,
        };
        assert_eq!(
            reason_html(&b, v),
            "listing names another brand than &#39;<mark>O&#39;Neill</mark>&#39;"
        );
        let p = Evidence::Photo {
            photo: 1,
            algo: HashKind::DhashPhash,
            distance: 3,
            of: 64,
        };
        let e = reason_html(&p, v);
        assert!(e.contains("<mark class=\"photo\">3 of 64</mark>"), "{e}");
        // The page shows what the JSON says: the same sentence, marked.
        for e in [m, w, b, p] {
            let plain = reason_html(&e, v)
                .replace("<mark>", "")
                .replace("<mark class=\"photo\">", "")
                .replace("</mark>", "")
                .replace("&#39;", "'");
            assert_eq!(plain, e.reason(v));
        }
    }

    #[test]
    fn shared_words_are_marked_in_titles_as_the_matcher_folds_them() {
        let h = highlight(
            "🔥NEW VοltΜaх <b>Power</b> bank",
            &["voltmax".into(), "bank".into()],
        );
        assert!(h.contains("<mark>VοltΜaх</mark>"), "{h}");
        assert!(h.contains("<mark>bank</mark>"), "{h}");
        assert!(h.contains("&lt;b&gt;Power&lt;/b&gt;"), "{h}");
    }
}

//! Product identifiers: model numbers found in free text, and GTINs checked by their GS1 digit.
//!
//! Model numbers are compared by key: folded, separators removed, and the characters sellers
//! swap to dodge exact matching (`O`/`0`, `I`/`l`/`1`) put in one class.

use crate::text::normalize::fold;

/// Folded model number with everything but ASCII letters and digits removed: its key before
/// the swap classes, which grammar rules read ("1nch" would hide the unit "inch").
pub fn plain(s: &str) -> String {
    fold(s)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Puts the characters sellers swap (`o`/`0`, `i`/`l`/`1`) in one class.
fn swap_class(plain: &str) -> String {
    plain
        .chars()
        .map(|c| match c {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        })
        .collect()
}

/// The plain form of text already through `fold` (or plain ASCII): ASCII letters and digits,
/// lowercased, without folding again. For the hot path, where `fold` per token per candidate
/// was most of the cost of judging.
pub fn plain_folded(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// [`model_key`] of text already through `fold`.
pub fn model_key_folded(s: &str) -> String {
    swap_class(&plain_folded(s))
}

/// Comparison key of a model number: "KDL-40V4100", "kdl 40v4100" and "KDL_4OV41OO" agree.
pub fn model_key(s: &str) -> String {
    swap_class(&plain(s))
}

/// Units that make "40inch", "1200w" or "500ml" a measurement, not a model number.
const UNITS: &[&str] = &[
    "mm", "cm", "m", "km", "in", "inch", "inches", "ft", "kg", "g", "mg", "mcg", "ug", "ml", "l",
    "oz", "floz", "lb", "lbs", "w", "kw", "v", "mah", "ah", "wh", "pcs", "pc", "pack", "packs",
    "ct", "count", "x", "gb", "tb", "mb", "hz", "ghz", "mhz", "p", "k", "yrs", "yr", "months",
    "m+", "pk", "set", "sets", "pairs", "st", "nd", "rd", "th", "cc", "db", "a", "ma", "mw", "iu",
    "s", "piece", "pieces", "ply", "layer", "layers", "tier", "speed", "speeds", "port", "ports",
    "cup", "cups", "qt", "quart", "gal", "gallon", "lm", "pa", "psi", "rpm", "mp", "fps", "d",
    "seater", "drawer", "drawers", "shelf", "mos", "month", "year", "years", "day", "days", "hr",
    "hrs", "h", "min", "caps", "tabs", "tablets", "capsules", "softgels", "gummies", "ea", "pin",
    "pins", "bit", "core", "way", "watt", "watts", "volt", "amp", "cell", "mp3", "channel",
    "channels", "ch", "mile", "miles", "mp", "diag", "diagonal", "gen", "va", "kva", "ers", "x",
    "mbps", "gbps", "kbps", "mbs", "dpi", "ppm", "lux", "nits", "awg", "sq", "sqft",
];

/// Names of standards and formats that look like model numbers but name no product.
const STANDARDS: &[&str] = &[
    "mpeg2", "mpeg4", "mp3", "mp4", "h264", "h265", "ddr2", "ddr3", "ddr4", "ddr5", "usb2", "usb3",
    "usb30", "usb20", "hdmi2", "wifi6", "ps2", "ps3", "ps4", "ps5", "win7", "win8", "win10",
    "win11", "ipv4", "ipv6", "dvdr", "cdr", "3g", "4g", "5g", "lte4g", "a4", "a3",
];

fn is_measure(key: &str) -> bool {
    if STANDARDS.contains(&key) {
        return true;
    }
    // Memory speed ratings: "pc3200", "pc2-4200", "pc3-10600".
    if let Some(rest) = key.strip_prefix("pc")
        && rest.len() >= 4
        && rest.bytes().all(|b| b.is_ascii_digit())
    {
        return true;
    }
    let digits_end = key.find(|c: char| !c.is_ascii_digit()).unwrap_or(key.len());
    if digits_end == 0 {
        // "x2", "v12": a letter prefix then digits, short.
        return key.len() <= 3;
    }
    let unit = &key[digits_end..];
    // "3in1", "2in1": a feature count, not a model.
    let in_one = unit.strip_prefix("in").is_some_and(|rest| {
        rest == "one" || (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
    });
    // "23x37", "60x36in", "452x398.8x243.8": dimensions.
    let dims = unit.strip_prefix('x').is_some_and(|mut rest| {
        loop {
            let d = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if d == 0 {
                return false;
            }
            rest = &rest[d..];
            match rest.strip_prefix('x') {
                Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
                _ => break,
            }
        }
        rest.is_empty() || UNITS.contains(&rest)
    });
    unit.is_empty() || UNITS.contains(&unit) || in_one || dims
}

/// A key led by a measure with little after it ("3gbsu2" from "3Gb/s U.2", "500gbx"), or led
/// and ended by measures ("6gbs25inch" from "6Gb/s 2.5-inch"): a spec, not a model number. A
/// model number glued to a measure ("26800mahsc5608") is not one.
pub fn measure_led(key: &str) -> bool {
    let d = key.bytes().take_while(u8::is_ascii_digit).count();
    if d == 0 {
        return false;
    }
    let led = |max_rest: usize| {
        UNITS.iter().any(|u| {
            !u.is_empty()
                && key[d..].starts_with(*u)
                && key.len() - d - u.len() < max_rest
                && key.len() > d + u.len()
        })
    };
    let ends_in_measure = UNITS.iter().any(|u| {
        u.len() >= 2
            && key.len() > d + u.len()
            && key.ends_with(*u)
            && key.as_bytes()[key.len() - u.len() - 1].is_ascii_digit()
    });
    led(4) || (led(usize::MAX) && ends_in_measure)
}

/// Part numbers of digits in dashed groups ("2393-823-109", "010-01987-21"), as printed on the
/// box. The products of a line share the shape and differ in a few digits, so two of one shape
/// that differ are two products to the block gate, though digits alone only confirm a match
/// ([`extract_models`]). Dates ("2024-12-01") are not part numbers.
pub fn part_numbers(folded: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in folded.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '[' | ']' | '|' | '/')
    }) {
        let t = t.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let groups: Vec<&str> = t.split('-').collect();
        let digits: usize = groups.iter().map(|g| g.len()).sum();
        let is_part = groups.len() >= 3
            && digits >= 8
            && groups
                .iter()
                .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()));
        let date = groups.len() == 3
            && groups[0].len() == 4
            && groups[1].len() <= 2
            && groups[2].len() <= 2;
        if is_part && !date && !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// The shape of a part number: its group lengths ("2393-823-109" → [4, 3, 3]).
pub fn part_shape(part: &str) -> Vec<usize> {
    part.split('-').map(str::len).collect()
}

/// A word run into a number ("weight251", "features5", "camera10"): what scraped descriptions
/// make of "Weight: 251 g" when markup loses its spaces. Five letters or more before the first
/// digit: model numbers lead with a short series prefix ("kdl", "ath", "c13t"). Only a code found
/// in a description is held to it; in a title "galaxys10" is written on purpose.
pub fn word_run_on(raw: &str) -> bool {
    let letters = raw.bytes().take_while(u8::is_ascii_alphabetic).count();
    letters >= 5 && raw.as_bytes().get(letters).is_some_and(u8::is_ascii_digit)
}

/// The part after a leading measure ("26800mah" + "sc5608"), if any.
fn strip_measure_prefix(plain: &str) -> Option<&str> {
    let d = plain.find(|c: char| !c.is_ascii_digit())?;
    if d == 0 {
        return None;
    }
    UNITS
        .iter()
        .filter(|u| !u.is_empty() && plain[d..].starts_with(**u))
        .map(|u| &plain[d + u.len()..])
        .filter(|rest| {
            rest.starts_with(|c: char| c.is_ascii_alphabetic()) && looks_like_model(rest)
        })
        .max_by_key(|rest| std::cmp::Reverse(rest.len()))
}

/// Decided on the plain form: the swap classes would turn "40inch" into "401nch".
fn looks_like_model(plain: &str) -> bool {
    (4..=24).contains(&plain.len())
        && plain.bytes().any(|b| b.is_ascii_digit())
        && plain.bytes().any(|b| b.is_ascii_alphabetic())
        && !is_measure(plain)
}

/// A model number found in a listing or record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelToken {
    /// As written (folded), for reasons.
    pub raw: String,
    pub key: String,
    /// False for tokens made by joining neighbours ("kdl 40v4100" → "kdl40v4100"): they may
    /// confirm a match but never make a conflict.
    pub primary: bool,
}

/// Puts a space between CJK and other characters.
fn split_scripts(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut prev: Option<bool> = None;
    for c in s.chars() {
        let cjk = crate::text::normalize::is_cjk(c);
        if prev.is_some_and(|p| p != cjk) {
            out.push(' ');
        }
        prev = Some(cjk);
        out.push(c);
    }
    out
}

/// `(as written, key)` of a banned record's model numbers: its `models` field, then the primary
/// models named in its title or description, each key once and at least 3 characters long.
/// One definition for the index's terms and the matcher's comparisons.
pub fn record_models(
    listed: &[String],
    title: &str,
    description: Option<&str>,
) -> Vec<(String, String)> {
    let mut models: Vec<(String, String)> = Vec::new();
    for m in listed {
        let key = model_key(m);
        if key.len() >= 3 && !models.iter().any(|(_, k)| *k == key) {
            models.push((m.clone(), key));
        }
    }
    // Regulators often name the model only in the description ("model FQ8-ULTRA-690").
    let text = match description {
        Some(d) => format!("{title}\n{d}"),
        None => title.to_string(),
    };
    for m in extract_models(&text) {
        if m.primary && !models.iter().any(|(_, k)| *k == m.key) {
            models.push((m.raw, m.key));
        }
    }
    models
}

/// Model-number-like tokens of free text, and joins of up to three neighbouring pieces so
/// that a model number split by spaces is still found.
pub fn extract_models(text: &str) -> Vec<ModelToken> {
    extract_models_folded(&fold(text))
}

/// `extract_models` for text already through `fold`.
pub fn extract_models_folded(folded: &str) -> Vec<ModelToken> {
    // Scripts glued together ("飞骑电动自行车FQ3-AIR-694") are split apart first.
    let folded = split_scripts(folded);
    let pieces: Vec<&str> = folded
        .split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    ',' | ';' | '(' | ')' | '[' | ']' | '"' | '\'' | ':' | '|' | '!' | '?' | '&'
                )
        })
        .map(|p| p.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|p| !p.is_empty())
        .collect();
    let mut out: Vec<ModelToken> = Vec::new();
    let push = |raw: String, plain: &str, primary: bool, out: &mut Vec<ModelToken>| {
        if looks_like_model(plain) {
            let key = swap_class(plain);
            match out.iter_mut().find(|m| m.key == key) {
                // A token as written beats the same key made by a join.
                Some(m) if primary && !m.primary => *m = ModelToken { raw, key, primary },
                Some(_) => {}
                None => out.push(ModelToken { raw, key, primary }),
            }
        }
    };
    let plains: Vec<String> = pieces
        .iter()
        .map(|p| p.chars().filter(|c| c.is_ascii_alphanumeric()).collect())
        .collect();
    for (i, p) in pieces.iter().enumerate() {
        push(p.to_string(), &plains[i], true, &mut out);
        // Shops list codes and specs with slashes ("USB 2.0/N300/QSS/TL-WN821N"): each part
        // may confirm a banned model, as a join may, without making a conflict.
        if p.contains('/') {
            for part in p.split('/') {
                let part = part.trim_matches(|c: char| !c.is_alphanumeric());
                let plain: String = part.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
                if !part.is_empty() && plain != plains[i] {
                    push(part.to_string(), &plain, false, &mut out);
                }
            }
        }
        // A measure glued to a model number ("26800mAhSC-5608", "48VFQ3-AIR-694"): the rest
        // may confirm a banned model.
        if let Some(rest) = strip_measure_prefix(&plains[i]) {
            push(rest.to_string(), rest, false, &mut out);
        }
        // Catalogue numbers of digits only ("5029", "360053") may confirm a banned model of
        // digits, never make a conflict: too many numbers are prices, years or counts.
        let digits_only = plains[i].len() >= 4
            && plains[i].len() <= 12
            && plains[i].bytes().all(|b| b.is_ascii_digit());
        if digits_only && !out.iter().any(|m| m.key == plains[i]) {
            out.push(ModelToken {
                raw: p.to_string(),
                key: plains[i].clone(),
                primary: false,
            });
        }
        let mut raw = p.to_string();
        let mut joined = plains[i].clone();
        if !p.is_ascii() {
            continue;
        }
        for (q, qp) in pieces.iter().zip(&plains).skip(i + 1).take(2) {
            if !q.is_ascii() || qp.is_empty() || qp.len() > 12 || joined.len() > 12 {
                break;
            }
            raw.push(' ');
            raw.push_str(q);
            joined.push_str(qp);
            push(raw.clone(), &joined, false, &mut out);
        }
    }
    out
}

/// Normalises a GTIN (UPC-A, EAN-8/13, GTIN-14) to 14 digits if its GS1 check digit holds.
pub fn gtin14(s: &str) -> Option<String> {
    let digits: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.'))
        .collect();
    if !matches!(digits.len(), 8 | 12 | 13 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = format!("{digits:0>14}");
    let b = padded.as_bytes();
    let sum: u32 = b[..13]
        .iter()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    let check = (10 - sum % 10) % 10;
    (u32::from(b[13] - b'0') == check && padded != "00000000000000").then_some(padded)
}

/// GTINs written in free text: 12 to 14 digits, possibly in groups split by single spaces or
/// dashes ("0-36000-29145-2"), that pass the check digit. Eight-digit runs are left out: one in
/// ten random numbers would pass.
pub fn extract_gtins(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // One run: digit groups joined by a single separator.
        let mut groups: Vec<&str> = Vec::new();
        let mut start = i;
        loop {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            groups.push(&text[start..i]);
            if i + 1 < bytes.len()
                && matches!(bytes[i], b'-' | b' ')
                && bytes[i + 1].is_ascii_digit()
            {
                i += 1;
                start = i;
            } else {
                break;
            }
        }
        for a in 0..groups.len() {
            let mut digits = String::new();
            for g in &groups[a..] {
                digits.push_str(g);
                if digits.len() > 14 {
                    break;
                }
                if digits.len() >= 12
                    && let Some(g) = gtin14(&digits)
                    && !out.contains(&g)
                {
                    out.push(g);
                }
            }
        }
    }
    out
}

/// How a listing's model numbers relate to a banned record's.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelEvidence {
    /// Same model number after normalisation.
    Equal {
        listing: String,
        banned: String,
    },
    /// One contains the other and covers most of it ("40V4100" in "KDL-40V4100").
    Partial {
        listing: String,
        banned: String,
        coverage: f32,
    },
    /// A sibling model of the same family ("KDL-46V4100" against "KDL-40V4100").
    Conflict {
        listing: String,
        banned: String,
    },
    /// Both name model numbers, and they have nothing in common: likely another product.
    Unrelated {
        listing: String,
        banned: String,
    },
    None,
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// Model keys shorter than this ("m552", "25d2") are often series names shared by several
/// products: equal, they count as partial evidence.
const SHORT_MODEL: usize = 5;

/// Character classes of a key with repeats collapsed: "gs7538a" → "a9a".
fn shape(key: &str) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for b in key.bytes() {
        let c = if b.is_ascii_digit() { b'9' } else { b'a' };
        if out.last() != Some(&c) {
            out.push(c);
        }
    }
    out
}

/// Two keys of one family a character or two apart: the same shape of letters and digits,
/// letters and digits in both, a shared prefix or suffix, and at most two edits ("px4470b"
/// against "px4410b", "70z4687" against "70f4687"). Strict enough that a shop's own code beside
/// an equal model number is not taken for one.
pub fn strict_sibling(a: &str, b: &str) -> bool {
    let mixed = |k: &str| {
        k.bytes().any(|c| c.is_ascii_alphabetic()) && k.bytes().any(|c| c.is_ascii_digit())
    };
    let suffix = a
        .bytes()
        .rev()
        .zip(b.bytes().rev())
        .take_while(|(x, y)| x == y)
        .count();
    a != b
        && a.len().min(b.len()) >= 4
        && !suffix_variant(a, b)
        && mixed(a)
        && mixed(b)
        && (common_prefix(a, b) >= 2 || suffix >= 3)
        && shape(a) == shape(b)
        && strsim::levenshtein(a, b) <= 2
}

/// The key without its trailing letters ("wfw8300swh" → "wfw8300"): what colour and region
/// suffixes ("-BK", "-WH", "SW") hang on.
fn stem(key: &str) -> &str {
    key.trim_end_matches(|c: char| c.is_ascii_alphabetic())
}

/// Two keys that differ only in their trailing letters ("yht390bl" and "yht390bk",
/// "wfw8300sw" and "wfw8300swh"): the same model in another colour or for another region,
/// which shops spell their own way. Not a sibling model.
pub fn suffix_variant(a: &str, b: &str) -> bool {
    let (sa, sb) = (stem(a), stem(b));
    a != b && sa == sb && sa.len() >= 4 && sa.bytes().any(|c| c.is_ascii_digit())
}

/// A key's family: its letters, and the shape of its letter and digit runs ("lga1151" and
/// "lga1700" are both `lga:a9`; "i5-2410m" and "i7-6700hq" are `im:a9a` and `ihq:a9a`).
pub fn family_key(key: &str) -> String {
    let mut out = letter_skeleton(key);
    out.push(':');
    out.extend(shape(key).into_iter().map(char::from));
    out
}

/// The letters of a key with its digits left out: what two values of one spec share
/// ("ddr42666" and "ddr43200" are both "ddr").
pub fn letter_skeleton(key: &str) -> String {
    key.chars().filter(|c| c.is_ascii_alphabetic()).collect()
}

/// Compares listing model tokens with a banned record's model numbers (`(raw, key)` pairs).
/// `same_brand`: the listing names the banned brand, so a different model number of the same
/// shape ("GS-1637S" against "GS-7538A") is another product of that brand, a conflict.
pub fn compare_models(
    listing: &[ModelToken],
    banned: &[(String, String)],
    same_brand: bool,
) -> ModelEvidence {
    if listing.is_empty() || banned.is_empty() {
        return ModelEvidence::None;
    }
    // Long keys first: "25d2" may be a series name shared by many models, "ts500gsj25d2" not.
    let mut weak: Option<ModelEvidence> = None;
    for l in listing {
        if let Some((raw, _)) = banned.iter().find(|(_, k)| *k == l.key) {
            if l.key.len() >= SHORT_MODEL {
                return ModelEvidence::Equal {
                    listing: l.raw.clone(),
                    banned: raw.clone(),
                };
            }
            weak.get_or_insert(ModelEvidence::Partial {
                listing: l.raw.clone(),
                banned: raw.clone(),
                coverage: 0.5,
            });
        }
    }
    if let Some(w) = weak {
        return w;
    }
    let mut best: Option<(f32, &ModelToken, &String)> = None;
    for l in listing {
        for (raw, k) in banned {
            if suffix_variant(&l.key, k) {
                let coverage = stem(k).len() as f32 / l.key.len().max(k.len()) as f32;
                if best.is_none_or(|b| coverage > b.0) {
                    best = Some((coverage, l, raw));
                }
            }
        }
    }
    for l in listing {
        for (raw, k) in banned {
            let (short, long) = if l.key.len() <= k.len() {
                (&l.key, k)
            } else {
                (k, &l.key)
            };
            if short.len() >= 5
                && (long.ends_with(short.as_str()) || long.starts_with(short.as_str()))
            {
                let coverage = short.len() as f32 / long.len() as f32;
                if coverage >= 0.6 && best.is_none_or(|b| coverage > b.0) {
                    best = Some((coverage, l, raw));
                }
            }
        }
    }
    if let Some((coverage, l, raw)) = best {
        return ModelEvidence::Partial {
            listing: l.raw.clone(),
            banned: raw.clone(),
            coverage,
        };
    }
    for l in listing.iter().filter(|l| l.primary) {
        for (raw, k) in banned {
            // Same family: a shared prefix that holds the family letters, and a similar shape;
            // or, under the same brand, the same shape of model number.
            let prefix = common_prefix(&l.key, k);
            let family = prefix >= 2
                && l.key.bytes().take(prefix).any(|b| b.is_ascii_alphabetic())
                && strsim::normalized_levenshtein(&l.key, k) >= 0.5;
            let sibling = same_brand && shape(&l.key) == shape(k);
            if family || sibling {
                return ModelEvidence::Conflict {
                    listing: l.raw.clone(),
                    banned: raw.clone(),
                };
            }
        }
    }
    match listing.iter().find(|l| l.primary) {
        Some(l) => ModelEvidence::Unrelated {
            listing: l.raw.clone(),
            banned: banned[0].0.clone(),
        },
        None => ModelEvidence::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &[&str]) -> Vec<(String, String)> {
        v.iter().map(|s| (s.to_string(), model_key(s))).collect()
    }

    #[test]
    fn part_numbers_are_dashed_digit_groups_and_not_dates() {
        assert_eq!(
            part_numbers("jabra biz2300 2393-823-109 mono, garmin 010-01987-21"),
            vec!["2393-823-109", "010-01987-21"]
        );
        assert!(part_numbers("recalled 2024-12-01, call 1-800").is_empty());
        assert_eq!(part_shape("2393-823-109"), vec![4, 3, 3]);
    }

    #[test]
    fn sizes_of_three_sides_are_no_models() {
        let found: Vec<String> = extract_models("Box 452x398.8x243.8 mm, bag 57x78x23")
            .into_iter()
            .filter(|m| m.primary)
            .map(|m| m.key)
            .collect();
        assert!(found.is_empty(), "{found:?}");
        // A code with an x inside is still a code.
        assert!(looks_like_model("dx100x2b"));
    }

    #[test]
    fn words_run_into_numbers_are_told_from_codes() {
        for run_on in ["weight251", "features5", "camera10", "warrantyspecs21"] {
            assert!(word_run_on(run_on), "{run_on}");
        }
        for code in [
            "kdl40v4100",
            "c13t692300",
            "ath-m40x",
            "uap-ac-pro-5",
            "more2",
        ] {
            assert!(!word_run_on(code), "{code}");
        }
    }

    #[test]
    fn reformatted_models_are_equal() {
        for l in [
            "kdl 40v4100",
            "KDL40V4100",
            "KDL_40-V4100",
            "kdl.40v4100",
            "ＫＤＬ－４０Ｖ４１００",
            "KDL-4OV41OO",
        ] {
            let ev = compare_models(
                &extract_models(&format!("Sony TV {l} 40 inch")),
                &keys(&["KDL-40V4100"]),
                false,
            );
            assert!(matches!(ev, ModelEvidence::Equal { .. }), "{l}: {ev:?}");
        }
    }

    #[test]
    fn a_code_in_a_slashed_list_is_equal_and_its_neighbours_no_conflict() {
        let l = extract_models("ADAPTADOR INALAMBRICO TP-LINK/USB 2.0/N300/QSS/TL-WN821N");
        let ev = compare_models(&l, &keys(&["TL-WN821N"]), true);
        assert!(matches!(ev, ModelEvidence::Equal { .. }), "{ev:?}");
        // The parts are there to confirm, never to stand for another product.
        assert!(
            l.iter()
                .filter(|m| m.key == model_key("N300"))
                .all(|m| !m.primary)
        );
        // A part number written with a slash stays one primary code.
        let k = extract_models("Kingston KVR667D2S5/2G memory");
        assert!(
            k.iter()
                .any(|m| m.primary && m.key == model_key("KVR667D2S5/2G"))
        );
    }

    #[test]
    fn sibling_models_conflict() {
        let ev = compare_models(
            &extract_models("Sony KDL-46V4100 46-inch"),
            &keys(&["KDL-40V4100"]),
            false,
        );
        assert!(matches!(ev, ModelEvidence::Conflict { .. }), "{ev:?}");
        let ev = compare_models(
            &extract_models("VoltMax HB-2220X"),
            &keys(&["HB-2210X"]),
            false,
        );
        assert!(matches!(ev, ModelEvidence::Conflict { .. }), "{ev:?}");
        let ev = compare_models(
            &extract_models("V0ltM4x sale2026"),
            &keys(&["HB-2210X"]),
            true,
        );
        // Not a sibling (another shape): only unrelated, a weaker sign.
        assert!(matches!(ev, ModelEvidence::Unrelated { .. }), "{ev:?}");
        let other = extract_models("Glamstyle Flat Iron GS-1637S");
        let banned = keys(&["GS-7538A"]);
        assert!(matches!(
            compare_models(&other, &banned, false),
            ModelEvidence::Unrelated { .. }
        ));
        assert!(matches!(
            compare_models(&other, &banned, true),
            ModelEvidence::Conflict { .. }
        ));
    }

    #[test]
    fn strict_siblings_are_a_character_or_two_apart_in_one_family() {
        assert!(strict_sibling("px4470b", "px4410b"));
        assert!(strict_sibling("kdl46v4100", "kdl40v4100"));
        assert!(!strict_sibling("px4410b", "px4410b"));
        // A shop code of another shape, or far apart, is not a sibling.
        assert!(!strict_sibling("sku88231", "px4410b"));
        assert!(strict_sibling("70z4687", "70f4687"));
        assert!(strict_sibling("xs54", "xs53"));
        // Colour or region suffixes: the same model spelled by another shop.
        assert!(!strict_sibling("yht390bl", "yht390bk"));
        assert!(!strict_sibling("wfw8300sw", "wfw8300swh"));
        assert!(suffix_variant("wdp3n", "wdp3bl"));
        assert!(strict_sibling("adj23334", "avj23334"));
        assert!(!strict_sibling("960001065", "960001066"), "digits only");
        assert!(!strict_sibling("ab12345", "ab67890"));
    }

    #[test]
    fn keys_led_by_a_measure_are_specs() {
        assert!(measure_led("3gbsu2"));
        assert!(!measure_led("26800mahsc5608"));
        assert!(!measure_led("px4410b"));
        assert!(measure_led("500gbx"));
        assert!(measure_led("6gbs25inch"));
    }

    #[test]
    fn models_glued_to_a_measure_are_found() {
        let m = extract_models("【包邮】快充充电宝26800mAhSC-5608");
        assert!(m.iter().any(|t| t.key == model_key("SC-5608")), "{m:?}");
    }

    #[test]
    fn models_glued_to_cjk_are_found() {
        let m = extract_models("온누리전자Onnuri고속충전ONP-7783K 무료배송");
        assert!(
            m.iter()
                .any(|t| t.key == model_key("ONP-7783K") && t.primary),
            "{m:?}"
        );
    }

    #[test]
    fn measurements_are_not_models() {
        let m = extract_models(
            "40-inch 1200W 500ml 3pack 2026 5mg 1080p 100-Piece 3-in-1 3-in-one 23x37 240-pin mpeg-4",
        );
        assert!(m.iter().all(|t| !t.primary), "{m:?}");
    }

    #[test]
    fn gtins_are_checked_and_padded() {
        assert_eq!(gtin14("036000291452").as_deref(), Some("00036000291452"));
        assert_eq!(gtin14("4006381333931").as_deref(), Some("04006381333931"));
        assert_eq!(gtin14("96385074").as_deref(), Some("00000096385074"));
        assert_eq!(gtin14("036000291453"), None);
        assert_eq!(gtin14("12345"), None);
        assert_eq!(
            extract_gtins("UPC 036000291452, lot 1234"),
            vec!["00036000291452"]
        );
    }
}

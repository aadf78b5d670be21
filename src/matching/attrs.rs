//! Numeric attributes with units in titles ("40-inch", "500 GB", "2000W", "12-pack"): two
//! listings of one product line that differ in size or capacity are different products.

use crate::text::normalize::fold;

/// What a unit measures; values are compared only within one class.
fn unit_class(unit: &str) -> Option<(&'static str, f64)> {
    // (class, factor to the class's base unit)
    Some(match unit {
        "in" | "inch" | "inches" | "\"" | "diag" | "diagonal" => ("length-in", 1.0),
        "mm" => ("length", 0.001),
        "cm" => ("length", 0.01),
        "m" | "meter" | "meters" => ("length", 1.0),
        "ft" | "feet" => ("length-ft", 1.0),
        "mb" => ("bytes", 1e-3),
        "gb" => ("bytes", 1.0),
        "tb" => ("bytes", 1e3),
        "w" | "watt" | "watts" => ("power", 1.0),
        "kw" => ("power", 1e3),
        "mah" => ("charge", 1.0),
        "v" | "volt" | "volts" => ("voltage", 1.0),
        "mp" | "megapixel" => ("pixels", 1.0),
        "mg" => ("mass", 1e-3),
        "g" => ("mass", 1.0),
        "kg" => ("mass", 1e3),
        "oz" => ("mass-oz", 1.0),
        "lb" | "lbs" => ("mass-lb", 1.0),
        "ml" => ("volume", 1e-3),
        "l" | "liter" | "litre" => ("volume", 1.0),
        "qt" | "quart" => ("volume-qt", 1.0),
        "pack" | "pk" | "pcs" | "pc" | "count" | "ct" | "piece" | "pieces" => ("count", 1.0),
        "channel" | "channels" | "ch" => ("channels", 1.0),
        "mile" | "miles" => ("range", 1.0),
        "hz" => ("frequency", 1.0),
        "mhz" => ("frequency", 1e6),
        "ghz" => ("frequency", 1e9),
        "x" => ("zoom", 1.0),
        _ => return None,
    })
}

/// `(class, value in the class's base unit)` for every number-with-unit in `text`.
pub fn extract(text: &str) -> Vec<(&'static str, f64)> {
    extract_folded(&fold(text))
}

/// `extract` for text already through `fold`.
pub fn extract_folded(folded: &str) -> Vec<(&'static str, f64)> {
    let chars: Vec<char> = folded.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        // Digits glued to a word ("hb2210x") are no measure; "v4" is a version.
        let glued = i > 0
            && chars[i - 1].is_ascii_alphanumeric()
            && !(chars[i - 1] == 'v' && (i < 2 || !chars[i - 2].is_ascii_alphanumeric()));
        if !chars[i].is_ascii_digit() || glued {
            i += 1;
            continue;
        }
        let start = i;
        let mut number = String::new();
        let mut comma = false;
        while i < chars.len() {
            if chars[i].is_ascii_digit() || chars[i] == '.' {
                number.push(chars[i]);
                i += 1;
                continue;
            }
            // A comma between digits: a decimal comma in most of Europe ("3,7 GHz", "60,5
            // cm"), a thousands separator before three digits ("10,000 mAh").
            let digits_after = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if chars[i] == ',' && i > start && digits_after > 0 && !number.contains('.') {
                comma = true;
                match digits_after {
                    1 | 2 => number.push('.'),
                    3 => {}
                    _ => break,
                }
                i += 1;
                continue;
            }
            break;
        }
        // The unit: after optional " " or "-", a run of letters (or a lone inch mark).
        let mut j = i;
        if j < chars.len() && matches!(chars[j], ' ' | '-') {
            j += 1;
        }
        let ustart = j;
        while j < chars.len() && chars[j].is_ascii_alphabetic() {
            j += 1;
        }
        let mut unit: String = chars[ustart..j].iter().collect();
        // "2007 v4.2": letters running into digits start another token, not a unit.
        if j < chars.len() && chars[j].is_ascii_digit() {
            unit.clear();
        }
        if unit.is_empty() && j < chars.len() && chars[j] == '"' {
            unit = "\"".into();
        }
        let value = number.trim_end_matches('.').parse::<f64>();
        if let (Ok(v), Some((class, factor))) = (&value, unit_class(&unit)) {
            if *v > 0.0 && v.is_finite() {
                out.push((class, v * factor));
            }
        } else if let Ok(v) = value
            && !comma
        {
            // A bare number: a year ("2007"), or a version ("v6", "4.2"), when nothing glues
            // it to a word. Editions and releases differ by exactly these.
            let after_v = start > 0 && chars[start - 1] == 'v';
            let bare = unit.is_empty();
            if bare && v.is_finite() {
                let class = if (1990.0..2040.0).contains(&v) && v.fract() == 0.0 && !after_v {
                    "year"
                } else if v < 100.0 && (after_v || number.contains('.')) {
                    "version"
                } else {
                    ""
                };
                if !class.is_empty() {
                    out.push((class, v));
                }
            }
        }
        i = i.max(start + 1);
    }
    out
}

/// The colours a text names.
pub fn colours(text: &str) -> Vec<&'static str> {
    colours_folded(&fold(text))
}

/// `colours` for text already through `fold`.
pub fn colours_folded(folded: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for w in folded.split(|c: char| !c.is_ascii_alphanumeric()) {
        // Sellers and catalogues write one colour several ways and in several languages.
        if let Some(c) = crate::text::lexicon::colour(w)
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    out
}

/// Both name colours and share none.
pub fn colour_conflict(a: &[&str], b: &[&str]) -> bool {
    !a.is_empty() && !b.is_empty() && !a.iter().any(|c| b.contains(c))
}

/// How two sets of attributes relate: `(agree, conflict)`. A conflict is a class both name
/// with no value in common ("40-inch" against "46-inch"); agreement is a shared value.
pub fn compare(
    a: &[(&'static str, f64)],
    b: &[(&'static str, f64)],
) -> (bool, Option<&'static str>) {
    let mut agree = false;
    let mut conflict = None;
    for (class, _) in a {
        let av: Vec<f64> = a
            .iter()
            .filter(|(c, _)| c == class)
            .map(|(_, v)| *v)
            .collect();
        let bv: Vec<f64> = b
            .iter()
            .filter(|(c, _)| c == class)
            .map(|(_, v)| *v)
            .collect();
        if bv.is_empty() {
            continue;
        }
        let shared = av.iter().any(|x| {
            bv.iter()
                .any(|y| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0))
        });
        if shared {
            agree = true;
        } else {
            conflict = Some(*class);
        }
    }
    (agree, if agree { None } else { conflict })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_capacities_are_read_with_their_units() {
        let a = extract("Sony 40-inch LCD 1200W 20000mAh 12-pack 500 GB");
        assert!(a.contains(&("length-in", 40.0)));
        assert!(a.contains(&("power", 1200.0)));
        assert!(a.contains(&("charge", 20000.0)));
        assert!(a.contains(&("count", 12.0)));
        assert!(a.contains(&("bytes", 500.0)));
        assert!(extract("model hb2210x").is_empty());
        assert_eq!(
            extract("quickbooks pro 2007 v4.2"),
            vec![("year", 2007.0), ("version", 4.2)]
        );
    }

    #[test]
    fn decimal_commas_and_thousands_separators_are_read() {
        assert_eq!(
            extract("Intel Core i3-8300 3,7 GHz"),
            extract("i3-8300 3.7 GHz")
        );
        assert!(extract("Monitor 60,5 cm").contains(&("length", 0.605)));
        assert!(extract("power bank 10,000 mAh").contains(&("charge", 10000.0)));
        // Without a unit a comma is a list ("sizes 8,10,12"), never a version.
        assert!(extract("sizes 8,10,12").is_empty());
    }

    #[test]
    fn colours_conflict_only_when_both_name_one() {
        assert!(colour_conflict(
            &colours("Crosley turntable tan"),
            &colours("crosley cr249 bk")
        ));
        assert!(!colour_conflict(
            &colours("grey case"),
            &colours("Gray phone case")
        ));
        assert!(!colour_conflict(&colours("case"), &colours("black case")));
        // One colour in two languages; two colours in two languages.
        assert!(!colour_conflict(
            &colours("SSD T7 Zwart"),
            &colours("SSD T7 schwarz")
        ));
        assert!(colour_conflict(
            &colours("SSD T7 Zwart"),
            &colours("SSD T7 weiss")
        ));
    }

    #[test]
    fn different_sizes_conflict_and_same_sizes_agree() {
        let (agree, conflict) = compare(&extract("TV 40-inch"), &extract("TV 46\" LCD"));
        assert!(!agree);
        assert_eq!(conflict, Some("length-in"));
        let (agree, conflict) = compare(&extract("1 TB drive"), &extract("1000GB drive"));
        assert!(agree && conflict.is_none());
        assert_eq!(
            compare(&extract("red kettle"), &extract("1.7 l kettle")),
            (false, None)
        );
    }
}

//! Numeric attributes with units in titles ("40-inch", "500 GB", "2000W", "12-pack"): two
//! listings of one product line that differ in size or capacity are different products.

use crate::normalize::fold;

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
    let folded = fold(text);
    let chars: Vec<char> = folded.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
            i += 1;
        }
        let number: String = chars[start..i].iter().collect();
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
        if unit.is_empty() && j < chars.len() && chars[j] == '"' {
            unit = "\"".into();
        }
        if let (Ok(v), Some((class, factor))) = (
            number.trim_end_matches('.').parse::<f64>(),
            unit_class(&unit),
        ) {
            if v > 0.0 && v.is_finite() {
                out.push((class, v * factor));
            }
        }
        i = i.max(start + 1);
    }
    out
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
        assert!(extract("model hb2210x v2").is_empty());
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

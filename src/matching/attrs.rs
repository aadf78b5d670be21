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

/// A release number, `(major, minor, digits of minor)`, the minor's trailing zeros dropped:
/// "2", "2.0" and "v2" are one release, "2.5" and "2.50" another, "2.05" a third.
pub type Release = (u32, u32, u8);

/// The release numbers a title writes: editions and versions of software, books and games,
/// whose two offers often write them two ways ("v22" / "22", "version 10" / "v10 .0",
/// "4.0" / "4", "2nd edition" / "edition 2").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Releases {
    /// Numbers marked as a release: after "v", "ver", "version", "release" or "edition", before
    /// "edition" as an ordinal, or written with a decimal point and no unit.
    pub written: Vec<Release>,
    /// Standalone numbers of one or two digits with no unit: a release only when the other
    /// side writes the same number as one ("the print shop 22" against "printshop v22").
    pub bare: Vec<Release>,
}

/// Words after which a number is a release.
const RELEASE_WORDS: &[&str] = &["v", "ver", "version", "release", "rel", "edition"];

/// A run of ASCII digits from `i`: its end and value (`None` when longer than `max`).
fn digit_run(b: &[u8], i: usize, max: usize) -> (usize, Option<u32>) {
    let mut j = i;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    let value = if j - i <= max {
        std::str::from_utf8(&b[i..j])
            .ok()
            .and_then(|d| d.parse().ok())
    } else {
        None
    };
    (j, value)
}

/// The word of ASCII letters that ends just before `end` (after skipping one "." and spaces).
fn word_before(b: &[u8], end: usize) -> &[u8] {
    let mut e = end;
    while e > 0 && b[e - 1] == b' ' {
        e -= 1;
    }
    if e > 0 && b[e - 1] == b'.' {
        e -= 1;
    }
    let mut s = e;
    while s > 0 && b[s - 1].is_ascii_alphabetic() {
        s -= 1;
    }
    // A word glued to something before it ("xmp2.0" is no "v"), other than "v22" itself.
    if s > 0 && b[s - 1].is_ascii_alphanumeric() {
        return &[];
    }
    &b[s..e]
}

/// [`Releases`] of text already through `fold`.
pub fn releases_folded(folded: &str) -> Releases {
    let b = folded.as_bytes();
    let mut out = Releases::default();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        // Glued to a word ("cs3", "xmp2"): part of a code, but for a lone "v" ("v22").
        let glued_v = start > 0
            && b[start - 1] == b'v'
            && (start < 2 || !b[start - 2].is_ascii_alphanumeric());
        let glued = start > 0
            && (b[start - 1].is_ascii_alphanumeric()
                || (b[start - 1] == b'.' && start > 1 && b[start - 2].is_ascii_digit()))
            && !glued_v;
        let (end, major) = digit_run(b, start, 3);
        i = end;
        if glued {
            continue;
        }
        let marked = glued_v || {
            let w = word_before(b, start);
            RELEASE_WORDS.iter().any(|r| r.as_bytes() == w)
        };
        // The minor part: ".5", and after a marker also " .0" (tokenised "v3 .0").
        let mut minor: Option<(u32, u8)> = None;
        let mut j = end;
        let dot = if j < b.len() && b[j] == b'.' {
            Some(j)
        } else if marked && j + 1 < b.len() && b[j] == b' ' && b[j + 1] == b'.' {
            Some(j + 1)
        } else {
            None
        };
        if let Some(d) = dot
            && d + 1 < b.len()
            && b[d + 1].is_ascii_digit()
        {
            let (e, _) = digit_run(b, d + 1, usize::MAX);
            let digits = std::str::from_utf8(&b[d + 1..e])
                .unwrap_or("")
                .trim_end_matches('0');
            minor = if digits.len() <= 3 {
                Some((digits.parse().unwrap_or(0), digits.len() as u8))
            } else {
                None
            };
            j = e;
            // "10.4.6": the third part says nothing the first two do not.
            while j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
                j = digit_run(b, j + 1, usize::MAX).0;
            }
            i = j;
            if minor.is_none() {
                continue;
            }
        }
        let Some(major) = major else { continue };
        // A decimal comma or a thousands separator ("10,5 cm", "10,000 mAh"): a measure.
        if b.get(j) == Some(&b',') && b.get(j + 1).is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        // What follows: a unit or any glued letters make it a measure or a code ("16gb",
        // "1u", "8.9-inch", "5-user", "2.5\""); an ordinal before "edition" is a release.
        let mut k = j;
        let glued_letters = k < b.len() && b[k].is_ascii_alphabetic();
        if k < b.len() && matches!(b[k], b'"' | b'\'' | b'%') {
            continue;
        }
        if k < b.len() && matches!(b[k], b' ' | b'-') {
            k += 1;
        }
        let ws = k;
        while k < b.len() && b[k].is_ascii_alphabetic() {
            k += 1;
        }
        // Letters running into digits ("3.0 v2") start another token, not a unit.
        let unit = if b.get(k).is_some_and(u8::is_ascii_digit) {
            ""
        } else {
            std::str::from_utf8(&b[ws..k]).unwrap_or("")
        };
        let ordinal = glued_letters
            && minor.is_none()
            && matches!(unit, "st" | "nd" | "rd" | "th")
            && word_after(b, k).is_some_and(|w| w == b"edition" || w == b"ed");
        if ordinal {
            push_new(&mut out.written, (major, 0, 0));
            continue;
        }
        if glued_letters || (b.get(j) == Some(&b'-') && !unit.is_empty()) {
            continue;
        }
        if unit_class(unit).is_some() {
            continue;
        }
        let (minor, places) = minor.unwrap_or((0, 0));
        let release = (major, minor, places);
        let decimal = dot.is_some() && major < 100;
        if marked || decimal {
            push_new(&mut out.written, release);
        } else if major < 100 && (end - start) <= 2 {
            push_new(&mut out.bare, release);
        }
    }
    out
}

/// The word of ASCII letters after the spaces from `k`.
fn word_after(b: &[u8], k: usize) -> Option<&[u8]> {
    let mut s = k;
    while s < b.len() && b[s] == b' ' {
        s += 1;
    }
    let mut e = s;
    while e < b.len() && b[e].is_ascii_alphabetic() {
        e += 1;
    }
    (e > s).then_some(&b[s..e])
}

fn push_new(v: &mut Vec<Release>, r: Release) {
    if !v.contains(&r) {
        v.push(r);
    }
}

/// [`Releases`] of a text.
pub fn releases(text: &str) -> Releases {
    releases_folded(&fold(text))
}

/// How two titles' releases relate: `(agree, conflict)`. They agree when a release one side
/// writes is a release or a standalone number of the other; they conflict when both write
/// releases and none agrees ("mediapro 2.6" / "mediapro 2.5"). Symmetric.
pub fn compare_releases(a: &Releases, b: &Releases) -> (bool, bool) {
    let found = |x: &Releases, y: &Releases| {
        x.written
            .iter()
            .any(|r| y.written.contains(r) || y.bare.contains(r))
    };
    let agree = found(a, b) || found(b, a);
    let conflict = !agree && !a.written.is_empty() && !b.written.is_empty();
    (agree, conflict)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree(a: &str, b: &str) -> (bool, bool) {
        compare_releases(&releases(a), &releases(b))
    }

    #[test]
    fn one_release_written_two_ways_agrees() {
        // Amazon-Google's offers of one product (train split).
        assert_eq!(
            agree("the printshop v22 deluxe", "the print shop 22 deluxe"),
            (true, false)
        );
        assert_eq!(
            agree(
                "marketcircle daylite 3 crm",
                "marketcircle daylite v3 .0 ( mac )"
            ),
            (true, false)
        );
        assert_eq!(
            agree("photoshop elements 4.0 mac", "photoshop elements 4 mac"),
            (true, false)
        );
        assert_eq!(
            agree(
                "home design platinum version 10",
                "home design platinum v10"
            ),
            (true, false)
        );
        assert_eq!(
            agree("printmaster v. 17.0 gold", "printmaster 17 gold"),
            (true, false)
        );
        assert_eq!(
            agree("Calculus, 2nd Edition", "calculus edition 2"),
            (true, false)
        );
        assert_eq!(
            agree("Mac OS X v10.4 Tiger", "mac os x tiger 10.4.6"),
            (true, false)
        );
    }

    #[test]
    fn two_releases_conflict_and_bare_numbers_alone_say_nothing() {
        assert_eq!(
            agree("iview mediapro 2.6", "iview mediapro 2.5"),
            (false, true)
        );
        assert_eq!(agree("captivate v3", "captivate 2.0"), (false, true));
        // Bare numbers on both sides are counts as often as releases.
        assert_eq!(agree("spy sweeper 3 pc", "spy sweeper 3"), (false, false));
        assert_eq!(agree("office 2007 v2", "office 2007"), (false, false));
    }

    #[test]
    fn measures_counts_and_codes_are_no_releases() {
        for t in [
            "16gb card",
            "8.9-inch tablet",
            "2.5\" drive",
            "5-user licence",
            "ed 1u",
            "cs3 xmp2.0 ddr4",
            "1.5 tb drive",
            "10,5 cm",
            "office 2007",
        ] {
            assert_eq!(releases(t), Releases::default(), "{t}");
        }
        assert_eq!(releases("usb 3.0 v2").written, vec![(3, 0, 0), (2, 0, 0)]);
        assert_eq!(releases("tire 29 x 2.50").written, vec![(2, 5, 1)]);
        assert_ne!(releases("v2.05").written, releases("v2.5").written);
    }

    proptest::proptest! {
        #[test]
        fn release_relation_is_symmetric(a in "[a-z0-9 .v\"-]{0,24}", b in "[a-z0-9 .v\"-]{0,24}") {
            let (ra, rb) = (releases(&a), releases(&b));
            proptest::prop_assert_eq!(compare_releases(&ra, &rb), compare_releases(&rb, &ra));
            proptest::prop_assert!(!(compare_releases(&ra, &rb).0 && compare_releases(&ra, &rb).1));
        }

        #[test]
        fn every_writing_of_one_release_agrees(n in 1u32..99, name in "[a-z]{3,8}") {
            let writings = [
                format!("{name} v{n}"),
                format!("{name} version {n}"),
                format!("{name} {n}.0"),
                format!("{name} v {n} .0"),
                format!("{name} {n}"),
            ];
            for a in &writings[..4] {
                for b in &writings {
                    proptest::prop_assert_eq!(compare_releases(&releases(a), &releases(b)), (true, false), "{} / {}", a, b);
                }
            }
        }

        #[test]
        fn reading_releases_is_idempotent_under_fold(s in "\\PC{0,40}") {
            proptest::prop_assert_eq!(releases(&s), releases(&fold(&s)));
        }
    }

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

//! `fold`: NFKC, case folding, invisible characters removed, look-alikes mapped to Latin,
//! spelled-out words ("m e l a t o n i n", "N.i.k.e") joined.

use unicode_normalization::UnicodeNormalization;

/// Korean, Chinese and Japanese characters: kept as they are (a confusable skeleton would
/// decompose Hangul syllables into jamo) and tokenised as character n-grams.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF     // Hangul Jamo
        | 0x3040..=0x30FF   // Hiragana, Katakana
        | 0x3130..=0x318F   // Hangul compatibility Jamo
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified
        | 0xAC00..=0xD7A3   // Hangul syllables
        | 0xF900..=0xFAFF   // CJK compatibility
        | 0x20000..=0x2FA1F)
}

/// Zero-width and other format characters sellers insert to split words invisibly.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xE0000..=0xE0FFF)
}

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF)
}

/// Maps a non-ASCII letter to its Latin look-alike using the UTS #39 confusable skeleton
/// (Cyrillic `а`, Greek `ο`, accented `é` all become ASCII). Only accepted when the skeleton is
/// plain ASCII alphanumerics, so scripts without Latin look-alikes stay intact.
fn push_latin_lookalike(c: char, out: &mut String) {
    let try_map = |c: char| -> Option<String> {
        let s: String = unicode_security::skeleton(c.encode_utf8(&mut [0u8; 4]))
            .filter(|ch| !is_combining(*ch))
            .collect();
        (!s.is_empty() && s.chars().all(|ch| ch.is_ascii_alphanumeric()))
            .then(|| s.to_ascii_lowercase())
    };
    // The character as written first: Greek capital Ν looks like N, its lower case ν like v.
    if let Some(s) = try_map(c) {
        // The skeleton of every vertical bar (I, l, 1, Ι, І) is `l`; a capital one is an I.
        out.push_str(if c.is_uppercase() && s == "l" {
            "i"
        } else {
            &s
        });
        return;
    }
    for lc in c.to_lowercase() {
        if let Some(s) = try_map(lc) {
            out.push_str(&s);
            continue;
        }
        // Some lower-case letters have no entry while their capital does (Cyrillic к → К).
        let mut upper = lc.to_uppercase();
        match (upper.next(), upper.next()) {
            (Some(u), None) if try_map(u).is_some() => {
                out.push_str(&try_map(u).unwrap_or_default())
            }
            _ => out.push(lc),
        }
    }
}

/// Separators that sellers put between the letters of a spelled-out word.
fn is_spelling_separator(c: char) -> bool {
    matches!(c, ' ' | '.' | '-' | '_' | '*' | '·' | '•' | '/' | '+' | '~')
}

/// Normalises text for matching. Idempotent: `fold(fold(s)) == fold(s)`.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        let folded = fold_ascii(s);
        // Most text spells nothing out; finding that needs no copy of it as characters.
        if !spelled_out_ascii(folded.as_bytes()) {
            return folded;
        }
        return collapse_spelled_out(&folded);
    }
    collapse_spelled_out(&fold_unicode(s))
}

/// [`fold_unicode`] for ASCII text, where NFKC changes nothing and no character is invisible,
/// combining or a look-alike: most titles and descriptions, and the normalisation iterator was
/// 2 % of a sweep (tested equal on every ASCII string).
fn fold_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for &b in s.as_bytes() {
        if b.is_ascii_whitespace() || b.is_ascii_control() {
            if !last_space {
                out.push(' ');
                last_space = true;
            }
            continue;
        }
        last_space = false;
        out.push(char::from(b.to_ascii_lowercase()));
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Everything [`fold`] does but collapsing spelled-out words.
fn fold_unicode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for c in s.nfkc() {
        if is_invisible(c) || is_combining(c) {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            if !last_space {
                out.push(' ');
                last_space = true;
            }
            continue;
        }
        last_space = false;
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if is_cjk(c) {
            out.push(c);
        } else {
            push_latin_lookalike(c, &mut out);
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Whether ASCII text holds a run [`collapse_spelled_out`] joins: a single character, a
/// separator, a single character, a separator and a single character. Without one, collapsing
/// changes nothing (tested).
fn spelled_out_ascii(b: &[u8]) -> bool {
    let n = b.len();
    let single = |i: usize| {
        b[i].is_ascii_alphanumeric()
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && (i + 1 == n || !b[i + 1].is_ascii_alphanumeric())
    };
    let sep = |i: usize| is_spelling_separator(char::from(b[i]));
    (0..n.saturating_sub(4))
        .any(|i| single(i) && sep(i + 1) && single(i + 2) && sep(i + 3) && single(i + 4))
}

/// Joins runs of three or more single characters separated by one separator each:
/// "m e l a t o n i n" → "melatonin", "n.i.k.e" → "nike". Two letters ("a b") are left alone:
/// too many ordinary texts have them.
fn collapse_spelled_out(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let single_at = |i: usize| -> bool {
        chars[i].is_alphanumeric()
            && (i == 0 || !chars[i - 1].is_alphanumeric())
            && (i + 1 == n || !chars[i + 1].is_alphanumeric())
    };
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < n {
        if single_at(i) {
            // Extend the run: single, separator, single, separator, ...
            let mut run = vec![chars[i]];
            let mut j = i;
            while j + 2 < n && is_spelling_separator(chars[j + 1]) && single_at(j + 2) {
                run.push(chars[j + 2]);
                j += 2;
            }
            if run.len() >= 3 {
                out.extend(run);
                i = j + 1;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_the_usual_evasions() {
        assert_eq!(fold("VоltMах"), "voltmax"); // Cyrillic о, а, х
        assert_eq!(fold("ＶｏｌｔＭａｘ ＨＢ－２２１０Ｘ"), "voltmax hb-2210x");
        assert_eq!(fold("Vo\u{200b}lt\u{200d}Max"), "voltmax");
        assert_eq!(fold("m e l a t o n i n gummies"), "melatonin gummies");
        assert_eq!(fold("N.i.k.e shoes"), "nike shoes");
        assert_eq!(fold("ΚΙDΟΟΖΙΕ"), "kidoozie"); // Greek capitals
        assert_eq!(fold("ΝVK Nordνik"), "nvk nordvik"); // capital nu is N, small nu is v
        assert_eq!(fold("Crème  Brûlée\t"), "creme brulee");
        assert_eq!(fold("Crème\u{0}x"), "creme x");
    }

    #[test]
    fn keeps_cjk_and_short_pairs() {
        assert_eq!(fold("멜라토닌 5mg"), "멜라토닌 5mg");
        assert_eq!(fold("褪黑素软糖"), "褪黑素软糖");
        assert_eq!(fold("メラトニン"), "メラトニン");
        assert_eq!(fold("size a b"), "size a b");
        assert_eq!(fold("3.5 mm"), "3.5 mm");
    }

    proptest! {
        #[test]
        fn fold_is_idempotent(s in "\\PC{0,40}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once);
        }

        #[test]
        fn the_ascii_path_folds_as_the_unicode_path(s in "[\\x00-\\x7f]{0,60}") {
            prop_assert_eq!(fold_ascii(&s), fold_unicode(&s));
        }

        #[test]
        fn ascii_text_that_spells_nothing_out_is_not_collapsed(
            s in "([a-z0-9]{1,3}[ ._*/+~-]{1,2}){0,10}[a-z]{0,3}"
        ) {
            if !spelled_out_ascii(s.as_bytes()) {
                prop_assert_eq!(collapse_spelled_out(&s), s);
            } else {
                prop_assert_ne!(collapse_spelled_out(&s), s);
            }
        }

        #[test]
        fn fold_is_idempotent_on_spelled_out(s in "([a-zA-Zа-я0-9][ ._-]){0,12}[a-z ]{0,5}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once);
        }
    }
}

//! Token-set and n-gram similarities. Token comparison tolerates one typo (optimal string
//! alignment distance, so a swap of neighbours counts once) in words long enough to carry it.

use crate::text::lexicon::colour;
use crate::text::normalize::{TextKeys, is_cjk};

/// Whether two tokens are the same word up to a typo: equal, or one edit apart when both have
/// at least five characters (shorter words differ by one letter too often: "bag"/"bat").
///
/// The equality and the cheap rejections are inlined into the callers' loops (over every
/// word pair of every candidate, where almost every pair ends there); the typo test is out of
/// line.
#[inline]
pub fn token_close(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    // Cheap rejections first, on bytes (valid for any UTF-8: five characters take at least
    // five bytes, and differing first or last bytes mean differing first or last characters):
    // this runs for every word pair of every candidate.
    let (x, y) = (a.as_bytes(), b.as_bytes());
    // One edit cannot change both the first and the last letter of words this long.
    if x.len().abs_diff(y.len()) > 4
        || x.len().min(y.len()) < 5
        || (x[0] != y[0] && x[x.len() - 1] != y[y.len() - 1])
    {
        return false;
    }
    typo_close(a, b)
}

/// [`token_close`] of two unequal words of at least five bytes each, at most four apart in
/// length, sharing their first or last byte.
#[inline(never)]
fn typo_close(a: &str, b: &str) -> bool {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let ascii = a.is_ascii() && b.is_ascii();
    if ascii && x.len().abs_diff(y.len()) > 1 {
        return false;
    }
    // Numbers must agree exactly: "2210" against "2220" is another product.
    if a.bytes().any(|c| c.is_ascii_digit()) || b.bytes().any(|c| c.is_ascii_digit()) {
        return false;
    }
    if ascii {
        within_one_edit(a.as_bytes(), b.as_bytes())
    } else {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        a.len() >= 5 && b.len() >= 5 && within_one_edit(&a, &b)
    }
}

/// Optimal-string-alignment distance ≤ 1 (one substitution, insertion, deletion or swap of
/// neighbours), in one pass. strsim computes the full distance with a quadratic table and an
/// allocation; this runs for every word pair of every candidate, so it is worth its ten lines.
fn within_one_edit<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let (a, b) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if b.len() - a.len() > 1 {
        return false;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if a.len() == b.len() {
        if p == a.len() {
            return true;
        }
        // Substitution at p, or a swap of p and p + 1.
        a[p + 1..] == b[p + 1..]
            || (p + 1 < a.len() && a[p] == b[p + 1] && a[p + 1] == b[p] && a[p + 2..] == b[p + 2..])
    } else {
        // Insertion into the shorter at p.
        a[p..] == b[p + 1..]
    }
}

/// Whether a word (as written, and its leet key) occurs in `dst`.
///
/// Words with digits (model numbers, sizes) must occur exactly, possibly glued to neighbours;
/// CJK words may occur inside a longer run (Korean and Chinese are often written without
/// spaces); other words match by leet key, up to a typo, or glued inside a longer word; a colour
/// word matches the same colour in another language.
pub fn covers(plain: &str, key: &str, dst: &TextKeys) -> bool {
    covers_or(plain, key, dst, || {
        colour(plain).is_some_and(|c| dst.plain.iter().any(|d| colour(d) == Some(c)))
    })
}

/// [`covers`], with `same_colour` saying whether `dst` names the colour `plain` names (asked
/// last, and only of words without digits or CJK).
fn covers_or(plain: &str, key: &str, dst: &TextKeys, same_colour: impl FnOnce() -> bool) -> bool {
    if plain.bytes().any(|b| b.is_ascii_digit()) {
        return dst.plain.iter().any(|d| d == plain)
            || (plain.len() >= 4 && dst.plain_spaceless.contains(plain));
    }
    if key.chars().next().is_some_and(is_cjk) {
        return dst.tokens.iter().any(|d| d == key)
            || (key.chars().count() >= 2 && dst.spaceless.contains(key));
    }
    // `token_close` holds for equal words too: one pass over the tokens.
    dst.tokens.iter().any(|d| token_close(key, d))
        || (key.chars().count() >= 5 && dst.spaceless.contains(key))
        // "Zwart" is written "black" by another shop.
        || same_colour()
}

/// The colours that words name ([`colour`]), as `(word number, colour)`: looked up once per
/// prepared text instead of in every comparison it takes part in (most texts name none, and
/// the lookup is a long chain of string comparisons).
pub fn colours_of(words: &[String]) -> Vec<(usize, &'static str)> {
    (words.iter().enumerate())
        .filter_map(|(i, w)| Some((i, colour(w)?)))
        .collect()
}

/// [`weighted_coverage`] with the colours of the words and of `dst.plain` already looked up
/// ([`colours_of`] of `plain` and of `dst.plain`): the same result.
pub fn weighted_coverage_coloured(
    plain: &[String],
    keys: &[String],
    weights: &[f32],
    colours: &[(usize, &'static str)],
    dst: &TextKeys,
    dst_colours: &[(usize, &'static str)],
) -> (f32, Vec<bool>) {
    coverage_by(plain, weights, |i| {
        covers_or(&plain[i], &keys[i], dst, || {
            colours
                .iter()
                .any(|&(j, c)| j == i && dst_colours.iter().any(|&(_, d)| d == c))
        })
    })
}

/// Weighted share of the words `(plain[i], keys[i])` found in `dst`, and which were found.
/// `weights[i]` is the weight (rarity) of word `i`.
pub fn weighted_coverage(
    plain: &[String],
    keys: &[String],
    weights: &[f32],
    dst: &TextKeys,
) -> (f32, Vec<bool>) {
    coverage_by(plain, weights, |i| covers(&plain[i], &keys[i], dst))
}

/// Weighted share of the words of `plain` for which `covered(i)` holds, and which did.
fn coverage_by(
    plain: &[String],
    weights: &[f32],
    covered: impl Fn(usize) -> bool,
) -> (f32, Vec<bool>) {
    let total: f32 = weights.iter().sum();
    if plain.is_empty() || total <= 0.0 {
        return (0.0, vec![false; plain.len()]);
    }
    let mut matched = vec![false; plain.len()];
    let mut got = 0.0;
    for i in 0..plain.len() {
        if covered(i) {
            matched[i] = true;
            got += weights[i];
        }
    }
    ((got / total).clamp(0.0, 1.0), matched)
}

/// Share of the n-grams of `a` (sorted, deduplicated) that are also in `b`.
pub fn gram_containment(a: &[u64], b: &[u64]) -> f32 {
    if a.is_empty() {
        return 0.0;
    }
    common_grams(a, b) as f32 / a.len() as f32
}

/// Share of `a`'s n-grams found in `b`, and share of either list's n-grams that both have
/// (Jaccard), from one merge of the two sorted, deduplicated lists.
pub fn gram_overlap(a: &[u64], b: &[u64]) -> (f32, f32) {
    let common = common_grams(a, b);
    let union = a.len() + b.len() - common;
    let share = |n: usize| {
        if n == 0 {
            0.0
        } else {
            common as f32 / n as f32
        }
    };
    (share(a.len()), share(union))
}

/// How many entries two sorted, deduplicated lists share.
fn common_grams(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_colour_is_covered_in_another_language() {
        let de = TextKeys::new("Samsung Portable SSD T7 Touch 2TB schwarz");
        assert!(covers("zwart", "zwart", &de));
        assert!(!covers("wit", "wit", &de));
    }

    #[test]
    fn typos_match_but_numbers_do_not() {
        assert!(token_close("heater", "haeter"));
        assert!(token_close("heater", "heatr"));
        assert!(!token_close("bag", "bat"));
        assert!(!token_close("hb2210", "hb2220"));
        assert!(token_close("charger", "chagrer"));
        assert!(!token_close("charger", "chrgre"));
        assert!(token_close("아기욕조의자", "아기욕조의"));
    }

    fn words(s: &str) -> (Vec<String>, Vec<String>) {
        let k = TextKeys::new(s);
        (k.plain, k.tokens)
    }

    #[test]
    fn rare_words_weigh_more() {
        let (p, k) = words("voltmax power bank");
        let (c, m) = weighted_coverage(&p, &k, &[5.0, 1.0, 1.0], &TextKeys::new("V0LTMAX charger"));
        assert!((c - 5.0 / 7.0).abs() < 1e-6);
        assert_eq!(m, vec![true, false, false]);
    }

    #[test]
    fn numbers_must_agree_and_cjk_may_be_glued() {
        let (p, k) = words("20000mah kdl40v4100 아기 욕조");
        let dst = TextKeys::new("10000mAh KDL 40V4100 아기욕조");
        let (_, m) = weighted_coverage(&p, &k, &[1.0; 4], &dst);
        assert_eq!(m, vec![false, true, true, true]);
    }

    proptest! {
        #[test]
        fn one_edit_agrees_with_strsim(a in "[abc]{0,8}", b in "[abc]{0,8}") {
            let fast = within_one_edit(a.as_bytes(), b.as_bytes());
            prop_assert_eq!(fast, strsim::osa_distance(&a, &b) <= 1);
        }

        #[test]
        fn similarities_stay_in_unit_range(a in proptest::collection::vec(0u64..50, 0..30),
                                           b in proptest::collection::vec(0u64..50, 0..30),
                                           w in proptest::collection::vec(0.0f32..10.0, 5)) {
            let (mut a, mut b) = (a, b);
            a.sort_unstable(); a.dedup(); b.sort_unstable(); b.dedup();
            let g = gram_containment(&a, &b);
            prop_assert!((0.0..=1.0).contains(&g));
            let src: Vec<String> = a.iter().take(5).map(|x| format!("w{x}")).collect();
            let dst = TextKeys::new(&b.iter().map(|x| format!("w{x}")).collect::<Vec<_>>().join(" "));
            let (c, _) = weighted_coverage(&src, &src, &w[..src.len()], &dst);
            prop_assert!((0.0..=1.0).contains(&c));
        }

        #[test]
        fn the_inlined_token_close_is_the_one_it_replaced(
            a in "[abé1ab]{0,8}",
            b in "[abé1ab]{0,8}",
            near in any::<bool>(),
        ) {
            // Near pairs (one edit apart) as often as far ones: the typo test is reached.
            let mut chars = a.chars();
            let b = match chars.next() {
                Some(first) if near => format!("{first}b{}", chars.as_str()),
                _ => b,
            };
            prop_assert_eq!(token_close(&a, &b), token_close_before(&a, &b));
        }

        #[test]
        fn coverage_with_colours_looked_up_once_is_coverage(
            src in proptest::collection::vec(0usize..WORDS.len(), 0..10),
            dst in proptest::collection::vec(0usize..WORDS.len(), 0..10),
            w in proptest::collection::vec(0.0f32..5.0, 10),
        ) {
            let text = |ix: &[usize]| ix.iter().map(|&i| WORDS[i]).collect::<Vec<_>>().join(" ");
            let (s, d) = (TextKeys::new(&text(&src)), TextKeys::new(&text(&dst)));
            let w = &w[..s.plain.len().min(10)];
            let (plain, keys) = (&s.plain[..w.len()], &s.tokens[..w.len()]);
            let before = weighted_coverage(plain, keys, w, &d);
            let after = weighted_coverage_coloured(
                plain, keys, w, &colours_of(plain), &d, &colours_of(&d.plain),
            );
            prop_assert_eq!(before.0.to_bits(), after.0.to_bits());
            prop_assert_eq!(before.1, after.1);
        }
    }

    /// Words of every kind `covers` tells apart: colours in several languages, typos, digits,
    /// CJK, leetspeak, words glued together.
    const WORDS: &[&str] = &[
        "black",
        "zwart",
        "Schwarz",
        "noir",
        "white",
        "wit",
        "weiss",
        "blue",
        "navy",
        "red",
        "rot",
        "grey",
        "gray",
        "heater",
        "haeter",
        "heatr",
        "charger",
        "chagrer",
        "V0ltMax",
        "voltmax",
        "volt",
        "max",
        "power",
        "bank",
        "20000mAh",
        "10000mAh",
        "KDL",
        "40V4100",
        "kdl40v4100",
        "아기",
        "욕조",
        "아기욕조",
        "bag",
        "bat",
        "Bläck",
        "über",
    ];

    /// `token_close` as it was written before its cheap rejections were inlined.
    fn token_close_before(a: &str, b: &str) -> bool {
        if a == b {
            return true;
        }
        let (x, y) = (a.as_bytes(), b.as_bytes());
        if x.len().abs_diff(y.len()) > 4
            || x.len().min(y.len()) < 5
            || (x[0] != y[0] && x[x.len() - 1] != y[y.len() - 1])
        {
            return false;
        }
        let ascii = a.is_ascii() && b.is_ascii();
        if ascii && x.len().abs_diff(y.len()) > 1 {
            return false;
        }
        if a.bytes().any(|c| c.is_ascii_digit()) || b.bytes().any(|c| c.is_ascii_digit()) {
            return false;
        }
        if ascii {
            within_one_edit(a.as_bytes(), b.as_bytes())
        } else {
            let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            a.len() >= 5 && b.len() >= 5 && within_one_edit(&a, &b)
        }
    }
}

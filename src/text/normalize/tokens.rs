//! Tokens of folded text: leet-keyed words, CJK bigrams, and character n-grams of the text with
//! spaces removed (typos, spacing tricks, and Korean/Chinese/Japanese without a dictionary).

use super::{fold, is_cjk, leet_key};

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '@' | '$' | '!' | '|')
}

/// Word tokens of already folded text, as written (not leet-folded). CJK runs are split from
/// Latin runs and kept whole here; [`TextKeys::index_words`] turns them into bigrams.
pub fn plain_tokens(folded: &str) -> Vec<String> {
    let mut out = Vec::new();
    for piece in folded.split(|c: char| !is_word_char(c)) {
        let piece = piece.trim_matches(|c: char| !c.is_alphanumeric());
        if piece.is_empty() {
            continue;
        }
        // Split at script boundaries so "멜라토닌5mg" gives "멜라토닌" and "5mg".
        let mut start = 0;
        let mut prev: Option<bool> = None;
        for (i, c) in piece.char_indices() {
            let cjk = is_cjk(c);
            if prev.is_some_and(|p| p != cjk) {
                push_token(&piece[start..i], &mut out);
                start = i;
            }
            prev = Some(cjk);
        }
        push_token(&piece[start..], &mut out);
    }
    out
}

/// Leet-keyed word tokens of already folded text.
pub fn key_tokens(folded: &str) -> Vec<String> {
    plain_tokens(folded).iter().map(|t| leet_key(t)).collect()
}

fn push_token(t: &str, out: &mut Vec<String>) {
    let t = t.trim_matches(|c: char| !c.is_alphanumeric());
    if !t.is_empty() {
        out.push(t.to_string());
    }
}

/// 64-bit FNV-1a of a character n-gram: rescoring compares hashes, not strings.
fn gram_hash(chars: &[char]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &c in chars {
        h ^= c as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Character n-grams of a spaceless key: trigrams of non-CJK text, bigrams of CJK text (a
/// Korean or Chinese word is often two syllables). Calls `f` with each gram's characters.
pub fn char_grams(spaceless: &str, mut f: impl FnMut(&[char])) {
    let chars: Vec<char> = spaceless.chars().collect();
    let n = chars.len();
    if n > 0 && n < 3 && !chars.iter().any(|c| is_cjk(*c)) {
        f(&chars);
        return;
    }
    for i in 0..n {
        if is_cjk(chars[i]) {
            if i + 1 < n && is_cjk(chars[i + 1]) {
                f(&chars[i..i + 2]);
            } else if i == 0 || !is_cjk(chars[i - 1]) {
                // An isolated CJK character is a word of its own.
                f(&chars[i..i + 1]);
            }
        } else if i + 3 <= n && !chars[i..i + 3].iter().any(|c| is_cjk(*c)) {
            f(&chars[i..i + 3]);
        }
    }
}

/// Every normal form of one text field that matching needs, computed once.
#[derive(Debug, Clone, Default)]
pub struct TextKeys {
    /// `fold`ed text: readable, used in reasons.
    pub folded: String,
    /// Word tokens as written (folded); `tokens[i]` is the leet key of `plain[i]`.
    pub plain: Vec<String>,
    /// Leet-keyed word tokens.
    pub tokens: Vec<String>,
    /// Leet keys joined without spaces.
    pub spaceless: String,
    /// Plain tokens joined without spaces.
    pub plain_spaceless: String,
    /// Sorted, deduplicated hashes of the character n-grams of `spaceless`.
    pub grams: Vec<u64>,
}

impl TextKeys {
    pub fn new(text: &str) -> TextKeys {
        let folded = fold(text);
        let plain = plain_tokens(&folded);
        let tokens: Vec<String> = plain.iter().map(|t| leet_key(t)).collect();
        let spaceless: String = tokens.concat();
        let plain_spaceless: String = plain.concat();
        let mut grams = Vec::with_capacity(spaceless.len());
        char_grams(&spaceless, |g| grams.push(gram_hash(g)));
        grams.sort_unstable();
        grams.dedup();
        TextKeys {
            folded,
            plain,
            tokens,
            spaceless,
            plain_spaceless,
            grams,
        }
    }

    /// Words for the BM25 field: tokens, with CJK tokens as character bigrams.
    pub fn index_words(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.tokens.len());
        for t in &self.tokens {
            if t.chars().next().is_some_and(is_cjk) {
                char_grams(t, |g| out.push(g.iter().collect()));
            } else {
                out.push(t.clone());
            }
        }
        out
    }

    /// N-gram strings for the n-gram field.
    ///
    /// Sorted and deduplicated as the strings would be, but each gram (at most three
    /// characters, twelve bytes) is sorted as its UTF-8 bytes packed big-endian into a number,
    /// with its length to tell a gram from one it begins: a string is made only for each
    /// distinct gram, and no string comparison is made (this runs for every listing).
    pub fn gram_strings(&self) -> Vec<String> {
        let mut packed: Vec<(u128, u8)> = Vec::with_capacity(self.spaceless.len());
        char_grams(&self.spaceless, |g| {
            let mut bytes = [0u8; 16];
            let mut len = 0;
            for c in g {
                // A gram has at most 3 characters; anything longer would not be one.
                let Some(room) = bytes.get_mut(len..) else {
                    return;
                };
                if room.len() < c.len_utf8() {
                    return;
                }
                len += c.encode_utf8(room).len();
            }
            packed.push((u128::from_be_bytes(bytes), len as u8));
        });
        packed.sort_unstable();
        packed.dedup();
        (packed.into_iter())
            .map(|(p, len)| String::from_utf8_lossy(&p.to_be_bytes()[..len as usize]).into_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_scripts_and_fold_leet() {
        let k = TextKeys::new("V0ltM@x 멜라토닌5mg, HOT!!!");
        assert_eq!(k.tokens, vec!["voitmax", "멜라토닌", "smg", "hot"]);
        assert_eq!(k.spaceless, "voitmax멜라토닌smghot");
    }

    #[test]
    fn cjk_words_become_bigrams() {
        let k = TextKeys::new("褪黑素软糖");
        assert_eq!(k.index_words(), vec!["褪黑", "黑素", "素软", "软糖"]);
        let spaced = TextKeys::new("褪 黑 素 软 糖");
        assert_eq!(spaced.grams, k.grams);
    }

    proptest::proptest! {
        #[test]
        fn gram_strings_are_the_sorted_distinct_grams(text in "[a-c0\\x00é褪黑素 ]{0,12}") {
            let k = TextKeys::new(&text);
            let mut strings: Vec<String> = Vec::new();
            char_grams(&k.spaceless, |g| strings.push(g.iter().collect()));
            strings.sort_unstable();
            strings.dedup();
            proptest::prop_assert_eq!(k.gram_strings(), strings);
        }
    }

    #[test]
    fn spacing_tricks_share_grams() {
        let a = TextKeys::new("VoltMax power bank");
        let b = TextKeys::new("Volt Max powerbank");
        assert_eq!(a.grams, b.grams);
    }
}

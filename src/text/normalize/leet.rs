//! Leetspeak folding for brand, term and n-gram keys: "V0ltM4x" and "voltmax" share a key.
//!
//! Only words that contain a letter are folded, so prices and sizes keep their digits. The key
//! is lossy on purpose (`l`, `1`, `i` and `|` are one class): it is compared, never shown.

/// The leet class of one character.
pub fn leet_char(c: char) -> char {
    match c {
        '0' => 'o',
        '1' | 'l' | '!' | '|' => 'i',
        '3' | '€' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' | '+' => 't',
        '8' => 'b',
        _ => c,
    }
}

/// Leet key of one folded word: folded only if it contains a letter.
pub fn leet_key(word: &str) -> String {
    if word.chars().any(|c| c.is_alphabetic()) {
        word.chars().map(leet_char).collect()
    } else {
        word.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leet_and_plain_share_a_key() {
        assert_eq!(leet_key("v0ltm4x"), leet_key("voltmax"));
        assert_eq!(leet_key("k1d00z1e"), leet_key("kidoozie"));
        assert_eq!(leet_key("m3l@t0n1n"), leet_key("melatonin"));
        assert_eq!(leet_key("2026"), "2026");
    }
}

//! Surface agreement of two titles: the tokens with digits each side writes (sizes, codes,
//! versions, counts) and whether the other side writes them too, glued or split.
//!
//! Real offers of one product name its numbers in many ways ("RX5700 XT" / "RX 5700XT",
//! "250 GB" / "250GB"), and offers of two products of one line differ in little else ("Fenix 5X"
//! / "Fenix 5S", "8TB" / "16TB"). Word overlap weighs such a token like any word; here it is
//! looked for inside the other side's text with its spaces and punctuation removed, so a
//! split or glued spelling still agrees and a different number does not. Pair-only: nothing
//! here depends on the other candidates.

/// One side's tokens with digits and its text without separators.
#[derive(Debug, Clone, Default)]
pub struct Surface {
    /// Distinct folded tokens holding a digit, in order of first appearance, with their leet
    /// keys.
    digits: Vec<(String, String)>,
    /// The tokens concatenated without separators ("rx" "5700" → "rx5700"): what the other
    /// side's tokens are looked for in.
    joined: String,
    /// The same for the tokens' leet keys: "K1dzo0ly" is a word written with digits, not a
    /// number, and is found as "kidzooly".
    joined_keys: String,
}

/// How two sides' tokens with digits agree.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SurfaceAgreement {
    /// Share of the banned side's tokens with digits the listing does not write; -1 when it
    /// has none.
    pub missing_in_listing: f32,
    /// Share of the listing's tokens with digits the banned side does not write; -1 when it
    /// has none.
    pub missing_in_banned: f32,
    /// Jaccard of the two sets of tokens with digits; -1 when neither has any.
    pub digits_jaccard: f32,
    /// A code (letters and digits, 4 characters or more) of one side is written by the other.
    pub code_contained: bool,
    /// Both sides write codes and none of them is written by the other.
    pub code_none: bool,
}

fn has_digit(t: &str) -> bool {
    t.bytes().any(|b| b.is_ascii_digit())
}

fn is_code(t: &str) -> bool {
    t.chars().count() >= 4 && has_digit(t) && t.chars().any(char::is_alphabetic)
}

impl Surface {
    /// From folded word tokens and their leet keys (`TextKeys::plain` and `tokens`), the
    /// title's and those that belong to the side without being in its title (its `models`).
    pub fn new<'a>(tokens: impl IntoIterator<Item = (&'a String, &'a String)>) -> Surface {
        let mut s = Surface::default();
        for (t, key) in tokens {
            s.joined.push_str(t);
            s.joined_keys.push_str(key);
            if has_digit(t) && !s.digits.iter().any(|(d, _)| d == t) {
                s.digits.push((t.clone(), key.clone()));
            }
        }
        s
    }

    /// The side writes `token` (leet key `key`), glued or split.
    fn writes(&self, token: &str, key: &str) -> bool {
        self.joined.contains(token) || self.joined_keys.contains(key)
    }

    fn missing_in(&self, other: &Surface) -> f32 {
        if self.digits.is_empty() {
            return -1.0;
        }
        let missing = self
            .digits
            .iter()
            .filter(|(d, k)| !other.writes(d, k))
            .count();
        missing as f32 / self.digits.len() as f32
    }

    fn codes(&self) -> impl Iterator<Item = &(String, String)> {
        self.digits.iter().filter(|(d, _)| is_code(d))
    }

    /// How the listing's side (`self`) and the banned side agree.
    pub fn compare(&self, banned: &Surface) -> SurfaceAgreement {
        let shared = self
            .digits
            .iter()
            .filter(|(_, k)| banned.digits.iter().any(|(_, bk)| bk == k))
            .count();
        let union = self.digits.len() + banned.digits.len() - shared;
        let contained = self.codes().any(|(c, k)| banned.writes(c, k))
            || banned.codes().any(|(c, k)| self.writes(c, k));
        let both_codes = self.codes().next().is_some() && banned.codes().next().is_some();
        SurfaceAgreement {
            missing_in_listing: banned.missing_in(self),
            missing_in_banned: self.missing_in(banned),
            digits_jaccard: if union == 0 {
                -1.0
            } else {
                shared as f32 / union as f32
            },
            code_contained: contained,
            code_none: both_codes && !contained,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize::TextKeys;
    use proptest::prelude::*;

    fn side(text: &str) -> Surface {
        let t = TextKeys::new(text);
        Surface::new(t.plain.iter().zip(&t.tokens))
    }

    fn agree(listing: &str, banned: &str) -> SurfaceAgreement {
        side(listing).compare(&side(banned))
    }

    #[test]
    fn split_and_glued_spellings_agree() {
        let a = agree(
            "Asus TUF 3-RX5700XT-O8G GAMING",
            "Asus TUF Radeon RX 5700 XT O8G",
        );
        assert!(a.code_contained, "{a:?}");
        let a = agree("Samsung 970 EVO 250 GB", "samsung 970 evo 250gb");
        assert_eq!(a.missing_in_listing, 0.0, "{a:?}");
        assert_eq!(a.missing_in_banned, 0.0, "{a:?}");
    }

    #[test]
    fn another_number_of_one_line_is_missing() {
        let a = agree(
            "Seagate IronWolf Pro 16TB NAS",
            "Seagate IronWolf Pro 8TB NAS",
        );
        assert_eq!(a.missing_in_listing, 1.0, "{a:?}");
        assert_eq!(a.missing_in_banned, 1.0, "{a:?}");
        assert_eq!(a.digits_jaccard, 0.0);
        let a = agree("Garmin Fenix 5S sapphire", "Garmin fenix5X plus sapphire");
        assert!(a.code_none || a.missing_in_listing > 0.0, "{a:?}");
    }

    #[test]
    fn a_word_written_with_digits_is_found_by_its_leet_key() {
        let a = agree(
            "K1dzo0ly 70ys magnetic balls",
            "Kidzooly Toys magnetic balls",
        );
        assert_eq!(a.missing_in_banned, 0.0, "{a:?}");
        assert!(!a.code_none, "{a:?}");
    }

    #[test]
    fn sides_without_digits_say_so() {
        let a = agree("red kettle", "blue kettle");
        assert_eq!(a.missing_in_listing, -1.0);
        assert_eq!(a.missing_in_banned, -1.0);
        assert_eq!(a.digits_jaccard, -1.0);
        assert!(!a.code_contained && !a.code_none);
    }

    proptest! {
        #[test]
        fn a_title_agrees_with_itself(t in "[a-z0-9 -]{0,40}") {
            let a = agree(&t, &t);
            prop_assert!(a.missing_in_listing <= 0.0 && a.missing_in_banned <= 0.0);
            prop_assert!(a.digits_jaccard == -1.0 || a.digits_jaccard == 1.0);
            prop_assert!(!a.code_none);
        }

        #[test]
        fn shares_stay_in_range(a in "[a-z0-9 ]{0,30}", b in "[a-z0-9 ]{0,30}") {
            let s = agree(&a, &b);
            for v in [s.missing_in_listing, s.missing_in_banned, s.digits_jaccard] {
                prop_assert!(v == -1.0 || (0.0..=1.0).contains(&v));
            }
        }
    }
}

//! Token-set and n-gram similarities. Token comparison tolerates one typo (optimal string
//! alignment distance, so a swap of neighbours counts once) in words long enough to carry it.

/// Whether two tokens are the same word up to a typo: equal, or one edit apart when both have
/// at least five characters (shorter words differ by one letter too often: "bag"/"bat").
pub fn token_close(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la < 5 || lb < 5 || la.abs_diff(lb) > 1 {
        return false;
    }
    // Numbers must agree exactly: "2210" against "2220" is another product.
    if a.bytes().any(|c| c.is_ascii_digit()) || b.bytes().any(|c| c.is_ascii_digit()) {
        return false;
    }
    strsim::osa_distance(a, b) <= 1
}

/// Weighted share of `src` tokens that have a close token in `dst`, and which matched.
/// `weights[i]` is the weight (rarity) of `src[i]`.
pub fn weighted_coverage(src: &[String], weights: &[f32], dst: &[String]) -> (f32, Vec<bool>) {
    let total: f32 = weights.iter().sum();
    if src.is_empty() || total <= 0.0 {
        return (0.0, vec![false; src.len()]);
    }
    let mut matched = vec![false; src.len()];
    let mut got = 0.0;
    for (i, s) in src.iter().enumerate() {
        if dst.iter().any(|d| d == s) || dst.iter().any(|d| token_close(s, d)) {
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
    common as f32 / a.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn toks(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn typos_match_but_numbers_do_not() {
        assert!(token_close("heater", "haeter"));
        assert!(token_close("heater", "heatr"));
        assert!(!token_close("bag", "bat"));
        assert!(!token_close("hb2210", "hb2220"));
    }

    #[test]
    fn rare_words_weigh_more() {
        let src = toks("voltmax power bank");
        let (c, m) = weighted_coverage(&src, &[5.0, 1.0, 1.0], &toks("voltmax charger"));
        assert!((c - 5.0 / 7.0).abs() < 1e-6);
        assert_eq!(m, vec![true, false, false]);
    }

    proptest! {
        #[test]
        fn similarities_stay_in_unit_range(a in proptest::collection::vec(0u64..50, 0..30),
                                           b in proptest::collection::vec(0u64..50, 0..30),
                                           w in proptest::collection::vec(0.0f32..10.0, 5)) {
            let (mut a, mut b) = (a, b);
            a.sort_unstable(); a.dedup(); b.sort_unstable(); b.dedup();
            let g = gram_containment(&a, &b);
            prop_assert!((0.0..=1.0).contains(&g));
            let src: Vec<String> = a.iter().take(5).map(|x| x.to_string()).collect();
            let dst: Vec<String> = b.iter().map(|x| x.to_string()).collect();
            let (c, _) = weighted_coverage(&src, &w[..src.len()], &dst);
            prop_assert!((0.0..=1.0).contains(&c));
        }
    }
}

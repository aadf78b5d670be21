//! Term rules: a banned substance or category named anywhere in a listing, in any spelling.

use crate::matching::features::PreparedListing;
use crate::model::BannedRecord;
use crate::text::normalize::{TextKeys, is_cjk};
use crate::text::token_close;

struct Spelling {
    raw: String,
    tokens: Vec<String>,
    spaceless: String,
    cjk: bool,
}

struct Rule {
    record: BannedRecord,
    spellings: Vec<Spelling>,
}

/// A term found in a listing.
#[derive(Debug, Clone)]
pub struct TermHit<'a> {
    pub record: &'a BannedRecord,
    pub spelling: &'a str,
    /// False when the listing has the term only up to a typo.
    pub exact: bool,
}

/// All term rules of an index snapshot.
#[derive(Default)]
pub struct TermMatcher {
    rules: Vec<Rule>,
}

impl TermMatcher {
    pub fn new(records: Vec<BannedRecord>) -> TermMatcher {
        let rules = records
            .into_iter()
            .map(|record| {
                let spellings = record
                    .terms
                    .iter()
                    .map(|t| {
                        let k = TextKeys::new(t);
                        Spelling {
                            raw: t.clone(),
                            cjk: k.spaceless.chars().any(is_cjk),
                            tokens: k.tokens,
                            spaceless: k.spaceless,
                        }
                    })
                    .filter(|s| !s.spaceless.is_empty())
                    .collect();
                Rule { record, spellings }
            })
            .collect();
        TermMatcher { rules }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The term rules a listing names, one hit per rule (an exact spelling preferred).
    pub fn find<'a>(&'a self, l: &PreparedListing) -> Vec<TermHit<'a>> {
        let market = l.listing().market.as_deref();
        let toks = &l.all().tokens;
        let mut hits = Vec::new();
        for rule in self.rules.iter().filter(|r| r.record.applies_to(market)) {
            let mut fuzzy: Option<&str> = None;
            let mut exact: Option<&str> = None;
            for s in &rule.spellings {
                let n = s.tokens.len();
                let found = if s.cjk {
                    l.all().spaceless.contains(&s.spaceless)
                } else {
                    toks.windows(n).any(|w| w == s.tokens.as_slice())
                        // Spacing tricks ("mela tonin"), only for words long enough not to
                        // occur by chance inside others.
                        || (s.spaceless.chars().count() >= 6 && l.all().spaceless.contains(&s.spaceless))
                };
                if found {
                    exact = Some(&s.raw);
                    break;
                }
                if fuzzy.is_none()
                    && !s.cjk
                    && n == 1
                    && s.spaceless.chars().count() >= 6
                    && toks.iter().any(|t| token_close(t, &s.spaceless))
                {
                    fuzzy = Some(&s.raw);
                }
            }
            if let Some(spelling) = exact.or(fuzzy) {
                hits.push(TermHit {
                    record: &rule.record,
                    spelling,
                    exact: exact.is_some(),
                });
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::features::Uniform;
    use crate::model::{Listing, RecordKind};

    fn rule() -> TermMatcher {
        TermMatcher::new(vec![BannedRecord {
            id: "T-1".into(),
            kind: RecordKind::Term,
            terms: vec!["melatonin".into(), "멜라토닌".into(), "褪黑素".into()],
            jurisdictions: vec!["KR".into()],
            ..Default::default()
        }])
    }

    fn hits(title: &str, market: Option<&str>) -> Vec<bool> {
        let m = rule();
        let l = Listing {
            id: "L".into(),
            title: title.into(),
            market: market.map(str::to_string),
            ..Default::default()
        };
        let p = PreparedListing::new(&l, Default::default(), &Uniform);
        m.find(&p).iter().map(|h| h.exact).collect()
    }

    #[test]
    fn finds_terms_in_any_spelling() {
        assert_eq!(
            hits("Sleep gummies with m e l a t o n i n", None),
            vec![true]
        );
        assert_eq!(hits("M3L@T0N1N 5mg", Some("KR")), vec![true]);
        assert_eq!(hits("네이처 멜라토닌5mg 60정", Some("KR")), vec![true]);
        assert_eq!(hits("褪黑素软糖", None), vec![true]);
        assert_eq!(hits("melatnin drops", None), vec![false]);
        assert_eq!(hits("melatonin", Some("US")), Vec::<bool>::new());
        assert_eq!(hits("chamomile tea", None), Vec::<bool>::new());
    }
}

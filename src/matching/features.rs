//! Per-pair evidence: what a listing and a banned record share, field by field.
//!
//! Both sides are prepared once (normal forms, tokens, n-grams, identifiers, word rarity), so
//! comparing a listing with each of its candidates is cheap.

use crate::matching::attrs;
use crate::matching::evidence::Origin;
use crate::matching::roles::{self, COMMON_ID, Roles};
use crate::matching::surface::{Surface, SurfaceAgreement};
use crate::model::{BannedRecord, Listing};
use crate::photo::QueryPhotos;
use crate::text::ident::{self, ModelEvidence, ModelToken};
use crate::text::normalize::{TextKeys, leet_key};
use crate::text::{gram_overlap, token_close, weighted_coverage_coloured};

/// Rarity of a word among the banned records (inverse document frequency). Shared by the
/// threads that judge one listing's candidates side by side, hence `Sync`.
pub trait Rarity: Sync {
    fn idf(&self, token: &str) -> f32;
    /// How many banned records carry this identifier key.
    fn id_count(&self, _key: &str) -> u64 {
        1
    }
    /// How many distinct banned products carry this model key ([`roles::distinct_products`]);
    /// a GTIN is counted by [`Rarity::id_count`], records, since a placeholder barcode on
    /// several records says nothing whatever they are.
    fn model_products(&self, key: &str) -> u64 {
        self.id_count(key)
    }
}

/// Photos farther apart than this (the larger of the dHash and pHash distances) are unrelated.
pub const PHOTO_RADIUS: u32 = 16;
/// A PDQ distance (of 256) on the scale of the dHash/pHash distance (of 64) the score uses.
/// Not a quarter: PDQ spreads the edits of one photo wider than the 64-bit hashes do (its usual
/// match threshold is 31; a banner leaves 38–44) while photos of other products stay over 90
/// apart (grocery photos, `benches/photo_robustness.sh`). [`PDQ_RADIUS`] maps to 10, PDQ's 31
/// to 7, and the decisive 4 of 64 to 19 of 256; 77 and beyond are no evidence.
pub fn pdq_on_64(d: u32) -> u32 {
    (d * 10).div_ceil(PDQ_RADIUS)
}

/// PDQ distance (of 256) within which banned photos are retrieved as candidates: above the
/// usual PDQ match threshold (31), since a banner over a photo leaves it 38–44 bits away
/// (measured on the grocery photos, `benches/photo_robustness.sh`), where photos of other
/// products sat more than 90 apart. 48 keeps the multi-index probe at 3 bits per 16-bit chunk.
pub const PDQ_RADIUS: u32 = 48;

/// Consistent keypoints ([`crate::photo::verify`]) at and over which a listing photo is a copy
/// of a banned photo, however edited, when they also cover [`VERIFIED_COVERAGE`] of it.
pub const VERIFIED_INLIERS: u32 = 18;
pub const VERIFIED_COVERAGE: f32 = 0.08;
/// Consistent keypoints from which the aligned-region check ([`crate::photo::aligned`]) is
/// run, and with which, over [`ALIGNED_COVERAGE`] of the banned photo, its agreement at
/// [`ALIGNED_CONFIRMS`] confirms a copy. Chosen on training seeds 1001 and 2002 (drawn photos)
/// and 11 and 22 (grocery photos), every pair of each suite verified (`photos verify-dump`,
/// benches/RESULTS.md): copies the count misses have 10–17 consistent keypoints and mostly
/// agree at 0.76–0.98; other photos with 10 or more agree at most at 0.70, but for one drawn
/// look-alike at 0.84 (the same drawn product in other colours), which 0.85 keeps out.
pub const ALIGNED_FROM: u32 = 10;
pub const ALIGNED_CONFIRMS: f32 = 0.85;
pub const ALIGNED_COVERAGE: f32 = 0.05;
/// Agreement under which fewer than [`ALIGNED_UNREFUTED`] consistent keypoints, though enough
/// for the count, are two look-alikes (a brand's logo on two products agreed at 0.33 with 19);
/// the copies of the same seeds with as few agree at 0.59 or more.
pub const ALIGNED_REFUTES: f32 = 0.45;
/// Colour agreement ([`crate::photo::aligned::colour_agreement`]) an aligned-region
/// confirmation also needs when both photos have colour: look-alikes drawn as the same
/// product in other colours agree in grey up to 0.85 but in colour at most 0.5, recoloured
/// copies at 0.67 or more (every pair of drawn seeds 4242, 5151, 6262, 7373 and grocery seeds
/// 77 and 88 with 10–17 consistent keypoints, `photos verify-dump`). With a colour
/// agreement of [`COLOUR_CLOSE`], a grey agreement of [`ALIGNED_WITH_COLOUR`] confirms: no
/// other photo of those suites reached both (the highest colour agreement among them with a
/// grey one of 0.6 or more was 0.59).
pub const COLOUR_CONFIRMS: f32 = 0.6;
pub const COLOUR_CLOSE: f32 = 0.8;
pub const ALIGNED_WITH_COLOUR: f32 = 0.7;
pub const ALIGNED_UNREFUTED: u32 = 24;

/// What an aligned-region check of banned photo `n` under `v`'s placement needs: the listing
/// photo's thumbnail, the banned photo's stored one and the placement; `None` without any.
fn placed<'a>(
    q: &'a crate::photo::QueryKeypoints,
    b: &'a PreparedBanned,
    n: usize,
    v: &crate::photo::verify::Verified,
) -> Option<(
    &'a crate::photo::aligned::Thumb,
    &'a crate::photo::aligned::Thumb,
    [f32; 6],
)> {
    let (_, stored) = b.thumbs.iter().find(|(m, _)| *m == n)?;
    Some((q.thumb.as_deref()?, stored, v.placement?))
}

/// The aligned-region agreements, grey ([`crate::photo::aligned::agreement`]) and colour
/// ([`crate::photo::aligned::colour_agreement`]), of a verified placement of banned photo `n`
/// (keypoints `k`) in a listing photo (`q`); each `None` without both thumbnails or a placement,
/// colour also when the grey agreement is under [`ALIGNED_WITH_COLOUR`].
fn aligned(
    q: &crate::photo::QueryKeypoints,
    b: &PreparedBanned,
    n: usize,
    k: &crate::photo::keypoints::Keypoints,
    v: &crate::photo::verify::Verified,
) -> (Option<f32>, Option<f32>) {
    let Some((thumb, stored, map)) = placed(q, b, n, v) else {
        return (None, None);
    };
    let (points, mirrored) = (&q.points, q.mirrored);
    let grey = crate::photo::aligned::agreement(points, thumb, mirrored, k, stored, map);
    // Colour only decides a confirmation the grey agreement could give with it
    // ([`PhotoCheck::confirmed`]): under the lower grey bar it is not worth computing.
    let colour = grey
        .is_some_and(|r| r >= ALIGNED_WITH_COLOUR)
        .then(|| crate::photo::aligned::colour_agreement(points, thumb, mirrored, k, stored, map))
        .flatten();
    (grey, colour)
}

/// Median block residual ([`crate::photo::aligned::Disagreement::median`], grey levels) from
/// which, or strongly disagreeing blocks from which ([`GUIDED_STRONG_REFUTES`]), the pixels
/// under a guided placement refute its confirmation: other products of the same kind that the
/// guided pass places well differ over their labels (every pair of drawn tuning seeds 8878766,
/// 8695238, 4805330 and 8900154 whose guided placement agreed at 0.7+ in grey and 0.55+ in
/// colour: 25 of 29 refuted), while the copies it gains agree to the noise level outside an
/// overlay's few blocks (17 of 18 kept there, and the one of grocery seed 3056182;
/// benches/RESULTS.md, photo10).
pub const GUIDED_MEDIAN_REFUTES: f32 = 10.0;
pub const GUIDED_STRONG_REFUTES: u32 = 5;

/// Whether the pixels under a guided placement `g` of banned photo `n` refute it
/// ([`GUIDED_MEDIAN_REFUTES`], [`GUIDED_STRONG_REFUTES`]); not without thumbnails.
fn guided_refuted(
    q: &crate::photo::QueryKeypoints,
    b: &PreparedBanned,
    n: usize,
    k: &crate::photo::keypoints::Keypoints,
    g: &crate::photo::verify::Verified,
) -> bool {
    let Some((thumb, stored, map)) = placed(q, b, n, g) else {
        return false;
    };
    crate::photo::aligned::disagreement(&q.points, thumb, q.mirrored, k, stored, map)
        .is_some_and(|d| d.median >= GUIDED_MEDIAN_REFUTES || d.strong >= GUIDED_STRONG_REFUTES)
}

/// The photo distance (of 64) a verified copy counts as: evidence for review on its own, not
/// the near-exact copy that blocks (a cropped or edited photo may show a variant of the line).
pub const VERIFIED_ON_64: u32 = 5;
/// Keypoints both photos need before a failed verification says anything: a plain photo has
/// too few details to agree on.
const JUDGED_KEYPOINTS: usize = 48;
/// The photo distance a hash match that verification refutes counts as: weak evidence (two
/// look-alike products, not one photo).
pub const REFUTED_ON_64: u32 = 12;

/// Consistent keypoints under which keypoints judged on both photos refute even a near-exact
/// hash match: fewer is no placement at all (unrelated pairs reach 6 about once in 200).
/// Drawn look-alikes (the same silhouette in other colours) sit at hash distance 4 of 64 with
/// 0–5 consistent keypoints (seeds 4242, 5151, 6262, 7373, `relist eval --photos`); the
/// copies of those seeds that only a near-exact hash found had 7 or more.
pub const NEAR_EXACT_REFUTED_UNDER: u32 = 6;

/// The best verification of a listing's photos against a banned record's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhotoCheck {
    /// The listing's photo and the banned record's.
    pub photo: usize,
    pub banned_photo: usize,
    /// The listing photo matched as its mirror image.
    pub mirrored: bool,
    pub verified: crate::photo::verify::Verified,
    /// Both photos had enough keypoints for a failed verification to count against them.
    pub judged: bool,
    /// The second verification guided by the first one's placement
    /// ([`crate::photo::guided::reverify`]), with its aligned-region agreements; run when the
    /// first found a placement ([`GUIDED_FROM`] consistent keypoints) but did not confirm it.
    pub guided: Option<crate::photo::verify::Verified>,
}

/// Consistent keypoints of the first verification from which a pair it does not confirm is
/// verified again, guided by its placement ([`crate::photo::guided`]).
pub const GUIDED_FROM: u32 = 5;
/// Whether checks run the guided verification. Off: on seven drawn seeds it caught 11 more of
/// 3,360 edited copies but flagged 3 more of 2,800 look-alikes (near-identical products agree
/// under a good placement as copies do; benches/RESULTS.md, photo9), against a target of 0.1 %.
/// With the block-by-block refuter ([`GUIDED_MEDIAN_REFUTES`]) it still flagged 2 more of 6,000
/// held-out look-alikes (photo10).
pub const GUIDED_CONFIRMS: bool = false;

/// Whether a verification's aligned-region agreements confirm a copy: grey and colour
/// agreements both high, or colour close and grey fairly high; grey alone when either photo
/// has no colour ([`ALIGNED_CONFIRMS`], [`COLOUR_CONFIRMS`], [`COLOUR_CLOSE`],
/// [`ALIGNED_WITH_COLOUR`]).
fn aligned_confirms(v: &crate::photo::verify::Verified) -> bool {
    v.aligned.is_some_and(|r| match v.colour {
        Some(c) => {
            (r >= ALIGNED_CONFIRMS && c >= COLOUR_CONFIRMS)
                || (r >= ALIGNED_WITH_COLOUR && c >= COLOUR_CLOSE)
        }
        None => r >= ALIGNED_CONFIRMS,
    })
}

impl PhotoCheck {
    /// Whether the keypoints agree: the listing photo shows the banned photo. Enough
    /// consistent keypoints over enough of the banned photo confirm a copy, unless they are
    /// few and the pixels under their placement disagree with the banned photo's
    /// ([`crate::photo::aligned`]: a logo shared by two products); fewer confirm one when the
    /// pixels agree closely: a crop or several edits at once leave too few of the banned
    /// photo's 128 stored keypoints for the count alone. When the pixels disagree under a
    /// placement fitted on few keypoints, they are compared again under the placement the
    /// guided verification refits ([`PhotoCheck::guided`]). Without thumbnails (records
    /// ingested before them) the count alone decides.
    pub fn confirmed(&self) -> bool {
        self.confirming().is_some()
    }

    /// The verification that confirms a copy ([`PhotoCheck::confirmed`]): the first one, or
    /// else the guided one, which confirms only by the aligned region (its count is no
    /// evidence by itself: look-alikes find many keypoints where a rough placement puts them).
    pub fn confirming(&self) -> Option<&crate::photo::verify::Verified> {
        let v = &self.verified;
        let counted = v.inliers >= VERIFIED_INLIERS && v.coverage >= VERIFIED_COVERAGE;
        let refuted =
            v.inliers < ALIGNED_UNREFUTED && v.aligned.is_some_and(|r| r < ALIGNED_REFUTES);
        let by_region = |v: &crate::photo::verify::Verified| {
            v.inliers >= ALIGNED_FROM && v.coverage >= ALIGNED_COVERAGE && aligned_confirms(v)
        };
        if (counted && !refuted) || by_region(v) {
            return Some(v);
        }
        self.guided.as_ref().filter(|g| by_region(g))
    }

    /// Verifies the pairs of photos worth it: those whose descriptors meet as retrieval's do
    /// (bucket and fingerprint, [`crate::photo::descriptors::QueryPrints::votes`]), or all of them when a
    /// hash already found the photos close (`hashed_close`). Shared bucket keys alone are no
    /// test: with 12-bit keys nearly every pair shares a couple, and every text candidate
    /// with photos would be verified.
    ///
    /// `voted` says whether this record is among the few a listing's keypoints vote for most
    /// ([`verified_by_votes`]); a record outside them is verified only when hashed close.
    fn best(
        l: &PreparedListing,
        b: &PreparedBanned,
        hashed_close: bool,
        voted: bool,
    ) -> Option<PhotoCheck> {
        PhotoCheck::best_with(l, b, hashed_close, voted, GUIDED_CONFIRMS)
    }

    /// [`PhotoCheck::best`], with the guided verification run or not (`guided`).
    fn best_with(
        l: &PreparedListing,
        b: &PreparedBanned,
        hashed_close: bool,
        voted: bool,
        guided: bool,
    ) -> Option<PhotoCheck> {
        if !hashed_close && !voted {
            return None;
        }
        let mut best: Option<PhotoCheck> = None;
        for q in &l.photos.keypoints {
            for (n, k, prints) in &b.keypoints {
                if !hashed_close && q.prints.votes(prints) < crate::photo::descriptors::MIN_VOTES {
                    continue;
                }
                let mut v = crate::photo::verify::verify(&q.points, k);
                if v.inliers >= ALIGNED_FROM {
                    (v.aligned, v.colour) = aligned(q, b, *n, k, &v);
                }
                let mut c = PhotoCheck {
                    photo: q.photo,
                    banned_photo: *n,
                    mirrored: q.mirrored,
                    verified: v,
                    judged: q.points.len() >= JUDGED_KEYPOINTS && k.len() >= JUDGED_KEYPOINTS,
                    guided: None,
                };
                if guided && v.inliers >= GUIDED_FROM && !c.confirmed() {
                    c.guided = crate::photo::guided::reverify(&q.points, k, &v).map(|mut g| {
                        if g.inliers >= ALIGNED_FROM {
                            (g.aligned, g.colour) = aligned(q, b, *n, k, &g);
                            // A guided placement that would confirm is judged block by block
                            // as well; a refuted one keeps no agreement to confirm with.
                            if aligned_confirms(&g) && guided_refuted(q, b, *n, k, &g) {
                                (g.aligned, g.colour) = (None, None);
                            }
                        }
                        g
                    });
                }
                if best.is_none_or(|o| c.outranks(&o)) {
                    best = Some(c);
                }
            }
        }
        best
    }

    /// Whether this check is a better account of a listing's photos against a record's than
    /// `other`: a confirmed copy before an unconfirmed pair, however many consistent keypoints
    /// the latter has (a pair the aligned region or the guided verification confirms on a few
    /// keypoints must not be hidden by another photo, or the mirror, with more chance ones);
    /// then more consistent keypoints, then keypoints enough to judge on both photos.
    fn outranks(&self, other: &PhotoCheck) -> bool {
        let rank = |c: &PhotoCheck| (c.confirmed(), c.verified.inliers, c.judged);
        rank(self) > rank(other)
    }

    /// The photo distance the score sees once keypoints have had their say: a confirmed copy
    /// is close whatever its hashes say; a hash match (short of near-exact) that judged
    /// keypoints refute is a look-alike, and a near-exact one too when they find no placement
    /// at all (under [`NEAR_EXACT_REFUTED_UNDER`] consistent keypoints).
    fn fold(photo: Option<(usize, u32)>, check: Option<&PhotoCheck>) -> Option<(usize, u32)> {
        let Some(c) = check else { return photo };
        if c.confirmed() {
            return Some(match photo {
                Some((n, d)) if d <= VERIFIED_ON_64 => (n, d),
                _ => (c.photo, VERIFIED_ON_64),
            });
        }
        match photo {
            Some((n, d)) if c.judged && d > NEAR_EXACT_ON_64 && d < PHOTO_RADIUS => {
                Some((n, d.max(REFUTED_ON_64)))
            }
            Some((n, _)) if c.judged && c.verified.inliers < NEAR_EXACT_REFUTED_UNDER => {
                Some((n, REFUTED_ON_64))
            }
            p => p,
        }
    }
}

/// Candidates of one listing whose photos are verified on the strength of their keypoint votes
/// alone (hash-close ones are verified whatever their votes): as many as keypoint retrieval
/// nominates. Text candidates with photos of the same kind of product collect votes too, and
/// verifying each costs far more than scoring its text.
pub const VOTED_PER_LISTING: usize = 16;

/// Which of `banned` a listing's photos are verified against for their keypoint votes: the
/// [`VOTED_PER_LISTING`] with most votes (the best pair of photos of each, counted as
/// retrieval counts them), at least [`crate::photo::descriptors::MIN_VOTES`]; ties keep the
/// candidates' order. The check then costs a bounded number of verifications, however many
/// text candidates have photos.
pub fn verified_by_votes(l: &PreparedListing, banned: &[&PreparedBanned]) -> Vec<bool> {
    let mut out = vec![false; banned.len()];
    if l.photos.keypoints.is_empty() {
        return out;
    }
    // Each candidate's count is independent of the others'.
    let votes = crate::matching::map_in_order(banned, l.has_photos(), |_, b| {
        best_votes(&l.photos, b.keypoints.iter().map(|(_, _, p)| p.as_slice()))
    });
    for i in most_voted(&votes) {
        out[i] = true;
    }
    out
}

/// Positions of the [`VOTED_PER_LISTING`] most voted of `votes` with at least
/// [`crate::photo::descriptors::MIN_VOTES`], ties to the earlier.
fn most_voted(votes: &[Option<u32>]) -> Vec<usize> {
    let mut ranked: Vec<(u32, usize)> = votes
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.filter(|v| *v >= crate::photo::descriptors::MIN_VOTES)
                .map(|v| (v, i))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .into_iter()
        .take(VOTED_PER_LISTING)
        .map(|(_, i)| i)
        .collect()
}

/// The most votes a listing's keypoints give one banned photo of a record (`banned`: each
/// photo's [`crate::photo::descriptors::prints`]), over every pair of photos; `None` when
/// either side has no keypoints.
pub fn best_votes<'a>(
    l: &QueryPhotos,
    banned: impl Iterator<Item = &'a [u64]> + Clone,
) -> Option<u32> {
    l.keypoints
        .iter()
        .flat_map(|q| banned.clone().map(|p| q.prints.votes(p)))
        .max()
}

/// The closest pair of a listing's photos and a banned record's hash pairs (`pairs`: photos
/// and crops) or PDQs: `(listing photo, distance of 64)` (the larger of the dHash and pHash
/// distances, or PDQ's by [`pdq_on_64`]), and PDQ's own distance (of 256) when PDQ is closer.
pub fn closest_photo(
    l: &QueryPhotos,
    pairs: &[crate::photo::PhotoHashes],
    pdqs: &[crate::photo::Pdq],
) -> (Option<(usize, u32)>, Option<u32>) {
    let photo = l
        .pairs
        .iter()
        .flat_map(|(n, lp)| {
            pairs.iter().map(move |bp| {
                let (d, p) = lp.distances(bp);
                (*n, d.max(p))
            })
        })
        .min_by_key(|(_, d)| *d);
    // PDQ for photos known only by it (a hash-sharing list, a platform sending PDQ).
    let pdq = l
        .pdq
        .iter()
        .flat_map(|(n, lp)| {
            pdqs.iter()
                .map(move |bp| (*n, crate::photo::hamming::distance(lp, bp)))
        })
        .min_by_key(|(_, d)| *d);
    match (photo, pdq) {
        (Some(p), Some((n, d))) if pdq_on_64(d) < p.1 => (Some((n, pdq_on_64(d))), Some(d)),
        (None, Some((n, d))) => (Some((n, pdq_on_64(d))), Some(d)),
        (p, _) => (p, None),
    }
}

/// Which of a listing's photo-only candidates (records a photo hash found, and neither its
/// text, its codes nor keypoint retrieval) are worth reading and judging, from their photos
/// alone (`hits`, in candidate order): those hashed close (under [`PHOTO_RADIUS`], always
/// verified and weighed) and the [`VOTED_PER_LISTING`] most voted by keypoints, ties to the
/// earlier; no other can be among a listing's most voted candidates ([`verified_by_votes`]).
/// The rest have no photo evidence at all (no close hash, no verification): judged, they were
/// judged by a text that retrieval did not find them by, and a far hash brings hundreds of
/// them at 100k banned photos, each a record to read and prepare.
pub fn photo_hits_worth_judging(
    l: &QueryPhotos,
    hits: &[&crate::photo::BannedPhotoPrints],
) -> Vec<bool> {
    let mut out: Vec<bool> = hits
        .iter()
        .map(|b| {
            closest_photo(l, &b.pairs, &b.pdqs)
                .0
                .is_some_and(|(_, d)| d < PHOTO_RADIUS)
        })
        .collect();
    if l.keypoints.is_empty() {
        return out;
    }
    let votes: Vec<Option<u32>> = hits
        .iter()
        .map(|b| best_votes(l, b.prints.iter().map(|p| &p[..])))
        .collect();
    for i in most_voted(&votes) {
        out[i] = true;
    }
    out
}

/// A hash distance (of 64) at or under which photos are one photo re-encoded, whatever the
/// keypoints say (a blur or a heavy recompression can leave them few).
pub const NEAR_EXACT_ON_64: u32 = 4;

/// Every word equally rare: for tests and for comparisons without an index.
pub struct Uniform;

impl Rarity for Uniform {
    fn idf(&self, _: &str) -> f32 {
        1.0
    }
}

/// Distinct words of a text: `(as written, leet keys)`.
fn distinct_words(k: &TextKeys) -> (Vec<String>, Vec<String>) {
    let (mut plain, mut keys): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for (p, key) in k.plain.iter().zip(&k.tokens) {
        if !plain.contains(p) {
            plain.push(p.clone());
            keys.push(key.clone());
        }
    }
    (plain, keys)
}

pub(crate) fn brand_key(brand: Option<&str>) -> Option<String> {
    let k = TextKeys::new(brand?).spaceless;
    (k.chars().count() >= 3).then_some(k)
}

/// A piece of a joined token that could itself be a spec: letters and digits as written
/// ("3gb/s", not "lu", whose swap class "1u" only looks like one).
fn spec_like(piece: &str) -> bool {
    piece.len() >= 3
        && piece.bytes().any(|b| b.is_ascii_digit())
        && piece.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Two spellings of one brand that shops write differently: one begins with the other ("sony"
/// and "sony electronics", "logitech" and "logitech inc").
fn brand_alias(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 3 && long.starts_with(short)
}

/// A banned product, ready to be compared.
#[derive(Debug)]
pub struct PreparedBanned {
    pub record: BannedRecord,
    pub title: TextKeys,
    /// Distinct title words as written, their leet keys, and their rarity.
    pub words: Vec<String>,
    pub keys: Vec<String>,
    pub weights: Vec<f32>,
    /// Title, brand and model numbers: what a listing's words are looked up in.
    pub side: TextKeys,
    pub brand_key: Option<String>,
    /// `(as written, key)` of every model number: the `models` field and those in the title.
    pub models: Vec<(String, String)>,
    /// Keys of the record's own `models` field: its identity.
    pub explicit: Vec<String>,
    /// How many banned records carry each of `models` (looked up once, not per listing).
    pub model_counts: Vec<u64>,
    /// Dashed part numbers of the title ([`ident::part_numbers`]).
    pub parts: Vec<String>,
    pub gtins: Vec<String>,
    /// Numbers with units in the title.
    pub attrs: Vec<(&'static str, f64)>,
    pub colours: Vec<&'static str>,
    /// Release numbers of the title (editions, versions).
    pub releases: attrs::Releases,
    /// Photo hashes (precomputed, or hashed at ingest), then those of the photos' crops.
    pub photos: Vec<crate::photo::PhotoHashes>,
    /// PDQ hashes of the photos.
    pub pdqs: Vec<crate::photo::Pdq>,
    /// Keypoints of the photos: `(photo number, keypoints, their retrieval entries)`
    /// ([`crate::photo::descriptors::prints`]).
    pub keypoints: Vec<(usize, crate::photo::keypoints::Keypoints, Vec<u64>)>,
    /// Grey thumbnails of the photos, `(photo number, thumbnail)`, stored at ingest for the
    /// aligned-region check ([`crate::photo::aligned`]); none in indexes written before them.
    pub thumbs: Vec<(usize, crate::photo::aligned::Thumb)>,
    /// A price, when the record carries one (`price`, kept as an extra field).
    pub price: Option<f64>,
    /// Tokens with digits of the title, brand and models.
    pub surface: Surface,
    /// Colours named by `words` and by `side.plain` ([`crate::text::colours_of`]).
    pub word_colours: Vec<(usize, &'static str)>,
    pub side_colours: Vec<(usize, &'static str)>,
}

/// A banned record's title, brand and models in one text: what a listing's words are looked
/// for in beside the title ([`PreparedBanned::side`]).
pub fn side_text(record: &BannedRecord) -> String {
    format!(
        "{} {} {}",
        record.title,
        record.brand.as_deref().unwrap_or(""),
        record.models.join(" ")
    )
}

/// A listing's title and brand in one text: the words a listing is judged by first.
pub fn head_text(listing: &Listing) -> String {
    match &listing.brand {
        Some(b) => format!("{} {b}", listing.title),
        None => listing.title.clone(),
    }
}

impl PreparedBanned {
    pub fn new(record: BannedRecord, rarity: &dyn Rarity) -> PreparedBanned {
        let title = TextKeys::new(&record.title);
        let side = TextKeys::new(&side_text(&record));
        let mut models =
            ident::record_models(&record.models, &record.title, record.description.as_deref());
        // The index keeps every term; the comparison drops a description's run-on words.
        models.retain(|(raw, key)| {
            !ident::word_run_on(raw)
                || title.folded.contains(raw.as_str())
                || record.models.iter().any(|m| ident::model_key(m) == *key)
        });
        // The title's words without the pieces of its model numbers: identifiers are weighed
        // by their own evidence, so a listing that leaves out the model is not also short of
        // words.
        let model_words: Vec<String> = models
            .iter()
            // Only the words: a model's keys and n-grams are not needed here.
            .flat_map(|(raw, _)| {
                crate::text::normalize::plain_tokens(&crate::text::normalize::fold(raw))
            })
            .collect();
        let (mut words, mut keys) = distinct_words(&title);
        if words.iter().any(|w| !model_words.contains(w)) {
            let kept: Vec<bool> = words.iter().map(|w| !model_words.contains(w)).collect();
            let mut it = kept.iter();
            words.retain(|_| *it.next().unwrap_or(&true));
            let mut it = kept.iter();
            keys.retain(|_| *it.next().unwrap_or(&true));
        }
        let weights = keys.iter().map(|k| rarity.idf(k)).collect();
        PreparedBanned {
            word_colours: crate::text::colours_of(&words),
            side_colours: crate::text::colours_of(&side.plain),
            // The title was folded once, for its keys.
            attrs: attrs::extract_folded(&title.folded),
            colours: attrs::colours_folded(&title.folded),
            releases: attrs::releases_folded(&title.folded),
            photos: {
                let mut p = crate::photo::photos(&record.image_hashes);
                p.extend(crate::photo::crop_photos(&record.image_hashes));
                p
            },
            pdqs: crate::photo::pdqs(&record.image_hashes),
            keypoints: crate::photo::record_keypoints(&record.image_hashes)
                .into_iter()
                .map(|(n, k)| {
                    let prints = crate::photo::descriptors::prints(&k);
                    (n, k, prints)
                })
                .collect(),
            thumbs: crate::photo::record_thumbs(&record.image_hashes),
            price: record
                .extra
                .get("price")
                .and_then(|v| v.as_f64())
                .filter(|p| *p > 0.0),
            brand_key: brand_key(record.brand.as_deref()),
            explicit: record.models.iter().map(|m| ident::model_key(m)).collect(),
            model_counts: models
                .iter()
                .map(|(_, k)| rarity.model_products(k))
                .collect(),
            gtins: record.gtins.clone(),
            parts: ident::part_numbers(&title.folded),
            surface: Surface::banned(side.plain.iter().zip(&side.tokens)),
            title,
            words,
            keys,
            weights,
            side,
            models,
            record,
        }
    }

    /// Another banned record of the same product, as shops and regulators each list it: the
    /// two share an identifying code and nothing sets them apart
    /// ([`roles::ProductKeys::compatible`]). What a listing's margin is not measured against.
    pub fn same_product(&self, o: &PreparedBanned, roles: &Roles) -> bool {
        let shared = self
            .models
            .iter()
            .zip(&self.model_counts)
            .any(|((raw, key), count)| {
                key.len() >= 5
                    && *count < COMMON_ID
                    && !roles.is_attribute(key, raw)
                    && o.models.iter().any(|(_, k)| k == key)
            });
        shared && self.product_keys().compatible(&o.product_keys())
    }

    fn product_keys(&self) -> roles::ProductKeys<'_> {
        roles::ProductKeys {
            brand: self.brand_key.as_deref(),
            explicit: self.explicit.iter().map(String::as_str).collect(),
            codes: self.models.iter().map(|(_, k)| k.as_str()).collect(),
            attrs: &self.attrs,
            colours: &self.colours,
        }
    }

    /// Where a model number of this record was found.
    pub fn model_origin(&self, raw: &str) -> Origin {
        let key = ident::model_key(raw);
        if self
            .record
            .models
            .iter()
            .any(|m| ident::model_key(m) == key)
        {
            Origin::Models
        } else if self.title.folded.contains(raw) {
            Origin::Title
        } else {
            Origin::Description
        }
    }
}

/// A listing, ready to be compared with any number of candidates.
///
/// Preparing reads nothing: the listing's photos come already resolved into hashes
/// ([`QueryPhotos`]), so whoever prepares a listing decides which files, uploads or hashes it
/// may use (the server never reads a path a caller names).
#[derive(Debug)]
pub struct PreparedListing<'a> {
    listing: &'a Listing,
    /// Title and brand.
    head: TextKeys,
    /// Title, brand and description: where term rules are looked for.
    all: TextKeys,
    /// Distinct title words as written, their leet keys, and their rarity.
    words: Vec<String>,
    keys: Vec<String>,
    weights: Vec<f32>,
    brand_key: Option<String>,
    models: Vec<ModelToken>,
    /// Keys of the listing's own `models` field.
    explicit: Vec<String>,
    /// How many banned records carry each of `models`, and each piece of a joined one.
    model_counts: Vec<(u64, bool)>,
    gtins: Vec<String>,
    /// Dashed part numbers of the title and brand ([`ident::part_numbers`]).
    parts: Vec<String>,
    attrs: Vec<(&'static str, f64)>,
    colours: Vec<&'static str>,
    releases: attrs::Releases,
    /// The photos to compare, by listing photo number, and the photos that could not be used.
    photos: QueryPhotos,
    /// Tokens with digits of the title, brand and `models` field.
    surface: Surface,
    /// Colours named by `words` and by `head.plain` ([`crate::text::colours_of`]).
    word_colours: Vec<(usize, &'static str)>,
    head_colours: Vec<(usize, &'static str)>,
}

impl<'a> PreparedListing<'a> {
    pub fn new(
        listing: &'a Listing,
        photos: QueryPhotos,
        rarity: &dyn Rarity,
    ) -> PreparedListing<'a> {
        // Each text is folded once: folding is most of a listing's preparation.
        let title = TextKeys::new(&listing.title);
        let head_text = head_text(listing);
        let head = match &listing.brand {
            Some(_) => TextKeys::new(&head_text),
            None => title.clone(),
        };
        let all = match &listing.description {
            Some(d) => TextKeys::new(&format!("{head_text} {d}")),
            None => head.clone(),
        };
        let (words, keys) = distinct_words(&title);
        let weights = keys.iter().map(|k| rarity.idf(k)).collect();
        let mut models: Vec<ModelToken> = listing
            .models
            .iter()
            .map(|m| ModelToken {
                raw: m.clone(),
                key: ident::model_key(m),
                primary: true,
            })
            .filter(|m| m.key.len() >= 3)
            .collect();
        for m in ident::extract_models_folded(&all.folded) {
            // A description's run-on words ("weight251") are no codes ([`ident::word_run_on`]).
            let run_on = ident::word_run_on(&m.raw) && !head.folded.contains(m.raw.as_str());
            if !run_on && !models.iter().any(|x| x.key == m.key) {
                models.push(m);
            }
        }
        let mut gtins: Vec<String> = listing
            .gtins
            .iter()
            .filter_map(|g| ident::gtin14(g))
            .collect();
        for g in ident::extract_gtins(&all.folded) {
            if !gtins.contains(&g) {
                gtins.push(g);
            }
        }
        let model_keys: Vec<TextKeys> = listing.models.iter().map(|m| TextKeys::new(m)).collect();
        let surface = Surface::listing(
            head.plain.iter().zip(&head.tokens).chain(
                model_keys
                    .iter()
                    .flat_map(|k| k.plain.iter().zip(&k.tokens)),
            ),
        );
        PreparedListing {
            word_colours: crate::text::colours_of(&words),
            head_colours: crate::text::colours_of(&head.plain),
            surface,
            parts: ident::part_numbers(&head.folded),
            attrs: attrs::extract_folded(&title.folded),
            colours: attrs::colours_folded(&title.folded),
            releases: attrs::releases_folded(&title.folded),
            photos,
            explicit: listing.models.iter().map(|m| ident::model_key(m)).collect(),
            model_counts: models
                .iter()
                .map(|m| {
                    let pieces_common = !m.primary
                        && m.raw.contains(' ')
                        && m.raw.split(' ').any(|p| {
                            spec_like(p)
                                && rarity.model_products(&ident::model_key_folded(p)) >= COMMON_ID
                        });
                    (rarity.model_products(&m.key), pieces_common)
                })
                .collect(),
            listing,
            brand_key: brand_key(listing.brand.as_deref()),
            head,
            all,
            words,
            keys,
            weights,
            models,
            gtins,
        }
    }

    pub fn listing(&self) -> &'a Listing {
        self.listing
    }

    /// Title and brand, normalised.
    pub fn head(&self) -> &TextKeys {
        &self.head
    }

    /// Title, brand and description, normalised.
    pub fn all(&self) -> &TextKeys {
        &self.all
    }

    /// Model numbers: the `models` field first, then those found in the text.
    pub fn models(&self) -> &[ModelToken] {
        &self.models
    }

    /// GTIN-14s: the `gtins` field (valid ones), then those found in the text.
    pub fn gtins(&self) -> &[String] {
        &self.gtins
    }

    /// The photos compared, by listing photo number.
    pub fn photos(&self) -> &QueryPhotos {
        &self.photos
    }

    /// Whether this listing has photo work per candidate (hashes, keypoints): then its
    /// candidates are judged on both cores ([`crate::matching::map_in_order`]).
    pub fn has_photos(&self) -> bool {
        let p = &self.photos;
        !(p.pairs.is_empty() && p.pdq.is_empty() && p.keypoints.is_empty())
    }

    /// Where a model number of this listing was found.
    pub fn model_origin(&self, raw: &str) -> Origin {
        let key = ident::model_key(raw);
        if self
            .listing
            .models
            .iter()
            .any(|m| ident::model_key(m) == key)
        {
            Origin::Models
        } else if self.head.folded.contains(raw) {
            Origin::Title
        } else {
            Origin::Description
        }
    }
}

/// A listing's model tokens split by role once, whatever the candidate: codes that may name a
/// product, and the spec tokens (attributes many products name) compared as attributes.
#[derive(Debug, Clone, Default)]
pub struct ListingCodes {
    ids: Vec<ModelToken>,
    specs: Vec<ModelToken>,
    /// The leet key of each of `ids` as written: what a code that may be leetspeak for a
    /// banned word is compared by, the same for every candidate.
    leets: Vec<String>,
}

impl ListingCodes {
    pub fn new(l: &PreparedListing, roles: &Roles) -> ListingCodes {
        let learned = |key: &str, raw: &str| roles.is_attribute(key, raw);
        let mut out = ListingCodes::default();
        for (m, (count, pieces_common)) in l.models.iter().zip(&l.model_counts) {
            let explicit = l.explicit.contains(&m.key);
            // A join of neighbours ("3gb/s u.2") that holds an attribute is no code either.
            let joined_attribute = !m.primary
                && m.raw.contains(' ')
                && (*pieces_common
                    || m.raw
                        .split(' ')
                        .any(|p| spec_like(p) && learned(&ident::model_key_folded(p), p)));
            let attribute =
                !explicit && (learned(&m.key, &m.raw) || *count >= COMMON_ID || joined_attribute);
            if !attribute {
                out.ids.push(m.clone());
                out.leets.push(leet_key(&m.raw));
            } else if m.primary {
                out.specs.push(m.clone());
            }
        }
        out
    }
}

/// The first listing code that `keep` admits and that is a strict sibling of a banned code:
/// (listing code, banned code), as written.
fn sibling_code(
    listing: &[ModelToken],
    banned: &[(String, String)],
    keep: impl Fn(&ModelToken) -> bool,
) -> Option<(String, String)> {
    listing.iter().filter(|m| keep(m)).find_map(|m| {
        banned
            .iter()
            .find(|(_, k)| ident::strict_sibling(&m.key, k))
            .map(|(raw, _)| (m.raw.clone(), raw.clone()))
    })
}

/// Whether the banned brand shows in the listing.
#[derive(Debug, Clone, PartialEq)]
pub enum BrandEvidence {
    /// Found; 1.0 exactly (after normalisation), less when only close.
    Match(f32),
    /// The listing names a brand, and it is not the banned one.
    Mismatch,
    Unknown,
}

fn brand_evidence(l: &PreparedListing, b: &PreparedBanned) -> BrandEvidence {
    let Some(bk) = &b.brand_key else {
        return BrandEvidence::Unknown;
    };
    if l.brand_key.as_ref() == Some(bk) || l.head.spaceless.contains(bk.as_str()) {
        return BrandEvidence::Match(1.0);
    }
    if let Some(lk) = &l.brand_key
        && (strsim::jaro_winkler(lk, bk) >= 0.9 || brand_alias(lk, bk))
    {
        return BrandEvidence::Match(0.8);
    }
    // A typo'd brand inside the title, possibly split in two words ("volt maks").
    let toks = &l.head.tokens;
    let mut glued = String::new();
    let close = toks.iter().any(|t| token_close(t, bk))
        || toks.windows(2).any(|w| {
            // Only pairs of a length one typo away are worth gluing together.
            (w[0].len() + w[1].len()).abs_diff(bk.len()) <= 4 && {
                glued.clear();
                glued.push_str(&w[0]);
                glued.push_str(&w[1]);
                token_close(&glued, bk)
            }
        });
    if close {
        return BrandEvidence::Match(0.8);
    }
    if l.brand_key.is_some() {
        BrandEvidence::Mismatch
    } else {
        BrandEvidence::Unknown
    }
}

/// The evidence for one listing–banned pair.
#[derive(Debug, Clone)]
pub struct Features {
    /// Rarity-weighted share of the banned title's words found in the listing.
    pub coverage: f32,
    /// Share of the banned title's character n-grams found in the listing.
    pub grams: f32,
    /// Rarity-weighted share of the listing title's words found in the banned record.
    pub precision: f32,
    pub model: ModelEvidence,
    /// How identifying the equal (or covering) code is, in [0, 1] (see [`roles::identity`]).
    pub model_identity: f32,
    /// The banned side of the model relation is the record's own `models` value.
    pub model_explicit: bool,
    /// The banned record has a `models` field: then codes of its title are not its identity.
    pub banned_has_models: bool,
    /// The banned record has a brand.
    pub banned_brand_known: bool,
    /// The listing names a code (not a spec) that the banned record does not.
    pub listing_other_code: bool,
    /// Beside an equal code, a listing code of the same family with another value: the
    /// listing may name two models, so the equal one is not identity on its own.
    pub code_conflict: Option<(String, String)>,
    /// Spec tokens (attributes many products name) both sides name, as written in the listing
    /// and in the banned record.
    pub spec_shared: Vec<(String, String)>,
    /// A spec of one kind with different values on the two sides ("DDR4-2666" / "DDR4-3200").
    pub spec_conflict: Option<(String, String)>,
    /// Dashed part numbers of one shape on both sides and none equal ("2393-823-109" /
    /// "2399-829-109"): the same line, another product. Keeps a pair from blocking; not a
    /// feature of the model (digits alone only confirm).
    pub part_conflict: Option<(String, String)>,
    /// Distinct title words on each side, and the share of them both have (Jaccard).
    pub listing_words: usize,
    pub banned_words: usize,
    pub jaccard: f32,
    /// Share of the two titles' character n-grams that both have (Jaccard).
    pub gram_jaccard: f32,
    /// How the tokens with digits of the two sides agree.
    pub surface: SurfaceAgreement,
    /// A valid GTIN equal on both sides, that few banned records share.
    pub gtin: Option<String>,
    pub brand: BrandEvidence,
    /// Banned title words found in the listing, as written in the banned title.
    pub shared_words: Vec<String>,
    /// Another banned record's brand that the listing names (see `other_brand`).
    pub other_brand: Option<String>,
    /// This candidate's text signal minus the best other candidate's, in [-1, 1]: a listing
    /// is one product, so the candidate that stands out is the likelier one.
    pub margin: f32,
    /// A number with a unit both name with the same value.
    pub attr_agree: bool,
    /// A measure both name with different values ("40-inch" against "46-inch").
    pub attr_conflict: Option<&'static str>,
    /// Both titles name colours and share none.
    pub colour_conflict: bool,
    /// A release (edition, version) one title writes is the other's, however written.
    pub release_agree: bool,
    /// Both titles write releases and none agrees.
    pub release_conflict: bool,
    /// The closest photo pair: (listing photo number, distance = the larger of the dHash and
    /// pHash distances, of 64; for PDQ, its distance of 256 mapped by [`pdq_on_64`]).
    pub photo: Option<(usize, u32)>,
    /// The closest photo pair by its hashes alone, before keypoints had their say.
    pub photo_hashed: Option<(usize, u32)>,
    /// The PDQ distance (of 256) when the closest photo pair was found by PDQ.
    pub photo_pdq: Option<u32>,
    /// The best geometric verification of a listing photo's keypoints against a banned
    /// photo's, when both have keypoints and share enough detail to be worth it.
    pub photo_check: Option<PhotoCheck>,
    /// |ln(listing price / banned price)|, capped at 2 and scaled to [0, 1]; 0 when either
    /// price is unknown. Weak evidence: resellers discount.
    pub price_gap: f32,
    /// |ln(listing price / banned price)| uncapped, when both sides carry a price. Prices
    /// carry no currency: a gap of several times may be another product or the same product
    /// priced in CZK against EUR (WDC Products' shops), so the trees may see it apart from
    /// `price_gap`, which cannot tell a known equal price from an unknown one.
    pub price_log_ratio: Option<f32>,
    /// The learned weight ([`crate::matching::variants`]) of the most telling title word the
    /// listing writes and the banned record does not, and the other way round: "CS4" against
    /// "CS3", "upgrade", "Mac".
    pub variant_listing: f32,
    pub variant_banned: f32,
}

impl Features {
    pub fn compute(
        l: &PreparedListing,
        b: &PreparedBanned,
        rarity: &dyn Rarity,
        roles: &Roles,
    ) -> Features {
        Features::compute_with(l, &ListingCodes::new(l, roles), b, rarity, roles, true)
    }

    /// [`Features::compute`] with the listing's codes already split by role: what a matcher
    /// comparing one listing with many candidates calls. `voted`: whether keypoint votes
    /// alone make the photos worth verifying ([`verified_by_votes`]).
    pub fn compute_with(
        l: &PreparedListing,
        codes: &ListingCodes,
        b: &PreparedBanned,
        rarity: &dyn Rarity,
        roles: &Roles,
        voted: bool,
    ) -> Features {
        let (coverage, matched) = weighted_coverage_coloured(
            &b.words,
            &b.keys,
            &b.weights,
            &b.word_colours,
            &l.head,
            &l.head_colours,
        );
        let (precision, _) = weighted_coverage_coloured(
            &l.words,
            &l.keys,
            &l.weights,
            &l.word_colours,
            &b.side,
            &b.side_colours,
        );
        let (grams, gram_jaccard) = gram_overlap(&b.title.grams, &l.head.grams);
        let surface = l.surface.compare(&b.surface);
        // A barcode many banned records share (a placeholder, a shop's dummy code) names none.
        let gtin = l
            .gtins
            .iter()
            .find(|g| b.gtins.contains(g) && rarity.id_count(g) < COMMON_ID)
            .cloned();
        let shared_words = b
            .words
            .iter()
            .zip(&matched)
            .filter(|(_, m)| **m)
            .map(|(w, _)| w.clone())
            .collect();
        let shared_keys = l.keys.iter().filter(|k| b.keys.contains(k)).count();
        let union = l.keys.len() + b.keys.len() - shared_keys;
        let jaccard = if union == 0 {
            0.0
        } else {
            shared_keys as f32 / union as f32
        };
        let brand = brand_evidence(l, b);
        let same_brand = matches!(brand, BrandEvidence::Match(_));

        // Identifier roles: a record's own models are identity; a token of the text that many
        // products name is an attribute, compared as a spec and never as identity.
        // The listing's side was split once per listing ([`ListingCodes`]); index counts
        // were looked up when each side was prepared.
        let learned = |key: &str, raw: &str| roles.is_attribute(key, raw);
        let mut l_ids = std::borrow::Cow::Borrowed(&codes.ids[..]);
        let l_specs = &codes.specs;
        let (mut b_ids, mut b_specs) = (Vec::new(), Vec::new());
        for ((raw, key), count) in b.models.iter().zip(&b.model_counts) {
            if !b.explicit.contains(key) && (learned(key, raw) || *count >= COMMON_ID) {
                b_specs.push((raw, key));
            } else {
                b_ids.push((raw.clone(), key.clone()));
            }
        }
        let mut spec_shared = Vec::new();
        let mut spec_conflict = None;
        for m in l_specs {
            if let Some((raw, _)) = b_specs.iter().find(|(_, k)| **k == m.key) {
                spec_shared.push((m.raw.clone(), (*raw).clone()));
            }
        }
        for m in l_specs {
            let skeleton = ident::letter_skeleton(&m.key);
            let same_kind = |k: &str| !skeleton.is_empty() && ident::letter_skeleton(k) == skeleton;
            // One of its kind on each side and no value in common: another spec.
            if !spec_shared
                .iter()
                .any(|(l, _)| same_kind(&ident::model_key(l)))
                && let Some((raw, _)) = b_specs.iter().find(|(_, k)| same_kind(k))
            {
                spec_conflict = Some((m.raw.clone(), (*raw).clone()));
                break;
            }
        }
        // Equality first on every token; the leetspeak filter only guards against conflicts.
        let mut model = ident::compare_models(&l_ids, &b_ids, same_brand);
        // A code of the banned family a character or two apart, written as one token or split
        // ("UWK 351J" against "UWX-351J"), is another model, whatever else the listing says.
        let listing_other_code = l_ids
            .iter()
            .any(|m| m.primary && !b_ids.iter().any(|(_, k)| *k == m.key));
        let mut strict = false;
        if !matches!(
            model,
            ModelEvidence::Equal { .. } | ModelEvidence::Partial { .. }
        ) && let Some((listing, banned)) = sibling_code(&l_ids, &b_ids, |_| true)
        {
            model = ModelEvidence::Conflict { listing, banned };
            strict = true;
        }
        if !strict
            && !matches!(
                model,
                ModelEvidence::Equal { .. } | ModelEvidence::Partial { .. }
            )
        {
            // "V0ltM4x" or "P0w3r" look like model numbers but are leetspeak for words of
            // the banned record: they must not count as another model.
            l_ids = (l_ids.iter().zip(&codes.leets))
                .filter(|(_, k)| {
                    b.brand_key.as_ref() != Some(*k)
                        && !b.side.tokens.iter().any(|t| token_close(t, k))
                })
                .map(|(m, _)| m.clone())
                .collect();
            model = ident::compare_models(&l_ids, &b_ids, same_brand);
        }
        let count_of = |key: &str| {
            b.models
                .iter()
                .zip(&b.model_counts)
                .find(|((_, k), _)| k == key)
                .map_or(0, |(_, c)| *c)
        };
        let mut model_identity = 0.0;
        let mut model_explicit = false;
        // Several codes per product are normal; another code of the family of the banned one
        // is not: the listing may be the sibling, naming the banned model as "compatible
        // with" or "replaces".
        let another_code = |equal_key: Option<&str>| {
            sibling_code(&l_ids, &b_ids, |m| {
                m.primary
                    && Some(m.key.as_str()) != equal_key
                    && !b_ids.iter().any(|(_, k)| *k == m.key)
            })
        };
        let mut code_conflict = None;
        match model.clone() {
            ModelEvidence::Equal { listing, banned } => {
                let key = ident::model_key(&banned);
                model_explicit = b.explicit.contains(&key);
                let explicit = model_explicit || l.explicit.contains(&key);
                model_identity = roles::identity(roles, &key, &banned, explicit, count_of(&key));
                // Two weak sources make no identity: a key the listing only forms by joining
                // its words ("PlayStation 2" → "playstation2") against one the banned record
                // names only in its description, where records list what they work with
                // ("works on Xbox 360, PlayStation2 or 3").
                let joined = l_ids
                    .iter()
                    .any(|m| m.raw == listing && !m.primary && m.raw.contains(' '));
                if joined && !explicit && b.model_origin(&banned) == Origin::Description {
                    model_identity = 0.0;
                }
                if model_identity == 0.0 {
                    // A key that several banned records share ("pc3200", "cat5e") names a
                    // kind of product, not one product.
                    model = ModelEvidence::Partial {
                        listing,
                        banned,
                        coverage: 0.5,
                    };
                }
                code_conflict = another_code(Some(&key));
            }
            ModelEvidence::Partial {
                listing,
                banned,
                coverage,
            } => {
                let key = ident::model_key(&banned);
                model_explicit = b.explicit.contains(&key);
                // The record's own short model written exactly ("DN36"): as identifying as its
                // length lets it be ([`roles::identity`]), not half that.
                let coverage = if model_explicit && ident::model_key(&listing) == key {
                    model = ModelEvidence::Partial {
                        listing,
                        banned: banned.clone(),
                        coverage: 1.0,
                    };
                    1.0
                } else {
                    coverage
                };
                // "TR H6274" covers most of "TN-H6274", but "TR-H6274" is its sibling.
                if let Some((listing, banned)) = another_code(None) {
                    model = ModelEvidence::Conflict { listing, banned };
                } else {
                    model_identity = coverage
                        * roles::identity(roles, &key, &banned, model_explicit, count_of(&key));
                }
            }
            ModelEvidence::Conflict { banned, .. } | ModelEvidence::Unrelated { banned, .. } => {
                model_explicit = b.explicit.contains(&ident::model_key(&banned));
            }
            ModelEvidence::None => {}
        }
        let part_conflict = if l.parts.iter().any(|p| b.parts.contains(p)) {
            None
        } else {
            l.parts.iter().find_map(|lp| {
                let shape = ident::part_shape(lp);
                b.parts
                    .iter()
                    .find(|bp| ident::part_shape(bp) == shape)
                    .map(|bp| (lp.clone(), bp.clone()))
            })
        };
        let (attr_agree, attr_conflict) = attrs::compare(&l.attrs, &b.attrs);
        let (release_agree, release_conflict) = attrs::compare_releases(&l.releases, &b.releases);
        let price_log_ratio = match (l.listing.price, b.price) {
            (Some(lp), Some(bp)) if lp > 0.0 && bp > 0.0 && (lp / bp).is_finite() => {
                Some((lp / bp).ln().abs() as f32)
            }
            _ => None,
        };
        let price_gap = price_log_ratio.map_or(0.0, |g| g.min(2.0) / 2.0);
        let (photo, photo_pdq) = closest_photo(&l.photos, &b.photos, &b.pdqs);
        let close = photo.filter(|(_, d)| *d < PHOTO_RADIUS);
        let photo_check = PhotoCheck::best(l, b, close.is_some(), voted);
        let photo_hashed = photo;
        let photo = PhotoCheck::fold(photo, photo_check.as_ref());
        let (variant_listing, variant_banned) = if roles.variants().is_empty() {
            (0.0, 0.0)
        } else {
            let (lw, bw) = crate::matching::variants::differing(&l.head, &b.title, &b.side);
            (
                roles.variants().strongest(&lw),
                roles.variants().strongest(&bw),
            )
        };
        Features {
            variant_listing,
            variant_banned,
            photo,
            photo_hashed,
            photo_pdq,
            photo_check,
            colour_conflict: attrs::colour_conflict(&l.colours, &b.colours),
            attr_agree,
            attr_conflict,
            release_agree,
            release_conflict,
            price_gap,
            price_log_ratio,
            coverage,
            grams,
            precision,
            model,
            model_identity,
            model_explicit,
            banned_has_models: !b.explicit.is_empty(),
            banned_brand_known: b.brand_key.is_some(),
            listing_other_code,
            code_conflict,
            spec_shared,
            spec_conflict,
            part_conflict,
            listing_words: l.keys.len(),
            banned_words: b.keys.len(),
            jaccard,
            gram_jaccard,
            surface,
            gtin,
            brand,
            shared_words,
            other_brand: None,
            margin: 0.0,
        }
    }

    /// The listing names `brand`, the brand of another candidate, and not this record's: a
    /// brand written inside the title, with no brand field to compare.
    pub fn other_brand(&mut self, brand: &str) {
        if self.brand == BrandEvidence::Unknown {
            self.brand = BrandEvidence::Mismatch;
            self.other_brand = Some(brand.to_string());
        }
    }

    /// A near-exact hash match (at most [`NEAR_EXACT_ON_64`]) that keypoints judged on both
    /// sides do not confirm: two look-alike photos (one plain silhouette on one plain ground,
    /// a drawn look-alike of the tests' seed 5140014 at distance 3) rather than one photo
    /// re-encoded. Still a close photo to the score; no longer a block on its own. A copy blurred
    /// or recompressed enough to lose its keypoints is not judged, so it still blocks.
    pub fn near_exact_refuted(&self) -> bool {
        self.photo_hashed
            .is_some_and(|(_, d)| d <= NEAR_EXACT_ON_64)
            && self.photo_check.is_some_and(|c| c.judged && !c.confirmed())
    }

    /// A hash match that keypoints refuted: the score saw a farther photo than the hashes.
    pub fn photo_refuted(&self) -> bool {
        matches!((self.photo, self.photo_hashed), (Some((_, d)), Some((_, h))) if d > h)
    }

    /// Photo evidence in [0, 1]: 1 for the same photo, falling to 0 at distance 16 of 64.
    pub fn photo_match(&self) -> f32 {
        self.photo.map_or(0.0, |(_, d)| {
            (1.0 - d as f32 / PHOTO_RADIUS as f32).max(0.0)
        })
    }

    /// The text signal reported in results: a fixed blend of the three text similarities.
    pub fn text(&self) -> f32 {
        (0.5 * self.coverage + 0.3 * self.grams + 0.2 * self.precision).clamp(0.0, 1.0)
    }

    /// The identifier signal: 1 for an equal model or GTIN, partial coverage, 0 otherwise.
    pub fn identifier(&self) -> f32 {
        if self.gtin.is_some() {
            return 1.0;
        }
        match &self.model {
            ModelEvidence::Equal { .. } => 1.0,
            ModelEvidence::Partial { coverage, .. } => *coverage,
            _ => 0.0,
        }
    }

    /// The feature vector fused by `score`, in the order of [`FEATURES`].
    pub fn vector(&self) -> [f32; N] {
        std::array::from_fn(|i| (FEATURES[i].value)(self))
    }

    fn model_is(&self, f: fn(&ModelEvidence) -> bool) -> f32 {
        if f(&self.model) { 1.0 } else { 0.0 }
    }
}

/// One input of the logistic fusion: its name (the key of its weight in the config's
/// `[weights]` and in `relist calibrate`'s output) and how it is read from a pair's evidence.
/// Adding a feature is one entry here, its code in [`Features`], and its weight in
/// `relist.toml` (and `benches/priors.toml`, the prior calibration starts from).
pub struct Feature {
    pub name: &'static str,
    /// What it measures, for people reading a config.
    pub about: &'static str,
    pub value: fn(&Features) -> f32,
}

fn flag(b: bool) -> f32 {
    if b { 1.0 } else { 0.0 }
}

/// ln 3: shops of one currency rarely ask three times another's price for one product (the
/// DeepMatcher benchmarks' matches: 1 in 200 beyond it); past it a gap says as much about the
/// currency as about the product.
const PRICE_NEAR: f32 = 1.098_612_3;

/// Every feature, in the order of the feature vector.
pub const FEATURES: &[Feature] = &[
    Feature {
        name: "coverage",
        about: "rarity-weighted share of the banned title's words in the listing",
        value: |f| f.coverage,
    },
    Feature {
        name: "grams",
        about: "share of the banned title's character n-grams in the listing",
        value: |f| f.grams,
    },
    Feature {
        name: "precision",
        about: "rarity-weighted share of the listing title's words in the banned record",
        value: |f| f.precision,
    },
    Feature {
        name: "model_equal",
        about: "a model number equal on both sides",
        value: |f| f.model_is(|m| matches!(m, ModelEvidence::Equal { .. })),
    },
    Feature {
        name: "model_partial",
        about: "share of the banned model number a listing's model covers",
        value: |f| match &f.model {
            ModelEvidence::Partial { coverage, .. } => *coverage,
            _ => 0.0,
        },
    },
    Feature {
        name: "model_conflict",
        about: "another model number of the same family",
        value: |f| f.model_is(|m| matches!(m, ModelEvidence::Conflict { .. })),
    },
    Feature {
        name: "model_other",
        about: "model numbers on both sides with nothing in common",
        value: |f| f.model_is(|m| matches!(m, ModelEvidence::Unrelated { .. })),
    },
    Feature {
        name: "gtin_equal",
        about: "a GTIN equal on both sides",
        value: |f| flag(f.gtin.is_some()),
    },
    Feature {
        name: "brand_match",
        about: "the banned brand in the listing: 1 exact, 0.8 close",
        value: |f| match f.brand {
            BrandEvidence::Match(s) => s,
            _ => 0.0,
        },
    },
    Feature {
        name: "brand_mismatch",
        about: "the listing names another brand",
        value: |f| flag(f.brand == BrandEvidence::Mismatch),
    },
    Feature {
        name: "margin",
        about: "text signal minus the best other candidate's, in [-1, 1]",
        value: |f| f.margin,
    },
    Feature {
        name: "top",
        about: "the candidate stands above every other",
        value: |f| flag(f.margin > 0.0),
    },
    Feature {
        name: "attr_agree",
        about: "a number with a unit equal on both sides",
        value: |f| flag(f.attr_agree),
    },
    Feature {
        name: "attr_conflict",
        about: "a measure with different values on the two sides",
        value: |f| flag(f.attr_conflict.is_some()),
    },
    Feature {
        name: "price_gap",
        about: "|ln(listing price / banned price)|, capped at 2, scaled to [0, 1]",
        value: |f| f.price_gap,
    },
    Feature {
        name: "price_known",
        about: "both sides carry a price (price_gap 0 is then an equal price, not an unknown one)",
        value: |f| flag(f.price_log_ratio.is_some()),
    },
    Feature {
        name: "price_gap_near",
        about: "|ln(listing price / banned price)|, capped at ln 3 (within what one currency's shops ask), scaled to [0, 1]",
        value: |f| {
            f.price_log_ratio
                .map_or(0.0, |g| g.min(PRICE_NEAR) / PRICE_NEAR)
        },
    },
    Feature {
        name: "price_far",
        about: "the prices are e^2 (7.4) times apart or more: another product, or another currency",
        value: |f| flag(f.price_log_ratio.is_some_and(|g| g >= 2.0)),
    },
    Feature {
        name: "colour_conflict",
        about: "both titles name colours and share none",
        value: |f| flag(f.colour_conflict),
    },
    Feature {
        name: "photo_match",
        about: "closest photo pair: 1 the same photo, 0 at distance 16 of 64",
        value: |f| f.photo_match(),
    },
    Feature {
        name: "model_identity",
        about: "how identifying the equal or covering code is (0 for a spec token)",
        value: |f| f.model_identity,
    },
    Feature {
        name: "model_explicit",
        about: "the banned model compared is the record's own `models` value",
        value: |f| flag(f.model_explicit),
    },
    Feature {
        name: "code_conflict",
        about: "beside an equal code, another code of its family",
        value: |f| flag(f.code_conflict.is_some()),
    },
    Feature {
        name: "spec_shared",
        about: "spec tokens (attributes many products name) on both sides, of 3",
        value: |f| (f.spec_shared.len() as f32 / 3.0).min(1.0),
    },
    Feature {
        name: "spec_conflict",
        about: "a spec of one kind with different values",
        value: |f| flag(f.spec_conflict.is_some()),
    },
    Feature {
        name: "brand_unknown",
        about: "the banned brand is unknown, or the listing names none",
        value: |f| flag(f.brand == BrandEvidence::Unknown),
    },
    Feature {
        name: "brand_absent",
        about: "the banned record has a brand and the listing writes it nowhere in its title or brand",
        value: |f| flag(f.brand == BrandEvidence::Unknown && f.banned_brand_known),
    },
    Feature {
        name: "listing_words",
        about: "distinct listing title words, of 40",
        value: |f| (f.listing_words as f32 / 40.0).min(1.0),
    },
    Feature {
        name: "banned_words",
        about: "distinct banned title words (model numbers aside), of 40",
        value: |f| (f.banned_words as f32 / 40.0).min(1.0),
    },
    Feature {
        name: "jaccard",
        about: "share of the two titles' distinct words that both have",
        value: |f| f.jaccard,
    },
    Feature {
        name: "gram_jaccard",
        about: "share of the two titles' character n-grams that both have",
        value: |f| f.gram_jaccard,
    },
    Feature {
        name: "digits_missing_in_listing",
        about: "share of the banned side's tokens with digits the listing does not write (-1: none)",
        value: |f| f.surface.missing_in_listing,
    },
    Feature {
        name: "digits_missing_in_banned",
        about: "share of the listing's tokens with digits the banned side does not write (-1: none)",
        value: |f| f.surface.missing_in_banned,
    },
    Feature {
        name: "digits_jaccard",
        about: "share of the two sides' tokens with digits that both write (-1: neither has any)",
        value: |f| f.surface.digits_jaccard,
    },
    Feature {
        name: "code_written",
        about: "a code of one side (letters and digits) is written, glued or split, by the other",
        value: |f| flag(f.surface.code_contained),
    },
    Feature {
        name: "codes_apart",
        about: "both sides write codes and neither writes one of the other's",
        value: |f| flag(f.surface.code_none),
    },
    Feature {
        name: "variant_listing",
        about: "learned weight of the most telling title word the listing writes and the banned record does not",
        value: |f| f.variant_listing,
    },
    Feature {
        name: "variant_banned",
        about: "learned weight of the most telling banned title word the listing does not write",
        value: |f| f.variant_banned,
    },
    Feature {
        name: "variant_swap",
        about: "the lesser of variant_listing and variant_banned: each side writes a telling word the other does not",
        value: |f| f.variant_listing.min(f.variant_banned),
    },
    Feature {
        name: "release_agree",
        about: "a release (edition, version) one title writes is the other's: \"v22\" / \"22\", \"4.0\" / \"4\"",
        value: |f| flag(f.release_agree),
    },
    Feature {
        name: "release_conflict",
        about: "both titles write releases and none agrees",
        value: |f| flag(f.release_conflict),
    },
];

/// Length of the feature vector.
pub const N: usize = FEATURES.len();

/// The position of a feature in the vector, by name.
pub fn feature_index(name: &str) -> Option<usize> {
    FEATURES.iter().position(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn banned(v: serde_json::Value) -> PreparedBanned {
        PreparedBanned::new(BannedRecord::from_value(v).unwrap().record, &Uniform)
    }

    fn listing(v: serde_json::Value) -> Listing {
        Listing::from_value(v).unwrap()
    }

    fn features(b: &serde_json::Value, l: &serde_json::Value) -> Features {
        let b = banned(b.clone());
        let l = listing(l.clone());
        let photos = QueryPhotos::from_hashes(&l.image_hashes);
        let p = PreparedListing::new(&l, photos, &Uniform);
        Features::compute(&p, &b, &Uniform, &Roles::default())
    }

    fn value(name: &str, f: &Features) -> f32 {
        (FEATURES[feature_index(name).unwrap()].value)(f)
    }

    const KETTLE: &str = "AquaBoil KT-9000 1.7L electric kettle";
    const D1: &str = "0f0f0f0f0f0f0f0f";

    /// For each feature: a pair where it fires, a pair where it does not.
    fn cases() -> Vec<(
        &'static str,
        serde_json::Value,
        serde_json::Value,
        serde_json::Value,
    )> {
        let b = json!({"id": "B", "title": KETTLE, "brand": "AquaBoil", "models": ["KT-9000"],
                       "gtins": ["4006381333931"], "price": 40.0,
                       "image_hashes": [{"algo": "dhash", "hash": D1}, {"algo": "phash", "hash": D1}]});
        let other = json!({"id": "L", "title": "garden hose 20 m green"});
        vec![
            (
                "coverage",
                b.clone(),
                json!({"id": "L", "title": "aquaboil electric kettle kt-9000 1.7l"}),
                other.clone(),
            ),
            (
                "grams",
                b.clone(),
                json!({"id": "L", "title": "aquaboil electric kettle"}),
                other.clone(),
            ),
            (
                "precision",
                b.clone(),
                json!({"id": "L", "title": "electric kettle"}),
                other.clone(),
            ),
            (
                "model_equal",
                b.clone(),
                json!({"id": "L", "title": "kettle kt9000"}),
                json!({"id": "L", "title": "kettle"}),
            ),
            (
                "model_partial",
                b.clone(),
                json!({"id": "L", "title": "kettle", "models": ["KT-9000X"]}),
                json!({"id": "L", "title": "kettle kt9000"}),
            ),
            (
                "model_conflict",
                b.clone(),
                json!({"id": "L", "title": "aquaboil kettle KT-9500"}),
                json!({"id": "L", "title": "kettle kt9000"}),
            ),
            (
                "model_other",
                b.clone(),
                json!({"id": "L", "title": "kettle", "models": ["ZX-11"]}),
                json!({"id": "L", "title": "kettle kt9000"}),
            ),
            (
                "gtin_equal",
                b.clone(),
                json!({"id": "L", "title": "kettle", "gtins": ["04006381333931"]}),
                json!({"id": "L", "title": "kettle", "gtins": ["96385074"]}),
            ),
            (
                "brand_match",
                b.clone(),
                json!({"id": "L", "title": "kettle", "brand": "Aqua Boil"}),
                json!({"id": "L", "title": "kettle"}),
            ),
            (
                "brand_mismatch",
                b.clone(),
                json!({"id": "L", "title": "kettle", "brand": "Philips"}),
                json!({"id": "L", "title": "kettle", "brand": "AquaBoil"}),
            ),
            (
                "release_agree",
                json!({"id": "B", "title": "The Print Shop 22 Deluxe"}),
                json!({"id": "L", "title": "the printshop v22 deluxe"}),
                json!({"id": "L", "title": "the printshop v23 deluxe"}),
            ),
            (
                "release_conflict",
                json!({"id": "B", "title": "iView MediaPro 2.5"}),
                json!({"id": "L", "title": "iview mediapro 2.6"}),
                json!({"id": "L", "title": "iview mediapro v2.5"}),
            ),
            (
                "attr_agree",
                b.clone(),
                json!({"id": "L", "title": "kettle 1.7L"}),
                json!({"id": "L", "title": "kettle"}),
            ),
            (
                "attr_conflict",
                b.clone(),
                json!({"id": "L", "title": "kettle 1.2L"}),
                json!({"id": "L", "title": "kettle 1.7L"}),
            ),
            (
                "price_gap",
                b.clone(),
                json!({"id": "L", "title": "kettle", "price": 400.0}),
                json!({"id": "L", "title": "kettle", "price": 40.0}),
            ),
            (
                "price_known",
                b.clone(),
                json!({"id": "L", "title": "kettle", "price": 40.0}),
                json!({"id": "L", "title": "kettle"}),
            ),
            (
                "price_gap_near",
                b.clone(),
                json!({"id": "L", "title": "kettle", "price": 80.0}),
                json!({"id": "L", "title": "kettle", "price": 40.0}),
            ),
            (
                "price_far",
                b.clone(),
                json!({"id": "L", "title": "kettle", "price": 4000.0}),
                json!({"id": "L", "title": "kettle", "price": 200.0}),
            ),
            (
                "colour_conflict",
                json!({"id": "B", "title": "red kettle"}),
                json!({"id": "L", "title": "blue kettle"}),
                json!({"id": "L", "title": "red kettle"}),
            ),
            (
                "model_identity",
                b.clone(),
                json!({"id": "L", "title": "kettle KT-9000"}),
                json!({"id": "L", "title": "kettle"}),
            ),
            (
                "model_explicit",
                b.clone(),
                json!({"id": "L", "title": "kettle KT-9000"}),
                json!({"id": "L", "title": "kettle"}),
            ),
            (
                "code_conflict",
                b.clone(),
                json!({"id": "L", "title": "kettle KT-9000 replaced by KT-9001"}),
                json!({"id": "L", "title": "kettle KT-9000 SKU-448812"}),
            ),
            (
                "spec_shared",
                json!({"id": "B", "title": "Acme board MB-1234 2-slot"}),
                json!({"id": "L", "title": "board 2-slot"}),
                json!({"id": "L", "title": "board"}),
            ),
            (
                "spec_conflict",
                json!({"id": "B", "title": "Acme board MB-1234 2-slot"}),
                json!({"id": "L", "title": "board 4-slot"}),
                json!({"id": "L", "title": "board 2-slot"}),
            ),
            (
                "brand_unknown",
                b.clone(),
                json!({"id": "L", "title": "kettle"}),
                json!({"id": "L", "title": "kettle", "brand": "AquaBoil"}),
            ),
            (
                "brand_absent",
                b.clone(),
                json!({"id": "L", "title": "Philtex electric kettle"}),
                json!({"id": "L", "title": "aquaboil electric kettle"}),
            ),
            (
                "listing_words",
                b.clone(),
                json!({"id": "L", "title": "kettle electric steel glass blue"}),
                json!({"id": "L", "title": "kettle"}),
            ),
            (
                "jaccard",
                b.clone(),
                json!({"id": "L", "title": "aquaboil electric kettle"}),
                other.clone(),
            ),
            (
                "gram_jaccard",
                b.clone(),
                json!({"id": "L", "title": "aquaboil kt-9000 1.7l electric kettle"}),
                other.clone(),
            ),
            (
                "digits_missing_in_listing",
                b.clone(),
                json!({"id": "L", "title": "aquaboil kettle KT-9500 2.5l"}),
                json!({"id": "L", "title": "aquaboil kt 9000 kettle 1.7l"}),
            ),
            (
                "digits_missing_in_banned",
                b.clone(),
                json!({"id": "L", "title": "kettle 2200w 2l"}),
                json!({"id": "L", "title": "kettle kt9000"}),
            ),
            (
                "digits_jaccard",
                b.clone(),
                json!({"id": "L", "title": "kettle kt-9000 1.7l"}),
                json!({"id": "L", "title": "kettle 2200w"}),
            ),
            (
                "code_written",
                json!({"id": "B", "title": "Seagate IronWolf ST4000NE001 4TB"}),
                json!({"id": "L", "title": "seagate st4000ne001"}),
                json!({"id": "L", "title": "seagate ironwolf ST8000NE001"}),
            ),
            (
                "codes_apart",
                json!({"id": "B", "title": "Seagate IronWolf ST4000NE001 4TB"}),
                json!({"id": "L", "title": "seagate ST8000NE001"}),
                json!({"id": "L", "title": "seagate st4000ne001"}),
            ),
            (
                "photo_match",
                b.clone(),
                json!({"id": "L", "title": "x", "image_hashes": [{"algo": "dhash", "hash": D1}, {"algo": "phash", "hash": D1}]}),
                json!({"id": "L", "title": "x", "image_hashes": [{"algo": "dhash", "hash": "f0f0f0f0f0f0f0f0"}, {"algo": "phash", "hash": "f0f0f0f0f0f0f0f0"}]}),
            ),
        ]
    }

    #[test]
    fn a_price_gap_is_read_apart_from_an_unknown_price_and_saturates_near_three_times() {
        let b = json!({"id": "B", "title": KETTLE, "price": 40.0});
        let at = |price: f64| features(&b, &json!({"id": "L", "title": "kettle", "price": price}));
        let none = features(&b, &json!({"id": "L", "title": "kettle"}));
        // An equal price and no price give the same `price_gap`; `price_known` tells them apart.
        assert_eq!(value("price_gap", &at(40.0)), value("price_gap", &none));
        assert_eq!(value("price_known", &at(40.0)), 1.0);
        assert_eq!(value("price_known", &none), 0.0);
        // Within one currency's range the near gap grows; past three times it says no more.
        assert!(value("price_gap_near", &at(60.0)) < value("price_gap_near", &at(100.0)));
        assert_eq!(value("price_gap_near", &at(200.0)), 1.0);
        assert_eq!(value("price_gap_near", &at(4000.0)), 1.0);
        assert_eq!(value("price_far", &at(200.0)), 0.0);
        assert_eq!(value("price_far", &at(4000.0)), 1.0);
        assert_eq!(value("price_far", &at(4.0)), 1.0);
        // A ratio that overflows is no price at all, not an infinite gap.
        let huge = features(
            &json!({"id": "B", "title": KETTLE, "price": 1e-300}),
            &json!({"id": "L", "title": "kettle", "price": 1e300}),
        );
        assert_eq!(huge.price_log_ratio, None);
        assert!(huge.vector().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn each_feature_fires_on_its_own_pair_and_not_on_its_counterexample() {
        for (name, b, yes, no) in cases() {
            let on = value(name, &features(&b, &yes));
            let off = value(name, &features(&b, &no));
            assert!(on > 0.0, "{name}: {on} on {yes}");
            assert!(off < on, "{name}: {off} on {no} is not below {on}");
        }
    }

    #[test]
    fn every_feature_has_a_hand_made_case_or_is_set_by_the_matcher() {
        // `margin` and `top` compare a candidate with the others: see the matcher's tests.
        // The variant words need a learned table: see `variant_words_weigh_what_was_learned`.
        let covered: Vec<&str> = cases().iter().map(|c| c.0).collect();
        let elsewhere = [
            "margin",
            "top",
            "banned_words",
            "variant_listing",
            "variant_banned",
            "variant_swap",
        ];
        for f in FEATURES {
            assert!(
                covered.contains(&f.name) || elsewhere.contains(&f.name),
                "feature `{}` has no case in features::tests::cases",
                f.name
            );
        }
        let names: Vec<&str> = FEATURES.iter().map(|f| f.name).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "feature names repeat: {names:?}");
    }

    #[test]
    fn variant_words_weigh_what_was_learned() {
        let mut pairs: Vec<(Vec<String>, bool)> = Vec::new();
        for _ in 0..5 {
            pairs.push((vec!["cs3".into(), "cs4".into()], false));
            pairs.push((vec!["upgrade".into()], false));
            pairs.push((vec!["box".into()], true));
        }
        let variants = crate::matching::variants::Variants::learn(
            pairs.iter().map(|(w, y)| (0, w.as_slice(), *y)),
        );
        let roles = Roles::default().with_variants(variants.clone());
        let b = banned(json!({"id": "B", "title": "Adobe Photoshop CS3", "brand": "Adobe"}));
        let judged = |title: &str| {
            let l = listing(json!({"id": "L", "title": title}));
            let p = PreparedListing::new(&l, QueryPhotos::default(), &Uniform);
            let f = Features::compute(&p, &b, &Uniform, &roles);
            assert_eq!(
                value("variant_swap", &f),
                f.variant_listing.min(f.variant_banned)
            );
            (value("variant_listing", &f), value("variant_banned", &f))
        };
        assert_eq!(judged("Adobe Photoshop CS3 box"), (0.0, 0.0));
        assert_eq!(
            judged("Adobe Photoshop CS4 upgrade"),
            (variants.weight("cs4"), variants.weight("cs3"))
        );
        assert!(judged("Adobe Photoshop CS3 upgrade").0 > 0.0);
        // Without a learned table, nothing.
        let l = listing(json!({"id": "L", "title": "Adobe Photoshop CS4"}));
        let p = PreparedListing::new(&l, QueryPhotos::default(), &Uniform);
        let f = Features::compute(&p, &b, &Uniform, &Roles::default());
        assert_eq!((f.variant_listing, f.variant_banned), (0.0, 0.0));
    }

    #[test]
    fn banned_words_count_the_banned_title_without_its_model_numbers() {
        let l = json!({"id": "L", "title": "kettle"});
        let short = features(&json!({"id": "B", "title": "kettle KT-9000"}), &l);
        let long = features(&json!({"id": "B", "title": KETTLE}), &l);
        assert_eq!(short.banned_words, 1);
        assert!(value("banned_words", &long) > value("banned_words", &short));
    }

    #[test]
    fn the_same_product_covers_itself_fully() {
        let b = json!({"id": "B", "title": KETTLE, "brand": "AquaBoil"});
        let f = features(
            &b,
            &json!({"id": "L", "title": KETTLE, "brand": "AquaBoil"}),
        );
        assert_eq!(f.coverage, 1.0);
        assert_eq!(f.grams, 1.0);
        assert_eq!(f.brand, BrandEvidence::Match(1.0));
        assert!(
            matches!(f.model, ModelEvidence::Equal { .. }),
            "{:?}",
            f.model
        );
        assert!(
            f.shared_words.contains(&"aquaboil".to_string()),
            "{:?}",
            f.shared_words
        );
    }

    #[test]
    fn a_joined_listing_code_against_a_description_code_is_no_identity() {
        // An adapter whose description names the consoles it works with, and a game "for
        // Xbox 360": the listing only forms "xbox360" by joining two words.
        let adapter = json!({"id": "B", "title": "linksys dual-band gaming adapter wga600n",
            "description": "works on xbox360 or playstation 3 and gamecube"});
        let game = json!({"id": "L", "title": "microsoft xbox 360 halo 3 game"});
        let f = features(&adapter, &game);
        assert_eq!(f.model_identity, 0.0, "{:?}", f.model);
        assert!(
            !matches!(f.model, ModelEvidence::Equal { .. }),
            "{:?}",
            f.model
        );
        // Written as one token in the listing, the same code still counts.
        let written = features(
            &adapter,
            &json!({"id": "L", "title": "microsoft xbox360 elite console"}),
        );
        assert!(written.model_identity > 0.0, "{:?}", written.model);
        // And a join against a code of the banned title is identity as before.
        let titled = json!({"id": "B", "title": "sony kdl40v4100 lcd tv"});
        let joined = features(&titled, &json!({"id": "L", "title": "sony kdl 40v4100 tv"}));
        assert!(joined.model_identity > 0.0, "{:?}", joined.model);
    }

    #[test]
    fn a_descriptions_run_on_words_make_no_model_evidence() {
        // Scraped shop text loses its spaces: "Weight251 g" is no model number to differ from.
        let paper = json!({"id": "B", "title": "Epson Premium Semi-Gloss Photo Paper A4",
            "description": "Sheets20 Weight251 g/m2"});
        let offer =
            json!({"id": "L", "title": "Epson Premium Semigloss Photo Paper A4 C13S041332"});
        let f = features(&paper, &offer);
        assert!(matches!(f.model, ModelEvidence::None), "{:?}", f.model);
        // In a title the same shape is kept: it was written on purpose.
        let titled = features(
            &json!({"id": "B", "title": "Samsung Galaxys10 phone"}),
            &json!({"id": "L", "title": "Samsung Galaxys10 phone"}),
        );
        assert!(
            matches!(titled.model, ModelEvidence::Equal { .. }),
            "{:?}",
            titled.model
        );
    }

    #[test]
    fn two_part_numbers_of_one_line_keep_a_pair_from_blocking() {
        // The line name is equal; the part numbers on the box are two products of the line.
        let mono = json!({"id": "B", "title": "Jabra BIZ2300 2393-823-109 MONO USB Headset MS",
            "brand": "Jabra"});
        let duo = json!({"id": "L", "title": "Jabra BIZ2300 2399-829-109 DUO USB Headset"});
        let f = features(&mono, &duo);
        assert_eq!(
            f.part_conflict,
            Some(("2399-829-109".to_string(), "2393-823-109".to_string()))
        );
        assert!(crate::matching::score::conflicted(&f));
        // The same part number, or none on one side, is no conflict.
        let same = json!({"id": "L", "title": "Jabra BIZ2300 2393-823-109 headset"});
        assert_eq!(features(&mono, &same).part_conflict, None);
        let bare = json!({"id": "L", "title": "Jabra BIZ2300 mono headset"});
        assert_eq!(features(&mono, &bare).part_conflict, None);
    }

    #[test]
    fn preparing_a_listing_reads_no_file() {
        // A path that would fail to decode gives no problem: only hashes given are used.
        let l = listing(json!({"id": "L", "title": "x", "images": ["/nonexistent/a.jpg"]}));
        let p = PreparedListing::new(&l, QueryPhotos::from_hashes(&l.image_hashes), &Uniform);
        assert!(p.photos().problems.is_empty());
        assert!(p.photos().pairs.is_empty());
    }

    /// [`photo_record`] with the photo's aligned-check thumbnail, as ingest stores it.
    fn thumbed_record(id: usize, img: &image::DynamicImage) -> BannedRecord {
        let mut r = photo_record(id, img);
        r.image_hashes.push(crate::model::ImageHashRef {
            algo: crate::photo::THUMB.into(),
            hash: crate::photo::aligned::banned_thumb(img).encode(),
            photo: Some(1),
        });
        r
    }

    /// A banned record with a photo's hashes (and its crops') and keypoints, as ingest stores
    /// them.
    fn photo_record(id: usize, img: &image::DynamicImage) -> BannedRecord {
        use crate::model::ImageHashRef;
        let mut r = BannedRecord::from_value(json!({"id": format!("B-{id}"), "title": "photo"}))
            .unwrap()
            .record;
        let h = |algo: &str, hash: String| ImageHashRef {
            algo: algo.into(),
            hash,
            photo: None,
        };
        let (whole, crops) = crate::photo::PhotoHasher::new().with_crops(img).unwrap();
        r.image_hashes
            .push(h("dhash", crate::photo::hex64(whole.dhash)));
        r.image_hashes
            .push(h("phash", crate::photo::hex64(whole.phash)));
        for c in crops {
            r.image_hashes
                .push(h(crate::photo::DHASH_CROP, crate::photo::hex64(c.dhash)));
            r.image_hashes
                .push(h(crate::photo::PHASH_CROP, crate::photo::hex64(c.phash)));
        }
        let k = crate::photo::keypoints::extract(img, crate::photo::keypoints::BANNED_KEYPOINTS)
            .unwrap();
        r.image_hashes.push(ImageHashRef {
            algo: crate::photo::KEYPOINTS.into(),
            hash: k.encode(),
            photo: Some(1),
        });
        r
    }

    /// A judged check of photo 1 against banned photo 1 with this verification.
    fn verified(
        inliers: u32,
        coverage: f32,
        aligned: Option<f32>,
        colour: Option<f32>,
    ) -> PhotoCheck {
        PhotoCheck {
            photo: 1,
            banned_photo: 1,
            mirrored: false,
            verified: crate::photo::verify::Verified {
                inliers,
                matches: inliers,
                coverage,
                aligned,
                colour,
                ..Default::default()
            },
            judged: true,
            guided: None,
        }
    }

    #[test]
    fn the_aligned_region_confirms_few_keypoints_and_refutes_a_shared_logo() {
        let check = |inliers: u32, coverage: f32, aligned: Option<f32>| {
            verified(inliers, coverage, aligned, None)
        };
        // Without thumbnails the count alone decides, as before them.
        assert!(check(18, 0.08, None).confirmed());
        assert!(!check(17, 0.5, None).confirmed());
        assert!(!check(40, 0.07, None).confirmed());
        // A crop's few keypoints, its pixels agreeing: a copy.
        assert!(check(ALIGNED_FROM, ALIGNED_COVERAGE, Some(ALIGNED_CONFIRMS)).confirmed());
        assert!(check(14, 0.2, Some(0.95)).confirmed());
        // Not when too few, too bunched, or agreeing as look-alikes do.
        assert!(!check(ALIGNED_FROM - 1, 0.3, Some(0.99)).confirmed());
        assert!(!check(14, 0.04, Some(0.99)).confirmed());
        assert!(!check(14, 0.2, Some(0.8)).confirmed());
        // Enough keypoints whose pixels disagree: a logo on two products, unless they are many.
        assert!(!check(19, 0.11, Some(0.33)).confirmed());
        assert!(check(19, 0.11, Some(ALIGNED_REFUTES)).confirmed());
        assert!(check(ALIGNED_UNREFUTED, 0.11, Some(0.1)).confirmed());
        assert!(check(60, 0.4, Some(-0.2)).confirmed());
    }

    #[test]
    fn a_confirmed_pair_outranks_an_unconfirmed_one_with_more_keypoints() {
        // A crop confirmed by its pixels on 12 keypoints against another photo's 17 unconfirmed.
        let crop = verified(12, 0.2, Some(0.95), None);
        let other = verified(17, 0.3, Some(0.5), None);
        assert!(crop.confirmed() && !other.confirmed());
        assert!(crop.outranks(&other) && !other.outranks(&crop));
        // A pair only the guided verification confirms outranks one with more first-pass ones.
        let guided = PhotoCheck {
            guided: Some(verified(25, 0.2, Some(0.9), Some(0.9)).verified),
            ..verified(8, 0.1, Some(0.6), None)
        };
        assert!(guided.confirmed() && guided.outranks(&other));
        // Among unconfirmed (or among confirmed) pairs, more keypoints, then judged ones.
        assert!(other.outranks(&verified(16, 0.3, Some(0.5), None)));
        let unjudged = PhotoCheck {
            judged: false,
            ..other
        };
        assert!(other.outranks(&unjudged) && !unjudged.outranks(&other));
        assert!(!other.outranks(&other));
    }

    #[test]
    fn colour_decides_an_aligned_confirmation_and_no_placement_refutes_a_near_exact_hash() {
        let check = |inliers: u32, aligned: f32, colour: Option<f32>| {
            verified(inliers, 0.2, Some(aligned), colour)
        };
        // Grey shapes agreeing and colour edges too: a (recoloured) crop.
        assert!(check(12, ALIGNED_CONFIRMS, Some(COLOUR_CONFIRMS)).confirmed());
        // The same shapes coloured each part its own way: a look-alike.
        assert!(!check(12, 0.9, Some(COLOUR_CONFIRMS - 0.01)).confirmed());
        // No colour to judge (a grey photo): the grey agreement alone, as before.
        assert!(check(12, ALIGNED_CONFIRMS, None).confirmed());
        assert!(!check(12, 0.8, None).confirmed());
        // Colour agreeing closely lets a lower grey agreement confirm, not a much lower one.
        assert!(check(12, ALIGNED_WITH_COLOUR, Some(COLOUR_CLOSE)).confirmed());
        assert!(!check(12, ALIGNED_WITH_COLOUR - 0.01, Some(0.99)).confirmed());
        // The count's confirmation is not the colour's to take away.
        assert!(check(30, 0.9, Some(0.1)).confirmed());

        // A near-exact hash match: keypoints with no placement at all make it a look-alike;
        // a few consistent ones (a framed copy), or keypoints too few to judge, leave it close.
        let near = Some((1, NEAR_EXACT_ON_64));
        let mut c = check(NEAR_EXACT_REFUTED_UNDER - 1, 0.0, None);
        assert_eq!(PhotoCheck::fold(near, Some(&c)), Some((1, REFUTED_ON_64)));
        assert_eq!(
            PhotoCheck::fold(Some((1, 1)), Some(&c)),
            Some((1, REFUTED_ON_64))
        );
        c.judged = false;
        assert_eq!(PhotoCheck::fold(near, Some(&c)), near);
        let c = check(NEAR_EXACT_REFUTED_UNDER, 0.0, None);
        assert_eq!(PhotoCheck::fold(near, Some(&c)), near);
        assert_eq!(PhotoCheck::fold(near, None), near);
    }

    #[test]
    fn several_edits_at_once_are_confirmed_by_the_guided_verification() {
        // Drawn banned photos, and listings showing each turned a few degrees, cropped, with a
        // caption box over it and saved at a low JPEG quality: the first verification leaves
        // some with too few consistent keypoints, or too loose a placement, for either rule.
        use imageproc::geometric_transformations::{Border, Interpolation, rotate_about_center};
        let photo = |i: usize| crate::pipeline::photo_suite::drawn_photo(700 + i as u64, i);
        let records: Vec<BannedRecord> = (0..12).map(|i| thumbed_record(i, &photo(i))).collect();
        let banned: Vec<PreparedBanned> = records
            .iter()
            .map(|r| PreparedBanned::new(r.clone(), &Uniform))
            .collect();
        let (mut first, mut guided) = (0, 0);
        for i in 0..records.len() {
            let p = photo(i).to_rgb8();
            let (w, h) = p.dimensions();
            let turn = if i % 2 == 0 { 6f32 } else { -7f32 }.to_radians();
            let turned = rotate_about_center(
                &p,
                turn,
                Interpolation::Bilinear,
                Border::Constant(image::Rgb([255, 255, 255])),
            );
            let (x, y) = ((i as u32 % 3) * w / 12, (i as u32 % 4) * h / 16);
            let mut edited =
                image::imageops::crop_imm(&turned, x, y, w * 3 / 4, h * 3 / 4).to_image();
            let (ew, eh) = edited.dimensions();
            imageproc::drawing::draw_filled_rect_mut(
                &mut edited,
                imageproc::rect::Rect::at((ew / 8) as i32, (eh * 3 / 4) as i32)
                    .of_size(ew * 2 / 5, eh / 9),
                image::Rgb([200, 30, 30]),
            );
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 30)
                .encode_image(&edited)
                .unwrap();
            let listed = image::load_from_memory(&jpeg).unwrap();
            let mut photos = QueryPhotos::default();
            photos.add_photo(&crate::photo::PhotoHasher::new(), 1, &listed);
            let l = listing(json!({"id": "L", "title": "photo"}));
            let l = PreparedListing::new(&l, photos, &Uniform);
            // Its own banned photo, and the next one (another drawn product of that kind).
            for j in [i, (i + 1) % banned.len()] {
                let Some(c) = PhotoCheck::best_with(&l, &banned[j], true, true, true) else {
                    continue;
                };
                if i != j {
                    assert!(!c.confirmed(), "copy of {i} confirmed as {j}: {c:?}");
                    continue;
                }
                let by_first = PhotoCheck { guided: None, ..c }.confirmed();
                first += u32::from(by_first);
                guided += u32::from(c.confirmed() && !by_first);
                if c.confirmed() && !by_first {
                    // The evidence shows the verification that confirmed.
                    assert_eq!(c.confirming(), c.guided.as_ref());
                }
            }
        }
        println!("confirmed by the first verification {first}, by the guided one only {guided}");
        // 7 and 1 of 12 when written.
        assert!(first + guided >= 8 && guided >= 1, "{first} {guided}");
    }

    #[test]
    fn a_crop_too_deep_for_the_count_is_confirmed_by_its_aligned_region() {
        // Drawn banned photos, and a listing showing part of one of them: 65 % of each side,
        // enlarged as a seller's crop is. Some keep fewer of the banned photo's keypoints than
        // the count needs (11 of 28 and 38 shown, for two of these ten).
        let photo = |i: usize| crate::pipeline::photo_suite::drawn_photo(900 + i as u64, i);
        let records: Vec<BannedRecord> = (0..10).map(|i| thumbed_record(i, &photo(i))).collect();
        let mut seen = (0, 0);
        for i in 0..records.len() {
            let p = photo(i);
            let (w, h) = (p.width(), p.height());
            let crop = p.crop_imm(w / 5, h / 6, w * 13 / 20, h * 13 / 20).resize(
                w,
                h,
                image::imageops::FilterType::Triangle,
            );
            let mut photos = QueryPhotos::default();
            photos.add_photo(&crate::photo::PhotoHasher::new(), 1, &crop);
            let l = listing(json!({"id": "L", "title": "photo"}));
            let l = PreparedListing::new(&l, photos, &Uniform);
            for (j, other) in records.iter().enumerate() {
                let b = PreparedBanned::new(other.clone(), &Uniform);
                let Some(c) = PhotoCheck::best(&l, &b, true, true) else {
                    continue;
                };
                if i == j {
                    seen.0 += u32::from(c.confirmed());
                    if c.verified.inliers < VERIFIED_INLIERS && c.confirmed() {
                        seen.1 += 1;
                    }
                } else {
                    assert!(!c.confirmed(), "crop of {i} confirmed as {j}: {c:?}");
                }
            }
        }
        // Most crops confirmed, and some only by their aligned region.
        assert!(seen.0 >= 8 && seen.1 >= 2, "{seen:?}");
    }

    #[test]
    fn photo_hits_judged_are_the_close_and_the_most_voted_of_them() {
        // A listing photo (an edited copy of banned photo 7) against records of drawn photos
        // of the same few kinds, found by a photo hash alone: more of them share keypoints with
        // it than are verified.
        let photo = |i: usize| crate::pipeline::photo_suite::drawn_photo(700 + i as u64, i);
        let records: Vec<BannedRecord> = (0..40).map(|i| photo_record(i, &photo(i))).collect();
        let p = photo(7);
        let (w, h) = (p.width(), p.height());
        let edited = p.crop_imm(w / 10, h / 12, w * 4 / 5, h * 5 / 6).rotate90();
        let mut photos = QueryPhotos::default();
        photos.add_photo(&crate::photo::PhotoHasher::new(), 1, &edited);
        let l = listing(json!({"id": "L", "title": "photo"}));
        let l = PreparedListing::new(&l, photos, &Uniform);
        let prepared: Vec<PreparedBanned> = records
            .iter()
            .map(|r| PreparedBanned::new(r.clone(), &Uniform))
            .collect();
        let prints: Vec<crate::photo::BannedPhotoPrints> = records
            .iter()
            .map(|r| {
                let h = &r.image_hashes;
                crate::photo::BannedPhotoPrints::new(h, &crate::photo::record_keypoints(h))
            })
            .collect();
        // The index's prints are the prepared record's.
        for (b, p) in prepared.iter().zip(&prints) {
            assert_eq!(&b.photos[..], &p.pairs[..]);
            assert_eq!(&b.pdqs[..], &p.pdqs[..]);
            let kp: Vec<&[u64]> = b.keypoints.iter().map(|(_, _, p)| &p[..]).collect();
            let pp: Vec<&[u64]> = p.prints.iter().map(|p| &p[..]).collect();
            assert_eq!(kp, pp);
        }
        let judged = photo_hits_worth_judging(l.photos(), &prints.iter().collect::<Vec<_>>());
        let voted = verified_by_votes(&l, &prepared.iter().collect::<Vec<_>>());
        let mut verified = 0;
        for (i, b) in prepared.iter().enumerate() {
            let f = Features::compute_with(
                &l,
                &ListingCodes::new(&l, &Roles::default()),
                b,
                &Uniform,
                &Roles::default(),
                voted[i],
            );
            // Judged exactly when judging them could give photo evidence: a close hash, or a
            // verification.
            let close = f.photo_hashed.is_some_and(|(_, d)| d < PHOTO_RADIUS);
            assert_eq!(judged[i], close || voted[i], "record {i}");
            assert_eq!(judged[i], close || f.photo_check.is_some(), "record {i}");
            verified += usize::from(f.photo_check.is_some());
        }
        assert!(judged[7] && voted[7], "the copy");
        // Not a comparison of everything with everything: some are left unread, and more
        // met the listing's keypoints than are verified.
        assert!(judged.iter().any(|j| !j), "{judged:?}");
        let met = prints
            .iter()
            .filter(|p| {
                best_votes(l.photos(), p.prints.iter().map(|p| &p[..]))
                    .is_some_and(|v| v >= crate::photo::descriptors::MIN_VOTES)
            })
            .count();
        assert!(met > VOTED_PER_LISTING, "{met} met");
        assert!(verified < judged.len(), "{verified} verified");
    }
}

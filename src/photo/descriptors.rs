//! Retrieval by keypoint descriptors: which banned photos share enough local detail with a
//! listing photo to be worth verifying, without comparing it with every banned photo.
//!
//! Locality-sensitive hashing by bit sampling (as FLANN's LSH index for ORB): each of
//! [`TABLES`] tables keys a descriptor by [`KEY_BITS`] fixed bits of its 256, so two
//! descriptors of one physical detail (a dozen or so bits apart) share a key in at least one
//! table far more often than two unrelated ones (128 bits apart) do. A banned photo collects a
//! vote from each listing descriptor that meets one of its descriptors in a bucket and agrees
//! with it on a 32-bit fingerprint (other bits of the descriptor, within [`FINGERPRINT_SLACK`]):
//! BRIEF's bits are correlated, so keys alone collide across unrelated photos far more often
//! than 16 independent bits would, and the fingerprint removes most of those chance votes. The
//! photos with most votes are the candidates. Buckets are flat arrays (one sort at build time), so a
//! lookup is a slice, and the cost of a query grows with the bucket sizes, not with a scan.

use super::keypoints::{Descriptor, Keypoints};

/// Tables, and bits per key. 16 bits give 65,536 buckets a table: at 100k banned photos of 128
/// keypoints, about 200 entries a bucket.
pub const TABLES: usize = 3;
pub const KEY_BITS: usize = 12;
/// Votes a banned photo needs to be a candidate: a couple of chance meetings are common.
pub const MIN_VOTES: u32 = 2;
/// Bits a fingerprint may differ by: a descriptor of the same detail differs in about an
/// eighth of its bits (4 of 32), an unrelated one in half.
pub const FINGERPRINT_SLACK: u32 = 8;

/// A bucket holding this many times its fair share is a detail every photo has (flat skies,
/// straight edges): it votes for nothing.
const CROWDED: usize = 32;

/// Bits keys and fingerprints are read from: the descriptor's first half, the tests whose bits
/// are the most even (the learned tests come most even first, see `keypoints::tests`).
const EVEN_BITS: u64 = 128;
/// Bits of a fingerprint.
const PRINT_BITS: usize = 32;

/// Key bits an index may add to [`KEY_BITS`] as it grows (see [`DescriptorIndexBuilder::build`]).
const EXTRA_BITS: usize = 8;
/// Entries a bucket should hold about at most, on average: what sets an index's key bits.
const BUCKET_ENTRIES: usize = 64;

/// The sampled bit positions of each table: its key's, its fingerprint's, then the extra key
/// bits of a large index. Fixed, since stored indexes and queries must agree; the extra bits
/// are drawn after all the others, so the key and fingerprint bits are those indexes always had.
fn positions() -> &'static [[u8; KEY_BITS + PRINT_BITS + EXTRA_BITS]; TABLES] {
    static P: std::sync::OnceLock<[[u8; KEY_BITS + PRINT_BITS + EXTRA_BITS]; TABLES]> =
        std::sync::OnceLock::new();
    P.get_or_init(|| {
        let mut state = 0xD1B5_4A32_D192_ED03_u64;
        let mut out = [[0u8; KEY_BITS + PRINT_BITS + EXTRA_BITS]; TABLES];
        let mut taken = [[false; 256]; TABLES];
        for (range, tables) in [
            (0..KEY_BITS + PRINT_BITS, 0..TABLES),
            (
                KEY_BITS + PRINT_BITS..KEY_BITS + PRINT_BITS + EXTRA_BITS,
                0..TABLES,
            ),
        ] {
            for t in tables {
                for slot in out[t][range.clone()].iter_mut() {
                    loop {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                        let bit = ((state >> 33) % EVEN_BITS) as usize;
                        if !taken[t][bit] {
                            taken[t][bit] = true;
                            *slot = bit as u8;
                            break;
                        }
                    }
                }
            }
        }
        out
    })
}

/// The bits of `d` at `positions`, packed.
#[inline]
fn gather(d: &Descriptor, positions: &[u8]) -> u32 {
    let mut k = 0u32;
    for (i, &bit) in positions.iter().enumerate() {
        let b = (d[(bit / 64) as usize] >> (bit % 64)) & 1;
        k |= (b as u32) << i;
    }
    k
}

/// The fingerprint of a descriptor in `table`: bits its key does not read.
#[inline]
fn fingerprint(d: &Descriptor, table: usize) -> u32 {
    gather(d, &positions()[table][KEY_BITS..KEY_BITS + PRINT_BITS])
}

/// The key of a descriptor in `table`.
#[inline]
fn key(d: &Descriptor, table: usize) -> u32 {
    gather(d, &positions()[table][..KEY_BITS])
}

/// The key of a descriptor in `table` with all the extra bits (a large index keeps the
/// [`KEY_BITS`] + its own extra of them: the low bits are [`key`]'s).
#[inline]
fn long_key(d: &Descriptor, table: usize) -> u32 {
    key(d, table) | gather(d, &positions()[table][KEY_BITS + PRINT_BITS..]) << KEY_BITS
}

/// A photo's descriptors as the index files them, for the pair test
/// ([`QueryPrints::votes`]): one entry per descriptor and table, `table:key` (14 bits) above
/// its fingerprint (32) above the descriptor's number (16), sorted by key.
pub fn prints(k: &Keypoints) -> Vec<u64> {
    let mut out: Vec<u64> = (0..TABLES)
        .flat_map(|t| {
            k.descriptors.iter().enumerate().map(move |(i, d)| {
                let tk = ((t as u64) << KEY_BITS) | key(d, t) as u64;
                (tk << 48) | ((fingerprint(d, t) as u64) << 16) | (i as u64 & 0xFFFF)
            })
        })
        .collect();
    out.sort_unstable();
    out
}

/// A listing photo's [`prints`], with each bucket key's run of them found by one look-up: the
/// pair test ([`QueryPrints::votes`]) runs once per candidate photo, hundreds of times a
/// check when far photo hashes bring many candidates, and walking both sorted lists to meet
/// them cost more than the look-ups of the banned photo's entries do.
#[derive(Debug, Clone, Default)]
pub struct QueryPrints {
    /// The prints, sorted.
    entries: Vec<u64>,
    /// Entries with bucket key (`table:key`) `k` are `starts[k]..starts[k + 1]`; empty when
    /// there are none.
    starts: Vec<u32>,
}

/// Bucket keys (`table:key`, see [`prints`]): the top 16 bits of an entry.
const BUCKET_KEYS: usize = TABLES << KEY_BITS;

impl QueryPrints {
    pub fn new(k: &Keypoints) -> QueryPrints {
        let entries = prints(k);
        if entries.is_empty() {
            return QueryPrints::default();
        }
        let mut starts = vec![0u32; BUCKET_KEYS + 1];
        for e in &entries {
            starts[((e >> 48) as usize).min(BUCKET_KEYS - 1) + 1] += 1;
        }
        for i in 0..BUCKET_KEYS {
            starts[i + 1] += starts[i];
        }
        QueryPrints { entries, starts }
    }

    /// The votes a banned photo (`banned`, from [`prints`]) gets from this listing photo's
    /// descriptors: how many of them meet one of its descriptors in a bucket with a
    /// fingerprint within [`FINGERPRINT_SLACK`], as [`DescriptorIndex::candidates`] counts
    /// them. The test of whether a pair is worth verifying: unrelated photos share bucket keys
    /// by the dozen (BRIEF's bits are correlated and a key has 12), but seldom a fingerprint
    /// as well.
    pub fn votes(&self, banned: &[u64]) -> u32 {
        if self.entries.is_empty() {
            return 0;
        }
        // Which query descriptors voted; numbers past the set's size fold onto it (a count can
        // only come out low, and the sizes are bounded well under it).
        let mut voted = [0u64; 8];
        for &e in banned {
            let k = (e >> 48) as usize;
            if k >= BUCKET_KEYS {
                continue;
            }
            let (a, b) = (self.starts[k] as usize, self.starts[k + 1] as usize);
            let fp = (e >> 16) as u32;
            for &q in &self.entries[a..b] {
                if ((q >> 16) as u32 ^ fp).count_ones() <= FINGERPRINT_SLACK {
                    let n = (q & 0x1FF) as usize;
                    voted[n / 64] |= 1 << (n % 64);
                }
            }
        }
        voted.iter().map(|w| w.count_ones()).sum()
    }
}

/// Banned photos' descriptors, bucketed (see the module's doc). Ids are the caller's.
#[derive(Debug, Default)]
pub struct DescriptorIndex {
    /// Key bits of this index: [`KEY_BITS`], and more as it grows.
    bits: usize,
    /// Per table: `starts[key]..starts[key + 1]` index `entries`.
    starts: Vec<Vec<u32>>,
    /// Per table: each entry's id (high 32 bits) beside its fingerprint (low 32): a bucket's
    /// ids are read where its fingerprints are, not from another cache line (kept apart, the
    /// id reads after a fingerprint agreed were a quarter of a query's time, most of them
    /// cache misses).
    entries: Vec<Vec<u64>>,
    /// A bucket over this is crowded (see [`CROWDED`]).
    crowded: usize,
    /// One past the largest id filed: the size of a query's vote counters.
    ids: usize,
}

/// Votes per item, counted in place ([`DescriptorIndex::votes`]): at 100k photos a query meets
/// tens of thousands of items, and a hash map of them (growing by rehashes as it went) was a
/// fifth of retrieval's time; an array indexed by id is one increment a meeting.
struct Votes {
    /// Votes of each id.
    count: Vec<u32>,
    /// The ids with a vote, in the order first met.
    met: Vec<u32>,
}

impl Votes {
    fn new(ids: usize) -> Votes {
        Votes {
            count: vec![0; ids],
            met: Vec::new(),
        }
    }

    fn add(&mut self, id: u32, v: u32) {
        let c = &mut self.count[id as usize];
        if *c == 0 {
            self.met.push(id);
        }
        *c += v;
    }
}

/// Collects the photos of an index before its buckets are laid out.
#[derive(Debug, Default)]
pub struct DescriptorIndexBuilder {
    /// Per table: `(key, id, fingerprint)`.
    entries: Vec<Vec<(u32, u32, u32)>>,
}

/// Key bits of an index whose largest table holds `entries`.
fn key_bits(entries: usize) -> usize {
    let mut bits = KEY_BITS;
    while bits < KEY_BITS + EXTRA_BITS && entries > BUCKET_ENTRIES << bits {
        bits += 1;
    }
    bits
}

impl DescriptorIndexBuilder {
    pub fn new() -> Self {
        DescriptorIndexBuilder {
            entries: vec![Vec::new(); TABLES],
        }
    }

    /// Adds the descriptors of one photo of item `id`. Ids are small numbers (a snapshot's
    /// photo numbers): a query counts votes in an array as long as the largest.
    pub fn insert(&mut self, id: u32, k: &Keypoints) {
        for (t, entries) in self.entries.iter_mut().enumerate() {
            entries.extend(
                k.descriptors
                    .iter()
                    .map(|d| (long_key(d, t), id, fingerprint(d, t))),
            );
        }
    }

    /// Lays out the buckets. The key grows a bit each time the entries double past
    /// `BUCKET_ENTRIES` a bucket (up to `EXTRA_BITS` more): with [`KEY_BITS`] alone, 100k
    /// photos put thousands of entries in a bucket and a query compared its descriptors with
    /// millions of them. A longer key misses more true pairs in each table (each bit is
    /// another chance to differ), a cost only a large index pays.
    pub fn build(self) -> DescriptorIndex {
        let bits = key_bits(self.entries.iter().map(Vec::len).max().unwrap_or(0));
        let buckets = 1usize << bits;
        let mask = (buckets - 1) as u32;
        let mut index = DescriptorIndex {
            bits,
            ..Default::default()
        };
        let mut total = 0;
        for mut entries in self.entries {
            for e in entries.iter_mut() {
                e.0 &= mask;
            }
            entries.sort_unstable();
            entries.dedup();
            total = total.max(entries.len());
            let ids = entries.iter().map(|e| e.1 as usize + 1).max();
            index.ids = index.ids.max(ids.unwrap_or(0));
            let mut starts = vec![0u32; buckets + 1];
            for &(k, _, _) in &entries {
                starts[k as usize + 1] += 1;
            }
            for i in 0..buckets {
                starts[i + 1] += starts[i];
            }
            index.entries.push(
                entries
                    .iter()
                    .map(|e| u64::from(e.1) << 32 | u64::from(e.2))
                    .collect(),
            );
            index.starts.push(starts);
        }
        index.crowded = (total / buckets + 1) * CROWDED;
        index
    }
}

impl DescriptorIndex {
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(Vec::is_empty)
    }

    /// The items with the most votes from `queries` (each descriptor votes once per item), at
    /// most `limit`, with at least [`MIN_VOTES`]: `(id, votes)`, most votes first.
    pub fn candidates(&self, queries: &[&Keypoints], limit: usize) -> Vec<(u32, u32)> {
        if self.is_empty() {
            return Vec::new();
        }
        let all: Vec<&Descriptor> = queries.iter().flat_map(|k| &k.descriptors).collect();
        // A check waits for this on one core while the other has little left to do (the text
        // search is short): the descriptors' votes are counted in two halves, one a core, and
        // added up. Each descriptor votes once per item whichever half counts it, so the sums
        // are the votes counted in one pass.
        let votes = if all.len() >= SPLIT_FROM {
            let (a, b) = all.split_at(all.len() / 2);
            let (mut a, b) = rayon::join(|| self.votes(a), || self.votes(b));
            for &id in &b.met {
                a.add(id, b.count[id as usize]);
            }
            a
        } else {
            self.votes(&all)
        };
        // The sort below is a total order (votes, then id), so the order items were met in
        // does not show.
        let mut out: Vec<(u32, u32)> = votes
            .met
            .iter()
            .map(|&id| (id, votes.count[id as usize]))
            .filter(|(_, v)| *v >= MIN_VOTES)
            .collect();
        out.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(limit);
        out
    }

    /// The votes of `descriptors` per item: how many of them meet one of the item's
    /// descriptors in a bucket of some table with a fingerprint within [`FINGERPRINT_SLACK`].
    fn votes(&self, descriptors: &[&Descriptor]) -> Votes {
        let mut votes = Votes::new(self.ids);
        let mut met: Vec<u32> = Vec::new();
        let mask = (1u32 << self.bits) - 1;
        // At 100k photos the buckets lie far apart in memory and each is a cache miss: the
        // buckets of a few descriptors are located, and their first entries read, before any is
        // scanned, so that the misses overlap instead of coming one after another.
        let mut spans: Vec<(usize, usize, usize, u32)> = Vec::with_capacity(BATCH * TABLES);
        for batch in descriptors.chunks(BATCH) {
            spans.clear();
            for d in batch {
                for t in 0..TABLES {
                    let k = (long_key(d, t) & mask) as usize;
                    let (a, b) = (self.starts[t][k] as usize, self.starts[t][k + 1] as usize);
                    spans.push((t, a, b, fingerprint(d, t)));
                }
            }
            let mut touched = 0u64;
            for &(t, a, b, _) in &spans {
                if a < b && b - a <= self.crowded {
                    touched ^= self.entries[t][a];
                }
            }
            std::hint::black_box(touched);
            for one in spans.chunks(TABLES) {
                met.clear();
                for &(t, a, b, fp) in one {
                    if b - a > self.crowded {
                        continue;
                    }
                    // A bucket holds dozens of entries at 100k photos: the fingerprints are
                    // compared a block at a time into flags, a loop the compiler runs on whole
                    // vectors, and only the few that agree are looked at one by one.
                    let mut close = [false; 64];
                    for block in self.entries[t][a..b].chunks(64) {
                        for (c, e) in close.iter_mut().zip(block) {
                            *c = (*e as u32 ^ fp).count_ones() <= FINGERPRINT_SLACK;
                        }
                        if !close[..block.len()].contains(&true) {
                            continue;
                        }
                        for (e, _) in block.iter().zip(&close).filter(|(_, c)| **c) {
                            met.push((e >> 32) as u32);
                        }
                    }
                }
                met.sort_unstable();
                met.dedup();
                for &id in &met {
                    votes.add(id, 1);
                }
            }
        }
        votes
    }
}

/// Query descriptors whose buckets are located before any is scanned ([`DescriptorIndex::votes`]).
const BATCH: usize = 16;
/// Query descriptors from which [`DescriptorIndex::candidates`] counts votes on two cores: a
/// listing photo and its mirror give 512; a handful are not worth a hand-over.
const SPLIT_FROM: usize = 128;

#[cfg(test)]
mod tests {
    use super::super::keypoints::{BANNED_KEYPOINTS, QUERY_KEYPOINTS, extract, tests::textured};
    use super::*;
    use rustc_hash::FxHashMap;

    #[test]
    fn an_edited_photo_finds_its_original_among_others() {
        let mut b = DescriptorIndexBuilder::new();
        let photo =
            |id: u32| crate::pipeline::photo_suite::drawn_photo(100 + id as u64, id as usize);
        for id in 0..20u32 {
            b.insert(id, &extract(&photo(id), BANNED_KEYPOINTS).unwrap());
        }
        let index = b.build();
        let p = photo(17);
        let (w, h) = (p.width(), p.height());
        let edited = p.crop_imm(w / 8, h / 10, w * 3 / 4, h * 4 / 5).rotate90();
        let q = extract(&edited, QUERY_KEYPOINTS).unwrap();
        let found = index.candidates(&[&q], 3);
        assert_eq!(found.first().map(|f| f.0), Some(17), "{found:?}");
    }

    /// The votes as first counted: one pass over the descriptors, each bucket scanned as
    /// soon as it is located. The reference the batched, two-core count must agree with.
    fn one_pass_candidates(
        index: &DescriptorIndex,
        queries: &[&Keypoints],
        limit: usize,
    ) -> Vec<(u32, u32)> {
        let mut votes: FxHashMap<u32, u32> = FxHashMap::default();
        let mask = (1u32 << index.bits) - 1;
        for d in queries.iter().flat_map(|k| &k.descriptors) {
            let mut met: Vec<u32> = Vec::new();
            for t in 0..TABLES {
                let k = (long_key(d, t) & mask) as usize;
                let (a, b) = (index.starts[t][k] as usize, index.starts[t][k + 1] as usize);
                if b - a > index.crowded {
                    continue;
                }
                let fp = fingerprint(d, t);
                met.extend(
                    index.entries[t][a..b]
                        .iter()
                        .filter(|e| (**e as u32 ^ fp).count_ones() <= FINGERPRINT_SLACK)
                        .map(|e| (e >> 32) as u32),
                );
            }
            met.sort_unstable();
            met.dedup();
            for id in met {
                *votes.entry(id).or_default() += 1;
            }
        }
        let mut out: Vec<(u32, u32)> = votes.into_iter().filter(|(_, v)| *v >= MIN_VOTES).collect();
        out.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(limit);
        out
    }

    #[test]
    fn split_batched_votes_are_the_one_pass_votes() {
        // Photos of a few kinds, each several times over, so that buckets hold many entries
        // and many items get votes; queries of one photo (under the split) and of a photo and
        // its mirror (over it), edited and not.
        let mut b = DescriptorIndexBuilder::new();
        let photo = |id: u64| crate::pipeline::photo_suite::drawn_photo(500 + id, id as usize);
        let kinds: Vec<Keypoints> = (0..4)
            .map(|id| extract(&photo(id), BANNED_KEYPOINTS).unwrap())
            .collect();
        for id in 0..64u32 {
            b.insert(id, &kinds[id as usize % kinds.len()]);
        }
        let index = b.build();
        for id in [1u64, 6] {
            let p = photo(id);
            let (w, h) = (p.width(), p.height());
            let edited = p.crop_imm(w / 9, h / 7, w * 3 / 4, h * 3 / 4);
            let q = extract(&edited, QUERY_KEYPOINTS).unwrap();
            let m = extract(&edited.fliph(), QUERY_KEYPOINTS).unwrap();
            let small = extract(&edited, 40).unwrap();
            for queries in [vec![&q, &m], vec![&q], vec![&small], vec![]] {
                let n: usize = queries.iter().map(|k| k.len()).sum();
                for limit in [3, 64] {
                    let got = index.candidates(&queries, limit);
                    assert_eq!(
                        got,
                        one_pass_candidates(&index, &queries, limit),
                        "{n} descriptors"
                    );
                    if n > 0 && limit == 64 && id < 4 {
                        assert!(!got.is_empty(), "{n} descriptors found nothing");
                    }
                }
            }
        }
    }

    #[test]
    fn votes_counted_by_id_are_the_one_pass_votes_whatever_the_ids() {
        // Ids with gaps, filed out of order, some items with two photos, the largest id met
        // last: the counters are sized by the largest id and every id is counted once a
        // descriptor, whichever half meets it.
        let mut b = DescriptorIndexBuilder::new();
        let photo = |id: u64| crate::pipeline::photo_suite::drawn_photo(700 + id, id as usize);
        let kinds: Vec<Keypoints> = (0..3)
            .map(|id| extract(&photo(id), BANNED_KEYPOINTS).unwrap())
            .collect();
        for (n, id) in [9000u32, 5, 77, 4096, 5, 12_345, 0, 77]
            .into_iter()
            .enumerate()
        {
            b.insert(id, &kinds[n % kinds.len()]);
        }
        let index = b.build();
        assert_eq!(index.ids, 12_346);
        for id in 0..3u64 {
            let p = photo(id);
            let q = extract(&p, QUERY_KEYPOINTS).unwrap();
            let m = extract(&p.fliph(), QUERY_KEYPOINTS).unwrap();
            for queries in [vec![&q, &m], vec![&q]] {
                for limit in [1, 3, 64] {
                    let got = index.candidates(&queries, limit);
                    assert_eq!(got, one_pass_candidates(&index, &queries, limit));
                    assert!(!got.is_empty());
                }
            }
        }
    }

    #[test]
    fn keys_grow_with_the_index_and_keep_their_low_bits() {
        // The suite's and the tests' indexes (up to a thousand photos) keep 12 bits.
        assert_eq!(key_bits(0), KEY_BITS);
        assert_eq!(key_bits(1000 * BANNED_KEYPOINTS), KEY_BITS);
        assert_eq!(key_bits(100_000 * BANNED_KEYPOINTS), 18);
        assert_eq!(key_bits(usize::MAX), KEY_BITS + EXTRA_BITS);
        let k = extract(&textured(7, 300, 300), 32).unwrap();
        for d in &k.descriptors {
            for t in 0..TABLES {
                assert_eq!(long_key(d, t) & ((1 << KEY_BITS) - 1), key(d, t));
            }
        }
        for (t, table) in positions().iter().enumerate() {
            let mut seen = table.to_vec();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), table.len(), "table {t} samples a bit twice");
        }
    }

    /// The votes as first written: both sorted lists walked together, each shared bucket's
    /// listing entries tested against its banned ones. The reference `QueryPrints::votes`
    /// must agree with.
    fn merged_votes(query: &[u64], banned: &[u64]) -> u32 {
        let mut voted = [0u64; 8];
        let (mut i, mut j) = (0, 0);
        while i < query.len() && j < banned.len() {
            let (a, b) = (query[i] >> 48, banned[j] >> 48);
            if a < b {
                i += 1;
            } else if a > b {
                j += 1;
            } else {
                let end = banned[j..]
                    .iter()
                    .position(|e| e >> 48 != a)
                    .map_or(banned.len(), |p| j + p);
                while i < query.len() && query[i] >> 48 == a {
                    let fp = (query[i] >> 16) as u32;
                    if banned[j..end]
                        .iter()
                        .any(|e| ((e >> 16) as u32 ^ fp).count_ones() <= FINGERPRINT_SLACK)
                    {
                        let n = (query[i] & 0x1FF) as usize;
                        voted[n / 64] |= 1 << (n % 64);
                    }
                    i += 1;
                }
                j = end;
            }
        }
        voted.iter().map(|w| w.count_ones()).sum()
    }

    #[test]
    fn votes_count_the_query_descriptors_met() {
        let k = extract(&textured(5, 300, 300), 64).unwrap();
        let p = prints(&k);
        assert!(p.windows(2).all(|w| w[0] <= w[1]));
        let q = QueryPrints::new(&k);
        // Every descriptor meets itself, once however many tables agree.
        assert_eq!(q.votes(&p) as usize, k.len());
        assert_eq!(QueryPrints::default().votes(&p), 0);
        assert_eq!(q.votes(&[]), 0);
        // An unrelated photo meets few of them.
        let other = extract(&textured(6, 300, 300), 64).unwrap();
        let v = QueryPrints::new(&other).votes(&p);
        assert!(v < MIN_VOTES * 2, "{v}");
    }

    #[test]
    fn looked_up_votes_are_the_merged_ones() {
        // Listing photos (edited, full count) against banned ones of the same and of other
        // drawn photos: the count by look-ups is the count by walking both lists, pair by pair.
        let photo = |id: u64| crate::pipeline::photo_suite::drawn_photo(300 + id, id as usize);
        let banned: Vec<Vec<u64>> = (0..6)
            .map(|id| prints(&extract(&photo(id), BANNED_KEYPOINTS).unwrap()))
            .collect();
        let mut met = 0;
        for id in 0..6 {
            let p = photo(id);
            let (w, h) = (p.width(), p.height());
            let edited = p.crop_imm(w / 10, h / 12, w * 4 / 5, h * 5 / 6);
            for k in [
                extract(&edited, QUERY_KEYPOINTS).unwrap(),
                extract(&p.fliph(), QUERY_KEYPOINTS).unwrap(),
            ] {
                let (q, plain) = (QueryPrints::new(&k), prints(&k));
                for b in &banned {
                    let v = q.votes(b);
                    assert_eq!(v, merged_votes(&plain, b));
                    met += usize::from(v >= MIN_VOTES);
                }
            }
        }
        // Not a comparison of zeros: edited copies meet their originals.
        assert!(met >= 6, "{met}");
    }
}

//! Exact Hamming-radius search over fixed-width perceptual hashes by multi-index hashing (MIH).
//!
//! A linear scan compares the query with every stored hash, so its cost grows with the index.
//! MIH (Norouzi, Punjani and Fleet, 2012) splits every hash into `m` chunks of 16 bits and keeps
//! one table per chunk, from chunk value to the hashes that have it. By pigeonhole, a hash within
//! distance `r` of the query differs from it in at most `r / m` (rounded down) bits on at least
//! one chunk; probing every table with the chunk values within that sub-radius of the query's
//! chunk therefore finds every hit, and each candidate is verified on the full hash. Results are
//! exact: the same as a linear scan, which is what the property test below checks.
//!
//! Hashes are `[u64; W]`: [`Hash64`] for dHash and pHash, [`Hash256`] for PDQ. An id (a banned
//! record, say) may own several hashes (several photos, regions of a photo); a query reports each
//! id once, at its smallest distance.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A 64-bit hash (dHash, pHash).
pub type Hash64 = [u64; 1];
/// A 256-bit hash (PDQ).
pub type Hash256 = [u64; 4];

/// Bits per chunk. With about a million hashes, 16-bit chunks leave a few entries per bucket on
/// average, and the neighbours within the sub-radius of a 16-bit value stay few for the radii
/// perceptual hashes are searched with (≤ 2 of 16 bits for a 64-bit hash at distance 10).
const CHUNK_BITS: u32 = 16;
const CHUNKS_PER_WORD: usize = (64 / CHUNK_BITS) as usize;

/// Number of differing bits between two hashes.
pub fn distance<const W: usize>(a: &[u64; W], b: &[u64; W]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// An index of `64 × W`-bit hashes answering exact radius queries; see the module docs.
pub struct HammingIndex<const W: usize> {
    /// The hash stored in each slot; a free slot keeps its old value until reused.
    hashes: Vec<[u64; W]>,
    /// The id owning each slot, `None` for a free slot.
    owners: Vec<Option<u32>>,
    /// Free slots, reused by `insert` so that removals do not leave the tables growing.
    free: Vec<u32>,
    /// The slots of each id, for `remove`.
    slots_of: HashMap<u32, Vec<u32>>,
    /// One table per chunk: chunk value → slots whose hash has that value there.
    tables: Vec<HashMap<u16, Vec<u32>, BuildHasherDefault<ChunkHasher>>>,
    live: usize,
}

impl<const W: usize> Default for HammingIndex<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize> HammingIndex<W> {
    /// Width of the hashes in bits.
    pub const BITS: u32 = 64 * W as u32;

    /// An empty index for `64 × W`-bit hashes.
    pub fn new() -> Self {
        assert!(W > 0, "a Hamming index needs at least one 64-bit word");
        HammingIndex {
            hashes: Vec::new(),
            owners: Vec::new(),
            free: Vec::new(),
            slots_of: HashMap::new(),
            tables: (0..W * CHUNKS_PER_WORD)
                .map(|_| HashMap::default())
                .collect(),
            live: 0,
        }
    }

    /// Number of hashes stored.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Number of ids with at least one hash.
    pub fn ids(&self) -> usize {
        self.slots_of.len()
    }

    pub fn contains(&self, id: u32) -> bool {
        self.slots_of.contains_key(&id)
    }

    /// Adds a hash for `id` (an id may own several). Adding the same hash twice for one id
    /// stores it once.
    pub fn insert(&mut self, id: u32, hash: [u64; W]) {
        let slots = self.slots_of.entry(id).or_default();
        if slots.iter().any(|&s| self.hashes[s as usize] == hash) {
            return;
        }
        let slot = match self.free.pop() {
            Some(s) => {
                self.hashes[s as usize] = hash;
                self.owners[s as usize] = Some(id);
                s
            }
            None => {
                let s = u32::try_from(self.hashes.len()).expect("more than 2^32 hashes");
                self.hashes.push(hash);
                self.owners.push(Some(id));
                s
            }
        };
        slots.push(slot);
        for (j, table) in self.tables.iter_mut().enumerate() {
            table.entry(chunk(&hash, j)).or_default().push(slot);
        }
        self.live += 1;
    }

    /// Removes every hash of `id`; returns how many there were.
    pub fn remove(&mut self, id: u32) -> usize {
        let Some(slots) = self.slots_of.remove(&id) else {
            return 0;
        };
        for &slot in &slots {
            let hash = self.hashes[slot as usize];
            for (j, table) in self.tables.iter_mut().enumerate() {
                let key = chunk(&hash, j);
                if let Some(bucket) = table.get_mut(&key) {
                    if let Some(pos) = bucket.iter().position(|&s| s == slot) {
                        bucket.swap_remove(pos);
                    }
                    if bucket.is_empty() {
                        table.remove(&key);
                    }
                }
            }
            self.owners[slot as usize] = None;
            self.free.push(slot);
        }
        self.live -= slots.len();
        slots.len()
    }

    /// Every id with a hash within distance `r` of `query`, once each at its smallest distance,
    /// sorted by distance then id. Exact.
    pub fn radius(&self, query: &[u64; W], r: u32) -> Vec<(u32, u32)> {
        self.radius_any(std::slice::from_ref(query), r)
    }

    /// Every id with a hash within distance `r` of any of `queries` (a photo in its rotations
    /// and flips), once each at its smallest distance, sorted by distance then id. Exact. When
    /// a scan is the cheaper way, it is one pass for all the queries, not one per query.
    pub fn radius_any(&self, queries: &[[u64; W]], r: u32) -> Vec<(u32, u32)> {
        if queries.is_empty() {
            return Vec::new();
        }
        // Probing costs one table look-up per neighbour per chunk, and every hash found in a
        // probed bucket costs a random access, a sort and a check: about 24 times a scan's
        // sequential compare (benches/photos.rs `search`: at 1M hashes MIH wins up to radius 10
        // and loses from 12). When that exceeds a scan of everything, scan.
        let probes = self.tables.len() as u64 * neighbours_within(r / self.tables.len() as u32);
        let found = (probes * self.live as u64) >> CHUNK_BITS;
        if probes + 24 * found >= self.live as u64 {
            self.radius_scan(queries, r)
        } else {
            best_per_id(queries.iter().flat_map(|q| self.radius_mih(q, r)))
        }
    }

    /// `radius` by multi-index hashing, whatever the cost.
    fn radius_mih(&self, query: &[u64; W], r: u32) -> Vec<(u32, u32)> {
        let sub = (r / self.tables.len() as u32).min(CHUNK_BITS);
        let mut candidates: Vec<u32> = Vec::new();
        for (j, table) in self.tables.iter().enumerate() {
            let q = chunk(query, j);
            for_each_mask_within(sub, |mask| {
                if let Some(bucket) = table.get(&(q ^ mask)) {
                    candidates.extend_from_slice(bucket);
                }
            });
        }
        // A hash close to the query on several chunks is found once per chunk.
        candidates.sort_unstable();
        candidates.dedup();
        let hits = candidates.into_iter().filter_map(|slot| {
            let d = distance(&self.hashes[slot as usize], query);
            let id = self.owners[slot as usize].expect("tables hold live slots only");
            (d <= r).then_some((id, d))
        });
        best_per_id(hits)
    }

    /// `radius_any` by comparing the queries with every stored hash, in one pass.
    fn radius_scan(&self, queries: &[[u64; W]], r: u32) -> Vec<(u32, u32)> {
        let hits = self
            .hashes
            .iter()
            .zip(&self.owners)
            .filter_map(|(h, owner)| {
                let id = (*owner)?;
                let d = queries.iter().map(|q| distance(h, q)).min()?;
                (d <= r).then_some((id, d))
            });
        best_per_id(hits)
    }
}

/// One entry per id at its smallest distance, sorted by distance then id.
fn best_per_id(hits: impl Iterator<Item = (u32, u32)>) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = hits.collect();
    v.sort_unstable();
    v.dedup_by_key(|(id, _)| *id);
    v.sort_unstable_by_key(|&(id, d)| (d, id));
    v
}

/// Chunk `j` of a hash: 16 bits, counted from the low bits of the first word.
fn chunk<const W: usize>(hash: &[u64; W], j: usize) -> u16 {
    (hash[j / CHUNKS_PER_WORD] >> ((j % CHUNKS_PER_WORD) as u32 * CHUNK_BITS)) as u16
}

/// Number of 16-bit masks with at most `s` bits set: Σ C(16, k) for k ≤ s.
fn neighbours_within(s: u32) -> u64 {
    let mut total = 0u64;
    let mut c = 1u64; // C(16, k)
    for k in 0..=s.min(CHUNK_BITS) as u64 {
        total += c;
        c = c * (CHUNK_BITS as u64 - k) / (k + 1);
    }
    total
}

/// Calls `f` with every 16-bit mask having at most `s` bits set, fewest bits first.
fn for_each_mask_within(s: u32, mut f: impl FnMut(u16)) {
    f(0);
    for k in 1..=s.min(CHUNK_BITS) {
        // Gosper's hack: the masks with k bits set, in increasing order.
        let mut m: u32 = (1 << k) - 1;
        while m < 1 << CHUNK_BITS {
            f(m as u16);
            let c = m & m.wrapping_neg();
            let r = m + c;
            m = (((r ^ m) >> 2) / c) | r;
        }
    }
}

/// Hashes a 16-bit chunk value for the tables: one multiplication (Fibonacci hashing) instead
/// of SipHash, which would cost more than the look-up it serves. Chunk values are not chosen by
/// an attacker in a way that matters: a crafted collision only slows one bucket.
#[derive(Default)]
struct ChunkHasher(u64);

impl Hasher for ChunkHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u16(&mut self, n: u16) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// The reference: a linear scan over (id, hash) pairs, one entry per id at its best distance.
    fn linear<const W: usize>(items: &[(u32, [u64; W])], q: &[u64; W], r: u32) -> Vec<(u32, u32)> {
        let mut best: BTreeMap<u32, u32> = BTreeMap::new();
        for (id, h) in items {
            let d = distance(h, q);
            if d <= r {
                let e = best.entry(*id).or_insert(d);
                *e = (*e).min(d);
            }
        }
        let mut v: Vec<(u32, u32)> = best.into_iter().collect();
        v.sort_by_key(|&(id, d)| (d, id));
        v
    }

    #[test]
    fn mask_enumeration_is_complete_and_distinct() {
        for s in 0..=CHUNK_BITS {
            let mut seen = Vec::new();
            for_each_mask_within(s, |m| seen.push(m));
            assert_eq!(seen.len() as u64, neighbours_within(s), "s = {s}");
            assert!(seen.iter().all(|m| m.count_ones() <= s));
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len() as u64, neighbours_within(s));
        }
        assert_eq!(neighbours_within(CHUNK_BITS), 1 << 16);
        assert_eq!(neighbours_within(2), 1 + 16 + 120);
    }

    #[test]
    fn finds_near_hashes_and_forgets_removed_ones() {
        let mut idx = HammingIndex::<1>::new();
        assert!(idx.radius(&[0], 64).is_empty());
        idx.insert(1, [0]);
        idx.insert(2, [0b111]);
        idx.insert(2, [u64::MAX]);
        idx.insert(3, [u64::MAX]);
        assert_eq!((idx.len(), idx.ids()), (4, 3));
        assert_eq!(idx.radius_mih(&[0b1], 3), vec![(1, 1), (2, 2)]);
        assert_eq!(idx.radius_scan(&[[0b1]], 3), vec![(1, 1), (2, 2)]);
        assert_eq!(idx.remove(2), 2);
        assert_eq!(idx.remove(2), 0);
        assert_eq!(idx.radius_mih(&[0b1], 3), vec![(1, 1)]);
        // The freed slots are reused, not appended.
        idx.insert(4, [0b11]);
        assert_eq!(idx.hashes.len(), 4);
        assert_eq!(idx.radius_mih(&[0b1], 3), vec![(1, 1), (4, 1)]);
        assert_eq!(idx.radius(&[u64::MAX], 0), vec![(3, 0)]);
    }

    #[test]
    fn duplicate_hash_for_one_id_is_stored_once() {
        let mut idx = HammingIndex::<4>::new();
        idx.insert(7, [1, 2, 3, 4]);
        idx.insert(7, [1, 2, 3, 4]);
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.radius(&[1, 2, 3, 5], 1), vec![(7, 1)]);
    }

    /// Hashes clustered around a few random centres, so that radius queries have hits at the
    /// small distances perceptual hashes are searched with, not only at the ~W·32 of random pairs.
    fn clustered<const W: usize>(centres: &[[u64; W]], pick: usize, flips: &[u32]) -> [u64; W] {
        let mut h = centres[pick % centres.len()];
        for &b in flips {
            let b = b % (64 * W as u32);
            h[(b / 64) as usize] ^= 1 << (b % 64);
        }
        h
    }

    fn check_against_scan<const W: usize>(
        centres: Vec<[u64; W]>,
        entries: Vec<(u32, usize, Vec<u32>)>,
        removed: Vec<u32>,
        queries: Vec<(usize, Vec<u32>, u32)>,
    ) -> Result<(), TestCaseError> {
        let mut idx = HammingIndex::<W>::new();
        let mut model: Vec<(u32, [u64; W])> = Vec::new();
        for (id, pick, flips) in &entries {
            let h = clustered(&centres, *pick, flips);
            idx.insert(*id, h);
            if !model.contains(&(*id, h)) {
                model.push((*id, h));
            }
        }
        for id in &removed {
            idx.remove(*id);
            model.retain(|(i, _)| i != id);
        }
        // Re-inserting after removals exercises slot reuse.
        for (id, pick, flips) in entries.iter().take(3) {
            let h = clustered(&centres, pick + 1, flips);
            idx.insert(*id, h);
            if !model.contains(&(*id, h)) {
                model.push((*id, h));
            }
        }
        prop_assert_eq!(idx.len(), model.len());
        for (pick, flips, r) in &queries {
            let q = clustered(&centres, *pick, flips);
            let expected = linear(&model, &q, *r);
            prop_assert_eq!(&idx.radius_mih(&q, *r), &expected, "r = {}", r);
            prop_assert_eq!(&idx.radius(&q, *r), &expected, "r = {}", r);
            // With a second query (the first one turned): the better of the two per id.
            let q2 = clustered(&centres, pick + 1, flips);
            let mut both = linear(&model, &q, *r);
            both.extend(linear(&model, &q2, *r));
            prop_assert_eq!(
                &idx.radius_any(&[q, q2], *r),
                &best_per_id(both.into_iter()),
                "r = {}",
                r
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn radius_64_equals_linear_scan(
            centres in proptest::collection::vec(any::<[u64; 1]>(), 1..6),
            entries in proptest::collection::vec(
                (0u32..30, 0usize..6, proptest::collection::vec(0u32..64, 0..10)), 0..120),
            removed in proptest::collection::vec(0u32..30, 0..10),
            queries in proptest::collection::vec(
                (0usize..6, proptest::collection::vec(0u32..64, 0..8), 0u32..24), 1..6),
        ) {
            check_against_scan(centres, entries, removed, queries)?;
        }

        #[test]
        fn radius_256_equals_linear_scan(
            centres in proptest::collection::vec(any::<[u64; 4]>(), 1..6),
            entries in proptest::collection::vec(
                (0u32..30, 0usize..6, proptest::collection::vec(0u32..256, 0..40)), 0..120),
            removed in proptest::collection::vec(0u32..30, 0..10),
            queries in proptest::collection::vec(
                (0usize..6, proptest::collection::vec(0u32..256, 0..30), 0u32..72), 1..6),
        ) {
            check_against_scan(centres, entries, removed, queries)?;
        }
    }
}

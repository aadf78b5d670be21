//! Exact Hamming-radius search over fixed-width perceptual hashes by multi-index hashing (MIH).
//!
//! A linear scan compares the query with every stored hash, so its cost grows with the index.
//! MIH (Norouzi, Punjani and Fleet, 2012) splits every hash into `m` chunks of 16 bits and keeps
//! one table per chunk, from chunk value to the hashes that have it. By pigeonhole, a hash within
//! distance `r` of the query differs from it in at most `r_i` bits on at least one chunk `i`
//! for sub-radii with Σ (r_i + 1) = r + 1 (see `sub_radii`); probing every table with the chunk
//! values within its sub-radius of the query's chunk therefore finds every hit, and each
//! candidate is verified on the full hash. Results are exact: the same as a linear scan, which
//! is what the property test below checks.
//!
//! Hashes are `[u64; W]`: [`Hash64`] for dHash and pHash, [`Hash256`] for PDQ. An id (a banned
//! record, say) may own several hashes (several photos, regions of a photo); a query reports each
//! id once, at its smallest distance.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;

/// A 64-bit hash (dHash, pHash).
pub type Hash64 = [u64; 1];
/// A 256-bit hash (PDQ).
pub type Hash256 = [u64; 4];

/// Stored hashes from which a search of several queries runs them on the rayon pool: below,
/// a query costs less than handing it to another thread.
const PARALLEL_FROM: usize = 1 << 16;

/// Bits per chunk. With about a million hashes, 16-bit chunks leave a few entries per bucket on
/// average, and the neighbours within the sub-radius of a 16-bit value stay few for the radii
/// perceptual hashes are searched with (≤ 2 of 16 bits for a 64-bit hash at distance 10).
const CHUNK_BITS: u32 = 16;
const CHUNKS_PER_WORD: usize = (64 / CHUNK_BITS) as usize;
/// Probes of a frozen table located before any of them is scanned ([`HammingIndex::radius`]).
const PROBE_BATCH: usize = 32;

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
    /// One table per chunk: chunk value → slots whose hash has that value there. Empty while
    /// the index is frozen.
    tables: Vec<HashMap<u16, Vec<u32>, BuildHasherDefault<ChunkHasher>>>,
    /// The same tables laid out flat by [`HammingIndex::freeze`], one per chunk; empty while
    /// the index takes inserts.
    frozen: Vec<FrozenTable>,
    live: usize,
}

/// A chunk's table as one array sorted by chunk value: a probe reads two offsets and then one
/// run of entries, where a hash map costs a control byte, an entry and a bucket, each a cache
/// miss in an index of a million hashes. Each slot sits beside the first word of its hash, read
/// in order, so that only hashes within the radius on that word (all the hits, for a 64-bit
/// hash; a necessary test for wider ones) cost a random access to the stored hash: reading
/// every candidate's hash from the slot table was most of a probe's cost.
struct FrozenTable {
    /// Entries of chunk value `v` are `starts[v]..starts[v + 1]`.
    starts: Vec<u32>,
    slots: Vec<u32>,
    heads: Vec<u64>,
}

impl FrozenTable {
    fn bucket(&self, v: u16) -> (&[u32], &[u64]) {
        let (a, b) = (
            self.starts[v as usize] as usize,
            self.starts[v as usize + 1] as usize,
        );
        (&self.slots[a..b], &self.heads[a..b])
    }
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
            frozen: Vec::new(),
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
        self.thaw();
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
        self.thaw();
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

    /// Lays the tables out flat for queries once the inserts are done (a snapshot's index is
    /// built once and then only read): probes cost about half. A later insert or remove
    /// rebuilds the hash-map tables first, so freezing never changes results.
    pub fn freeze(&mut self) {
        if !self.frozen.is_empty() {
            return;
        }
        let hashes = &self.hashes;
        // Table by table, each map dropped once laid out: the peak is one table, not two.
        self.frozen = std::mem::take(&mut self.tables)
            .into_iter()
            .map(|table| {
                let mut starts = vec![0u32; (1 << CHUNK_BITS) + 1];
                for (&v, bucket) in &table {
                    starts[v as usize + 1] = bucket.len() as u32;
                }
                for v in 0..1 << CHUNK_BITS {
                    starts[v + 1] += starts[v];
                }
                let n = starts[1 << CHUNK_BITS] as usize;
                let (mut slots, mut heads) = (vec![0u32; n], vec![0u64; n]);
                for (&v, bucket) in &table {
                    let a = starts[v as usize] as usize;
                    slots[a..a + bucket.len()].copy_from_slice(bucket);
                    for (h, &slot) in heads[a..a + bucket.len()].iter_mut().zip(bucket) {
                        *h = hashes[slot as usize][0];
                    }
                }
                FrozenTable {
                    starts,
                    slots,
                    heads,
                }
            })
            .collect();
    }

    /// Back to hash-map tables, for an insert or a remove into a frozen index.
    fn thaw(&mut self) {
        if self.frozen.is_empty() {
            return;
        }
        self.tables = std::mem::take(&mut self.frozen)
            .into_iter()
            .map(|t| {
                let mut table: HashMap<u16, Vec<u32>, _> = HashMap::default();
                for v in 0..1usize << CHUNK_BITS {
                    let (slots, _) = t.bucket(v as u16);
                    if !slots.is_empty() {
                        table.insert(v as u16, slots.to_vec());
                    }
                }
                table
            })
            .collect();
    }

    fn chunks(&self) -> usize {
        W * CHUNKS_PER_WORD
    }

    /// Every id with a hash within distance `r` of `query`, once each at its smallest distance,
    /// sorted by distance then id. Exact.
    pub fn radius(&self, query: &[u64; W], r: u32) -> Vec<(u32, u32)> {
        self.radius_any(std::slice::from_ref(query), r)
    }

    /// What one query's multi-index search at radius `r` costs, in units of a scan's compare of
    /// one query with one hash (benches/photos.rs `search`): a probe (a table look-up, likely a
    /// cache miss) costs about 8, every hash met in a probed bucket about 2 (its first word
    /// compared in order), and every one passing that word a random access, a sort and a
    /// check, about 24. Hashes of 64 bits pass only when they are hits; wider ones pass nearly
    /// always at the radii they are searched with. A scan of everything costs `live`.
    fn mih_cost(&self, r: u32) -> u64 {
        let probes: u64 = sub_radii(r, self.chunks())
            .into_iter()
            .flatten()
            .map(neighbours_within)
            .sum();
        let found = (probes * self.live as u64) >> CHUNK_BITS;
        let per_found = if W == 1 { 2 } else { 26 };
        8 * probes + per_found * found
    }

    /// Every id with a hash within distance `r` of any of `queries` (a photo in its rotations
    /// and flips), once each at its smallest distance, sorted by distance then id. Exact. When
    /// a scan is the cheaper way, it is one pass for all the queries, not one per query.
    pub fn radius_any(&self, queries: &[[u64; W]], r: u32) -> Vec<(u32, u32)> {
        if queries.is_empty() {
            return Vec::new();
        }
        if self.mih_cost(r) >= self.live as u64 {
            self.radius_scan(queries, r)
        } else if self.live < PARALLEL_FROM {
            best_per_id(queries.iter().flat_map(|q| self.radius_mih(q, r)))
        } else {
            // The queries are independent probes of one read-only index: on both cores.
            let each: Vec<Vec<(u32, u32)>> =
                queries.par_iter().map(|q| self.radius_mih(q, r)).collect();
            best_per_id(each.into_iter().flatten())
        }
    }

    /// [`HammingIndex::radius`] of each of `queries` on its own, in their order. When a scan is
    /// the cheaper way for one query, it is one pass over the index for all of them (a photo's 8
    /// PDQ turns read the stored hashes once, not 8 times); the lists are the same either way.
    pub fn radius_each(&self, queries: &[[u64; W]], r: u32) -> Vec<Vec<(u32, u32)>> {
        if queries.is_empty() {
            return Vec::new();
        }
        if self.mih_cost(r) < self.live as u64 {
            return queries.iter().map(|q| self.radius(q, r)).collect();
        }
        let mut hits: Vec<Vec<(u32, u32)>> = vec![Vec::new(); queries.len()];
        for (h, owner) in self.hashes.iter().zip(&self.owners) {
            let Some(id) = *owner else { continue };
            for (q, out) in queries.iter().zip(hits.iter_mut()) {
                // The first two words' distance is a lower bound of the whole: past the radius,
                // the rest cannot bring it back (at PDQ's radius, 48 of 256, nearly every
                // unrelated hash stops here, about 64 bits apart on those two words).
                let head = h.iter().zip(q).take(2).map(|(x, y)| (x ^ y).count_ones());
                let part: u32 = head.sum();
                if part > r {
                    continue;
                }
                let rest = h.iter().zip(q).skip(2).map(|(x, y)| (x ^ y).count_ones());
                let d = part + rest.sum::<u32>();
                if d <= r {
                    out.push((id, d));
                }
            }
        }
        hits.into_iter()
            .map(|h| best_per_id(h.into_iter()))
            .collect()
    }

    /// `radius` by multi-index hashing, whatever the cost.
    fn radius_mih(&self, query: &[u64; W], r: u32) -> Vec<(u32, u32)> {
        // Slots met, each as `slot << 8 | distance on the first word`: for a 64-bit hash that
        // word is the hash, so its distance needs no second (random) read of the stored hash.
        let mut candidates: Vec<u64> = Vec::new();
        // Before freezing (while a snapshot's index is built), every hash met is a candidate.
        // Frozen, the probes of a chunk are made a batch at a time: at a million hashes each
        // probe's offsets and first entries are cache misses, and locating a batch of buckets
        // (and reading their first heads) before scanning any lets the misses overlap instead of
        // coming one after another. The same buckets are scanned in the same order.
        let mut masks: Vec<u16> = Vec::new();
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(PROBE_BATCH);
        for (j, sub) in sub_radii(r, self.chunks()).into_iter().enumerate() {
            let Some(sub) = sub else { continue };
            let q = chunk(query, j);
            let Some(t) = self.frozen.get(j) else {
                for_each_mask_within(sub, |mask| {
                    if let Some(b) = self.tables[j].get(&(q ^ mask)) {
                        candidates.extend(b.iter().map(|&s| u64::from(s) << 8 | 0xFF));
                    }
                });
                continue;
            };
            masks.clear();
            for_each_mask_within(sub, |mask| masks.push(mask));
            for batch in masks.chunks(PROBE_BATCH) {
                spans.clear();
                spans.extend(batch.iter().map(|&mask| {
                    let v = (q ^ mask) as usize;
                    (t.starts[v] as usize, t.starts[v + 1] as usize)
                }));
                let mut touched = 0u64;
                for &(a, b) in &spans {
                    if a < b {
                        touched ^= t.heads[a];
                    }
                }
                std::hint::black_box(touched);
                for &(a, b) in &spans {
                    let (slots, heads) = (&t.slots[a..b], &t.heads[a..b]);
                    // Crowded buckets (a plain background's chunk values) hold hundreds of
                    // heads and few hits: the distances a block at a time, a loop the compiler
                    // runs on whole vectors, and only a block with a hit looked at one by one.
                    let mut d = [0u32; 32];
                    for (slots, heads) in slots.chunks(32).zip(heads.chunks(32)) {
                        for (d, &h) in d.iter_mut().zip(heads) {
                            *d = (h ^ query[0]).count_ones();
                        }
                        let d = &d[..heads.len()];
                        if d.iter().all(|&d| d > r) {
                            continue;
                        }
                        for (&slot, &d) in slots.iter().zip(d) {
                            if d <= r {
                                candidates.push(u64::from(slot) << 8 | u64::from(d));
                            }
                        }
                    }
                }
            }
        }
        // A hash close to the query on several chunks is found once per chunk (with the same
        // low byte each time).
        candidates.sort_unstable();
        candidates.dedup();
        let frozen = !self.frozen.is_empty();
        let hits = candidates.into_iter().filter_map(|c| {
            let slot = (c >> 8) as usize;
            let d = if W == 1 && frozen {
                (c & 0xFF) as u32
            } else {
                distance(&self.hashes[slot], query)
            };
            let id = self.owners[slot].expect("tables hold live slots only");
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

/// The radius probed in each of `m` chunks for a search within `r`, `None` for a chunk left
/// unprobed. Generalised pigeonhole (Qin et al., 2019): a hash within `r` of the query differs
/// from it on chunk `i` in `d_i` bits, with Σ d_i ≤ r; when the sub-radii `r_i` satisfy
/// Σ (r_i + 1) = r + 1, some chunk has d_i ≤ r_i, or else Σ d_i ≥ r + 1. Spreading the r + 1
/// evenly, rather than giving every chunk ⌊r / m⌋, probes fewer neighbours: at radius 9 of 64,
/// 2, 2, 1 and 1 bits (308 probes) instead of 2 in every chunk (548); at radius 2, three chunks
/// probed exactly and one not at all.
fn sub_radii(r: u32, m: usize) -> Vec<Option<u32>> {
    let total = r as usize + 1;
    (0..m)
        .map(|i| {
            let share = total / m + usize::from(i < total % m);
            share.checked_sub(1).map(|s| (s as u32).min(CHUNK_BITS))
        })
        .collect()
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
        idx.freeze();
        assert!(idx.tables.is_empty() && idx.frozen.len() == 4);
        assert_eq!(idx.radius_mih(&[0b1], 3), vec![(1, 1), (4, 1)]);
        assert_eq!(idx.remove(4), 1);
        assert!(idx.frozen.is_empty() && idx.tables.len() == 4);
        assert_eq!(idx.radius_mih(&[0b1], 3), vec![(1, 1)]);
    }

    #[test]
    fn a_scan_cut_short_on_two_words_finds_the_hashes_at_the_radius_and_no_farther() {
        // 256-bit hashes r and r + 1 bits from the query, the bits all in the first two words,
        // all in the last two, or spread: the scan (PDQ's radius 48 is far past what probing
        // tables pays for) stops early only on hashes it cannot keep.
        let q = [0x0123_4567_89AB_CDEF_u64, !0, 0xF0F0_F0F0_0F0F_0F0F, 0];
        let flipped = |bits: &[usize]| {
            let mut h = q;
            for &b in bits {
                h[b / 64] ^= 1 << (b % 64);
            }
            h
        };
        let r = 48u32;
        let mut idx = HammingIndex::<4>::new();
        let mut model = Vec::new();
        let mut id = 0;
        for d in [r - 1, r, r + 1, r + 2] {
            let d = d as usize;
            for bits in [
                (0..d).collect::<Vec<_>>(),
                (256 - d..256).collect(),
                (0..d).map(|i| i * 5 % 256).collect(),
                (0..d).map(|i| 60 + i).collect(),
            ] {
                let h = flipped(&bits);
                assert_eq!(distance(&h, &q), d as u32);
                idx.insert(id, h);
                model.push((id, h));
                id += 1;
            }
        }
        idx.freeze();
        assert!(
            idx.mih_cost(r) >= idx.live as u64,
            "the test is of the scan"
        );
        let q2 = flipped(&[1, 100, 200]);
        for r in [r - 1, r, r + 1] {
            let each = idx.radius_each(&[q, q2], r);
            assert_eq!(each, vec![linear(&model, &q, r), linear(&model, &q2, r)]);
        }
        assert_eq!(idx.radius_each(&[q], r)[0].len(), 8);
    }

    #[test]
    fn a_large_index_searched_on_the_pool_finds_what_a_scan_does() {
        // Past PARALLEL_FROM, several queries probe on the rayon pool: the same answer.
        let mut state = 0x1234_5678_9ABC_DEF0_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut idx = HammingIndex::<1>::new();
        let centre = next();
        for id in 0..(PARALLEL_FROM as u32 + 500) {
            // Most far away, one in fifty a few bits from the centre.
            let h = if id % 50 == 0 {
                centre ^ (next() & next() & next())
            } else {
                next()
            };
            idx.insert(id, [h]);
        }
        idx.freeze();
        let queries = [[centre], [centre ^ 0b1011], [!centre]];
        for r in [4, 10, 16] {
            let found = idx.radius_any(&queries, r);
            assert_eq!(found, idx.radius_scan(&queries, r), "r = {r}");
            assert!(found.len() > 10, "r = {r}: {}", found.len());
            let each: Vec<_> = queries.iter().map(|q| idx.radius_scan(&[*q], r)).collect();
            assert_eq!(idx.radius_each(&queries, r), each, "r = {r}");
        }
    }

    #[test]
    fn sub_radii_spread_the_pigeonhole() {
        let some = |v: &[Option<u32>]| v.iter().map(|s| s.map_or(0, |s| s + 1)).sum::<u32>();
        for m in [4, 16] {
            for r in 0..=64 {
                let subs = sub_radii(r, m);
                assert_eq!(subs.len(), m);
                // Σ (r_i + 1) = r + 1, unless a chunk's sub-radius is capped at its width.
                if r < 16 * m as u32 {
                    assert_eq!(some(&subs), r + 1, "r = {r}, m = {m}");
                }
                let probed: Vec<u32> = subs.iter().flatten().copied().collect();
                assert!(probed.iter().max().unwrap() - probed.iter().min().unwrap() <= 1);
            }
        }
        assert_eq!(sub_radii(9, 4), [Some(2), Some(2), Some(1), Some(1)]);
        assert_eq!(sub_radii(2, 4), [Some(0), Some(0), Some(0), None]);
        assert_eq!(sub_radii(48, 16).iter().flatten().sum::<u32>(), 33);
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
        for frozen in [false, true] {
            if frozen {
                idx.freeze();
            }
            query_against_scan(&idx, &centres, &model, &queries)?;
        }
        // An insert into a frozen index: the tables come back whole.
        if let Some((id, pick, flips)) = entries.first() {
            let h = clustered(&centres, pick + 2, flips);
            idx.insert(*id, h);
            if !model.contains(&(*id, h)) {
                model.push((*id, h));
            }
            query_against_scan(&idx, &centres, &model, &queries)?;
        }
        Ok(())
    }

    fn query_against_scan<const W: usize>(
        idx: &HammingIndex<W>,
        centres: &[[u64; W]],
        model: &[(u32, [u64; W])],
        queries: &[(usize, Vec<u32>, u32)],
    ) -> Result<(), TestCaseError> {
        for (pick, flips, r) in queries {
            let q = clustered(centres, *pick, flips);
            let expected = linear(model, &q, *r);
            prop_assert_eq!(&idx.radius_mih(&q, *r), &expected, "r = {}", r);
            prop_assert_eq!(&idx.radius_scan(&[q], *r), &expected, "r = {}", r);
            prop_assert_eq!(&idx.radius(&q, *r), &expected, "r = {}", r);
            // With a second query (the first one turned): the better of the two per id.
            let q2 = clustered(centres, pick + 1, flips);
            let mut both = linear(model, &q, *r);
            both.extend(linear(model, &q2, *r));
            prop_assert_eq!(
                &idx.radius_any(&[q, q2], *r),
                &best_per_id(both.into_iter()),
                "r = {}",
                r
            );
            // Each query on its own, whether the index scans once for both or probes.
            let each = vec![expected, linear(model, &q2, *r)];
            prop_assert_eq!(&idx.radius_each(&[q, q2], *r), &each, "r = {}", r);
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

//! Deterministic synthetic banned records and listings (with planted relistings) for benchmarks.
//!
//! Not a model of any real catalog: a vocabulary of made-up words drawn with a Zipf-like skew,
//! brands shared by several products, model numbers of a few shapes. Enough to load the index
//! the way real product titles do (a few very common words, many rare ones).
#![allow(dead_code)]

/// splitmix64: tiny, fast, and the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Skewed towards small indexes: a few words are very common.
    pub fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / ((1u64 << 53) as f64) < p
    }
}

const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "cl",
    "dr", "gr", "pl", "st", "tr",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ou", "ea"];

fn word(rng: &mut Rng, syllables: usize) -> String {
    let mut w = String::new();
    for _ in 0..syllables {
        w.push_str(ONSETS[rng.below(ONSETS.len())]);
        w.push_str(VOWELS[rng.below(VOWELS.len())]);
    }
    if rng.chance(0.5) {
        w.push_str(ONSETS[rng.below(16)]);
    }
    w
}

pub struct Vocab {
    pub words: Vec<String>,
    pub brands: Vec<String>,
}

impl Vocab {
    pub fn new(seed: u64) -> Vocab {
        let mut rng = Rng::new(seed);
        let words = (0..20_000).map(|i| word(&mut rng, 2 + i % 2)).collect();
        let brands = (0..20_000)
            .map(|_| {
                let syllables = 2 + rng.below(2);
                let mut b = word(&mut rng, syllables);
                b[..1].make_ascii_uppercase();
                b
            })
            .collect();
        Vocab { words, brands }
    }
}

pub fn model(rng: &mut Rng) -> String {
    let letters = b"ABCDEFGHJKMNPRSTUVWXYZ";
    let mut m = String::new();
    for _ in 0..2 + rng.below(2) {
        m.push(letters[rng.below(letters.len())] as char);
    }
    m.push('-');
    m.push_str(&format!("{}", 100 + rng.below(99_900)));
    if rng.chance(0.5) {
        m.push(letters[rng.below(letters.len())] as char);
    }
    m
}

/// Banned record `i` as a JSON line. The same `(seed, i)` always gives the same record.
pub fn banned(v: &Vocab, seed: u64, i: usize) -> (String, String, String, String) {
    let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0x2545F4914F6CDD1D));
    let brand = v.brands[rng.zipf(v.brands.len())].clone();
    let n = 3 + rng.below(5);
    let words: Vec<&str> = (0..n)
        .map(|_| v.words[rng.zipf(v.words.len())].as_str())
        .collect();
    let model = model(&mut rng);
    let title = format!("{brand} {} {model}", words.join(" "));
    let line = serde_json::json!({
        "id": format!("SYN-{i}"), "title": title, "brand": brand, "models": [model],
        "source": "SYN",
    })
    .to_string();
    (line, title, brand, model)
}

/// Listing `j`: every other one a relisting of a random banned record (with an evasion), the
/// rest made of the same vocabulary. `banned_seed` is the seed the banned records were made
/// with; `seed` varies the listings. Returns the JSON line and the planted banned id.
pub fn listing(
    v: &Vocab,
    banned_seed: u64,
    seed: u64,
    banned_count: usize,
    j: usize,
) -> (String, Option<String>) {
    let mut rng = Rng::new(seed.rotate_left(17) ^ (j as u64).wrapping_mul(0x9E3779B97F4A7C15));
    if j.is_multiple_of(2) {
        let i = rng.below(banned_count);
        let (_, title, brand, model) = banned(v, banned_seed, i);
        let mut words: Vec<String> = title.split(' ').map(str::to_string).collect();
        match rng.below(4) {
            0 => words.reverse(),
            1 => {
                let k = words.len() - 1;
                words[k] = model.replace('-', " ").to_lowercase();
            }
            2 => words.retain(|w| *w != brand),
            _ => words.push("free shipping".into()),
        }
        let line =
            serde_json::json!({"id": format!("L-{j}"), "title": words.join(" ")}).to_string();
        (line, Some(format!("SYN-{i}")))
    } else {
        let brand = &v.brands[rng.zipf(v.brands.len())];
        let n = 3 + rng.below(6);
        let words: Vec<&str> = (0..n)
            .map(|_| v.words[rng.zipf(v.words.len())].as_str())
            .collect();
        let title = format!("{brand} {} {}", words.join(" "), model(&mut rng));
        (
            serde_json::json!({"id": format!("L-{j}"), "title": title}).to_string(),
            None,
        )
    }
}

/// The index of `n` synthetic banned records (seed `seed`) at `dir`, built once and reused by
/// every benchmark that asks for the same size (a 1M index takes minutes to build).
pub fn build_index(
    dir: &std::path::Path,
    vocab: &Vocab,
    seed: u64,
    n: usize,
) -> relist::index::Store {
    use relist::index::Store;
    let done = dir.join("complete");
    if done.exists() {
        // An index from an older build of relist is rebuilt.
        if let Ok(store) = Store::open(dir) {
            return store;
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    let store = Store::open_or_create(dir).expect("create bench index");
    let t = std::time::Instant::now();
    let chunk = 100_000;
    for start in (0..n).step_by(chunk) {
        let recs: Vec<relist::model::BannedRecord> = (start..(start + chunk).min(n))
            .map(|i| {
                let (line, ..) = banned(vocab, seed, i);
                relist::model::BannedRecord::from_value(serde_json::from_str(&line).unwrap())
                    .unwrap()
                    .record
            })
            .collect();
        store.ingest(recs).expect("ingest");
    }
    eprintln!("  built {n} records in {:.1} s", t.elapsed().as_secs_f64());
    std::fs::write(done, "").unwrap();
    store
}

/// `line` (a JSON object) with precomputed photo hashes, as a platform sends them instead of
/// pixels: a pHash and a dHash drawn from `key`, with `flips` bits changed (a recompressed or
/// resized copy of the same photo lands a few bits away).
#[allow(dead_code)]
pub fn with_photo(line: &str, key: u64, flips: u32) -> String {
    let mut rng = Rng::new(key.wrapping_mul(0xD1B54A32D192ED03) ^ 0x5EED);
    let (mut p, mut d) = (rng.next(), rng.next());
    let mut noise = Rng::new(key ^ u64::from(flips).rotate_left(40) ^ 0xF11B);
    for _ in 0..flips {
        p ^= 1 << noise.below(64);
        d ^= 1 << noise.below(64);
    }
    let mut v: serde_json::Value = serde_json::from_str(line).expect("synthetic JSON");
    v["image_hashes"] = serde_json::json!([
        {"algo": "phash", "hash": format!("{p:016x}")},
        {"algo": "dhash", "hash": format!("{d:016x}")},
    ]);
    v.to_string()
}

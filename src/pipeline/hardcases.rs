//! Generated hard cases: banned product families and the listings that test a matcher where
//! real catalogs are hard (issue 13), with every parameter drawn from a range per seed.
//!
//! One seed gives one catalog: how many families and products, how brands are spelled, which
//! title templates and word orders are in use, how many codes a product carries (model,
//! manufacturer part number, retailer SKU, GTIN), which edits a relisting applies and how
//! many, which languages offers are written in, how noisy prices are, how often a description
//! is present, and which spec tokens (memory standards, interfaces, CPUs, sockets, sizes, line
//! words, calibers) are drawn from their grammars. Training uses [`TRAIN_SEEDS`]; the tests
//! use [`TEST_SEED`], which no training or tuning may see; [`SEALED_SEED`] is looked at once,
//! for the final figure of a change.
//!
//! Slices (the [`Labelled::slice`] of each listing):
//! - relistings, `expected` = the banned id ([`POSITIVE_SLICES`]): `multi_code`,
//!   `multilingual`, `gtin_only`, `brand_typo`, `reordered`, `dropped_words`, `spec_added`,
//!   and `photo_only` (the banned photo, re-encoded a few bits away, under a title of its own);
//! - other models and variants of a banned line, never to be blocked ([`NEVER_BLOCK_SLICES`]):
//!   `model_variant`, `line_variant`;
//! - other products, not to be flagged at all ([`UNFLAGGED_SLICES`]): `spec_collision`,
//!   `unrelated`.
//!
//! All brands, models, codes and GTINs are invented; GTINs carry valid GS1 check digits.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::model::{BannedRecord, Listing};
use crate::pipeline::em::Pair;
use crate::pipeline::eval::Labelled;
use crate::text::ident::{gtin14, model_key};

/// Seeds for training pairs (`relist train`).
pub const TRAIN_SEEDS: std::ops::Range<u64> = 1..1_000;
/// The tests' held-out seed: never used in training or tuning.
pub const TEST_SEED: u64 = 7_130_013;
/// Looked at once, for the final figure in an issue note.
pub const SEALED_SEED: u64 = 9_041_777;

/// Relistings: each must be caught (review or block).
pub const POSITIVE_SLICES: &[&str] = &[
    "photo_only",
    "multi_code",
    "multilingual",
    "gtin_only",
    "brand_typo",
    "reordered",
    "dropped_words",
    "spec_added",
];
/// Other models or variants of a banned product's line: review allowed, block never.
pub const NEVER_BLOCK_SLICES: &[&str] = &["model_variant", "line_variant"];
/// Other products: at most 0.5 % flagged, none blocked.
pub const UNFLAGGED_SLICES: &[&str] = &["spec_collision", "unrelated"];

/// A generated catalog: banned records, labelled listings, and the labelled pairs a matcher
/// should consider (each listing with its true record and its hard negatives: the banned
/// siblings of its family, the records it shares spec tokens with).
#[derive(Debug, Clone)]
pub struct HardSet {
    pub seed: u64,
    pub params: Params,
    pub banned: Vec<BannedRecord>,
    pub listings: Vec<Labelled>,
    /// `(banned id, listing id, is a match)`, as [`crate::pipeline::em`] pairs.
    pub pairs: Vec<Pair>,
}

/// splitmix64: a dozen lines, the same stream on every machine and every version, which a
/// crate's generator does not promise across releases (the held-out seed must stay the same
/// catalog); and the project has no random-number crate to add.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6A09_E667_F3BC_C908)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// In `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    /// In `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let i = self.below(items.len());
        items.get(i)
    }
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// What one seed drew. Two seeds differ in these, not only in the words.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub families: usize,
    /// Banned products without siblings, as most recalls are.
    pub singles: usize,
    /// Chance a family's brand is one an earlier family (of another category) has.
    pub brand_reuse: f64,
    /// Products per family, least and most.
    pub members: (usize, usize),
    /// Share of a family's products that are banned (at least one per family is).
    pub banned_share: f64,
    /// Share of families that are lines of variants (capacity, colour, size) rather than
    /// models one character apart.
    pub line_share: f64,
    /// Chance that a product carries a manufacturer part number, a retailer SKU, a GTIN.
    pub mpn_share: f64,
    pub sku_share: f64,
    pub gtin_share: f64,
    /// Chance that a model family's part numbers are one character apart, like its models.
    pub structured_mpn: f64,
    pub description_share: f64,
    /// Largest relative change of a listing's price from its product's.
    pub price_noise: f64,
    /// Languages of multilingual relistings (ISO 639-1).
    pub languages: Vec<&'static str>,
    /// Share of negative listings written in another language too (so that a language is no
    /// clue to the label).
    pub foreign_negatives: f64,
    /// How brands are spelled in the banned records: 0 CamelCase compound, 1 one word,
    /// 2 two words, 3 capitals; a seed mixes a few.
    pub brand_styles: Vec<usize>,
    /// Title templates of banned records and of listings (indexes into the template table).
    pub banned_templates: Vec<usize>,
    pub listing_templates: Vec<usize>,
    /// Spec tokens drawn per spec kind: fewer means more products share each.
    pub spec_pool: usize,
    /// Chance a relisting gets one more edit, and the chance of another after that.
    pub extra_edit: f64,
    /// Most of a title's words (the code aside) a `dropped_words` relisting drops.
    pub drop_share: f64,
    /// Chance a listing fills its `brand` field.
    pub brand_field: f64,
    /// Chance a listing names a shop code of its own.
    pub shop_code: f64,
    /// Chance a relisting writes the model with other separators or case.
    pub model_reformat: f64,
    /// Listings per slice.
    pub per_slice: BTreeMap<&'static str, usize>,
}

impl Params {
    fn draw(rng: &mut Rng, scale: usize) -> Params {
        let scale = scale.max(1);
        let mut languages: Vec<&'static str> = LANGS.to_vec();
        rng.shuffle(&mut languages);
        languages.truncate(rng.range(3, LANGS.len()));
        languages.sort_unstable();
        let mut brand_styles: Vec<usize> = (0..4).collect();
        rng.shuffle(&mut brand_styles);
        brand_styles.truncate(rng.range(1, 4));
        let pick_templates = |rng: &mut Rng| {
            let mut t: Vec<usize> = (0..TEMPLATES.len()).collect();
            rng.shuffle(&mut t);
            t.truncate(rng.range(2, TEMPLATES.len()));
            t
        };
        let banned_templates = pick_templates(rng);
        let listing_templates = pick_templates(rng);
        let lo = rng.range(3, 4);
        let members = (lo, lo + rng.range(2, 4));
        let mut per_slice = BTreeMap::new();
        // Photo-only relistings are drawn with the photos, on their own stream.
        for s in POSITIVE_SLICES.iter().filter(|s| **s != "photo_only") {
            per_slice.insert(*s, scale * rng.range(110, 170));
        }
        per_slice.insert("model_variant", scale * rng.range(150, 250));
        per_slice.insert("line_variant", scale * rng.range(110, 200));
        per_slice.insert("spec_collision", scale * rng.range(450, 700));
        per_slice.insert("unrelated", scale * rng.range(550, 900));
        Params {
            families: scale * rng.range(60, 110),
            singles: scale * rng.range(40, 140),
            brand_reuse: rng.between(0.1, 0.4),
            members,
            banned_share: rng.between(0.35, 0.65),
            line_share: rng.between(0.25, 0.55),
            mpn_share: rng.between(0.25, 0.7),
            sku_share: rng.between(0.15, 0.5),
            gtin_share: rng.between(0.35, 0.85),
            structured_mpn: rng.between(0.2, 0.7),
            description_share: rng.between(0.1, 0.7),
            price_noise: rng.between(0.02, 0.3),
            languages,
            foreign_negatives: rng.between(0.05, 0.3),
            brand_styles,
            banned_templates,
            listing_templates,
            spec_pool: rng.range(3, 8),
            extra_edit: rng.between(0.1, 0.5),
            drop_share: rng.between(0.25, 0.6),
            brand_field: rng.between(0.1, 0.6),
            shop_code: rng.between(0.1, 0.45),
            model_reformat: rng.between(0.05, 0.35),
            per_slice,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary: small hand tables. Words a seed combines, never whole titles.

/// Languages of offers besides English; the order of every translation table below.
const LANGS: &[&str] = &["de", "fr", "es", "it", "nl", "ko"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Spec {
    Cpu,
    Memory,
    MemoryPc,
    Gpu,
    Display,
    Interface,
    Form,
    Socket,
    Usb,
    Pcie,
    HatLine,
    Magnification,
    Caliber,
    Hdmi,
    Charge,
    Bluetooth,
    Resolution,
    Lens,
    Wifi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attr {
    Colour,
    /// Capacities, sizes, wattages: written the same in every language.
    Values(&'static [&'static str]),
}

/// A kind of product, with its words in every language.
struct Category {
    noun: &'static str,
    /// The noun in [`LANGS`] order.
    nouns: [&'static str; 6],
    words: &'static [&'static str],
    specs: &'static [Spec],
    attrs: &'static [Attr],
    price: (f64, f64),
}

const fn cat(
    noun: &'static str,
    nouns: [&'static str; 6],
    words: &'static [&'static str],
    specs: &'static [Spec],
    attrs: &'static [Attr],
    price: (f64, f64),
) -> Category {
    Category {
        noun,
        nouns,
        words,
        specs,
        attrs,
        price,
    }
}

use Attr::{Colour, Values};
use Spec::*;

/// Categories banned products come from.
#[rustfmt::skip]
const CATEGORIES: &[Category] = &[
    cat("laptop", ["Laptop", "ordinateur portable", "portátil", "portatile", "laptop", "노트북"],
        &["gaming", "ultrabook", "backlit keyboard", "FHD", "notebook"],
        &[Cpu, Memory, Gpu, Display], &[Values(&["256GB SSD", "512GB SSD", "1TB SSD"]), Colour], (400.0, 1800.0)),
    cat("SSD", ["SSD-Festplatte", "disque SSD", "disco SSD", "unità SSD", "SSD-schijf", "SSD 드라이브"],
        &["internal", "solid state drive", "3D NAND", "high speed"],
        &[Interface, Form], &[Values(&["250GB", "500GB", "1TB", "2TB"])], (30.0, 250.0)),
    cat("memory module", ["Arbeitsspeicher", "mémoire RAM", "memoria RAM", "memoria RAM", "werkgeheugen", "메모리 모듈"],
        &["desktop memory", "laptop memory", "CL16", "non-ECC", "DIMM", "SO-DIMM"],
        &[Memory, MemoryPc], &[Values(&["8GB", "16GB", "32GB", "2x8GB", "2x16GB"])], (20.0, 180.0)),
    cat("motherboard", ["Mainboard", "carte mère", "placa base", "scheda madre", "moederbord", "메인보드"],
        &["gaming", "WiFi", "desktop", "RGB"],
        &[Socket, Memory, Interface], &[Values(&["ATX", "Micro-ATX", "Mini-ITX"])], (80.0, 400.0)),
    cat("USB flash drive", ["USB-Stick", "clé USB", "memoria USB", "chiavetta USB", "USB-stick", "USB 메모리"],
        &["pen drive", "metal", "keychain", "high speed"],
        &[Usb], &[Values(&["16GB", "32GB", "64GB", "128GB", "256GB"]), Colour], (5.0, 40.0)),
    cat("graphics card", ["Grafikkarte", "carte graphique", "tarjeta gráfica", "scheda video", "videokaart", "그래픽카드"],
        &["gaming", "dual fan", "OC edition", "GDDR6"],
        &[Gpu, Pcie], &[Values(&["4GB", "6GB", "8GB", "12GB"])], (150.0, 900.0)),
    cat("baseball cap", ["Baseballkappe", "casquette", "gorra", "cappellino", "pet", "야구모자"],
        &["fitted", "snapback", "adjustable", "cotton", "embroidered"],
        &[HatLine], &[Colour, Values(&["S/M", "M/L", "7 1/4", "7 3/8"])], (15.0, 45.0)),
    cat("rifle scope", ["Zielfernrohr", "lunette de visée", "visor telescópico", "cannocchiale", "richtkijker", "라이플 스코프"],
        &["illuminated reticle", "hunting", "tactical", "mil-dot"],
        &[Magnification, Caliber], &[Colour], (60.0, 600.0)),
    cat("air rifle", ["Luftgewehr", "carabine à air comprimé", "carabina de aire comprimido", "carabina ad aria compressa", "luchtbuks", "공기총"],
        &["break barrel", "PCP", "hunting", "with scope"],
        &[Caliber], &[Colour], (90.0, 700.0)),
    cat("monitor", ["Monitor", "écran PC", "monitor", "monitor", "beeldscherm", "모니터"],
        &["IPS", "144Hz", "gaming", "LED", "frameless"],
        &[Display, Hdmi], &[Values(&["24-inch", "27-inch", "32-inch"])], (120.0, 700.0)),
    cat("television", ["Fernseher", "téléviseur", "televisor", "televisore", "televisie", "텔레비전"],
        &["smart TV", "4K UHD", "LED", "HDR"],
        &[Hdmi, Resolution], &[Values(&["40-inch", "43-inch", "46-inch", "50-inch", "55-inch", "65-inch"])], (250.0, 1500.0)),
    cat("toaster", ["Toaster", "grille-pain", "tostadora", "tostapane", "broodrooster", "토스터기"],
        &["stainless steel", "wide slot", "defrost", "compact"],
        &[], &[Colour, Values(&["2-slot", "4-slot"])], (20.0, 90.0)),
    cat("electric kettle", ["Wasserkocher", "bouilloire", "hervidor de agua", "bollitore", "waterkoker", "전기포트"],
        &["cordless", "stainless steel", "fast boil", "glass"],
        &[], &[Values(&["1.0L", "1.5L", "1.7L"]), Colour], (15.0, 80.0)),
    cat("power bank", ["Powerbank", "batterie externe", "batería externa", "power bank", "powerbank", "보조배터리"],
        &["portable charger", "fast charging", "slim", "dual USB"],
        &[Charge, Usb], &[Values(&["5000mAh", "10000mAh", "20000mAh", "26800mAh"]), Colour], (15.0, 80.0)),
    cat("smartphone", ["Smartphone", "smartphone", "teléfono móvil", "smartphone", "smartphone", "스마트폰"],
        &["unlocked", "dual SIM", "5G", "Android"],
        &[Bluetooth], &[Values(&["64GB", "128GB", "256GB", "512GB"]), Colour], (150.0, 1200.0)),
    cat("webcam", ["Webcam", "webcam", "cámara web", "webcam", "webcam", "웹캠"],
        &["HD", "with microphone", "autofocus", "streaming"],
        &[Resolution, Usb], &[Colour], (20.0, 150.0)),
    cat("camera lens", ["Objektiv", "objectif", "objetivo", "obiettivo", "objectief", "카메라 렌즈"],
        &["prime", "zoom", "autofocus", "stabilized"],
        &[Lens], &[Colour], (150.0, 2000.0)),
    cat("hair dryer", ["Haartrockner", "sèche-cheveux", "secador de pelo", "asciugacapelli", "föhn", "헤어드라이어"],
        &["ionic", "foldable", "professional", "travel"],
        &[], &[Values(&["1200W", "1800W", "2000W", "2200W"]), Colour], (15.0, 120.0)),
    cat("headphones", ["Kopfhörer", "casque audio", "auriculares", "cuffie", "koptelefoon", "헤드폰"],
        &["wireless", "noise cancelling", "over-ear", "foldable"],
        &[Bluetooth], &[Colour], (20.0, 350.0)),
    cat("wifi router", ["WLAN-Router", "routeur wifi", "router wifi", "router wifi", "wifi-router", "와이파이 공유기"],
        &["dual band", "mesh", "gigabit", "gaming"],
        &[Wifi], &[Colour], (40.0, 300.0)),
];

/// Categories only other products come from (`unrelated` listings).
#[rustfmt::skip]
const OTHER_CATEGORIES: &[Category] = &[
    cat("yoga mat", ["Yogamatte", "tapis de yoga", "esterilla de yoga", "tappetino yoga", "yogamat", "요가매트"],
        &["non-slip", "thick", "eco friendly"],
        &[], &[Colour], (10.0, 60.0)),
    cat("garden hose", ["Gartenschlauch", "tuyau d'arrosage", "manguera de jardín", "tubo da giardino", "tuinslang", "정원 호스"],
        &["expandable", "50 ft", "kink free"],
        &[], &[Colour], (15.0, 70.0)),
    cat("phone case", ["Handyhülle", "coque de téléphone", "funda para móvil", "custodia per telefono", "telefoonhoesje", "휴대폰 케이스"],
        &["shockproof", "clear", "silicone"],
        &[], &[Colour], (5.0, 30.0)),
    cat("desk lamp", ["Schreibtischlampe", "lampe de bureau", "lámpara de escritorio", "lampada da scrivania", "bureaulamp", "책상 스탠드"],
        &["LED", "dimmable", "touch control"],
        &[], &[Colour], (15.0, 80.0)),
    cat("backpack", ["Rucksack", "sac à dos", "mochila", "zaino", "rugzak", "백팩"],
        &["waterproof", "laptop", "travel"],
        &[], &[Colour], (20.0, 120.0)),
    cat("water bottle", ["Trinkflasche", "gourde", "botella de agua", "borraccia", "drinkfles", "물병"],
        &["insulated", "stainless steel", "BPA free"],
        &[], &[Colour], (8.0, 40.0)),
    cat("coffee mug", ["Kaffeebecher", "tasse à café", "taza de café", "tazza da caffè", "koffiemok", "머그컵"],
        &["ceramic", "12 oz", "microwave safe"],
        &[], &[Colour], (5.0, 25.0)),
    cat("running shoes", ["Laufschuhe", "chaussures de course", "zapatillas de running", "scarpe da corsa", "hardloopschoenen", "러닝화"],
        &["breathable", "lightweight", "men's"],
        &[], &[Colour], (30.0, 160.0)),
];

/// English, then [`LANGS`] order.
const COLOURS: &[[&str; 7]] = &[
    ["black", "schwarz", "noir", "negro", "nero", "zwart", "블랙"],
    [
        "white",
        "weiß",
        "blanc",
        "blanco",
        "bianco",
        "wit",
        "화이트",
    ],
    [
        "silver", "silber", "argent", "plateado", "argento", "zilver", "실버",
    ],
    ["red", "rot", "rouge", "rojo", "rosso", "rood", "레드"],
    ["blue", "blau", "bleu", "azul", "blu", "blauw", "블루"],
    ["grey", "grau", "gris", "gris", "grigio", "grijs", "그레이"],
    ["green", "grün", "vert", "verde", "verde", "groen", "그린"],
    ["pink", "rosa", "rose", "rosa", "rosa", "roze", "핑크"],
];

/// Shop words per language, English first then [`LANGS`] order.
const FILLER: &[&[&str]] = &[
    &[
        "New",
        "Genuine",
        "Free Shipping",
        "Fast Dispatch",
        "Hot Sale",
        "Best Price",
    ],
    &[
        "Neu",
        "Original",
        "OVP",
        "kostenloser Versand",
        "mit Garantie",
        "Top Angebot",
    ],
    &[
        "Neuf",
        "Original",
        "livraison gratuite",
        "garantie 2 ans",
        "pas cher",
        "promo",
    ],
    &[
        "Nuevo",
        "Original",
        "envío gratis",
        "con garantía",
        "oferta",
        "precio bajo",
    ],
    &[
        "Nuovo",
        "Originale",
        "spedizione gratuita",
        "garanzia",
        "offerta",
        "prezzo top",
    ],
    &[
        "Nieuw",
        "Origineel",
        "gratis verzending",
        "met garantie",
        "aanbieding",
        "op voorraad",
    ],
    &["정품", "새상품", "무료배송", "당일발송", "특가", "공식판매"],
];

/// Shop-code labels, English first then [`LANGS`] order.
const CODE_LABEL: &[&str] = &[
    "SKU",
    "Art.-Nr.",
    "Réf.",
    "Ref.",
    "Cod.",
    "Artikelnr.",
    "상품번호",
];

const HAZARDS: &[&str] = &[
    "fire hazard",
    "burn hazard",
    "electric shock",
    "choking hazard",
    "laceration hazard",
    "overheating battery",
    "injury hazard",
];

/// Title templates: the order of brand (B), line (L), model (M), noun (N), descriptor words
/// (D), attributes (A), spec tokens (S). `(` and `)` wrap the next part.
const TEMPLATES: &[&str] = &[
    "B L M D N A S",
    "B N L M A S D",
    "B L D N M A S",
    "N B M L A D S",
    "B M N D A S",
    "D N B L M A S",
    "B L N ( M ) A S",
    "B L M N , A , S",
];

const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "cl",
    "dr", "gr", "pl", "st", "tr", "qu", "x",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ou", "ea", "y"];
const LETTERS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXZ";

fn syllables(rng: &mut Rng, n: usize) -> String {
    let mut w = String::new();
    for _ in 0..n {
        w.push_str(rng.pick(ONSETS).copied().unwrap_or("b"));
        w.push_str(rng.pick(VOWELS).copied().unwrap_or("a"));
    }
    if rng.chance(0.5) {
        w.push_str(rng.pick(&ONSETS[..16]).copied().unwrap_or("n"));
    }
    w
}

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn letter(rng: &mut Rng) -> char {
    char::from(*rng.pick(LETTERS).unwrap_or(&b'X'))
}

fn digit(rng: &mut Rng) -> char {
    char::from(b'0' + rng.below(10) as u8)
}

// ---------------------------------------------------------------------------------------------
// Spec tokens: grammars with random parts, drawn into a small pool per kind so that one token
// recurs across products of different brands, as in real catalogs.

fn spec_token(rng: &mut Rng, kind: Spec) -> String {
    let choose = |rng: &mut Rng, xs: &[&str]| rng.pick(xs).copied().unwrap_or("").to_string();
    match kind {
        Cpu => {
            if rng.chance(0.6) {
                let suffix = choose(rng, &["", "K", "U", "HQ", "H", "F"]);
                format!(
                    "i{}-{}{}{}0{suffix}",
                    choose(rng, &["3", "5", "7", "9"]),
                    rng.range(4, 13),
                    rng.range(1, 9),
                    rng.range(0, 9)
                )
            } else {
                format!(
                    "Ryzen {} {}{}00{}",
                    choose(rng, &["3", "5", "7", "9"]),
                    rng.range(2, 7),
                    rng.range(3, 9),
                    choose(rng, &["", "X", "H", "U"])
                )
            }
        }
        Memory => {
            let (generation, speeds): (u32, &[u32]) = match rng.below(4) {
                0 => (2, &[533, 667, 800]),
                1 => (3, &[1333, 1600, 1866]),
                2 => (4, &[2133, 2400, 2666, 2933, 3200]),
                _ => (5, &[4800, 5200, 5600, 6000]),
            };
            let speed = rng.pick(speeds).copied().unwrap_or(2400);
            match rng.below(3) {
                0 => format!("DDR{generation}-{speed}"),
                1 => format!("DDR{generation} {speed}MHz"),
                _ => format!("DDR{generation}-{speed}MHz"),
            }
        }
        MemoryPc => {
            let generation = rng.range(2, 5);
            let rate = match generation {
                2 => rng.pick(&[4200, 5300, 6400]).copied().unwrap_or(5300),
                3 => rng.pick(&[10600, 12800, 14900]).copied().unwrap_or(12800),
                4 => rng
                    .pick(&[17000, 19200, 21300, 23400, 25600])
                    .copied()
                    .unwrap_or(21300),
                _ => rng.pick(&[38400, 41600, 44800]).copied().unwrap_or(38400),
            };
            format!("PC{generation}-{rate}")
        }
        Gpu => match rng.below(3) {
            0 => format!(
                "RTX {}0{}0{}",
                rng.range(2, 4),
                rng.range(5, 9),
                if rng.chance(0.3) { " Ti" } else { "" }
            ),
            1 => format!("GTX 10{}0", rng.range(5, 8)),
            _ => format!(
                "RX {}{}00{}",
                rng.range(5, 7),
                rng.range(5, 9),
                if rng.chance(0.4) { " XT" } else { "" }
            ),
        },
        Display => {
            let size = choose(rng, &["13.3", "14", "15.6", "17.3", "24", "27"]);
            match rng.below(3) {
                0 => format!("{size}-inch"),
                1 => format!("{size}\""),
                _ => format!("{size} Zoll"),
            }
        }
        Interface => match rng.below(4) {
            0 => format!("SATA{}", rng.range(2, 3)),
            1 => "SATA III".into(),
            2 => format!("{}Gb/s", choose(rng, &["3", "6", "12"])),
            _ => format!("PCIe {}.0 x{}", rng.range(3, 5), choose(rng, &["2", "4"])),
        },
        Form => choose(rng, &["M.2 2280", "2.5-inch", "M.2 2242", "mSATA", "U.2"]),
        Socket => match rng.below(3) {
            0 => format!(
                "LGA{}",
                choose(
                    rng,
                    &["1150", "1151", "1155", "1156", "1200", "1700", "2011"]
                )
            ),
            1 => format!("AM{}", rng.range(3, 5)),
            _ => format!("Socket {}", choose(rng, &["AM4", "AM5", "FM2+", "TR4"])),
        },
        Usb => match rng.below(3) {
            0 => format!("USB {}", choose(rng, &["2.0", "3.0", "3.1", "3.2"])),
            1 => format!("USB 3.{} Gen {}", rng.range(1, 2), rng.range(1, 2)),
            _ => "USB-C".into(),
        },
        Pcie => format!("PCIe {}.0", rng.range(3, 5)),
        HatLine => {
            let tens = choose(rng, &["TWENTY", "THIRTY", "FORTY", "FIFTY"]);
            format!(
                "{}{tens}",
                rng.range(3, 9) * if rng.chance(0.3) { 11 } else { 1 }
            )
        }
        Magnification => format!(
            "{}-{}x{}",
            choose(rng, &["3", "4", "6"]),
            choose(rng, &["9", "12", "16", "24"]),
            choose(rng, &["32", "40", "44", "50"])
        ),
        Caliber => choose(
            rng,
            &[
                ".22 LR",
                ".177",
                ".22",
                ".25",
                ".308 Win",
                "9mm",
                "12 gauge",
                "5.56x45mm",
                ".45 ACP",
                "7.62x39",
            ],
        ),
        Hdmi => format!("HDMI 2.{}", rng.range(0, 1)),
        Charge => format!("PD {}W", choose(rng, &["18", "20", "30", "45", "65"])),
        Bluetooth => format!("Bluetooth 5.{}", rng.range(0, 3)),
        Resolution => choose(rng, &["1080p", "4K", "720p", "2K", "5MP", "8MP"]),
        Lens => format!(
            "{}mm f/{}",
            choose(rng, &["18-55", "50", "85", "35", "70-200", "24-70"]),
            choose(rng, &["1.8", "2.8", "3.5-5.6", "4", "1.4"])
        ),
        Wifi => format!("Wi-Fi {}", choose(rng, &["5", "6", "6E", "7"])),
    }
}

// ---------------------------------------------------------------------------------------------
// Model numbers: a family is a shape with one varying position; its products differ there.

#[derive(Debug, Clone)]
enum Slot {
    Fixed(char),
    Digit,
    Letter,
}

/// A family's model shape: fixed characters and the one position its products differ in.
#[derive(Debug, Clone)]
struct Shape {
    slots: Vec<Slot>,
    vary: usize,
}

impl Shape {
    fn draw(rng: &mut Rng) -> Shape {
        let mut s: Vec<Slot> = Vec::new();
        let fixed = |rng: &mut Rng, s: &mut Vec<Slot>, pattern: &str| {
            for p in pattern.chars() {
                s.push(match p {
                    'L' => Slot::Fixed(letter(rng)),
                    'd' => Slot::Fixed(digit(rng)),
                    c => Slot::Fixed(c),
                });
            }
        };
        let pattern = *rng
            .pick(&[
                "LL-dddd",
                "LL-ddddL",
                "LLLddd",
                "Lddd",
                "LLL-dddL",
                "LL-Ldddd",
                "Ldd-ddd",
                "LLdLdddd",
                "ddLdddd",
                "LLL-ddd-dd",
                "LLdd",
            ])
            .unwrap_or(&"LL-dddd");
        fixed(rng, &mut s, pattern);
        // The varying position: a digit or letter anywhere, but not the first letter, which
        // names the maker's range in real catalogs.
        let positions: Vec<usize> = s
            .iter()
            .enumerate()
            .filter(|(i, x)| *i > 0 && matches!(x, Slot::Fixed(c) if c.is_ascii_alphanumeric()))
            .map(|(i, _)| i)
            .collect();
        let vary = rng.pick(&positions).copied().unwrap_or(1);
        if let Some(Slot::Fixed(c)) = s.get(vary) {
            let slot = if c.is_ascii_digit() {
                Slot::Digit
            } else {
                Slot::Letter
            };
            s[vary] = slot;
        }
        Shape { slots: s, vary }
    }

    /// The model with `c` at the varying position.
    fn with(&self, c: char) -> String {
        self.slots
            .iter()
            .map(|s| match s {
                Slot::Fixed(x) => *x,
                Slot::Digit | Slot::Letter => c,
            })
            .collect()
    }

    fn alphabet(&self) -> Vec<char> {
        match self.slots.get(self.vary) {
            Some(Slot::Letter) => LETTERS.iter().map(|b| char::from(*b)).collect(),
            _ => ('0'..='9').collect(),
        }
    }
}

fn random_code(rng: &mut Rng, pattern: &str) -> String {
    pattern
        .chars()
        .map(|p| match p {
            'L' => letter(rng),
            'd' => digit(rng),
            'a' => {
                if rng.chance(0.5) {
                    letter(rng)
                } else {
                    digit(rng)
                }
            }
            c => c,
        })
        .collect()
}

const MPN_PATTERNS: &[&str] = &[
    "ddd-dddddd",
    "LLdddd-LLdd",
    "ddLLL-dddL",
    "Ldddd-ddd",
    "LLLdddLL/A",
];
const SKU_PATTERNS: &[&str] = &["B0aaaaaaaa", "dddddddd", "LLddddddd", "ddd-ddd-ddd"];
const SHOP_PATTERNS: &[&str] = &["dddddd", "LL-ddddd", "Ldddddd", "ddddd-LL"];

/// Codes drawn for one catalog, kept apart: no two products share a code by chance.
struct Codes {
    used: HashSet<String>,
    gtins: HashSet<String>,
}

impl Codes {
    fn fresh(&mut self, rng: &mut Rng, make: impl Fn(&mut Rng) -> String) -> String {
        loop {
            let c = make(rng);
            let k = model_key(&c);
            if self.used.insert(k) {
                return c;
            }
        }
    }

    fn gtin(&mut self, rng: &mut Rng) -> String {
        loop {
            let (prefix, len) = *rng
                .pick(&[
                    ("0", 12),
                    ("7", 12),
                    ("400", 13),
                    ("301", 13),
                    ("880", 13),
                    ("871", 13),
                    ("690", 13),
                    ("450", 13),
                    ("500", 13),
                ])
                .unwrap_or(&("400", 13));
            let mut body = prefix.to_string();
            while body.len() < len - 1 {
                body.push(digit(rng));
            }
            let padded = format!("{body:0>13}");
            let sum: u32 = padded
                .bytes()
                .enumerate()
                .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
                .sum();
            body.push(char::from(b'0' + ((10 - sum % 10) % 10) as u8));
            if let Some(k) = gtin14(&body)
                && self.gtins.insert(k)
            {
                return body;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Products and families.

#[derive(Clone)]
struct Product {
    brand: String,
    category: &'static Category,
    line: Option<String>,
    /// The primary model number (a line's products carry their part number here, if any).
    model: Option<String>,
    mpn: Option<String>,
    sku: Option<String>,
    gtin: Option<String>,
    /// Attribute values in English (index into [`COLOURS`] for colours).
    attrs: Vec<AttrValue>,
    specs: Vec<String>,
    words: Vec<&'static str>,
    price: f64,
    family: usize,
    banned_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum AttrValue {
    Colour(usize),
    Value(&'static str),
}

impl AttrValue {
    fn render(&self, lang: Option<usize>) -> String {
        match self {
            AttrValue::Colour(c) => COLOURS
                .get(*c)
                .and_then(|row| row.get(lang.map_or(0, |l| l + 1)))
                .copied()
                .unwrap_or("black")
                .to_string(),
            AttrValue::Value(v) => (*v).to_string(),
        }
    }
}

impl Product {
    /// The product's codes: model, part number, SKU, GTIN, those it has.
    fn codes(&self) -> Vec<String> {
        [&self.model, &self.mpn, &self.sku, &self.gtin]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

struct Family {
    /// Indexes into the catalog's products.
    members: Vec<usize>,
    /// Models one character apart (`false`: a line of attribute variants).
    models: bool,
}

/// How one title is written.
#[derive(Clone, Default)]
struct Style {
    template: usize,
    /// `None`: English.
    lang: Option<usize>,
    brand: Option<String>,
    /// Which code to name in the title (`None`: the primary model, if any).
    code: Option<String>,
    no_code: bool,
    words: usize,
    filler: usize,
}

fn render(rng: &mut Rng, p: &Product, s: &Style) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let tpl = TEMPLATES.get(s.template).copied().unwrap_or("B L M N A S");
    let code = if s.no_code {
        None
    } else {
        s.code.clone().or_else(|| p.model.clone())
    };
    let noun = match s.lang {
        Some(l) => p.category.nouns.get(l).copied().unwrap_or(p.category.noun),
        None => p.category.noun,
    };
    let mut open = false;
    for part in tpl.split(' ') {
        let mut piece: Vec<String> = match part {
            "B" => s.brand.clone().into_iter().collect(),
            "L" => p.line.clone().into_iter().collect(),
            "M" => code.clone().into_iter().collect(),
            "N" => vec![noun.to_string()],
            // Descriptor words are English; an offer in another language keeps few of them.
            "D" if s.lang.is_none() => p
                .words
                .iter()
                .take(s.words)
                .map(|w| w.to_string())
                .collect(),
            "D" => Vec::new(),
            "A" => p.attrs.iter().map(|a| a.render(s.lang)).collect(),
            "S" => p.specs.clone(),
            "(" => {
                open = true;
                continue;
            }
            ")" | "," => {
                if part == ","
                    && let Some(last) = out.last_mut()
                {
                    last.push(',');
                }
                continue;
            }
            _ => Vec::new(),
        };
        if open {
            if let Some(first) = piece.first_mut() {
                *first = format!("({first}");
            }
            if let Some(last) = piece.last_mut() {
                last.push(')');
            }
            open = false;
        }
        out.append(&mut piece);
    }
    if s.filler > 0 {
        let table = FILLER
            .get(s.lang.map_or(0, |l| l + 1))
            .copied()
            .unwrap_or(&[]);
        let mut used: Vec<&str> = Vec::new();
        for _ in 0..s.filler {
            if let Some(f) = rng.pick(table)
                && !used.contains(f)
            {
                used.push(f);
                if rng.chance(0.5) {
                    out.insert(0, (*f).to_string());
                } else {
                    out.push((*f).to_string());
                }
            }
        }
    }
    // A trailing comma from an empty part reads as a typo no shop makes.
    for w in &mut out {
        if w == "," {
            w.clear();
        }
    }
    out.retain(|w| !w.is_empty() && w != ",");
    if let Some(last) = out.last_mut() {
        while last.ends_with(',') {
            last.pop();
        }
    }
    out
}

/// The brand as one seller writes it: as banned, in another case, split or joined.
fn brand_spelling(rng: &mut Rng, brand: &str) -> String {
    match rng.below(6) {
        0 => brand.to_lowercase(),
        1 => brand.to_uppercase(),
        2 => {
            // "VoltMax" → "Volt Max"; "Blue Harbor" → "BlueHarbor".
            if brand.contains(' ') {
                brand.replace(' ', "")
            } else if brand.chars().all(|c| !c.is_lowercase()) {
                brand.to_lowercase()
            } else {
                let mut out = String::new();
                for (i, c) in brand.char_indices() {
                    if i > 0 && c.is_uppercase() {
                        out.push(' ');
                    }
                    out.push(c);
                }
                out
            }
        }
        _ => brand.to_string(),
    }
}

fn typo(rng: &mut Rng, w: &str) -> String {
    let mut c: Vec<char> = w.chars().collect();
    if c.len() < 3 {
        return w.to_string();
    }
    let i = rng.range(1, c.len() - 1);
    match rng.below(4) {
        0 => {
            c.swap(i - 1, i);
        }
        1 => {
            c.remove(i);
        }
        2 => {
            let x = c.get(i).copied().unwrap_or('a');
            c.insert(i, x);
        }
        _ => {
            // A neighbour on the keyboard.
            const ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];
            let x = c.get(i).copied().unwrap_or('a').to_ascii_lowercase();
            let repl = ROWS.iter().find_map(|r| {
                let pos = r.find(x)?;
                let b = r.as_bytes();
                let j = if pos + 1 < b.len() {
                    pos + 1
                } else {
                    pos.saturating_sub(1)
                };
                b.get(j).map(|b| char::from(*b))
            });
            if let (Some(r), Some(slot)) = (repl, c.get_mut(i)) {
                *slot = r;
            }
        }
    }
    let out: String = c.into_iter().collect();
    if out.to_lowercase() == w.to_lowercase() {
        // A swap of two equal letters: drop one instead.
        let mut c: Vec<char> = w.chars().collect();
        c.remove(i);
        return c.into_iter().collect();
    }
    out
}

/// The model as a seller re-types it: other separators, other case.
fn reformat_model(rng: &mut Rng, m: &str) -> String {
    match rng.below(4) {
        0 => m.replace(['-', ' ', '/'], ""),
        1 => m.to_lowercase(),
        2 => m.replace('-', " "),
        _ => m.replace('-', "_").to_lowercase(),
    }
}

/// Everything of one catalog being generated.
struct Gen {
    rng: Rng,
    seed: u64,
    params: Params,
    codes: Codes,
    /// Brand keys taken (lowercase, no spaces): every product of another family gets its own.
    brands: HashSet<String>,
    products: Vec<Product>,
    families: Vec<Family>,
    banned: Vec<BannedRecord>,
    /// Per banned record, its product index.
    banned_product: Vec<usize>,
    /// Spec token pools per kind.
    pools: BTreeMap<Spec, Vec<String>>,
    listings: Vec<Labelled>,
    pairs: Vec<Pair>,
}

/// The catalog of `seed`, with about `scale` × (300 banned records, 3,000 listings).
/// Deterministic: the same seed and scale give the same set on every machine.
pub fn generate(seed: u64, scale: usize) -> HardSet {
    let mut rng = Rng::new(seed);
    let params = Params::draw(&mut rng, scale);
    let mut g = Gen {
        rng,
        seed,
        params,
        codes: Codes {
            used: HashSet::new(),
            gtins: HashSet::new(),
        },
        brands: HashSet::new(),
        products: Vec::new(),
        families: Vec::new(),
        banned: Vec::new(),
        banned_product: Vec::new(),
        pools: BTreeMap::new(),
        listings: Vec::new(),
        pairs: Vec::new(),
    };
    g.draw_pools();
    g.draw_families();
    g.write_banned();
    g.write_listings();
    g.add_photos();
    HardSet {
        seed,
        params: g.params,
        banned: g.banned,
        listings: g.listings,
        pairs: g.pairs,
    }
}

/// `hash` with `bits` distinct random bits flipped.
fn flip_bits(rng: &mut Rng, hash: u64, bits: usize) -> u64 {
    let mut h = hash;
    let mut flipped = HashSet::new();
    while flipped.len() < bits.min(64) {
        let b = rng.below(64);
        if flipped.insert(b) {
            h ^= 1 << b;
        }
    }
    h
}

/// A photo as the dHash and pHash pair records carry.
fn photo_hashes(d: u64, p: u64) -> Vec<crate::model::ImageHashRef> {
    [("dhash", d), ("phash", p)]
        .into_iter()
        .map(|(algo, h)| crate::model::ImageHashRef {
            algo: algo.into(),
            hash: format!("{h:016x}"),
            photo: None,
        })
        .collect()
}

impl Gen {
    /// Photos, on a stream of their own so that the text of a seed's catalog does not depend
    /// on them: a share of banned records has a photo; relistings carry it now and then, a
    /// few bits away (re-encoded, resized); `photo_only` relistings carry only it, under a
    /// title of their own; some other products carry a look-alike photo, farther away (the
    /// same kind of product on the same kind of background), and the rest photos of their own.
    fn add_photos(&mut self) {
        let mut rng = Rng::new(self.seed ^ 0x5eed_0f94_0705);
        let with_photo = rng.between(0.4, 0.8);
        let relisting_photo = rng.between(0.2, 0.5);
        let near = rng.range(3, 9);
        let lookalike = (rng.range(10, 13), rng.range(16, 22));
        let lookalike_share = rng.between(0.05, 0.2);
        let mut photos: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for b in self.banned.iter_mut() {
            if rng.chance(with_photo) {
                let (d, p) = (rng.next_u64(), rng.next_u64());
                b.image_hashes = photo_hashes(d, p);
                photos.insert(b.id.clone(), (d, p));
            }
        }
        let banned_ids: Vec<String> = photos.keys().cloned().collect();
        if banned_ids.is_empty() {
            return;
        }
        for l in self.listings.iter_mut() {
            let own = match &l.expected {
                Some(e) => photos
                    .get(e)
                    .copied()
                    .filter(|_| rng.chance(relisting_photo)),
                None => None,
            };
            let (d, p) = match own {
                Some((d, p)) => {
                    let k = rng.range(0, near);
                    (flip_bits(&mut rng, d, k), flip_bits(&mut rng, p, k))
                }
                None if l.expected.is_none() && rng.chance(lookalike_share) => {
                    let Some(id) = rng.pick(&banned_ids).cloned() else {
                        continue;
                    };
                    let (d, p) = photos[&id];
                    let k = rng.range(lookalike.0, lookalike.1);
                    // The look-alike may already be one of the listing's hard negatives.
                    let pair = (id, l.listing.id.clone(), false);
                    if !self.pairs.contains(&pair) {
                        self.pairs.push(pair);
                    }
                    (flip_bits(&mut rng, d, k), flip_bits(&mut rng, p, k))
                }
                None if rng.chance(0.5) => (rng.next_u64(), rng.next_u64()),
                None => continue,
            };
            l.listing.image_hashes = photo_hashes(d, p);
        }
        let scale = (self.params.per_slice.values().sum::<usize>() / 2500).max(1);
        let count = scale * rng.range(60, 120);
        for _ in 0..count {
            let Some(id) = rng.pick(&banned_ids).cloned() else {
                break;
            };
            let (d, p) = photos[&id];
            let k = rng.range(0, near);
            let n = self.listings.len() + 1;
            let lid = format!("H{}-L{n:05}", self.seed);
            let other = OTHER_CATEGORIES
                .get(rng.below(OTHER_CATEGORIES.len().max(1)))
                .map_or("item", |c| c.noun);
            let title = format!(
                "{} {other} {}",
                capitalise(&syllables(&mut rng, 2)),
                ["new", "sale", "gift", "bundle", "hot"][rng.below(5)]
            );
            let listing = Listing {
                id: lid.clone(),
                title,
                image_hashes: photo_hashes(flip_bits(&mut rng, d, k), flip_bits(&mut rng, p, k)),
                ..Listing::default()
            };
            self.pairs.push((id.clone(), lid, true));
            self.listings.push(Labelled {
                listing,
                expected: Some(id),
                slice: "photo_only".into(),
            });
        }
    }

    fn draw_pools(&mut self) {
        let kinds: Vec<Spec> = {
            let mut k: Vec<Spec> = CATEGORIES
                .iter()
                .flat_map(|c| c.specs.iter().copied())
                .collect();
            k.sort();
            k.dedup();
            k
        };
        for kind in kinds {
            let n = self.params.spec_pool;
            let mut pool: Vec<String> = Vec::new();
            // A grammar with few outcomes (HDMI 2.0/2.1) gives a smaller pool.
            for _ in 0..n * 4 {
                if pool.len() >= n {
                    break;
                }
                let t = spec_token(&mut self.rng, kind);
                if !pool.contains(&t) {
                    pool.push(t);
                }
            }
            self.pools.insert(kind, pool);
        }
    }

    fn new_brand(&mut self) -> String {
        loop {
            let style = self
                .rng
                .pick(&self.params.brand_styles)
                .copied()
                .unwrap_or(0);
            let n = self.rng.range(1, 2);
            let a = capitalise(&syllables(&mut self.rng, n));
            let b = capitalise(&syllables(&mut self.rng, 1));
            let brand = match style {
                0 => format!("{a}{b}"),
                1 => a,
                2 => format!("{a} {b}"),
                _ => a.to_uppercase(),
            };
            let key = brand.to_lowercase().replace(' ', "");
            if key.len() >= 4 && self.brands.insert(key) {
                return brand;
            }
        }
    }

    fn line_name(&mut self) -> String {
        let n = 1 + self.rng.below(2);
        let w = capitalise(&syllables(&mut self.rng, n));
        match self.rng.below(4) {
            0 => w,
            1 => format!("{w} {}", self.rng.range(2, 20)),
            2 => format!("{w} {}{}", letter(&mut self.rng), self.rng.range(1, 9)),
            _ => format!(
                "{w}{}",
                ["", " Pro", " Max", " Plus", " Lite"][self.rng.below(5)]
            ),
        }
    }

    fn draw_specs(&mut self, category: &Category) -> Vec<String> {
        let mut kinds: Vec<Spec> = category.specs.to_vec();
        self.rng.shuffle(&mut kinds);
        let n = if kinds.is_empty() {
            0
        } else {
            self.rng.range(1, kinds.len().min(3))
        };
        kinds.truncate(n);
        kinds.sort();
        kinds
            .into_iter()
            .filter_map(|k| {
                let pool = self.pools.get(&k)?;
                self.rng.pick(pool).cloned()
            })
            .collect()
    }

    fn draw_attrs(&mut self, category: &Category) -> Vec<AttrValue> {
        category
            .attrs
            .iter()
            .map(|a| match a {
                Colour => AttrValue::Colour(self.rng.below(COLOURS.len())),
                Values(vs) => AttrValue::Value(self.rng.pick(vs).copied().unwrap_or("")),
            })
            .collect()
    }

    fn draw_words(&mut self, category: &Category) -> Vec<&'static str> {
        let mut w: Vec<&'static str> = category.words.to_vec();
        self.rng.shuffle(&mut w);
        w.truncate(self.rng.range(1, 3));
        w
    }

    fn price(&mut self, category: &Category) -> f64 {
        let (lo, hi) = category.price;
        (self.rng.between(lo, hi) * 100.0).round() / 100.0 - 0.01
    }

    fn draw_families(&mut self) {
        let mut cats: Vec<usize> = (0..CATEGORIES.len()).collect();
        let mut family_brands: Vec<(String, &'static str)> = Vec::new();
        for f in 0..self.params.families + self.params.singles {
            if f % cats.len() == 0 {
                self.rng.shuffle(&mut cats);
            }
            let category = &CATEGORIES[cats[f % cats.len()]];
            let reuse = if self.rng.chance(self.params.brand_reuse) {
                let others: Vec<&String> = family_brands
                    .iter()
                    .filter(|(_, c)| *c != category.noun)
                    .map(|(b, _)| b)
                    .collect();
                self.rng.pick(&others).map(|b| (*b).clone())
            } else {
                None
            };
            let brand = match reuse {
                Some(b) => b,
                None => self.new_brand(),
            };
            family_brands.push((brand.clone(), category.noun));
            let single = f >= self.params.families;
            let is_line = !single && self.rng.chance(self.params.line_share);
            let (lo, hi) = self.params.members;
            let n = if single { 1 } else { self.rng.range(lo, hi) };
            let specs = self.draw_specs(category);
            let attrs = self.draw_attrs(category);
            let words = self.draw_words(category);
            let price = self.price(category);
            let mut members = Vec::new();
            if is_line {
                let line = Some(self.line_name());
                let mut seen: Vec<Vec<AttrValue>> = Vec::new();
                let mpns = self.rng.chance(0.7);
                let structured = self.rng.chance(self.params.structured_mpn);
                let shape = Shape::draw(&mut self.rng);
                let mut alphabet = shape.alphabet();
                self.rng.shuffle(&mut alphabet);
                for _ in 0..n * 4 {
                    if members.len() >= n {
                        break;
                    }
                    let a = self.draw_attrs(category);
                    if a.is_empty() || seen.contains(&a) {
                        continue;
                    }
                    seen.push(a.clone());
                    let model = if !mpns {
                        None
                    } else if structured {
                        let c = alphabet.get(members.len()).copied().unwrap_or('0');
                        let m = shape.with(c);
                        self.codes.used.insert(model_key(&m)).then_some(m)
                    } else {
                        let pattern = *self.rng.pick(MPN_PATTERNS).unwrap_or(&"LLdddd-LLdd");
                        Some(self.codes.fresh(&mut self.rng, |r| random_code(r, pattern)))
                    };
                    let p = self.product(
                        &brand,
                        category,
                        line.clone(),
                        model,
                        a,
                        &specs,
                        &words,
                        price,
                        f,
                    );
                    members.push(p);
                }
            } else {
                let line = self.rng.chance(0.4).then(|| self.line_name());
                let shape = loop {
                    let s = Shape::draw(&mut self.rng);
                    // A shape whose fixed part another family already took would make two
                    // families one; a fresh one is drawn.
                    let probe = s.with('#');
                    if self
                        .codes
                        .used
                        .insert(format!("shape:{}", model_key(&probe)))
                    {
                        break s;
                    }
                };
                let mut alphabet = shape.alphabet();
                self.rng.shuffle(&mut alphabet);
                let structured = self.rng.chance(self.params.structured_mpn);
                let mpn_shape = Shape::draw(&mut self.rng);
                let mut mpn_alphabet = mpn_shape.alphabet();
                self.rng.shuffle(&mut mpn_alphabet);
                for (i, c) in alphabet.iter().take(n).enumerate() {
                    let m = shape.with(*c);
                    if !self.codes.used.insert(model_key(&m)) {
                        continue;
                    }
                    let p = self.product(
                        &brand,
                        category,
                        line.clone(),
                        Some(m),
                        attrs.clone(),
                        &specs,
                        &words,
                        price,
                        f,
                    );
                    if structured
                        && let Some(prod) = self.products.get_mut(p)
                        && prod.mpn.is_some()
                    {
                        let mpn = mpn_shape.with(mpn_alphabet.get(i).copied().unwrap_or('0'));
                        if self.codes.used.insert(model_key(&mpn)) {
                            prod.mpn = Some(mpn);
                        }
                    }
                    members.push(p);
                }
            }
            // At least one banned and, where the family has two, one not: the source of
            // model and line variants.
            let k = members.len();
            let mut banned = (k as f64 * self.params.banned_share).round() as usize;
            banned = banned.clamp(1, k.saturating_sub(1).max(1));
            let mut order = members.clone();
            self.rng.shuffle(&mut order);
            for p in order.into_iter().take(banned) {
                if let Some(prod) = self.products.get_mut(p) {
                    prod.banned_id = Some(String::new());
                }
            }
            self.families.push(Family {
                members,
                models: !is_line,
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn product(
        &mut self,
        brand: &str,
        category: &'static Category,
        line: Option<String>,
        model: Option<String>,
        attrs: Vec<AttrValue>,
        specs: &[String],
        words: &[&'static str],
        price: f64,
        family: usize,
    ) -> usize {
        let mpn = self.rng.chance(self.params.mpn_share).then(|| {
            let pattern = *self.rng.pick(MPN_PATTERNS).unwrap_or(&"ddd-dddddd");
            self.codes.fresh(&mut self.rng, |r| random_code(r, pattern))
        });
        let sku = self.rng.chance(self.params.sku_share).then(|| {
            let pattern = *self.rng.pick(SKU_PATTERNS).unwrap_or(&"dddddddd");
            self.codes.fresh(&mut self.rng, |r| random_code(r, pattern))
        });
        let gtin = self
            .rng
            .chance(self.params.gtin_share)
            .then(|| self.codes.gtin(&mut self.rng));
        let noise = self.rng.between(0.9, 1.1);
        self.products.push(Product {
            brand: brand.to_string(),
            category,
            line,
            model,
            mpn,
            sku,
            gtin,
            attrs,
            specs: specs.to_vec(),
            words: words.to_vec(),
            price: (price * noise * 100.0).round() / 100.0,
            family,
            banned_id: None,
        });
        self.products.len() - 1
    }

    fn write_banned(&mut self) {
        let mut n = 0;
        for i in 0..self.products.len() {
            let Some(p) = self.products.get(i).cloned() else {
                continue;
            };
            if p.banned_id.is_none() {
                continue;
            }
            n += 1;
            let id = format!("H{}-B{n:04}", self.seed);
            let template = self
                .rng
                .pick(&self.params.banned_templates)
                .copied()
                .unwrap_or(0);
            // Regulators name the part number in the title now and then, beside the model.
            let style = Style {
                template,
                brand: Some(p.brand.clone()),
                words: self.rng.range(1, 3),
                ..Style::default()
            };
            let mut title = render(&mut self.rng, &p, &style);
            if let (Some(mpn), true) = (&p.mpn, self.rng.chance(0.3)) {
                title.push(mpn.clone());
            }
            let models: Vec<String> = [&p.model, &p.mpn, &p.sku]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            let description = self.rng.chance(self.params.description_share).then(|| {
                format!(
                    "The {} {} can {}. Sold {} until {}.",
                    p.brand,
                    p.category.noun,
                    [
                        "overheat",
                        "break",
                        "catch fire",
                        "shock the user",
                        "detach small parts"
                    ][self.rng.below(5)],
                    ["online", "in stores", "online and in stores"][self.rng.below(3)],
                    2018 + self.rng.below(8)
                )
            });
            let mut v = Map::new();
            v.insert("id".into(), json!(id));
            v.insert("title".into(), json!(title.join(" ")));
            v.insert("brand".into(), json!(p.brand));
            v.insert("category".into(), json!(p.category.noun));
            if let Some(d) = description {
                v.insert("description".into(), json!(d));
            }
            v.insert(
                "hazard".into(),
                json!(self.rng.pick(HAZARDS).copied().unwrap_or("fire hazard")),
            );
            if !models.is_empty() {
                v.insert("models".into(), json!(models));
            }
            if let Some(g) = &p.gtin {
                v.insert("gtins".into(), json!([g]));
            }
            v.insert("source".into(), json!("HARD"));
            let Ok(parsed) = BannedRecord::from_value(Value::Object(v)) else {
                continue;
            };
            if let Some(prod) = self.products.get_mut(i) {
                prod.banned_id = Some(id);
            }
            self.banned.push(parsed.record);
            self.banned_product.push(i);
        }
    }

    fn banned_ids_of_family(&self, family: usize) -> Vec<String> {
        self.families
            .get(family)
            .map(|f| {
                f.members
                    .iter()
                    .filter_map(|m| self.products.get(*m)?.banned_id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Banned records sharing a spec token with `specs`, at most `k`.
    fn banned_sharing_specs(&self, specs: &[String], k: usize) -> Vec<String> {
        self.banned_product
            .iter()
            .filter_map(|i| self.products.get(*i))
            .filter(|p| p.specs.iter().any(|s| specs.contains(s)))
            .filter_map(|p| p.banned_id.clone())
            .take(k)
            .collect()
    }

    fn listing_style(&mut self, p: &Product, lang: Option<usize>) -> Style {
        let template = self
            .rng
            .pick(&self.params.listing_templates)
            .copied()
            .unwrap_or(0);
        Style {
            template,
            lang,
            brand: Some(brand_spelling(&mut self.rng, &p.brand)),
            code: None,
            no_code: false,
            words: self.rng.range(0, 3),
            filler: if self.rng.chance(0.4) {
                self.rng.range(1, 2)
            } else {
                0
            },
        }
    }

    fn foreign(&mut self) -> Option<usize> {
        if self.rng.chance(self.params.foreign_negatives) {
            self.pick_lang()
        } else {
            None
        }
    }

    fn pick_lang(&mut self) -> Option<usize> {
        let l = self.rng.pick(&self.params.languages).copied()?;
        LANGS.iter().position(|x| *x == l)
    }

    #[allow(clippy::too_many_arguments)]
    fn push_listing(
        &mut self,
        slice: &'static str,
        p: &Product,
        mut title: Vec<String>,
        lang: Option<usize>,
        expected: Option<String>,
        mut models: Vec<String>,
        gtins: Vec<String>,
        description: Option<String>,
        negatives: Vec<String>,
    ) {
        let id = format!("H{}-L{:05}", self.seed, self.listings.len() + 1);
        if self.rng.chance(self.params.shop_code) {
            // The shop's own article number, in the title or its `models` field: it names
            // nothing in the banned catalog.
            let pattern = *self.rng.pick(SHOP_PATTERNS).unwrap_or(&"dddddd");
            let code = self.codes.fresh(&mut self.rng, |r| random_code(r, pattern));
            if self.rng.chance(0.5) {
                models.push(code);
            } else {
                let label = CODE_LABEL
                    .get(lang.map_or(0, |l| l + 1))
                    .copied()
                    .unwrap_or("SKU");
                title.push(format!("{label} {code}"));
            }
        }
        self.push_listing_titled(
            slice,
            p,
            title,
            lang,
            expected,
            models,
            gtins,
            description,
            negatives,
            id,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn push_listing_titled(
        &mut self,
        slice: &'static str,
        p: &Product,
        title: Vec<String>,
        lang: Option<usize>,
        expected: Option<String>,
        models: Vec<String>,
        gtins: Vec<String>,
        description: Option<String>,
        negatives: Vec<String>,
        id: String,
    ) {
        let noise = self
            .rng
            .between(-self.params.price_noise, self.params.price_noise);
        let (currency, rate) = match lang {
            None => ("USD", 1.0),
            Some(5) => ("KRW", 1350.0),
            Some(_) => ("EUR", 0.92),
        };
        let price = (p.price * (1.0 + noise) * rate * 100.0).round() / 100.0;
        let mut v = Map::new();
        v.insert("id".into(), json!(id));
        let mut title = title.join(" ");
        if title.trim().is_empty() {
            title = p.category.noun.to_string();
        }
        v.insert("title".into(), json!(title));
        // A GTIN-only relisting names no brand of the banned product: only its barcode.
        if slice != "gtin_only" && self.rng.chance(self.params.brand_field) {
            v.insert(
                "brand".into(),
                json!(brand_spelling(&mut self.rng, &p.brand)),
            );
        }
        if let Some(d) = description {
            v.insert("description".into(), json!(d));
        }
        if !models.is_empty() {
            v.insert("models".into(), json!(models));
        }
        if !gtins.is_empty() {
            v.insert("gtins".into(), json!(gtins));
        }
        v.insert("price".into(), json!(price));
        v.insert("currency".into(), json!(currency));
        v.insert(
            "market".into(),
            json!(match lang {
                None => "US",
                Some(0) => "DE",
                Some(1) => "FR",
                Some(2) => "ES",
                Some(3) => "IT",
                Some(4) => "NL",
                Some(_) => "KR",
            }),
        );
        let Ok(listing) = Listing::from_value(Value::Object(v)) else {
            return;
        };
        if let Some(e) = &expected {
            self.pairs.push((e.clone(), id.clone(), true));
        }
        let mut seen: HashSet<String> = expected.iter().cloned().collect();
        for n in negatives {
            if seen.insert(n.clone()) {
                self.pairs.push((n, id.clone(), false));
            }
        }
        self.listings.push(Labelled {
            listing,
            expected,
            slice: slice.to_string(),
        });
    }

    fn description_of(
        &mut self,
        p: &Product,
        lang: Option<usize>,
        code: Option<&str>,
    ) -> Option<String> {
        if !self.rng.chance(self.params.description_share) {
            return None;
        }
        let mut d = format!(
            "{} {}",
            p.brand,
            p.category
                .nouns
                .get(lang.unwrap_or(usize::MAX))
                .copied()
                .unwrap_or(p.category.noun)
        );
        if let Some(c) = code {
            d.push(' ');
            d.push_str(c);
        }
        for s in &p.specs {
            d.push_str(", ");
            d.push_str(s);
        }
        for a in &p.attrs {
            d.push_str(", ");
            d.push_str(&a.render(lang));
        }
        if lang.is_none() {
            for w in &p.words {
                d.push_str(", ");
                d.push_str(w);
            }
        }
        d.push('.');
        Some(d)
    }

    fn write_listings(&mut self) {
        let per_slice: Vec<(&'static str, usize)> = self
            .params
            .per_slice
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
        for (slice, n) in per_slice {
            for _ in 0..n {
                match slice {
                    "model_variant" => self.model_variant(),
                    "line_variant" => self.line_variant(),
                    "spec_collision" => self.spec_collision(),
                    "unrelated" => self.unrelated(),
                    _ => self.relisting(slice),
                }
            }
        }
        // Slices interleaved, as a catalog would be: by a shuffle of the seed's own stream.
        let mut order: Vec<usize> = (0..self.listings.len()).collect();
        self.rng.shuffle(&mut order);
        let mut taken: Vec<Option<Labelled>> = std::mem::take(&mut self.listings)
            .into_iter()
            .map(Some)
            .collect();
        self.listings = order
            .into_iter()
            .filter_map(|i| taken.get_mut(i).and_then(Option::take))
            .collect();
    }

    /// A banned product for a relisting of `slice`.
    fn pick_banned(&mut self, slice: &str) -> Option<Product> {
        let fits = |p: &Product| match slice {
            "multi_code" => p.codes().len() >= 2,
            "gtin_only" => p.gtin.is_some(),
            _ => p.model.is_some() || p.mpn.is_some() || p.sku.is_some(),
        };
        let candidates: Vec<usize> = self
            .banned_product
            .iter()
            .copied()
            .filter(|i| self.products.get(*i).is_some_and(fits))
            .collect();
        let i = self.rng.pick(&candidates).copied()?;
        self.products.get(i).cloned()
    }

    fn relisting(&mut self, slice: &'static str) {
        let Some(p) = self.pick_banned(slice) else {
            return;
        };
        let Some(expected) = p.banned_id.clone() else {
            return;
        };
        let mut negatives = self.banned_ids_of_family(p.family);
        negatives.extend(self.banned_sharing_specs(&p.specs, 3));
        if slice == "gtin_only" {
            return self.gtin_only(&p, expected, negatives);
        }
        let lang = if slice == "multilingual" {
            self.pick_lang()
        } else {
            None
        };
        let mut style = self.listing_style(&p, lang);
        let mut models = Vec::new();
        let mut gtins = Vec::new();
        // The code this listing names: the model, or any of its codes for `multi_code`.
        let text_codes: Vec<String> = [&p.model, &p.mpn, &p.sku]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        let mut named = text_codes.first().cloned();
        if slice == "multi_code" {
            let all = p.codes();
            named = self.rng.pick(&all).cloned();
        } else if slice == "multilingual" && text_codes.len() > 1 && self.rng.chance(0.3) {
            named = self.rng.pick(&text_codes).cloned();
        }
        if named.is_some() && named == p.gtin {
            // A GTIN named as a barcode: in the listing's field or written in its text.
            style.no_code = true;
            let g = named.clone().unwrap_or_default();
            if self.rng.chance(0.5) {
                gtins.push(g);
            } else {
                style.code = Some(format!("EAN {g}"));
                style.no_code = false;
            }
        } else {
            style.code = named.clone();
            if let Some(m) = &named
                && self.rng.chance(self.params.model_reformat)
            {
                style.code = Some(reformat_model(&mut self.rng, m));
            }
            if let Some(m) = &named
                && self.rng.chance(0.25)
            {
                // Shops with a model field fill it; the title may then leave it out.
                models.push(m.clone());
                if self.rng.chance(0.3) {
                    style.no_code = true;
                }
            }
        }
        let mut title = render(&mut self.rng, &p, &style);
        let mut edits: Vec<&str> = vec![slice];
        let mut more = self.params.extra_edit;
        while self.rng.chance(more) && edits.len() < 4 {
            let e = *self
                .rng
                .pick(&["brand_typo", "reordered", "dropped_words", "spec_added"])
                .unwrap_or(&"spec_added");
            if !edits.contains(&e) {
                edits.push(e);
            }
            more /= 2.0;
        }
        let code = if style.no_code {
            None
        } else {
            style.code.clone().or_else(|| p.model.clone())
        };
        for e in edits {
            match e {
                "brand_typo" => {
                    if let Some(b) = &style.brand {
                        let bad = typo(&mut self.rng, b);
                        if let Some(w) = title.iter_mut().find(|w| w.starts_with(b.as_str())) {
                            *w = w.replacen(b.as_str(), &bad, 1);
                        }
                    }
                }
                "reordered" => self.rng.shuffle(&mut title),
                "dropped_words" => {
                    // Drop words, never the code: what is left still names the product.
                    let droppable: Vec<usize> = (0..title.len())
                        .filter(|i| {
                            title.get(*i).is_some_and(|w| {
                                code.as_ref().is_none_or(|c| !w.contains(c.as_str()))
                            })
                        })
                        .collect();
                    let most = (droppable.len() as f64 * self.params.drop_share).round() as usize;
                    let k = self.rng.range(1, most.max(1));
                    let mut drop: Vec<usize> = droppable;
                    self.rng.shuffle(&mut drop);
                    drop.truncate(k);
                    let mut i = 0;
                    title.retain(|_| {
                        let keep = !drop.contains(&i);
                        i += 1;
                        keep
                    });
                }
                "spec_added" => {
                    // A spec token of the category's kinds (from the pool, so other banned
                    // products carry it) or a marketing token.
                    let pool: Vec<String> = self
                        .rng
                        .pick(p.category.specs)
                        .and_then(|k| self.pools.get(k))
                        .cloned()
                        .unwrap_or_default();
                    let token = match self.rng.pick(&pool) {
                        Some(t) if self.rng.chance(0.7) => t.clone(),
                        _ => ["2024 Model", "Upgraded", "V2", "Gen 3", "Bundle", "Latest"]
                            [self.rng.below(6)]
                        .to_string(),
                    };
                    let at = self.rng.below(title.len() + 1);
                    title.insert(at.min(title.len()), token);
                }
                _ => {}
            }
        }
        // An edit may have left a part's comma at the end.
        if let Some(last) = title.last_mut() {
            while last.ends_with(',') {
                last.pop();
            }
        }
        title.retain(|w| !w.is_empty());
        let in_description = self.rng.chance(0.5);
        let description =
            self.description_of(&p, lang, named.as_deref().filter(|_| in_description));
        self.push_listing(
            slice,
            &p,
            title,
            lang,
            Some(expected),
            models,
            gtins,
            description,
            negatives,
        );
    }

    /// The banned GTIN with a title that names another thing, or nothing at all.
    fn gtin_only(&mut self, p: &Product, expected: String, negatives: Vec<String>) {
        let Some(g) = p.gtin.clone() else {
            return;
        };
        let other = CATEGORIES
            .get(self.rng.below(CATEGORIES.len()))
            .or(OTHER_CATEGORIES.first())
            .map_or("item", |c| c.noun);
        let mut title: Vec<String> = match self.rng.below(4) {
            0 => vec![other.to_string()],
            1 => vec![
                "Lot".into(),
                format!("{}", self.rng.range(2, 99)),
                other.to_string(),
            ],
            2 => vec![
                capitalise(&syllables(&mut self.rng, 2)),
                other.to_string(),
                ["New", "Used", "Sale", "Bundle"][self.rng.below(4)].to_string(),
            ],
            _ => vec!["Item".into(), format!("{}", self.rng.range(1000, 99999))],
        };
        let mut gtins = Vec::new();
        let mut description = None;
        match self.rng.below(3) {
            0 => gtins.push(g),
            1 => title.push(format!("EAN {g}")),
            _ => description = Some(format!("Barcode {g}. Ships fast.")),
        }
        let lang = self.foreign();
        self.push_listing(
            "gtin_only",
            p,
            title,
            lang,
            Some(expected),
            Vec::new(),
            gtins,
            description,
            negatives,
        );
    }

    /// An unbanned product of a model family, titled as a banned sibling is: the same brand,
    /// the same words, the model one character apart.
    fn model_variant(&mut self) {
        let candidates: Vec<(usize, usize)> = self
            .families
            .iter()
            .filter(|f| f.models)
            .flat_map(|f| {
                let banned: Vec<usize> = f
                    .members
                    .iter()
                    .copied()
                    .filter(|m| self.products.get(*m).is_some_and(|p| p.banned_id.is_some()))
                    .collect();
                f.members
                    .iter()
                    .copied()
                    .filter(|m| self.products.get(*m).is_some_and(|p| p.banned_id.is_none()))
                    .flat_map(move |v| banned.clone().into_iter().map(move |b| (v, b)))
            })
            .collect();
        let Some(&(v, b)) = self.rng.pick(&candidates) else {
            return;
        };
        let (Some(variant), Some(sibling)) =
            (self.products.get(v).cloned(), self.products.get(b).cloned())
        else {
            return;
        };
        self.variant_listing("model_variant", &variant, &sibling);
    }

    /// An unbanned product of a line: the banned sibling's title with another capacity, colour
    /// or size (and its own part number, if it names one).
    fn line_variant(&mut self) {
        let candidates: Vec<(usize, usize)> = self
            .families
            .iter()
            .filter(|f| !f.models)
            .flat_map(|f| {
                let banned: Vec<usize> = f
                    .members
                    .iter()
                    .copied()
                    .filter(|m| self.products.get(*m).is_some_and(|p| p.banned_id.is_some()))
                    .collect();
                f.members
                    .iter()
                    .copied()
                    .filter(|m| self.products.get(*m).is_some_and(|p| p.banned_id.is_none()))
                    .flat_map(move |v| banned.clone().into_iter().map(move |b| (v, b)))
            })
            .collect();
        let Some(&(v, b)) = self.rng.pick(&candidates) else {
            return;
        };
        let (Some(mut variant), Some(sibling)) =
            (self.products.get(v).cloned(), self.products.get(b).cloned())
        else {
            return;
        };
        // Some shops leave the part number out; the line and attributes remain.
        if self.rng.chance(0.4) {
            variant.model = None;
        }
        self.variant_listing("line_variant", &variant, &sibling);
    }

    fn variant_listing(&mut self, slice: &'static str, variant: &Product, sibling: &Product) {
        let lang = self.foreign();
        let mut style = self.listing_style(variant, lang);
        if self.rng.chance(0.5)
            && let Some(t) = self.rng.pick(&self.params.banned_templates).copied()
        {
            // The banned title's own words and order, only the model or variant changed.
            style.template = t;
            style.brand = Some(variant.brand.clone());
            style.filler = 0;
        }
        if let Some(m) = &variant.model
            && self.rng.chance(self.params.model_reformat)
        {
            style.code = Some(reformat_model(&mut self.rng, m));
        }
        let title = render(&mut self.rng, variant, &style);
        let mut models = Vec::new();
        if let Some(m) = &variant.model
            && self.rng.chance(0.25)
        {
            models.push(m.clone());
        }
        let mut gtins = Vec::new();
        if let Some(g) = &variant.gtin
            && self.rng.chance(0.4)
        {
            gtins.push(g.clone());
        }
        let mut negatives = self.banned_ids_of_family(sibling.family);
        negatives.extend(sibling.banned_id.clone());
        let description = self.description_of(variant, lang, variant.model.as_deref());
        self.push_listing(
            slice,
            variant,
            title,
            lang,
            None,
            models,
            gtins,
            description,
            negatives,
        );
    }

    /// Another product (mostly another brand; sometimes the same brand's other category) that
    /// carries the spec tokens of banned products.
    fn spec_collision(&mut self) {
        let with_specs: Vec<usize> = self
            .banned_product
            .iter()
            .copied()
            .filter(|i| self.products.get(*i).is_some_and(|p| !p.specs.is_empty()))
            .collect();
        let Some(b) = self
            .rng
            .pick(&with_specs)
            .and_then(|i| self.products.get(*i))
            .cloned()
        else {
            return;
        };
        // A category naming a spec kind of the banned one: often the same category.
        let kinds: Vec<Spec> = b
            .specs
            .iter()
            .filter_map(|s| {
                self.pools
                    .iter()
                    .find(|(_, pool)| pool.contains(s))
                    .map(|(k, _)| *k)
            })
            .collect();
        let same = self.rng.chance(0.6);
        let category: &'static Category = if same {
            b.category
        } else {
            let others: Vec<&'static Category> = CATEGORIES
                .iter()
                .filter(|c| c.specs.iter().any(|k| kinds.contains(k)))
                .collect();
            self.rng.pick(&others).copied().unwrap_or(b.category)
        };
        let brand = if !same && self.rng.chance(0.2) {
            b.brand.clone()
        } else {
            self.new_brand()
        };
        let mut specs: Vec<String> = b
            .specs
            .iter()
            .zip(&kinds)
            .filter(|(_, k)| category.specs.contains(k))
            .map(|(s, _)| s.clone())
            .collect();
        // Its own specs of other kinds: two CPUs in one title is no product.
        let mut own = self.draw_specs(category);
        own.retain(|s| {
            !specs.contains(s)
                && !self
                    .pools
                    .iter()
                    .any(|(k, pool)| pool.contains(s) && kinds.contains(k))
        });
        if specs.len() > 1 && self.rng.chance(0.3) {
            specs.truncate(1);
        }
        specs.extend(own.into_iter().take(self.rng.below(2)));
        let shape = Shape::draw(&mut self.rng);
        let c = shape.alphabet().first().copied().unwrap_or('0');
        let model = {
            let m = shape.with(c);
            if self.codes.used.insert(model_key(&m)) {
                Some(m)
            } else {
                None
            }
        };
        let line = self.rng.chance(0.4).then(|| self.line_name());
        let attrs = self.draw_attrs(category);
        let words = self.draw_words(category);
        let price = self.price(category);
        let idx = self.product(
            &brand,
            category,
            line,
            model,
            attrs,
            &specs,
            &words,
            price,
            usize::MAX,
        );
        let Some(p) = self.products.get(idx).cloned() else {
            return;
        };
        let mut negatives = self.banned_sharing_specs(&p.specs, 5);
        negatives.extend(b.banned_id.clone());
        self.other_listing("spec_collision", &p, negatives);
    }

    /// A listing of another product entirely: mostly of categories nothing is banned in.
    fn unrelated(&mut self) {
        let category: &'static Category = if self.rng.chance(0.7) {
            OTHER_CATEGORIES.get(self.rng.below(OTHER_CATEGORIES.len()))
        } else {
            CATEGORIES.get(self.rng.below(CATEGORIES.len()))
        }
        .unwrap_or(&CATEGORIES[0]);
        let brand = self.new_brand();
        let shape = Shape::draw(&mut self.rng);
        let c = shape.alphabet().first().copied().unwrap_or('0');
        let model = self
            .rng
            .chance(0.7)
            .then(|| shape.with(c))
            .filter(|m| self.codes.used.insert(model_key(m)));
        let line = self.rng.chance(0.4).then(|| self.line_name());
        let attrs = self.draw_attrs(category);
        let words = self.draw_words(category);
        let price = self.price(category);
        let idx = self.product(
            &brand,
            category,
            line,
            model,
            attrs,
            &[],
            &words,
            price,
            usize::MAX,
        );
        let Some(p) = self.products.get(idx).cloned() else {
            return;
        };
        let negatives: Vec<String> = self
            .banned_product
            .iter()
            .filter_map(|i| self.products.get(*i))
            .filter(|b| std::ptr::eq(b.category, category))
            .filter_map(|b| b.banned_id.clone())
            .take(2)
            .collect();
        self.other_listing("unrelated", &p, negatives);
    }

    fn other_listing(&mut self, slice: &'static str, p: &Product, negatives: Vec<String>) {
        let lang = self.foreign();
        let style = self.listing_style(p, lang);
        let title = render(&mut self.rng, p, &style);
        let mut models = Vec::new();
        if let Some(m) = &p.model
            && self.rng.chance(0.25)
        {
            models.push(m.clone());
        }
        let gtins: Vec<String> = p
            .gtin
            .iter()
            .filter(|_| self.rng.chance(0.4))
            .cloned()
            .collect();
        let description = self.description_of(p, lang, p.model.as_deref());
        self.push_listing(
            slice,
            p,
            title,
            lang,
            None,
            models,
            gtins,
            description,
            negatives,
        );
    }
}

/// A labelled listing as `relist eval` reads it: the listing, `expected` and `slice`.
pub fn labelled_value(l: &Labelled) -> Value {
    let mut v = serde_json::to_value(&l.listing).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.insert("expected".into(), json!(l.expected));
        o.insert("slice".into(), json!(l.slice));
    }
    v
}

impl HardSet {
    /// Writes `banned.jsonl`, `listings.jsonl` (labelled, for `relist eval`) and `pairs.jsonl`
    /// (`{"banned_id", "listing_id", "label"}`) into `dir`, creating it.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let io = |p: &Path, e: std::io::Error| Error::io(p, e);
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let write = |name: &str, lines: &mut dyn Iterator<Item = Value>| -> Result<()> {
            let path = dir.join(name);
            let f = std::fs::File::create(&path).map_err(|e| io(&path, e))?;
            let mut w = std::io::BufWriter::new(f);
            for v in lines {
                writeln!(w, "{v}").map_err(|e| io(&path, e))?;
            }
            w.flush().map_err(|e| io(&path, e))
        };
        write(
            "banned.jsonl",
            &mut self
                .banned
                .iter()
                .map(|b| serde_json::to_value(b).unwrap_or(Value::Null)),
        )?;
        write(
            "listings.jsonl",
            &mut self.listings.iter().map(labelled_value),
        )?;
        write(
            "pairs.jsonl",
            &mut self
                .pairs
                .iter()
                .map(|(b, l, y)| json!({"banned_id": b, "listing_id": l, "label": y})),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_set() {
        let a = generate(TEST_SEED, 1);
        let b = generate(TEST_SEED, 1);
        assert_eq!(a.params, b.params);
        assert_eq!(a.banned, b.banned);
        assert_eq!(a.pairs, b.pairs);
        let la: Vec<Value> = a.listings.iter().map(labelled_value).collect();
        let lb: Vec<Value> = b.listings.iter().map(labelled_value).collect();
        assert_eq!(la, lb);
    }

    #[test]
    fn held_out_seeds_are_not_training_seeds() {
        assert!(!TRAIN_SEEDS.contains(&TEST_SEED));
        assert!(!TRAIN_SEEDS.contains(&SEALED_SEED));
        assert_ne!(TEST_SEED, SEALED_SEED);
    }

    #[test]
    fn different_seeds_draw_different_parameters() {
        let params: Vec<Params> = (1..6).map(|s| generate(s, 1).params).collect();
        for (i, a) in params.iter().enumerate() {
            for b in &params[i + 1..] {
                assert_ne!(a, b);
                assert_ne!(a.families, 0);
            }
        }
        // Not only the numbers: the languages, templates and brand styles vary too.
        let distinct =
            |f: &dyn Fn(&Params) -> String| params.iter().map(f).collect::<HashSet<String>>().len();
        assert!(distinct(&|p| p.languages.join(",")) > 1);
        assert!(distinct(&|p| format!("{:?}", p.listing_templates)) > 1);
        assert!(distinct(&|p| format!("{:?}", p.brand_styles)) > 1);
        assert_ne!(
            generate(1, 1).banned[0].title,
            generate(2, 1).banned[0].title
        );
    }

    #[test]
    fn every_slice_is_present_for_many_seeds() {
        for seed in [TEST_SEED, 1, 2, 3, 17, 999] {
            let set = generate(seed, 1);
            for slice in POSITIVE_SLICES
                .iter()
                .chain(NEVER_BLOCK_SLICES)
                .chain(UNFLAGGED_SLICES)
            {
                let n = set.listings.iter().filter(|l| l.slice == *slice).count();
                assert!(n >= 50, "seed {seed}: slice {slice} has {n} listings");
            }
            for l in &set.listings {
                let positive = POSITIVE_SLICES.contains(&l.slice.as_str());
                assert_eq!(l.expected.is_some(), positive, "{}", l.listing.id);
            }
        }
    }

    #[test]
    fn every_gtin_is_valid_and_every_id_unique() {
        let set = generate(TEST_SEED, 1);
        let mut ids = HashSet::new();
        for b in &set.banned {
            assert!(ids.insert(b.id.clone()), "duplicate id {}", b.id);
            for g in &b.gtins {
                assert!(gtin14(g).is_some(), "{}: {g}", b.id);
            }
        }
        for l in &set.listings {
            assert!(
                ids.insert(l.listing.id.clone()),
                "duplicate id {}",
                l.listing.id
            );
            for g in &l.listing.gtins {
                assert!(gtin14(g).is_some(), "{}: {g}", l.listing.id);
            }
        }
        // Banned GTINs are normalised on parsing: none was dropped as invalid.
        let with_gtin = set.banned.iter().filter(|b| !b.gtins.is_empty()).count();
        assert!(with_gtin > 0);
    }

    #[test]
    fn pairs_name_existing_records_and_each_relisting_its_own() {
        let set = generate(TEST_SEED, 1);
        let banned: HashSet<&str> = set.banned.iter().map(|b| b.id.as_str()).collect();
        let listings: HashSet<&str> = set.listings.iter().map(|l| l.listing.id.as_str()).collect();
        let mut seen = HashSet::new();
        for (b, l, _) in &set.pairs {
            assert!(banned.contains(b.as_str()), "pair names banned {b}");
            assert!(listings.contains(l.as_str()), "pair names listing {l}");
            assert!(seen.insert((b, l)), "pair ({b}, {l}) twice");
        }
        for l in &set.listings {
            if let Some(e) = &l.expected {
                assert!(banned.contains(e.as_str()));
                assert!(set.pairs.contains(&(e.clone(), l.listing.id.clone(), true)));
            }
        }
        // Hard negatives are there: most negatives' listings have a labelled sibling.
        let negative = set.pairs.iter().filter(|(_, _, y)| !y).count();
        assert!(
            negative > set.listings.len() / 2,
            "{negative} negative pairs"
        );
    }

    #[test]
    fn spec_tokens_recur_across_brands_and_banned_lines_have_siblings() {
        let set = generate(TEST_SEED, 1);
        let codes: HashSet<String> = set
            .banned
            .iter()
            .flat_map(|b| b.models.iter().map(|m| model_key(m)))
            .collect();
        // Tokens with a digit in banned titles that are no product's code: spec tokens, with
        // the brands they appear under.
        let mut brands_of: BTreeMap<String, HashSet<String>> = BTreeMap::new();
        for b in &set.banned {
            for w in b.title.split([' ', ',', '(', ')']) {
                if w.len() >= 4
                    && w.chars().any(|c| c.is_ascii_digit())
                    && w.chars().any(|c| c.is_ascii_alphabetic())
                    && !codes.contains(&model_key(w))
                {
                    brands_of
                        .entry(w.to_string())
                        .or_default()
                        .insert(b.brand.clone().unwrap_or_default());
                }
            }
        }
        let shared: Vec<&String> = brands_of
            .iter()
            .filter(|(_, b)| b.len() >= 3)
            .map(|(t, _)| t)
            .collect();
        assert!(shared.len() >= 5, "spec tokens under 3+ brands: {shared:?}");
        // Each spec collision carries a spec word of a banned title (of another brand, most).
        let words = |t: &str| -> Vec<String> {
            t.split([' ', ',', '(', ')'])
                .filter(|w| w.len() >= 2 && w.chars().any(|c| c.is_ascii_digit()))
                .filter(|w| !codes.contains(&model_key(w)))
                .map(str::to_lowercase)
                .collect()
        };
        let (mut carrying, mut collisions) = (0, 0);
        for l in set.listings.iter().filter(|l| l.slice == "spec_collision") {
            collisions += 1;
            let mine = words(&l.listing.title);
            carrying += usize::from(set.banned.iter().any(|b| {
                let theirs = words(&b.title);
                mine.iter().any(|w| theirs.contains(w))
            }));
        }
        assert!(
            carrying * 10 >= collisions * 9,
            "{carrying} of {collisions}"
        );
        // Families with several banned members: siblings to be told apart.
        let mut by_brand: BTreeMap<String, usize> = BTreeMap::new();
        for b in &set.banned {
            *by_brand
                .entry(b.brand.clone().unwrap_or_default())
                .or_default() += 1;
        }
        let families = by_brand.values().filter(|n| **n >= 2).count();
        assert!(
            families >= set.params.families / 4,
            "{families} families with siblings"
        );
    }

    #[test]
    fn variants_keep_the_banned_title_and_never_a_banned_code() {
        let set = generate(TEST_SEED, 1);
        let codes: HashSet<String> = set
            .banned
            .iter()
            .flat_map(|b| b.models.iter().map(|m| model_key(m)))
            .collect();
        let gtins: HashSet<&String> = set.banned.iter().flat_map(|b| &b.gtins).collect();
        let digits = |g: &String| g.trim_start_matches('0').to_string();
        let banned_digits: HashSet<String> = gtins.iter().map(|g| digits(g)).collect();
        for l in &set.listings {
            if l.expected.is_some() {
                continue;
            }
            for m in &l.listing.models {
                assert!(
                    !codes.contains(&model_key(m)),
                    "{}: banned code {m}",
                    l.listing.id
                );
            }
            for g in &l.listing.gtins {
                let g14 = gtin14(g).unwrap_or_default();
                assert!(!gtins.contains(&g14), "{}: banned GTIN {g}", l.listing.id);
            }
            let text = format!(
                "{} {}",
                l.listing.title,
                l.listing.description.as_deref().unwrap_or("")
            );
            for w in text.split(|c: char| !c.is_ascii_digit()) {
                let w = w.trim_start_matches('0');
                assert!(
                    w.len() < 8 || !banned_digits.contains(w),
                    "{}: banned GTIN in text {w}",
                    l.listing.id
                );
            }
            for w in l.listing.title.split(' ') {
                let k = model_key(w);
                assert!(
                    k.len() < 4 || !codes.contains(&k),
                    "{}: banned code in title {w}",
                    l.listing.id
                );
            }
        }
    }
}

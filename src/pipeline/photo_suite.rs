//! The photo robustness suite: banned photos, each edited as sellers edit them (every parameter
//! drawn from a range), relisted under titles that share nothing with the banned record, and a
//! pool of look-alike photos (the same kind of product on the same kind of background) that
//! must not match.
//!
//! Photos come from a folder of real photos (the shared grocery photos: `Class/Product/*.jpg`,
//! look-alikes are other products of the banned one's class) or are drawn here (products of a
//! few kinds, on plain and busy backgrounds; look-alikes are other products of the same kind on
//! the same background). What `relist eval --photos SEED` measures and the tests assert.

use std::io::Write;
use std::path::{Path, PathBuf};

use image::{DynamicImage, Rgb, RgbImage, imageops};
use imageproc::drawing::{draw_filled_circle_mut, draw_filled_rect_mut, draw_polygon_mut};
use imageproc::geometric_transformations::{
    Border, Interpolation, Projection, rotate_about_center, warp,
};
use imageproc::point::Point;
use imageproc::rect::Rect;
use serde_json::json;

use super::eval::Labelled;
use super::hardcases::Rng;
use crate::error::{Error, Result};
use crate::model::{BannedRecord, Listing};

/// Seeds the suite's thresholds were tuned on; the tests' seed and a sealed one are apart.
pub const TRAIN_SEEDS: std::ops::RangeInclusive<u64> = 1..=1000;
/// The seed the tests assert on (not looked at while tuning).
pub const TEST_SEED: u64 = 5_140_014;
/// Looked at once, at the end, for the note.
pub const SEALED_SEED: u64 = 8_862_305;

/// The edit families, as slices of the suite.
pub const EDITS: &[&str] = &[
    "rotate",
    "crop",
    "text_box",
    "sticker",
    "watermark",
    "frame",
    "perspective",
    "collage",
    "degrade",
    "colour",
    "mirror_resize",
    "combo",
];
/// The slice of look-alike photos that must not match.
pub const LOOK_ALIKE: &str = "look_alike";

/// Where the suite's photos come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Drawn here.
    Drawn,
    /// Real photos under this folder, grouped `Class/Product/photo`.
    Dir(PathBuf),
}

/// A generated suite: banned records (photos on disk, not yet hashed) and labelled listings.
#[derive(Debug, Clone)]
pub struct PhotoSuite {
    pub banned: Vec<BannedRecord>,
    pub listings: Vec<Labelled>,
}

/// One original photo: its pixels, and the group its look-alikes share.
struct Original {
    img: RgbImage,
    kind: usize,
    product: String,
}

/// Generates the suite of `seed` into `dir` (photos under `dir/img`): `banned` photos, each
/// edited once per family, and `look_alikes` photos of other products of the same kinds.
pub fn generate(
    seed: u64,
    source: &Source,
    dir: &Path,
    banned: usize,
    look_alikes: usize,
) -> Result<PhotoSuite> {
    let mut rng = Rng::new(seed ^ 0x0F07_0511_17E5);
    let img_dir = dir.join("img");
    std::fs::create_dir_all(&img_dir).map_err(|e| Error::io(&img_dir, e))?;
    let (originals, others) = originals(&mut rng, source, banned, look_alikes)?;
    let mut suite = PhotoSuite {
        banned: Vec::new(),
        listings: Vec::new(),
    };
    let words = [
        "item", "goods", "lot", "piece", "article", "thing", "offer", "deal", "stock", "unit",
    ];
    // Listing titles share no word with any banned title: only photos can match.
    let title = |rng: &mut Rng, _n: usize| {
        format!(
            "{} {}",
            rng.pick(&words).copied().unwrap_or("item"),
            rng.range(10_000, 99_999)
        )
    };
    let code = |i: usize| -> String {
        let mut n = i + 26 * 26;
        let mut s = String::new();
        while n > 0 {
            s.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
        }
        s
    };
    let pool: Vec<&RgbImage> = others.iter().map(|o| &o.img).collect();
    for (i, o) in originals.iter().enumerate() {
        let id = format!("P{i:04}");
        let path = img_dir.join(format!("banned-{i:04}.jpg"));
        save_jpeg(&o.img, &path, 90)?;
        suite.banned.push(BannedRecord {
            id: id.clone(),
            title: format!(
                "recalled {} {}",
                o.product.replace(|c: char| c.is_ascii_digit(), ""),
                code(i)
            ),
            images: vec![path.display().to_string()],
            ..BannedRecord::default()
        });
        for edit in EDITS {
            let (img, quality) = apply(&mut rng, edit, &o.img, &pool);
            let path = img_dir.join(format!("listing-{i:04}-{edit}.jpg"));
            save_jpeg(&img, &path, quality)?;
            suite.listings.push(Labelled {
                listing: listing(format!("L{i:04}-{edit}"), title(&mut rng, i), &path),
                expected: Some(id.clone()),
                slice: edit.to_string(),
            });
        }
    }
    for (j, o) in others.iter().enumerate() {
        // Half the look-alikes are edited too: a seller's photo of another product is edited
        // as much as a relister's.
        let (img, quality) = if rng.chance(0.5) {
            let edit = rng.pick(EDITS).copied().unwrap_or("crop");
            apply(&mut rng, edit, &o.img, &pool)
        } else {
            (o.img.clone(), 85)
        };
        let path = img_dir.join(format!("other-{j:04}.jpg"));
        save_jpeg(&img, &path, quality)?;
        suite.listings.push(Labelled {
            listing: listing(format!("N{j:04}"), title(&mut rng, j), &path),
            expected: None,
            slice: LOOK_ALIKE.to_string(),
        });
    }
    Ok(suite)
}

fn listing(id: String, title: String, path: &Path) -> Listing {
    Listing {
        id,
        title,
        images: vec![path.display().to_string()],
        ..Listing::default()
    }
}

fn save_jpeg(img: &RgbImage, path: &Path, quality: u8) -> Result<()> {
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = std::io::BufWriter::new(f);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut w, quality)
        .encode_image(img)
        .map_err(|e| Error::image(path.display().to_string(), e.to_string()))?;
    w.flush().map_err(|e| Error::io(path, e))
}

/// Indexes the suite's banned photos in memory (hashes and keypoints, as `ingest` does) and
/// judges its listings: recall per edit family, false matches among the look-alikes.
pub fn evaluate(suite: &PhotoSuite, config: crate::config::Config) -> Result<super::eval::Report> {
    let mut banned = suite.banned.clone();
    for b in &mut banned {
        let images = b.images.clone();
        let problems = super::photos::record_photos(&images, Path::new(""), &mut b.image_hashes);
        if let Some(p) = problems.first() {
            tracing::warn!("{}: {p}", b.id);
        }
    }
    let engine = crate::engine::Engine::in_memory(banned, config)?;
    super::eval::evaluate(&engine, &suite.listings)
}

impl PhotoSuite {
    /// Writes `banned.jsonl` and `listings.jsonl` (labelled, for `relist eval` and the peers'
    /// scorer) beside the photos.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let write =
            |name: &str, lines: &mut dyn Iterator<Item = serde_json::Value>| -> Result<()> {
                let path = dir.join(name);
                let io = |e: std::io::Error| Error::io(&path, e);
                let mut w = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
                for v in lines {
                    writeln!(w, "{v}").map_err(io)?;
                }
                w.flush().map_err(io)
            };
        write(
            "banned.jsonl",
            &mut self
                .banned
                .iter()
                .map(|b| serde_json::to_value(b).unwrap_or_default()),
        )?;
        write(
            "listings.jsonl",
            &mut self.listings.iter().map(super::hardcases::labelled_value),
        )?;
        // The peers' scorer reads labels apart: {"listing_id", "banned_id" | null, "slice"}.
        write(
            "labels.jsonl",
            &mut self.listings.iter().map(
                |l| json!({"listing_id": l.listing.id, "banned_id": l.expected, "slice": l.slice}),
            ),
        )
    }
}

/// The banned originals and the look-alike pool.
fn originals(
    rng: &mut Rng,
    source: &Source,
    banned: usize,
    look_alikes: usize,
) -> Result<(Vec<Original>, Vec<Original>)> {
    match source {
        Source::Drawn => {
            let kinds = DRAWN_KINDS;
            let b = (0..banned)
                .map(|i| {
                    let kind = i % kinds;
                    Original {
                        img: draw(rng, kind),
                        kind,
                        product: format!("drawn-{kind}"),
                    }
                })
                .collect();
            let o = (0..look_alikes)
                .map(|j| {
                    let kind = j % kinds;
                    Original {
                        img: draw(rng, kind),
                        kind,
                        product: format!("drawn-{kind}"),
                    }
                })
                .collect();
            Ok((b, o))
        }
        Source::Dir(root) => real_photos(rng, root, banned, look_alikes),
    }
}

/// Real photos: banned ones from random products, look-alikes from other products of the
/// classes the banned ones belong to.
fn real_photos(
    rng: &mut Rng,
    root: &Path,
    banned: usize,
    look_alikes: usize,
) -> Result<(Vec<Original>, Vec<Original>)> {
    let mut files: Vec<(String, String, PathBuf)> = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
            {
                let product = p
                    .parent()
                    .and_then(|x| x.file_name())
                    .map(|x| x.to_string_lossy().to_string())
                    .unwrap_or_default();
                let class = p
                    .parent()
                    .and_then(|x| x.parent())
                    .and_then(|x| x.file_name())
                    .map(|x| x.to_string_lossy().to_string())
                    .unwrap_or_default();
                files.push((class, product, p));
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no JPEG or PNG photos",
            root.display()
        )));
    }
    rng.shuffle(&mut files);
    let classes: Vec<String> = {
        let mut c: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
        c.sort();
        c.dedup();
        c
    };
    let load = |p: &Path| -> Result<RgbImage> { Ok(crate::photo::decode_file(p)?.to_rgb8()) };
    let mut b = Vec::new();
    let mut banned_products = Vec::new();
    for (class, product, p) in files.iter() {
        if b.len() == banned {
            break;
        }
        if banned_products.contains(product) {
            continue;
        }
        banned_products.push(product.clone());
        let kind = classes.iter().position(|c| c == class).unwrap_or(0);
        b.push(Original {
            img: load(p)?,
            kind,
            product: product.clone(),
        });
    }
    let banned_classes: Vec<&String> = b.iter().map(|o| &classes[o.kind]).collect();
    let mut o = Vec::new();
    for (class, product, p) in files.iter() {
        if o.len() == look_alikes {
            break;
        }
        if banned_products.contains(product) || !banned_classes.contains(&class) {
            continue;
        }
        let kind = classes.iter().position(|c| c == class).unwrap_or(0);
        o.push(Original {
            img: load(p)?,
            kind,
            product: product.clone(),
        });
    }
    Ok((b, o))
}

/// Kinds of drawn product: a bottle, a box, a garment, a jar.
const DRAWN_KINDS: usize = 4;

fn colour(rng: &mut Rng) -> Rgb<u8> {
    Rgb([
        rng.below(256) as u8,
        rng.below(256) as u8,
        rng.below(256) as u8,
    ])
}

/// Lines of pseudo-text (dark blocks of word widths) inside a box: what labels and captions
/// look like to a keypoint detector.
fn pseudo_text(rng: &mut Rng, img: &mut RgbImage, x: i32, y: i32, w: i32, h: i32, ink: Rgb<u8>) {
    let line = (h / rng.range(2, 5) as i32).max(4);
    let mut ly = y + line / 4;
    while ly + line / 2 < y + h {
        let mut lx = x + 3;
        while lx < x + w - 6 {
            let ww = rng.range(4, 24) as i32;
            let ww = ww.min(x + w - 3 - lx);
            if ww > 1 {
                draw_filled_rect_mut(
                    img,
                    Rect::at(lx, ly).of_size(ww as u32, (line / 2).max(2) as u32),
                    ink,
                );
            }
            lx += ww + rng.range(3, 7) as i32;
        }
        ly += line;
    }
}

/// A product photo of one `kind` on a plain, gradient or busy background.
fn draw(rng: &mut Rng, kind: usize) -> RgbImage {
    let (w, h) = (rng.range(420, 800) as u32, rng.range(420, 800) as u32);
    let bg = rng.below(3);
    let (c1, c2) = (colour(rng), colour(rng));
    let mut img = RgbImage::from_fn(w, h, |x, y| match bg {
        0 => Rgb([235, 235, 235]),
        1 => {
            let t = y as f32 / h as f32;
            Rgb(std::array::from_fn(|i| {
                (c1.0[i] as f32 * (1.0 - t) + c2.0[i] as f32 * t) as u8
            }))
        }
        _ => {
            // A busy backdrop: stripes and checks.
            if ((x / 23) + (y / 31)) % 2 == 0 {
                c1
            } else {
                c2
            }
        }
    });
    if bg == 2 {
        for _ in 0..rng.range(10, 30) {
            let c = colour(rng);
            let (cx, cy) = (rng.below(w as usize) as i32, rng.below(h as usize) as i32);
            draw_filled_circle_mut(&mut img, (cx, cy), rng.range(5, 30) as i32, c);
        }
    }
    let (cx, cy) = (
        w as i32 / 2 + rng.range(0, 40) as i32 - 20,
        h as i32 / 2 + rng.range(0, 40) as i32 - 20,
    );
    let (pw, ph) = (
        (w as f64 * rng.between(0.35, 0.6)) as i32,
        (h as f64 * rng.between(0.5, 0.8)) as i32,
    );
    let body = colour(rng);
    let poly: Vec<Point<i32>> = match kind {
        // A bottle: a neck on a body.
        0 => vec![
            Point::new(cx - pw / 6, cy - ph / 2),
            Point::new(cx + pw / 6, cy - ph / 2),
            Point::new(cx + pw / 6, cy - ph / 3),
            Point::new(cx + pw / 2, cy - ph / 5),
            Point::new(cx + pw / 2, cy + ph / 2),
            Point::new(cx - pw / 2, cy + ph / 2),
            Point::new(cx - pw / 2, cy - ph / 5),
            Point::new(cx - pw / 6, cy - ph / 3),
        ],
        // A box in perspective.
        1 => vec![
            Point::new(cx - pw / 2, cy - ph / 2 + ph / 10),
            Point::new(cx + pw / 3, cy - ph / 2),
            Point::new(cx + pw / 2, cy - ph / 2 + ph / 12),
            Point::new(cx + pw / 2, cy + ph / 2),
            Point::new(cx - pw / 2, cy + ph / 2 - ph / 20),
        ],
        // A T-shirt.
        2 => vec![
            Point::new(cx - pw / 5, cy - ph / 2),
            Point::new(cx + pw / 5, cy - ph / 2),
            Point::new(cx + pw / 2 + pw / 4, cy - ph / 4),
            Point::new(cx + pw / 2, cy - ph / 8),
            Point::new(cx + pw / 3, cy - ph / 5),
            Point::new(cx + pw / 3, cy + ph / 2),
            Point::new(cx - pw / 3, cy + ph / 2),
            Point::new(cx - pw / 3, cy - ph / 5),
            Point::new(cx - pw / 2, cy - ph / 8),
            Point::new(cx - pw / 2 - pw / 4, cy - ph / 4),
        ],
        // A jar: a lid on a wide body.
        _ => vec![
            Point::new(cx - pw / 3, cy - ph / 2),
            Point::new(cx + pw / 3, cy - ph / 2),
            Point::new(cx + pw / 3, cy - ph / 3),
            Point::new(cx + pw / 2, cy - ph / 4),
            Point::new(cx + pw / 2, cy + ph / 2),
            Point::new(cx - pw / 2, cy + ph / 2),
            Point::new(cx - pw / 2, cy - ph / 4),
            Point::new(cx - pw / 3, cy - ph / 3),
        ],
    };
    draw_polygon_mut(&mut img, &poly, body);
    // The label: a panel with pseudo-text, a logo and a band, all drawn per product.
    let (lx, ly) = (cx - pw / 3, cy - ph / 8);
    let (lw, lh) = (2 * pw / 3, ph / 2);
    let label = colour(rng);
    draw_filled_rect_mut(
        &mut img,
        Rect::at(lx, ly).of_size(lw.max(4) as u32, lh.max(4) as u32),
        label,
    );
    let ink = Rgb([
        label.0[0].wrapping_add(128),
        label.0[1].wrapping_add(128),
        label.0[2].wrapping_add(96),
    ]);
    pseudo_text(rng, &mut img, lx, ly + lh / 3, lw, 2 * lh / 3, ink);
    let logo = colour(rng);
    let lr = (lw / 8).max(4);
    draw_filled_circle_mut(
        &mut img,
        (
            lx + lw / 4 + rng.below(lw.max(1) as usize / 2) as i32,
            ly + lh / 6,
        ),
        lr,
        logo,
    );
    draw_polygon_mut(
        &mut img,
        &[
            Point::new(lx + lw - 2 * lr, ly + lh / 6 + lr),
            Point::new(lx + lw - lr, ly + lh / 6 - lr),
            Point::new(lx + lw - 4, ly + lh / 6 + lr + 2),
        ],
        colour(rng),
    );
    for _ in 0..rng.range(2, 6) {
        let y = rng.range((cy - ph / 2).max(0) as usize, (cy + ph / 2).max(1) as usize) as i32;
        let c = colour(rng);
        draw_filled_rect_mut(
            &mut img,
            Rect::at(cx - pw / 2, y).of_size(pw.max(4) as u32, rng.range(3, 10) as u32),
            c,
        );
    }
    // Light falling across the scene, and sensor noise: no region of a photo is flat to the bit.
    let (lx, ly) = (
        rng.between(-0.25, 0.25) as f32,
        rng.between(-0.25, 0.25) as f32,
    );
    let noise = rng.between(2.0, 6.0);
    let img = imageproc::noise::gaussian_noise(&img, 0.0, noise, rng.next_u64());
    RgbImage::from_fn(w, h, |x, y| {
        let p = img.get_pixel(x, y);
        let f = 1.0 + lx * (x as f32 / w as f32 - 0.5) + ly * (y as f32 / h as f32 - 0.5);
        Rgb(p.0.map(|c| (c as f32 * f).clamp(0.0, 255.0) as u8))
    })
}

/// One edit of `edit`'s family with drawn parameters, and the JPEG quality to save it at.
fn apply(rng: &mut Rng, edit: &str, img: &RgbImage, pool: &[&RgbImage]) -> (RgbImage, u8) {
    let q = rng.range(70, 92) as u8;
    match edit {
        "rotate" => (rotate(rng, img), q),
        "crop" => (crop(rng, img, 0.6), q),
        "text_box" => (text_boxes(rng, img), q),
        "sticker" => (stickers(rng, img), q),
        "watermark" => (watermark(rng, img), q),
        "frame" => (frame(rng, img), q),
        "perspective" => (perspective(rng, img), q),
        "collage" => (collage(rng, img, pool), q),
        "degrade" => degrade(rng, img),
        "colour" => (recolour(rng, img), q),
        "mirror_resize" => (mirror_resize(rng, img), q),
        _ => {
            // Two or three edits at once, the lighter ones of each family.
            let mut out = img.clone();
            let mut families = ["rotate", "crop", "text_box", "sticker", "frame", "colour"];
            rng.shuffle(&mut families);
            for f in families.iter().take(rng.range(2, 3)) {
                out = match *f {
                    "rotate" => rotate_by(img_fill(rng, &out), &out, rng.between(-8.0, 8.0)),
                    "crop" => crop(rng, &out, 0.75),
                    "text_box" => text_boxes(rng, &out),
                    "sticker" => stickers(rng, &out),
                    "frame" => frame(rng, &out),
                    _ => recolour(rng, &out),
                };
            }
            let q = if rng.chance(0.3) {
                rng.range(25, 50) as u8
            } else {
                q
            };
            (out, q)
        }
    }
}

/// The fill a rotation leaves in the corners: white, black, or the photo's corner colour.
fn img_fill(rng: &mut Rng, img: &RgbImage) -> Rgb<u8> {
    match rng.below(3) {
        0 => Rgb([255, 255, 255]),
        1 => Rgb([0, 0, 0]),
        _ => *img.get_pixel(0, 0),
    }
}

fn rotate_by(fill: Rgb<u8>, img: &RgbImage, degrees: f64) -> RgbImage {
    rotate_about_center(
        img,
        degrees.to_radians() as f32,
        Interpolation::Bilinear,
        Border::Constant(fill),
    )
}

fn rotate(rng: &mut Rng, img: &RgbImage) -> RgbImage {
    let sign = if rng.chance(0.5) { -1.0 } else { 1.0 };
    let fill = img_fill(rng, img);
    rotate_by(fill, img, sign * rng.between(2.0, 15.0))
}

/// A crop keeping between `least` and all of each side, anywhere in the photo.
fn crop(rng: &mut Rng, img: &RgbImage, least: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let (kw, kh) = (rng.between(least, 0.97), rng.between(least, 0.97));
    let (cw, ch) = ((w as f64 * kw) as u32, (h as f64 * kh) as u32);
    let (x, y) = (
        rng.below((w - cw) as usize + 1) as u32,
        rng.below((h - ch) as usize + 1) as u32,
    );
    imageops::crop_imm(img, x, y, cw.max(1), ch.max(1)).to_image()
}

fn text_boxes(rng: &mut Rng, img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    let (w, h) = (img.width() as i32, img.height() as i32);
    for _ in 0..rng.range(1, 3) {
        let (bw, bh) = (
            (w as f64 * rng.between(0.2, 0.45)) as i32,
            (h as f64 * rng.between(0.07, 0.16)) as i32,
        );
        let (x, y) = (
            rng.below((w - bw).max(1) as usize) as i32,
            rng.below((h - bh).max(1) as usize) as i32,
        );
        let bg = colour(rng);
        draw_filled_rect_mut(
            &mut out,
            Rect::at(x, y).of_size(bw.max(2) as u32, bh.max(2) as u32),
            bg,
        );
        let ink = Rgb([255 - bg.0[0], 255 - bg.0[1], 255 - bg.0[2]]);
        pseudo_text(rng, &mut out, x, y, bw, bh, ink);
    }
    out
}

fn stickers(rng: &mut Rng, img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    let (w, h) = img.dimensions();
    let side = w.min(h) as f64;
    for _ in 0..rng.range(1, 4) {
        let r = (side * rng.between(0.05, 0.13)) as i32;
        let (x, y) = (rng.below(w as usize) as i32, rng.below(h as usize) as i32);
        draw_filled_circle_mut(&mut out, (x, y), r, colour(rng));
        draw_filled_circle_mut(&mut out, (x, y), r * 2 / 3, colour(rng));
        pseudo_text(
            rng,
            &mut out,
            x - r / 2,
            y - r / 4,
            r,
            r / 2,
            Rgb([255, 255, 255]),
        );
    }
    out
}

/// A translucent mark laid over the photo: a shop's name in pseudo-text, repeated, or a big
/// logo, at 20–45 % opacity.
fn watermark(rng: &mut Rng, img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let ink = if rng.chance(0.5) {
        Rgb([255, 255, 255])
    } else {
        Rgb([40, 40, 40])
    };
    let mut used = vec![false; (w * h) as usize];
    let mut layer = RgbImage::from_pixel(w, h, Rgb([1, 2, 3]));
    if rng.chance(0.5) {
        let step = rng.range(60, 140) as i32;
        let mut y = rng.below(step as usize) as i32;
        while y < h as i32 {
            let mut x = rng.below(step as usize) as i32 - step;
            while x < w as i32 {
                pseudo_text(rng, &mut layer, x, y, step, step / 4, ink);
                x += step + 10;
            }
            y += step;
        }
    } else {
        let r = (w.min(h) as f64 * rng.between(0.15, 0.3)) as i32;
        draw_filled_circle_mut(&mut layer, (w as i32 / 2, h as i32 / 2), r, ink);
        draw_filled_circle_mut(
            &mut layer,
            (w as i32 / 2, h as i32 / 2),
            r * 3 / 4,
            Rgb([1, 2, 3]),
        );
    }
    for (i, p) in layer.pixels().enumerate() {
        used[i] = p.0 != [1, 2, 3];
    }
    let alpha = rng.between(0.2, 0.45) as f32;
    let mut out = img.clone();
    for (i, (o, l)) in out.pixels_mut().zip(layer.pixels()).enumerate() {
        if used[i] {
            for c in 0..3 {
                o.0[c] = (o.0[c] as f32 * (1.0 - alpha) + l.0[c] as f32 * alpha) as u8;
            }
        }
    }
    out
}

/// A border and a caption bar (a shop's frame).
fn frame(rng: &mut Rng, img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let b = (w.min(h) as f64 * rng.between(0.02, 0.09)) as u32;
    let cap = (h as f64 * rng.between(0.08, 0.18)) as u32;
    let top = rng.chance(0.4);
    let border = colour(rng);
    let mut out = RgbImage::from_pixel(w + 2 * b, h + 2 * b + cap, border);
    imageops::overlay(
        &mut out,
        img,
        b as i64,
        (b + if top { cap } else { 0 }) as i64,
    );
    let bar = colour(rng);
    let y = if top { 0 } else { (h + 2 * b) as i32 };
    draw_filled_rect_mut(&mut out, Rect::at(0, y).of_size(w + 2 * b, cap.max(1)), bar);
    let ink = Rgb([255 - bar.0[0], 255 - bar.0[1], 255 - bar.0[2]]);
    pseudo_text(
        rng,
        &mut out,
        (w / 10) as i32,
        y,
        (w * 8 / 10) as i32,
        cap as i32,
        ink,
    );
    out
}

/// The photo as if shot at a slant: each corner moved by up to 4–10 % of the sides.
fn perspective(rng: &mut Rng, img: &RgbImage) -> RgbImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let k = rng.between(0.04, 0.10) as f32;
    let mut j = |s: f32| (rng.unit() as f32) * k * s;
    let from = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
    let to = [
        (j(w), j(h)),
        (w - j(w), j(h)),
        (w - j(w), h - j(h)),
        (j(w), h - j(h)),
    ];
    let fill = img_fill(rng, img);
    match Projection::from_control_points(from, to) {
        Some(p) => warp(img, p, Interpolation::Bilinear, Border::Constant(fill)),
        None => img.clone(),
    }
}

/// The photo in one panel of a 2 to 4 panel collage with other photos.
fn collage(rng: &mut Rng, img: &RgbImage, pool: &[&RgbImage]) -> RgbImage {
    let panels = rng.range(2, 4) as u32;
    let (cols, rows) = if panels == 4 {
        (2, 2)
    } else if rng.chance(0.5) {
        (panels, 1)
    } else {
        (1, panels)
    };
    let (pw, ph) = (rng.range(300, 500) as u32, rng.range(300, 500) as u32);
    let mut out = RgbImage::from_pixel(cols * pw, rows * ph, Rgb([255, 255, 255]));
    let at = rng.below((cols * rows) as usize) as u32;
    for cell in 0..cols * rows {
        let src = if cell == at {
            img
        } else {
            pool.get(rng.below(pool.len())).copied().unwrap_or(img)
        };
        // Fitted inside its panel, its shape kept, centred.
        let scale =
            ((pw - 8) as f64 / src.width() as f64).min((ph - 8) as f64 / src.height() as f64);
        let (fw, fh) = (
            ((src.width() as f64 * scale) as u32).max(1),
            ((src.height() as f64 * scale) as u32).max(1),
        );
        let fitted = imageops::resize(src, fw, fh, imageops::FilterType::Triangle);
        let (x, y) = (
            (cell % cols) * pw + (pw - fw) / 2,
            (cell / cols) * ph + (ph - fh) / 2,
        );
        imageops::overlay(&mut out, &fitted, x as i64, y as i64);
    }
    out
}

/// Blur or noise, and a low JPEG quality.
fn degrade(rng: &mut Rng, img: &RgbImage) -> (RgbImage, u8) {
    let mut out = img.clone();
    if rng.chance(0.6) {
        out = imageproc::filter::gaussian_blur_f32(&out, rng.between(0.6, 2.0) as f32);
    }
    if rng.chance(0.6) {
        out = imageproc::noise::gaussian_noise(&out, 0.0, rng.between(4.0, 14.0), rng.next_u64());
    }
    (out, rng.range(15, 35) as u8)
}

/// A hue turn, saturation, brightness and contrast drawn at once.
fn recolour(rng: &mut Rng, img: &RgbImage) -> RgbImage {
    let sign = if rng.chance(0.5) { -1 } else { 1 };
    let mut out = imageops::huerotate(img, sign * rng.range(15, 60) as i32);
    out = imageops::colorops::contrast(&out, rng.between(-20.0, 20.0) as f32);
    out = imageops::colorops::brighten(&out, rng.range(0, 60) as i32 - 30);
    let s = rng.between(0.6, 1.4) as f32;
    for p in out.pixels_mut() {
        let g = 0.299 * p.0[0] as f32 + 0.587 * p.0[1] as f32 + 0.114 * p.0[2] as f32;
        for c in 0..3 {
            p.0[c] = (g + (p.0[c] as f32 - g) * s).clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// A mirror image or a quarter turn, resized.
fn mirror_resize(rng: &mut Rng, img: &RgbImage) -> RgbImage {
    let turned = match rng.below(4) {
        0 => imageops::flip_horizontal(img),
        1 => imageops::rotate90(img),
        2 => imageops::rotate270(&imageops::flip_horizontal(img)),
        _ => img.clone(),
    };
    let s = rng.between(0.4, 1.5);
    let (w, h) = (
        ((turned.width() as f64 * s) as u32).max(16),
        ((turned.height() as f64 * s) as u32).max(16),
    );
    imageops::resize(&turned, w, h, imageops::FilterType::Triangle)
}

/// A drawn photo, for other tests that need realistic product photos.
pub fn drawn_photo(seed: u64, kind: usize) -> DynamicImage {
    DynamicImage::ImageRgb8(draw(&mut Rng::new(seed), kind % DRAWN_KINDS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_draws_the_same_suite_and_every_family_is_there() {
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        let a = generate(7, &Source::Drawn, d1.path(), 2, 3).unwrap();
        let b = generate(7, &Source::Drawn, d2.path(), 2, 3).unwrap();
        assert_eq!(a.listings.len(), 2 * EDITS.len() + 3);
        for (x, y) in a.listings.iter().zip(&b.listings) {
            assert_eq!(x.slice, y.slice);
            let (px, py) = (&x.listing.images[0], &y.listing.images[0]);
            assert_eq!(
                std::fs::read(px).unwrap(),
                std::fs::read(py).unwrap(),
                "{px}"
            );
        }
        for e in EDITS {
            assert_eq!(
                a.listings.iter().filter(|l| l.slice == *e).count(),
                2,
                "{e}"
            );
        }
    }
}

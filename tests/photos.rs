//! Photos end to end on the project's own photos (`fixtures/images/`, drawn by its
//! `gen_images.py`): PDQ against the reference's hashes, every edit a seller makes still caught
//! by ingest + sweep, other products' photos not, and hostile files never stopping a sweep.

mod common;

use common::{Env, fixture, s};
use image::imageops::{self, FilterType};
use image::{DynamicImage, Rgb, RgbImage};

/// The fixture photos banned in these tests; photos 17 to 24 are other products.
const BANNED: std::ops::RangeInclusive<u32> = 1..=16;
const OTHERS: std::ops::RangeInclusive<u32> = 17..=24;

fn photo_path(n: u32) -> std::path::PathBuf {
    fixture(&format!("images/photo-{n:02}.jpg"))
}

fn load(n: u32) -> RgbImage {
    image::open(photo_path(n)).unwrap().to_rgb8()
}

fn pad(img: &RgbImage, frac: f32, colour: [u8; 3]) -> RgbImage {
    let (px, py) = (
        (img.width() as f32 * frac) as u32,
        (img.height() as f32 * frac) as u32,
    );
    let mut canvas = RgbImage::from_pixel(img.width() + 2 * px, img.height() + 2 * py, Rgb(colour));
    imageops::replace(&mut canvas, img, i64::from(px), i64::from(py));
    canvas
}

/// A red band over the bottom 15 % with a line of white letters (blocks) over part of it: a
/// "SALE" banner, as `benches/photo_edits.py` draws it on the real photos.
fn banner(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    let (w, h) = out.dimensions();
    let top = h * 85 / 100;
    for (x, y, p) in out.enumerate_pixels_mut() {
        if y >= top {
            let letter = (x / 3) % 3 != 2
                && (y - top) % 8 != 7
                && y > top + 5
                && y < top + 13
                && x > w / 20
                && x < w / 20 + w / 2;
            *p = if letter {
                Rgb([255, 255, 255])
            } else {
                Rgb([220, 20, 30])
            };
        }
    }
    out
}

fn scale(img: &RgbImage, factor: f32) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        p.0 =
            p.0.map(|c| (f32::from(c) * factor).round().clamp(0.0, 255.0) as u8);
    }
    out
}

/// The edits of DESIGN.md's quality targets, each written as a JPEG (quality 90, or 20).
fn edits(img: &RgbImage) -> Vec<(&'static str, DynamicImage, u8)> {
    let d = DynamicImage::ImageRgb8(img.clone());
    let (w, h) = img.dimensions();
    vec![
        (
            "resize",
            d.resize_exact(w / 2, h / 2, FilterType::Triangle),
            90,
        ),
        ("jpeg-q20", d.clone(), 20),
        (
            "crop",
            d.crop_imm(w / 10, h / 10, w - w / 10, h - h / 10),
            90,
        ),
        ("flip", d.fliph(), 90),
        ("rotate90", d.rotate90(), 90),
        (
            "padding",
            DynamicImage::ImageRgb8(pad(img, 0.2, [255, 255, 255])),
            90,
        ),
        ("banner", DynamicImage::ImageRgb8(banner(img)), 90),
        ("brighter", DynamicImage::ImageRgb8(scale(img, 1.2)), 90),
        ("darker", DynamicImage::ImageRgb8(scale(img, 0.8)), 90),
        ("grayscale", DynamicImage::ImageLuma8(d.to_luma8()), 90),
    ]
}

fn save_jpeg(img: &DynamicImage, path: &std::path::Path, quality: u8) {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality)
        .encode_image(img)
        .unwrap();
    std::fs::write(path, buf).unwrap();
}

#[test]
fn pdq_agrees_with_the_reference_on_the_projects_photos() {
    let env = Env::new();
    let expected = std::fs::read_to_string(fixture("images/pdq_expected.csv")).unwrap();
    let rows: Vec<(String, String, u32)> = expected
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string(), f[2].parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 24);
    let paths: Vec<String> = rows
        .iter()
        .map(|(name, ..)| s(&fixture(&format!("images/{name}"))).to_string())
        .collect();
    let mut args = vec!["hash"];
    args.extend(paths.iter().map(String::as_str));
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = r.json_lines();
    for ((name, want, quality), line) in rows.iter().zip(&lines) {
        let got = line["pdq"].as_str().unwrap();
        let d: u32 = (0..4)
            .map(|i| {
                let a = u64::from_str_radix(&got[16 * i..16 * i + 16], 16).unwrap();
                let b = u64::from_str_radix(&want[16 * i..16 * i + 16], 16).unwrap();
                (a ^ b).count_ones()
            })
            .sum();
        // The reference promises agreement within 10 bits for photos of quality 80 or more.
        assert!(
            *quality < 80 || d <= 10,
            "{name}: distance {d} to the reference"
        );
        let q = line["pdq_quality"].as_u64().unwrap() as i64;
        assert!((q - i64::from(*quality)).abs() <= 10, "{name}: quality {q}");
    }
}

#[test]
fn every_edit_still_matches_and_other_photos_do_not() {
    let env = Env::new();
    let mut banned = String::new();
    for n in BANNED {
        std::fs::copy(photo_path(n), env.path(&format!("b{n}.jpg"))).unwrap();
        banned += &format!(
            "{{\"id\":\"B-{n}\",\"title\":\"recalled article\",\"images\":[\"b{n}.jpg\"]}}\n"
        );
    }
    let f = env.write("banned.jsonl", banned);
    let r = env.run(&["ingest", s(&f)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut listings = String::new();
    let mut expected = Vec::new();
    for n in BANNED {
        for (name, img, q) in edits(&load(n)) {
            let p = env.path(&format!("l{n}-{name}.jpg"));
            save_jpeg(&img, &p, q);
            let id = format!("L-{n}-{name}");
            listings += &format!(
                "{{\"id\":\"{id}\",\"title\":\"shop offer\",\"images\":[\"{}\"]}}\n",
                s(&p)
            );
            expected.push((id, Some(format!("B-{n}"))));
        }
    }
    for n in OTHERS {
        let id = format!("N-{n}");
        listings += &format!(
            "{{\"id\":\"{id}\",\"title\":\"shop offer\",\"images\":[\"{}\"]}}\n",
            s(&photo_path(n))
        );
        expected.push((id, None));
    }
    let f = env.write("listings.jsonl", listings);
    let r = env.run(&["sweep", s(&f), "--all"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let results = r.json_lines();
    assert_eq!(results.len(), expected.len());
    let mut missed = Vec::new();
    for (res, (id, want)) in results.iter().zip(&expected) {
        assert_eq!(res["listing_id"], id.as_str());
        match want {
            Some(b) => {
                let caught = res["decision"] != "allow" && res["matches"][0]["banned_id"] == **b;
                if !caught {
                    missed.push(res.to_string());
                }
            }
            None => assert_eq!(res["decision"], "allow", "{res}"),
        }
    }
    assert!(missed.is_empty(), "edits not caught: {missed:#?}");
}

#[test]
fn a_hostile_photo_never_stops_a_sweep() {
    let env = Env::new();
    std::fs::copy(photo_path(1), env.path("b1.jpg")).unwrap();
    let f = env.write(
        "banned.jsonl",
        "{\"id\":\"B-1\",\"title\":\"recalled article\",\"images\":[\"b1.jpg\"]}\n",
    );
    assert_eq!(env.run(&["ingest", s(&f)]).code, 0);
    let good = std::fs::read(photo_path(1)).unwrap();
    // A PNG whose header claims 60000 × 60000 pixels: a decompression bomb.
    let bomb = common::png_claiming(60_000, 60_000);
    // A JPEG whose frame header claims 65000 × 65000 pixels.
    let mut huge_jpeg = good.clone();
    if let Some(i) = huge_jpeg.windows(2).position(|w| w == [0xFF, 0xC0]) {
        huge_jpeg[i + 5..i + 7].copy_from_slice(&65_000u16.to_be_bytes());
        huge_jpeg[i + 7..i + 9].copy_from_slice(&65_000u16.to_be_bytes());
    }
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        ("truncated.jpg", good[..good.len() / 3].to_vec()),
        ("header-only.jpg", good[..20].to_vec()),
        ("bomb.png", bomb),
        ("huge.jpg", huge_jpeg),
        (
            "noise.jpg",
            (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        ("empty.png", Vec::new()),
    ];
    let mut listings = String::new();
    for (i, (name, bytes)) in hostile.iter().enumerate() {
        let p = env.write(name, bytes);
        listings += &format!(
            "{{\"id\":\"H-{i}\",\"title\":\"shop offer {i}\",\"images\":[\"{}\"]}}\n",
            s(&p)
        );
    }
    listings += &format!(
        "{{\"id\":\"H-dir\",\"title\":\"shop offer dir\",\"images\":[\"{}\"]}}\n",
        s(env.dir.path())
    );
    listings += &format!(
        "{{\"id\":\"OK\",\"title\":\"shop offer\",\"images\":[\"{}\"]}}\n",
        s(&photo_path(1))
    );
    let f = env.write("listings.jsonl", listings);
    let r = env.run(&["sweep", s(&f), "--all"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let results = r.json_lines();
    assert_eq!(results.len(), hostile.len() + 2, "{}", r.stderr);
    for (res, (name, _)) in results.iter().zip(&hostile) {
        let err = res["error"].as_str().unwrap_or_default();
        assert!(err.contains(name), "{name}: {res}");
        assert_eq!(res["decision"], "allow", "{res}");
    }
    assert!(results[hostile.len()]["error"].as_str().is_some());
    let ok = &results[hostile.len() + 1];
    assert_eq!(ok["matches"][0]["banned_id"], "B-1", "{ok}");
    assert!(ok.get("error").is_none_or(|e| e.is_null()), "{ok}");
}

#[test]
fn precomputed_pdq_alone_is_photo_evidence() {
    let env = Env::new();
    let h = env.run(&["hash", s(&photo_path(3)), s(&photo_path(20))]);
    assert_eq!(h.code, 0, "{}", h.stderr);
    let lines = h.json_lines();
    let (banned_pdq, other_pdq) = (&lines[0]["pdq"], &lines[1]["pdq"]);
    let f = env.write(
        "banned.jsonl",
        format!(
            "{{\"id\":\"B-3\",\"title\":\"recalled article\",\"image_hashes\":[{{\"algo\":\"pdq\",\"hash\":{banned_pdq}}}]}}\n"
        ),
    );
    let r = env.run(&["ingest", s(&f)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The listing's photo file, mirrored: matched by PDQ in its 8 symmetries.
    let mirrored = env.path("mirrored.jpg");
    save_jpeg(&DynamicImage::ImageRgb8(load(3)).fliph(), &mirrored, 85);
    let listings = format!(
        "{{\"id\":\"file\",\"title\":\"shop offer\",\"images\":[\"{}\"]}}\n\
         {{\"id\":\"hash\",\"title\":\"shop offer\",\"image_hashes\":[{{\"algo\":\"pdq\",\"hash\":{banned_pdq}}}]}}\n\
         {{\"id\":\"other\",\"title\":\"shop offer\",\"image_hashes\":[{{\"algo\":\"pdq\",\"hash\":{other_pdq}}}]}}\n",
        s(&mirrored)
    );
    let f = env.write("listings.jsonl", listings);
    let r = env.run(&["sweep", s(&f), "--all"]);
    let res = r.json_lines();
    for r in &res[..2] {
        assert_eq!(r["matches"][0]["banned_id"], "B-3", "{r}");
        assert_ne!(r["decision"], "allow", "{r}");
        assert!(
            r["matches"][0]["reasons"]
                .to_string()
                .contains("PDQ distance"),
            "{r}"
        );
    }
    assert_eq!(res[2]["decision"], "allow", "{}", res[2]);
    // A PDQ hash of the wrong width is refused by name.
    let f = env.write(
        "bad.jsonl",
        "{\"id\":\"B-9\",\"title\":\"x\",\"image_hashes\":[{\"algo\":\"pdq\",\"hash\":\"abcd\"}]}\n",
    );
    let r = env.run(&["ingest", s(&f), "--strict"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("image_hashes[0].hash"), "{}", r.stderr);
}

#[test]
fn listing_photos_are_found_relative_to_the_file_that_names_them() {
    let env = Env::new();
    let photo = std::fs::read(photo_path(3)).unwrap();
    std::fs::create_dir_all(env.path("feed/photos")).unwrap();
    std::fs::create_dir_all(env.path("shop/photos")).unwrap();
    env.write("feed/photos/recalled.jpg", &photo);
    env.write("shop/photos/offer.jpg", &photo);
    env.write(
        "feed/banned.jsonl",
        r#"{"id":"PHOTO-3","title":"recalled night light","images":["photos/recalled.jpg"]}"#,
    );
    // The listing's words share nothing with the record: only its photo can match, and only
    // if `photos/offer.jpg` is read beside the catalog, not in the working directory.
    env.write(
        "shop/catalog.jsonl",
        r#"{"id":"L-1","title":"marketplace offer","images":["photos/offer.jpg"]}"#,
    );
    let r = env.run(&["ingest", "feed/banned.jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for args in [
        &["sweep", "shop/catalog.jsonl", "--all"][..],
        &["check", "shop/catalog.jsonl"][..],
    ] {
        let r = env.run(args);
        let lines = r.json_lines();
        assert_eq!(lines.len(), 1, "{args:?}: {}", r.stdout);
        let res = &lines[0];
        assert!(
            res.get("error").is_none_or(|e| e.is_null()),
            "{args:?}: {res}"
        );
        assert_eq!(res["matches"][0]["banned_id"], "PHOTO-3", "{args:?}: {res}");
        assert_ne!(res["decision"], "allow", "{args:?}: {res}");
    }
}

#[test]
fn catalog_photos_are_read_relative_to_the_catalog_file() {
    let env = Env::new();
    let photo = std::fs::read(photo_path(3)).unwrap();
    std::fs::create_dir_all(env.path("feed/photos")).unwrap();
    std::fs::create_dir_all(env.path("shop/photos")).unwrap();
    env.write("feed/photos/recalled.jpg", &photo);
    // The seller's copy, mirrored: the catalog stores a listing photo in all 8 rotations and
    // flips, so the record's own photo finds it.
    let mirrored = DynamicImage::ImageRgb8(imageops::flip_horizontal(&load(3)));
    save_jpeg(&mirrored, &env.path("shop/photos/offer.jpg"), 85);
    env.write(
        "feed/banned.jsonl",
        r#"{"id":"PHOTO-3","title":"recalled night light","images":["photos/recalled.jpg"]}"#,
    );
    // Words in common with the record: none. Only the photo can find this listing, and only if
    // `photos/offer.jpg` is read beside the catalog file, not in the working directory.
    env.write(
        "shop/catalog.jsonl",
        r#"{"id":"L-1","title":"marketplace offer","images":["photos/offer.jpg"]}"#,
    );
    assert!(!env.path("photos/offer.jpg").exists());
    let r = env.run(&["ingest", "feed/banned.jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = env.run(&["catalog", "index", "shop/catalog.jsonl", "--catalog", "cat"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert!(r.stderr.contains("1 with a photo"), "{}", r.stderr);
    let r = env.run(&[
        "query",
        "--catalog",
        "cat",
        "--banned",
        "PHOTO-3",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = r.json_lines();
    assert_eq!(hits.len(), 1, "{}", r.stdout);
    assert_eq!(hits[0]["listing_id"], "L-1", "{}", hits[0]);
    assert_ne!(hits[0]["decision"], "allow", "{}", hits[0]);
    let reasons = hits[0]["reasons"].to_string();
    assert!(reasons.contains("photo 1"), "{reasons}");
    // A catalog read from stdin names its photos relative to the working directory.
    let r = env.run_with(
        &["catalog", "index", "-", "--catalog", "cat2"],
        Some(r#"{"id":"L-2","title":"marketplace offer","images":["shop/photos/offer.jpg"]}"#),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("1 with a photo"), "{}", r.stderr);
}

#[test]
fn a_photo_query_finds_a_crop_turned_a_little_by_its_keypoints() {
    // A seller's deep crop of the banned photo, turned 8°: its global hashes are far from the
    // banned photo's, so only keypoint retrieval and verification can find the record. The
    // photos are the suite's drawn ones (the fixtures are too small for keypoints).
    let env = Env::new();
    let drawn = |seed: u64, kind: usize| relist::pipeline::photo_suite::drawn_photo(seed, kind);
    std::fs::create_dir_all(env.path("feed")).unwrap();
    save_jpeg(&drawn(101, 1), &env.path("feed/banned.jpg"), 90);
    save_jpeg(&drawn(102, 1), &env.path("feed/other.jpg"), 90);
    env.write(
        "feed/banned.jsonl",
        "{\"id\":\"B-1\",\"title\":\"recalled night light\",\"images\":[\"banned.jpg\"]}\n\
         {\"id\":\"B-2\",\"title\":\"garden hose reel\",\"images\":[\"other.jpg\"]}\n",
    );
    let r = env.run(&["ingest", "feed/banned.jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let img = drawn(101, 1).to_rgb8();
    let (w, h) = img.dimensions();
    let cropped = imageops::crop_imm(&img, w / 5, h / 6, w * 7 / 10, h * 7 / 10).to_image();
    let turned = imageproc::geometric_transformations::rotate_about_center(
        &cropped,
        8f32.to_radians(),
        imageproc::geometric_transformations::Interpolation::Bilinear,
        imageproc::geometric_transformations::Border::Constant(Rgb([255, 255, 255])),
    );
    let query = env.path("seller.jpg");
    save_jpeg(&DynamicImage::ImageRgb8(turned), &query, 85);
    let r = env.run(&["query", "--image", s(&query), "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = r.json_lines();
    assert_eq!(hits[0]["banned_id"], "B-1", "{}", r.stdout);
    let evidence = hits[0]["evidence"].as_array().unwrap();
    let verified = evidence
        .iter()
        .find(|e| e["kind"] == "photo_match")
        .unwrap_or_else(|| panic!("no keypoint match: {}", hits[0]));
    assert!(verified["inliers"].as_u64().unwrap() >= 18, "{verified}");
    // The hashes alone would not have found it: none is within the candidate radius.
    assert!(
        !evidence
            .iter()
            .any(|e| e["kind"] == "photo" && e["distance"].as_u64().unwrap() <= 9),
        "{}",
        hits[0]
    );
    // The other photo is no keypoint match.
    for hit in hits.iter().filter(|h| h["banned_id"] == "B-2") {
        let e = hit["evidence"].as_array().unwrap();
        assert!(!e.iter().any(|e| e["kind"] == "photo_match"), "{hit}");
    }
}

//! `relist hash`, end to end: photos the test draws itself, edited and broken copies of them.

mod common;

use std::io::Cursor;

use common::{Env, s};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

/// Rectangles and a disc on a diagonal gradient: a photo with structure for the hashes.
fn photo() -> RgbImage {
    RgbImage::from_fn(240, 180, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        if (xf - 160.0).powi(2) + (yf - 60.0).powi(2) < 900.0 {
            Rgb([230, 40, 40])
        } else if (30..110).contains(&x) && (90..160).contains(&y) {
            Rgb([20, 60, 200])
        } else if (120..220).contains(&x) && (120..140).contains(&y) {
            Rgb([250, 220, 30])
        } else {
            let t = (xf + yf) / 420.0;
            Rgb([(40.0 + 150.0 * t) as u8, (180.0 - 100.0 * t) as u8, 90])
        }
    })
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality)
        .encode_image(img)
        .unwrap();
    buf
}

fn distance(a: &serde_json::Value, b: &serde_json::Value) -> u32 {
    let a = u64::from_str_radix(a.as_str().unwrap(), 16).unwrap();
    let b = u64::from_str_radix(b.as_str().unwrap(), 16).unwrap();
    (a ^ b).count_ones()
}

#[test]
fn hashes_each_photo_and_reports_broken_ones_by_name() {
    let env = Env::new();
    let original = photo();
    let png = encode(&DynamicImage::ImageRgb8(original.clone()), ImageFormat::Png);
    let a = env.write("a.png", &png);
    let q20 = env.write("a-q20.jpg", jpeg(&original, 20));
    let flat = env.write(
        "white.png",
        encode(
            &DynamicImage::ImageRgb8(RgbImage::from_pixel(90, 60, Rgb([255; 3]))),
            ImageFormat::Png,
        ),
    );
    let text = env.write("notes.jpg", "this is not a photo\n");
    let cut = env.write("cut.png", &png[..png.len() / 2]);
    let bomb = env.write("bomb.png", common::png_claiming(50_000, 50_000));
    let missing = env.path("missing.webp");

    let r = env.run(&[
        "hash",
        s(&a),
        s(&q20),
        s(&flat),
        s(&text),
        s(&cut),
        s(&bomb),
        s(&missing),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("4 of 7 images could not be hashed"),
        "{}",
        r.stderr
    );
    let lines = r.json_lines();
    assert_eq!(lines.len(), 7, "{}", r.stdout);
    for (line, path) in lines
        .iter()
        .zip([&a, &q20, &flat, &text, &cut, &bomb, &missing])
    {
        assert_eq!(line["path"], s(path));
    }
    for line in &lines[..2] {
        assert_eq!(line["dhash"].as_str().unwrap().len(), 16, "{line}");
        assert!(line.get("error").is_none(), "{line}");
    }
    assert!(
        distance(&lines[0]["dhash"], &lines[1]["dhash"]) <= 10,
        "{lines:?}"
    );
    assert!(
        distance(&lines[0]["phash"], &lines[1]["phash"]) <= 10,
        "{lines:?}"
    );
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .starts_with("no evidence"),
        "{}",
        lines[2]
    );
    assert!(lines[2].get("dhash").is_none());
    let error = |i: usize| lines[i]["error"].as_str().unwrap().to_string();
    assert!(error(3).contains("notes.jpg: not an image"), "{}", error(3));
    assert!(error(4).contains("cut.png: "), "{}", error(4));
    assert!(
        error(5).contains("bomb.png: ") && error(5).contains("too large"),
        "{}",
        error(5)
    );
    assert!(error(6).contains("missing.webp"), "{}", error(6));
}

#[test]
fn all_good_photos_exit_zero_and_formats_agree() {
    let env = Env::new();
    let img = DynamicImage::ImageRgb8(photo());
    let mut paths = Vec::new();
    for (name, format) in [
        ("p.png", ImageFormat::Png),
        ("p.bmp", ImageFormat::Bmp),
        ("p.gif", ImageFormat::Gif),
        ("p.webp", ImageFormat::WebP),
    ] {
        paths.push(env.write(name, encode(&img, format)));
    }
    let args: Vec<&str> = std::iter::once("hash")
        .chain(paths.iter().map(|p| s(p)))
        .collect();
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = r.json_lines();
    assert_eq!(lines.len(), 4);
    // Lossless formats give the same pixels, hence the same hashes; GIF's palette nearly so.
    for line in &lines[1..] {
        assert!(distance(&lines[0]["dhash"], &line["dhash"]) <= 6, "{line}");
        assert!(distance(&lines[0]["phash"], &line["phash"]) <= 6, "{line}");
    }
}

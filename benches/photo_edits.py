#!/usr/bin/env python3
"""Edited copies of real photos, for the photo robustness measurement (photo_robustness.sh).

    photo_edits.py PHOTO_DIR OUT_DIR [--banned 300] [--negatives 1000]

The photos' folders are their products: the folders are split in two, every other one. From
the first half, BANNED photos become banned records (`banned.jsonl`, one photo each) and every
edit of DESIGN.md's quality targets is applied to each (resize, JPEG quality 20, crops of 10 %,
flip, rotation, padding, a text banner, ±20 % brightness, grayscale): one listing per edited
photo, labelled with the edit as its slice. From the other half, NEGATIVES photos of other
products become unrelated listings (slice "other_photo"): the false-positive pool. Titles share
nothing, so only photos can match. Writes banned.jsonl, listings.jsonl, labels.jsonl (the
format of shared/peers/score.py) and the photos under OUT_DIR/img/. Paths are absolute.
Needs Pillow. Deterministic.
"""
import argparse
import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageOps


def crop(im, left, top, right, bottom):
    w, h = im.size
    return im.crop((round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom))))


def pad(im, frac, colour=(255, 255, 255)):
    w, h = im.size
    px, py = round(w * frac), round(h * frac)
    canvas = Image.new("RGB", (w + 2 * px, h + 2 * py), colour)
    canvas.paste(im, (px, py))
    return canvas


def banner(im):
    """A red "SALE -50%" band over the bottom 15 % of the photo."""
    out = im.copy()
    w, h = out.size
    d = ImageDraw.Draw(out)
    top = round(h * 0.85)
    d.rectangle((0, top, w, h), fill=(220, 20, 30))
    d.text((round(w * 0.05), top + round(h * 0.03)), "SALE -50% FREE SHIPPING", fill=(255, 255, 255))
    return out


EDITS = {
    "resize_half": lambda im: im.resize((im.width // 2, im.height // 2), Image.BILINEAR),
    "resize_800": lambda im: im.resize((800, round(800 * im.height / im.width)), Image.BICUBIC),
    "jpeg_q20": None,  # the original saved at quality 20
    "crop10_centre": lambda im: crop(im, 0.05, 0.05, 0.05, 0.05),
    "crop10_corner": lambda im: crop(im, 0.10, 0.10, 0.0, 0.0),
    "crop10_side": lambda im: crop(im, 0.10, 0.0, 0.0, 0.0),
    "flip": lambda im: ImageOps.mirror(im),
    "rotate90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "pad20_white": lambda im: pad(im, 0.20),
    "pad10_black": lambda im: pad(im, 0.10, (0, 0, 0)),
    "banner": banner,
    "brighter20": lambda im: ImageEnhance.Brightness(im).enhance(1.2),
    "darker20": lambda im: ImageEnhance.Brightness(im).enhance(0.8),
    "grayscale": lambda im: ImageOps.grayscale(im).convert("RGB"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("photos")
    ap.add_argument("out")
    ap.add_argument("--banned", type=int, default=300)
    ap.add_argument("--negatives", type=int, default=1000)
    a = ap.parse_args()
    files = sorted(Path(a.photos).rglob("*.jpg"))
    folders = sorted({f.parent for f in files})
    first = {d for i, d in enumerate(folders) if i % 2 == 0}
    pool_b = [f for f in files if f.parent in first]
    pool_n = [f for f in files if f.parent not in first]
    # Evenly spread picks: every k-th photo.
    banned = pool_b[:: max(1, len(pool_b) // a.banned)][: a.banned]
    negatives = pool_n[:: max(1, len(pool_n) // a.negatives)][: a.negatives]
    out = Path(a.out).resolve()
    img = out / "img"
    img.mkdir(parents=True, exist_ok=True)
    with open(out / "banned.jsonl", "w") as b, open(out / "listings.jsonl", "w") as l, \
            open(out / "labels.jsonl", "w") as lab:
        for i, f in enumerate(banned):
            bid = f"B-{i:04d}"
            orig = img / f"{bid}.jpg"
            im = Image.open(f).convert("RGB")
            im.save(orig, quality=90)
            b.write(json.dumps({"id": bid, "title": f"recalled item {bid}", "images": [str(orig)]}) + "\n")
            for name, edit in EDITS.items():
                lid = f"L-{bid}-{name}"
                p = img / f"{lid}.jpg"
                if edit is None:
                    im.save(p, quality=20)
                else:
                    edit(im).save(p, quality=90)
                l.write(json.dumps({"id": lid, "title": f"marketplace offer {lid}", "images": [str(p)]}) + "\n")
                lab.write(json.dumps({"listing_id": lid, "banned_id": bid, "slice": name}) + "\n")
        for j, f in enumerate(negatives):
            lid = f"N-{j:04d}"
            p = img / f"{lid}.jpg"
            Image.open(f).convert("RGB").save(p, quality=90)
            l.write(json.dumps({"id": lid, "title": f"marketplace offer {lid}", "images": [str(p)]}) + "\n")
            lab.write(json.dumps({"listing_id": lid, "banned_id": None, "slice": "other_photo"}) + "\n")
    print(f"{len(banned)} banned photos, {len(banned) * len(EDITS)} edited listings, "
          f"{len(negatives)} other photos -> {out}")


if __name__ == "__main__":
    main()

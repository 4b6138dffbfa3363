"""The rough edits people make of photos (issue 20), written as files with their ground truth.

    python -m bench.hard_edits [--corpus ~/corpus] [--cache-dir ~/.cache/hashfleet-bench]

Photos: make_variants.py's candidates (RGB JPEG/PNG/WebP, short side >= 256 px, not flat), sorted by path and
dealt into three sets of every third photo: "dev" (photos 0, 3, 6...: thresholds were chosen on it) and
"held" (1, 4, 7...: measured only); 81 photos each. Every photo gets one file per edit of :data:`EDITS`
under <cache>/hard-edits/<set>/<NNN>/<edit>.<ext>, the original copied as original.<ext>, every file
with the same mtime (so `--keep` cannot lean on time). Overlays (caption text, logo, window frame) are the
same on every photo: two different photos that carry them are the false pairs to avoid.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import os
import random
import shutil

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bench.near_variants import MAKE_VARIANTS
from bench.sets import DEFAULT_CACHE, DEFAULT_CORPUS

#: edit -> expected match (1: the same picture; 0: a different one to these hashes, counted apart).
EDITS = {
    "crop10": 1, "square": 1, "rotate": 1, "caption": 1, "logo": 1, "screenshot": 1,
    "resize50": 1, "jpeg_q10": 1, "blur": 1, "noise": 1, "grey": 1, "letterbox": 1, "crop4": 1, "mirror": 0,
}  # fmt: skip
#: The issue's new edits (the others were found before).
NEW_EDITS = ("crop10", "square", "rotate", "caption", "logo", "screenshot")
SETS = {"dev": 0, "held": 1}
#: Photos per set (the issue's 81).
PHOTOS = 81
#: Share cut from every side by crop10 / crop4; black bars (top and bottom) of letterbox, of the height.
CROP10, CROP4, LETTERBOX = 0.10, 0.04, 0.02
#: Rotation: degrees drawn uniformly in this range, either sign, borders cropped.
ROTATE_DEGREES = (1.0, 5.0)
#: Caption band: share of the height at the bottom; logo: share of the picture's area, top right.
CAPTION_SHARE, LOGO_AREA = 0.14, 0.034
#: Screenshot: the photo's width as a share of the window's; the window's grey levels.
SCREEN_SHARE, WINDOW_GREY, TITLE_GREY = 0.70, 200, 60
CAPTION_TEXT = "when you finally find that photo from the trip"
#: Gaussian noise (sigma, 8-bit levels), blur radius, quality of lossy saves.
NOISE_SIGMA, BLUR_RADIUS, SAVE_QUALITY = 8.0, 2.0, 95
#: One mtime for every file (2024-01-01).
MTIME = 1_704_067_200
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}


def _make_variants():
    spec = importlib.util.spec_from_file_location("make_variants", MAKE_VARIANTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def photos(corpus: str, which: str) -> list[str]:
    """Paths (relative to corpus/photos) of the `which` set."""
    mv = _make_variants()
    root = os.path.join(corpus, "photos")
    every = sorted(p for paths in mv.candidates_by_source(root).values() for p in paths)
    usable = []
    for rel in every:
        with Image.open(os.path.join(root, rel)) as im:
            if not mv.is_flat(im.convert("RGB")):
                usable.append(rel)
    return usable[SETS[which] :: 3][:PHOTOS]


def _font(size: int):
    return ImageFont.load_default(size=max(10, size))


def rotate_cropped(im: Image.Image, degrees: float) -> Image.Image:
    """`im` turned by `degrees` about its centre, cut to the largest centred rectangle of its own aspect
    that holds no corner of the canvas."""
    w, h = im.size
    c, s = math.cos(math.radians(abs(degrees))), math.sin(math.radians(abs(degrees)))
    scale = min(w / (w * c + h * s), h / (w * s + h * c))
    turned = im.rotate(degrees, Image.Resampling.BICUBIC)
    cw, ch = int(w * scale), int(h * scale)
    left, top = (w - cw) // 2, (h - ch) // 2
    return turned.crop((left + 1, top + 1, left + cw - 1, top + ch - 1))


def screenshot(im: Image.Image) -> Image.Image:
    """`im` at SCREEN_SHARE of a grey window's width, below a dark title bar with buttons and a title."""
    w, h = im.size
    win_w = round(w / SCREEN_SHARE)
    bar = max(16, win_w // 40)
    win_h = h + bar + 2 * round(w * (1 / SCREEN_SHARE - 1) / 2)
    window = Image.new("RGB", (win_w, win_h), (WINDOW_GREY,) * 3)
    draw = ImageDraw.Draw(window)
    draw.rectangle((0, 0, win_w, bar), fill=(TITLE_GREY,) * 3)
    for i, colour in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
        x = bar // 2 + i * bar
        draw.ellipse((x - bar // 4, bar // 4, x + bar // 4, 3 * bar // 4), fill=colour)
    draw.text(
        (win_w // 2 - 4 * bar, bar // 5), "Photo Viewer - IMG_0042.jpg", fill=(230, 230, 230), font=_font(bar * 3 // 5)
    )
    window.paste(im, ((win_w - w) // 2, bar + (win_h - bar - h) // 2))
    return window


def edit(im: Image.Image, name: str, rng: random.Random) -> Image.Image:
    """One edit of an RGB image."""
    w, h = im.size
    if name in ("crop10", "crop4"):
        share = CROP10 if name == "crop10" else CROP4
        dx, dy = round(w * share), round(h * share)
        return im.crop((dx, dy, w - dx, h - dy))
    if name == "square":
        side = min(w, h)
        return im.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
    if name == "rotate":
        return rotate_cropped(im, rng.uniform(*ROTATE_DEGREES) * rng.choice((-1, 1)))
    if name == "caption":
        out, band = im.copy(), round(h * CAPTION_SHARE)
        draw = ImageDraw.Draw(out)
        draw.rectangle((0, h - band, w, h), fill=(0, 0, 0))
        draw.text((w // 20, h - band + band // 4), CAPTION_TEXT, fill=(255, 255, 255), font=_font(band * 2 // 5))
        return out
    if name == "logo":
        out, side = im.copy(), round(math.sqrt(LOGO_AREA * w * h))
        margin = min(w, h) // 50
        draw = ImageDraw.Draw(out)
        box = (w - margin - side, margin, w - margin, margin + side)
        draw.rectangle(box, fill=(200, 20, 40))
        draw.text((box[0] + side // 8, box[1] + side // 4), "TV1", fill=(255, 255, 255), font=_font(side * 2 // 5))
        return out
    if name == "screenshot":
        return screenshot(im)
    if name == "resize50":
        return im.resize((w // 2, h // 2), Image.Resampling.LANCZOS)
    if name == "blur":
        return im.filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    if name == "noise":
        noisy = np.asarray(im, np.float32) + np.random.default_rng(rng.randrange(2**32)).normal(
            0, NOISE_SIGMA, (h, w, 3)
        )
        return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    if name == "grey":
        return im.convert("L")
    if name == "letterbox":
        bar = round(h * LETTERBOX)
        framed = Image.new("RGB", (w, h + 2 * bar))
        framed.paste(im, (0, bar))
        return framed
    if name == "mirror":
        return im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if name == "jpeg_q10":
        return im
    raise ValueError(f"unknown edit {name!r}")


def write_set(corpus: str, cache: str, which: str) -> str:
    """Build the `which` set once; returns its GROUND_TRUTH.csv (path, source, edit, expected)."""
    dest = os.path.join(cache, "hard-edits", which)
    truth = os.path.join(dest, "GROUND_TRUTH.csv")
    if os.path.isfile(truth):
        return truth
    rows = []
    for n, rel in enumerate(photos(corpus, which)):
        src = os.path.join(corpus, "photos", rel)
        folder = os.path.join(dest, f"{n:03d}")
        os.makedirs(folder, exist_ok=True)
        with Image.open(src) as opened:
            fmt, im = opened.format, opened.convert("RGB")
        original = os.path.join(folder, "original" + os.path.splitext(rel)[1].lower())
        shutil.copyfile(src, original)
        rows.append((os.path.relpath(original, dest), rel, "original", ""))
        rng = random.Random(f"hard-edits/{rel}")
        for name, expected in EDITS.items():
            out_fmt = "JPEG" if name == "jpeg_q10" else "PNG" if name == "screenshot" else fmt
            path = os.path.join(folder, name + EXTENSIONS[out_fmt])
            edit(im, name, rng).save(path, out_fmt, quality=10 if name == "jpeg_q10" else SAVE_QUALITY)
            rows.append((os.path.relpath(path, dest), rel, name, expected))
        for name in os.listdir(folder):
            os.utime(os.path.join(folder, name), (MTIME, MTIME))
    with open(truth + ".tmp", "w", newline="") as handle:
        csv.writer(handle).writerows([("path", "source", "edit", "expected"), *rows])
    os.replace(truth + ".tmp", truth)
    return truth


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    for which in SETS:
        print(write_set(args.corpus, args.cache_dir, which))


if __name__ == "__main__":
    main()

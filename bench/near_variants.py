"""The files of the near-duplicate quality benchmark (bench/near_quality.py): originals and edited copies.

Two sets of edits of the same corpus photos (the 252 candidates make_variants.py draws with
--per-source 1000, i.e. all of them):
* "kit": ../shared/data/make_variants.py's 15 transforms, written once to the cache and reused;
* "issue": the issue's held-back edits that make_variants lacks (33 %/60 % resize, JPEG q35/q80, 4 % border
  crop, 2 % letterbox, contrast +15 %, sharpen, saturation -30 %, grey; mirror and 180 degree turn as hard
  negatives), made here with Pillow in memory (deterministic, nothing written) when a file is hashed.
Same photos, not held-back ones: the corpus has no other candidates of that size, so both sets measure
robustness to edits, not generalisation to unseen pictures.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys

#: make_variants.py arguments: every candidate (252), seed 0.
PER_SOURCE = 1000
SEED = 0
MAKE_VARIANTS = os.environ.get(
    "HASHFLEET_MAKE_VARIANTS",
    os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data", "make_variants.py"
    ),
)
#: Quality of lossy re-saves in the issue set, so the edit dominates (as in make_variants.py).
SAVE_QUALITY = 95
#: Issue edits: name -> expected match (1: the same picture, 0: a hard negative).
ISSUE_EDITS = {
    "resize33": 1, "resize60": 1, "jpeg_q35": 1, "jpeg_q80": 1, "crop4": 1, "letterbox2": 1,
    "contrast15": 1, "sharpen": 1, "saturation70": 1, "grey": 1, "mirror": 0, "rot180": 0,
}  # fmt: skip
#: Share of each border cut by "crop4" and of the height added as black bars (top and bottom) by "letterbox2".
CROP_SHARE = 0.04
LETTERBOX_SHARE = 0.02


def ensure_kit_variants(corpus: str, dest: str) -> str:
    """make_variants.py output under `dest` (built once, ~195 s); returns the GROUND_TRUTH.csv path."""
    truth = os.path.join(dest, "GROUND_TRUTH.csv")
    if not os.path.isfile(truth):
        command = [sys.executable, MAKE_VARIANTS, os.path.join(corpus, "photos"), dest,
                   "--per-source", str(PER_SOURCE), "--seed", str(SEED)]  # fmt: skip
        print("building variants:", " ".join(command), flush=True)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return truth


def read_truth(truth: str) -> list[dict]:
    with open(truth, newline="") as handle:
        return list(csv.DictReader(handle))


def issue_edit(path: str, edit: str) -> bytes:
    """The encoded bytes of one issue edit of the photo at `path`, in its own format unless the edit sets one."""
    from PIL import Image, ImageEnhance, ImageFilter

    with Image.open(path) as opened:
        fmt = opened.format
        im = opened.convert("RGB")
    w, h = im.size
    quality = SAVE_QUALITY
    if edit in ("resize33", "resize60"):
        factor = int(edit[-2:]) / 100
        im = im.resize((round(w * factor), round(h * factor)), Image.Resampling.LANCZOS)
    elif edit.startswith("jpeg_q"):
        fmt, quality = "JPEG", int(edit[6:])
    elif edit == "crop4":
        dx, dy = round(w * CROP_SHARE), round(h * CROP_SHARE)
        im = im.crop((dx, dy, w - dx, h - dy))
    elif edit == "letterbox2":
        bar = round(h * LETTERBOX_SHARE)
        framed = Image.new("RGB", (w, h + 2 * bar))
        framed.paste(im, (0, bar))
        im = framed
    elif edit == "contrast15":
        im = ImageEnhance.Contrast(im).enhance(1.15)
    elif edit == "sharpen":
        im = im.filter(ImageFilter.SHARPEN)
    elif edit == "saturation70":
        im = ImageEnhance.Color(im).enhance(0.7)
    elif edit == "grey":
        im = im.convert("L")
    elif edit == "mirror":
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    elif edit == "rot180":
        im = im.transpose(Image.Transpose.ROTATE_180)
    else:
        raise ValueError(f"unknown edit {edit!r}")
    out = io.BytesIO()
    im.save(out, fmt, quality=quality)
    return out.getvalue()


def picture_key(source_rel: str) -> str:
    """Sources that are the same picture share a key (so their cross pairs are not false pairs):
    libjxl's flower* re-encodings (flower.png.im_q85_420.jpg, flower_small...) and its external photos in
    several colour encodings and sizes (wesaturate/64px/<id>_srgb8.png, <id>_709_g1.png...), mate's Elephants at
    three sizes, GCompris pictures used by two activities (same file name)."""
    folder, name = source_rel.split("/", 1)[0], os.path.basename(source_rel)
    if folder == "libjxl-testdata" and "/jxl/flower/" in f"/{source_rel}":
        return "libjxl:flower"
    if folder == "libjxl-testdata" and "/external/" in source_rel:  # one photo per id, in several encodings
        return "libjxl:" + name.split("_")[0]
    if folder == "mate-backgrounds" and name.startswith("Elephants"):
        return "mate:Elephants"
    if folder == "gcompris":
        return f"gcompris:{name}"
    return source_rel


#: Different pictures that are close by construction (video frames, stereo pairs, one scene from two
#: viewpoints or in two lights, colour variants of one design, one building photographed twice): (pattern,
#: shared key). Their cross pairs are reported apart from the false pairs between unrelated pictures.
RELATED = (
    (r"^opencv-samples/(Blender_Suzanne|rubberwhale|aero|graf)\d", r"\1"),
    (r"^opencv-samples/(aloe|leuven)[LRAB]\.", r"\1"),
    (r"^opencv-samples/(left|right)\.jpg$", "opencv stereo"),
    (r"^opencv-samples/(ela|text)_", r"\1"),
    (r"^skimage-data/motorcycle_", "motorcycle"),
    (r"^mrpt-datasets/stereo-calib/", "stereo-calib"),
    (r"^mate-backgrounds/desktop/Ubuntu-Mate-\w+-no-logo", "Ubuntu-Mate"),
    (r"(?i)^gcompris/.*/neuschwanstein", "Neuschwanstein"),
)


def related_key(source_rel: str) -> str:
    """The group of pictures :data:`RELATED` puts `source_rel` in, or its own picture key."""
    for pattern, key in RELATED:
        match = re.search(pattern, source_rel)
        if match:
            return "related:" + match.expand(key)
    return picture_key(source_rel)

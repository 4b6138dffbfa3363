"""Materialise the three benchmark file sets from the corpus (~/corpus, see MANIFEST.csv) in a cache dir.

* camera: lossy-coded (JPEG/WebP) corpus photos of >= 2 MP, one source per picture (encodings of the same
  picture, e.g. libjxl's flower.png.im_q85_*.jpg, count once), each cut into several distinct crops of
  varied size/offset/aspect (each >= 2 MP), re-encoded as baseline 4:2:0 JPEG quality 92 with Pillow.
* large: every corpus file of >= 2 MP exactly as it is (PNG, baseline and progressive JPEG, WebP, PNM),
  hard-linked (copied when linking fails) REPLICA times under copyNN/ folders to reach >= 1000 files.
  Replicas are byte-identical, so they hash identically.
* small: every corpus file of <= 0.5 MP as found (hard links).

A set is rebuilt only when its recipe (SET_VERSION, corpus MANIFEST.csv) changed; a JSON stamp next to the
set folder lists its files. `--quick` sets are evenly spaced subsets of the full sets.

    python -m bench.sets [--cache-dir DIR] [--corpus DIR] [--sets camera,large,small] [--quick] [--force]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import math
import os
import random
import shutil
import statistics
from collections import Counter
from multiprocessing import Pool

from PIL import Image

#: Bump when a recipe below changes: cached sets with another version are rebuilt.
SET_VERSION = 3
SET_NAMES = ("camera", "large", "small")
DEFAULT_CACHE = os.environ.get("HASHFLEET_BENCH_CACHE", os.path.expanduser("~/.cache/hashfleet-bench"))
DEFAULT_CORPUS = os.environ.get("HASHFLEET_BENCH_CORPUS", os.path.expanduser("~/corpus"))
#: Every full set has at least this many files.
MIN_FILES = 1000
#: Files per set in --quick mode.
QUICK_FILES = 120
#: "large" and camera sources: at least this many pixels (2 MP).
LARGE_MIN_PIXELS = 2_000_000
#: "small": at most this many pixels (0.5 MP).
SMALL_MAX_PIXELS = 500_000
#: Camera crops are at least 2 MP (all camera sources are >= 2 MP, so this is always possible; crops of
#: the many 1920x1080 sources are therefore near-full-frame with small offsets).
CAMERA_MIN_PIXELS = 2_000_000
#: Manifest formats taken as camera sources (lossy-coded photographs, not PNG/PNM graphics).
CAMERA_SOURCE_FORMATS = ("JPEG", "WEBP")
#: Crop aspect ratios (landscape; flipped for portrait sources); the source's own is tried too.
CROP_ASPECTS = (4 / 3, 3 / 2, 16 / 9, 1.0)
#: Attempts to draw a distinct crop of the wanted size before taking the whole frame.
CROP_TRIES = 100
JPEG_QUALITY = 92
#: Pillow's `subsampling` value for 4:2:0 chroma.
JPEG_SUBSAMPLING_420 = 2
#: Seed of the crop generator: the camera set is the same on every machine.
SEED = 20_241_121
#: Extensions the original PyImageSearch script lists (it skips everything else).
ORIGINAL_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
MEGA = 1e6


@dataclasses.dataclass
class FileSet:
    """A materialised set: its folder and its files (absolute paths, sorted)."""

    name: str
    root: str
    files: list[str]

    @property
    def original_files(self) -> list[str]:
        """The files the original script takes (by extension)."""
        return [f for f in self.files if f.lower().endswith(ORIGINAL_EXTS)]


def read_manifest(corpus: str) -> list[dict]:
    with open(os.path.join(corpus, "MANIFEST.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["pixels"] = int(row["width"]) * int(row["height"])
    return rows


def camera_sources(rows: list[dict]) -> list[dict]:
    """Lossy >= 2 MP photos, one per (folder, name before the first dot), in path order."""
    chosen: dict[tuple[str, str], dict] = {}
    for row in sorted(rows, key=lambda r: r["path"]):
        if row["category"] != "photos" or row["format"] not in CAMERA_SOURCE_FORMATS:
            continue
        if row["pixels"] < LARGE_MIN_PIXELS:
            continue
        folder, name = os.path.split(row["path"])
        chosen.setdefault((folder, name.split(".")[0]), row)
    return list(chosen.values())


def plan_crops(width: int, height: int, count: int, rng: random.Random) -> list[tuple[int, int, int, int]]:
    """`count` distinct (x, y, w, h) crops of varied area, aspect and offset."""
    min_pixels = min(CAMERA_MIN_PIXELS, width * height)
    crops: list[tuple[int, int, int, int]] = []
    for _ in range(count):
        for _attempt in range(CROP_TRIES):
            aspect = rng.choice(CROP_ASPECTS + (max(width, height) / min(width, height),))
            aspect = 1 / aspect if height > width else aspect
            area = rng.uniform(min_pixels, width * height)
            cw = min(width, round(math.sqrt(area * aspect)))
            ch = min(height, math.ceil(area / cw))
            if cw * ch < min_pixels:
                continue
            crop = (rng.randint(0, width - cw), rng.randint(0, height - ch), cw, ch)
            if crop not in crops:
                crops.append(crop)
                break
        else:
            crops.append((0, 0, width, height))
    return crops


def _make_crops(job: tuple[str, str, list[tuple[int, int, int, int]]]) -> None:
    source, folder, crops = job
    os.makedirs(folder, exist_ok=True)
    with Image.open(source) as image:
        rgb = image.convert("RGB")
    for index, (x, y, w, h) in enumerate(crops):
        rgb.crop((x, y, x + w, y + h)).save(
            os.path.join(folder, f"crop{index:02d}.jpg"), "JPEG", quality=JPEG_QUALITY,
            subsampling=JPEG_SUBSAMPLING_420, progressive=False, optimize=False)


def build_camera(corpus: str, dest: str, rows: list[dict]) -> None:
    sources = camera_sources(rows)
    per_source = math.ceil(MIN_FILES / len(sources))
    rng = random.Random(SEED)
    jobs = []
    for index, row in enumerate(sources):
        stem = os.path.basename(row["path"]).split(".")[0]
        crops = plan_crops(int(row["width"]), int(row["height"]), per_source, rng)
        jobs.append((os.path.join(corpus, row["path"]), os.path.join(dest, f"{index:02d}-{stem}"), crops))
    with Pool() as pool:
        pool.map(_make_crops, jobs)


def _link(src: str, dst: str) -> None:
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def build_large(corpus: str, dest: str, rows: list[dict]) -> None:
    chosen = sorted(r["path"] for r in rows if r["pixels"] >= LARGE_MIN_PIXELS)
    replicas = math.ceil(MIN_FILES / len(chosen))
    for copy in range(replicas):
        for rel in chosen:
            _link(os.path.join(corpus, rel), os.path.join(dest, f"copy{copy:02d}", rel))


def build_small(corpus: str, dest: str, rows: list[dict]) -> None:
    for rel in sorted(r["path"] for r in rows if r["pixels"] <= SMALL_MAX_PIXELS):
        _link(os.path.join(corpus, rel), os.path.join(dest, rel))


BUILDERS = {"camera": build_camera, "large": build_large, "small": build_small}


def _list_files(root: str) -> list[str]:
    found = [os.path.join(d, f) for d, _, names in os.walk(root) for f in names]
    return sorted(found, key=os.fsencode)


def _fingerprint(path: str) -> str:
    """Digest of a file, or of a corpus folder's MANIFEST.csv."""
    if os.path.isdir(path):
        path = os.path.join(path, "MANIFEST.csv")
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _load_stamp(stamp: str, expected: dict) -> list[str] | None:
    try:
        with open(stamp) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    if {k: data.get(k) for k in expected} != expected:
        return None
    files = data.get("files", [])
    return files if files and all(os.path.isfile(f) for f in files) else None


def _write_stamp(stamp: str, recipe: dict, files: list[str]) -> None:
    with open(stamp, "w") as handle:
        json.dump({**recipe, "files": files}, handle, indent=0)


def ensure_set(name: str, cache: str = DEFAULT_CACHE, corpus: str = DEFAULT_CORPUS, quick: bool = False,
               force: bool = False) -> FileSet:
    """Build set `name` unless an up-to-date copy is cached; return it."""
    if quick:
        full = ensure_set(name, cache, corpus, force=force)
        base = os.path.join(cache, "quick")
        recipe = {"version": SET_VERSION, "source": full.root, "count": QUICK_FILES,
                  "parent": _fingerprint(os.path.join(cache, f"{name}.json"))}
    else:
        base = cache
        recipe = {"version": SET_VERSION, "corpus": os.path.abspath(corpus), "parent": _fingerprint(corpus)}
    root = os.path.join(base, name)
    stamp = os.path.join(base, f"{name}.json")
    files = None if force else _load_stamp(stamp, recipe)
    if files is None:
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        if quick:
            step = len(full.files) / QUICK_FILES
            for index in range(min(QUICK_FILES, len(full.files))):
                src = full.files[int(index * step)]
                _link(src, os.path.join(root, os.path.relpath(src, full.root)))
        else:
            BUILDERS[name](corpus, root, read_manifest(corpus))
        files = _list_files(root)
        _write_stamp(stamp, recipe, files)
    return FileSet(name, root, files)


def describe(fileset: FileSet) -> dict:
    """Counts, formats and size statistics of a set, read from the files themselves."""
    formats: Counter[str] = Counter()
    megapixels = []
    for path in fileset.files:
        with Image.open(path) as image:
            fmt = image.format
            if fmt == "JPEG" and image.info.get("progressive"):
                fmt = "JPEG-progressive"
            formats[fmt] += 1
            megapixels.append(image.width * image.height / MEGA)
    return {
        "files": len(fileset.files),
        "distinct_contents": len({_file_key(p) for p in fileset.files}),
        "original_accepts": len(fileset.original_files),
        "formats": dict(formats.most_common()),
        "mp_min": min(megapixels), "mp_median": statistics.median(megapixels), "mp_max": max(megapixels),
        "total_mb": sum(os.path.getsize(p) for p in fileset.files) / MEGA,
    }


def _file_key(path: str) -> str:
    """Content digest: replicas (hard links or copies) of one file share it."""
    with open(path, "rb") as handle:
        return hashlib.sha1(handle.read()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--sets", default=",".join(SET_NAMES))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--force", action="store_true", help="rebuild even when the cache is up to date")
    args = parser.parse_args(argv)
    for name in args.sets.split(","):
        fileset = ensure_set(name, args.cache_dir, args.corpus, args.quick, args.force)
        print(name, fileset.root, json.dumps(describe(fileset)))


if __name__ == "__main__":
    main()

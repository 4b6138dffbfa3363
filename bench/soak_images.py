"""The soak's input: N small generated images (JPEG and PNG, 24-96 px a side, some exact duplicates), the
same for the same N and seed on every machine, cached so that a rerun does not make them again.

    python -m bench.soak_images --files 200000 [--seed 1] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from multiprocessing import Pool

import cv2
import numpy as np

#: Where generated sets are kept between runs (one folder per N and seed; bench/sets.py uses the same root).
DEFAULT_CACHE = os.environ.get("HASHFLEET_BENCH_CACHE", os.path.expanduser("~/.cache/hashfleet-bench"))
#: Bump when the recipe below changes: a cached set of another version is made again.
RECIPE_VERSION = 1
#: Smallest and largest side in pixels.
MIN_SIDE, MAX_SIDE = 24, 96
#: One file in this many is a byte copy of an earlier file, so the job has exact-duplicate groups.
DUPLICATE_EVERY = 20
#: One file in this many is a PNG; the others are JPEGs.
PNG_EVERY = 4
#: Files per folder (a real tree has folders; the walk and the output sort by path).
FILES_PER_FOLDER = 1000
#: Marker written last: a folder without it (a run killed half-way) is made again.
DONE_MARKER = ".complete"


def image_bytes(seed: int, index: int) -> tuple[bytes, str]:
    """The encoded bytes and extension of file `index`: a smooth random picture (a coarse grid of random
    colours scaled up, plus a little noise), so that its hashes vary like a photo's and not like noise's."""
    rng = np.random.default_rng([seed, index])
    width, height = (int(v) for v in rng.integers(MIN_SIDE, MAX_SIDE + 1, size=2))
    grid = rng.integers(0, 256, size=(int(rng.integers(2, 7)), int(rng.integers(2, 7)), 3), dtype=np.uint8)
    picture = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    noisy = np.clip(picture.astype(np.int16) + rng.integers(-8, 9, size=picture.shape), 0, 255).astype(np.uint8)
    if index % PNG_EVERY == 0:
        ok, buf = cv2.imencode(".png", noisy)
        ext = ".png"
    else:
        ok, buf = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 96))])
        ext = ".jpg"
    assert ok, ext
    return buf.tobytes(), ext


def relative_path(index: int, ext: str) -> str:
    return os.path.join(f"d{index // FILES_PER_FOLDER:04d}", f"img{index:07d}{ext}")


def file_bytes(seed: int, index: int) -> tuple[bytes, str]:
    """File `index`'s bytes: every DUPLICATE_EVERY-th file repeats those of an earlier one (chosen by the
    seed) that is no copy itself, the others are their own picture."""
    source = index
    if index and index % DUPLICATE_EVERY == 0:
        source = int(np.random.default_rng([seed, index, DUPLICATE_EVERY]).integers(0, index))
        source -= 1 if source and source % DUPLICATE_EVERY == 0 else 0
    return image_bytes(seed, source)


def _write_block(job: tuple[str, int, int, int]) -> list[str]:
    folder, seed, start, stop = job
    paths = []
    for index in range(start, stop):
        data, ext = file_bytes(seed, index)
        path = os.path.join(folder, relative_path(index, ext))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        paths.append(path)
    return paths


def write_images(folder: str, count: int, seed: int, processes: int = 1) -> list[str]:
    """Write the `count` files into `folder` (a folder of FILES_PER_FOLDER files per process and step);
    returns their paths in index order."""
    blocks = [(folder, seed, start, min(start + FILES_PER_FOLDER, count))
              for start in range(0, count, FILES_PER_FOLDER)]
    if processes == 1 or len(blocks) == 1:
        return [path for block in blocks for path in _write_block(block)]
    with Pool(processes) as pool:
        return [path for paths in pool.map(_write_block, blocks) for path in paths]


def cached_images(count: int, seed: int, cache_dir: str = DEFAULT_CACHE) -> tuple[str, list[str]]:
    """The folder holding the set for (count, seed) and its file paths, made first if not cached."""
    folder = os.path.join(cache_dir, f"soak-v{RECIPE_VERSION}-{count}-{seed}")
    marker = os.path.join(folder, DONE_MARKER)
    if os.path.exists(marker):
        with open(marker) as handle:
            return folder, [os.path.join(folder, line.rstrip("\n")) for line in handle]
    shutil.rmtree(folder, ignore_errors=True)
    paths = write_images(folder, count, seed, processes=os.cpu_count() or 1)
    with open(marker + ".tmp", "w") as handle:
        handle.writelines(os.path.relpath(p, folder) + "\n" for p in paths)
    os.replace(marker + ".tmp", marker)
    return folder, paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    started = time.monotonic()
    folder, paths = cached_images(args.files, args.seed, args.cache_dir)
    print(f"{len(paths)} files in {folder} ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()

"""The soak's input: N small generated images (JPEG and PNG, 24-96 px a side, some exact duplicates), the
same for the same N and seed on every machine. bench/soak_images.py keeps them cached for the long runs.
"""

from __future__ import annotations

import os
from multiprocessing import Pool

import cv2
import numpy as np

#: Smallest and largest side in pixels.
MIN_SIDE, MAX_SIDE = 24, 96
#: One file in this many is a byte copy of an earlier file, so the job has exact-duplicate groups.
DUPLICATE_EVERY = 20
#: One file in this many is a PNG; the others are JPEGs.
PNG_EVERY = 4
#: Files per folder (a real tree has folders; the walk and the output sort by path).
FILES_PER_FOLDER = 1000


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

"""What phash (+ centre-crop phash, + quality) adds to dhash when all come from one decode: in-process timing.

Files are read into memory first; each pass hashes every file with each function in turn (so drift hits all
alike), and a function's time is the sum over files of its fastest pass on each file: the machine is shared,
and the minimum discards the time other processes took. One process, one OpenCV and BLAS thread (like a
worker process; bench/near_quality.py sets the BLAS variables before numpy loads).
"""

from __future__ import annotations

import os
import time

import numpy as np

from bench.sets import ensure_set

#: Timed passes per file set (median reported).
PASSES = 5
HASH_SIZE = 8


def _dhash(data: bytes) -> None:
    from tasks.image.multihash import robust_bits

    robust_bits(data, HASH_SIZE)


def _dhash_phash_quality(data: bytes) -> None:
    from tasks.image.decode import decode_robust_reduced
    from tasks.image.dhash import dhash_bits_reduced
    from tasks.image.multihash import MIN_PIXELS_PER_CELL
    from tasks.image.phash import phash_bits, quality, thumbnails

    reduced = decode_robust_reduced(data, MIN_PIXELS_PER_CELL * (HASH_SIZE + 1))
    dhash_bits_reduced(reduced.image, reduced.scale, reduced.height, reduced.width, HASH_SIZE)
    thumb = thumbnails(reduced, 32)[0]
    phash_bits(thumb, HASH_SIZE)
    quality(thumb)


def _all(data: bytes) -> None:
    from tasks.image.multihash import hash_image

    hash_image(data, HASH_SIZE)


def _defaults(data: bytes) -> None:
    from tasks.image.algos import DEFAULT_ALGOS, parse_algos
    from tasks.image.multihash import hash_data

    hash_data(data, parse_algos(DEFAULT_ALGOS), HASH_SIZE)


FUNCTIONS = {"dhash alone (robust_bits)": _dhash, "dhash + phash + quality": _dhash_phash_quality,
             "dhash + phash + centre phash + quality (hash_image)": _all,
             "the default algorithms, with phash-regions (hash_data)": _defaults}  # fmt: skip


def _time_files(function, blobs: list[bytes]) -> list[float]:
    from tasks.errors import FileUnreadable

    spent = []
    for data in blobs:
        start = time.perf_counter()
        try:
            function(data)
        except FileUnreadable:
            pass
        spent.append(time.perf_counter() - start)
    return spent


def _photos(corpus: str) -> list[str]:
    root = os.path.join(corpus, "photos")
    return sorted(os.path.join(d, f) for d, _, names in os.walk(root) for f in names)


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.near_cost [--passes N]`: the cost table alone."""
    import argparse

    from bench.sets import DEFAULT_CACHE, DEFAULT_CORPUS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    parser.add_argument("--passes", type=int, default=PASSES)
    args = parser.parse_args(argv)
    print("\n".join(measure(args.corpus, args.cache_dir, args.passes)))


def measure(corpus: str, cache: str, passes: int = PASSES) -> list[str]:
    """Markdown lines: per file set, median seconds per pass of each function and its cost over dhash."""
    import cv2

    cv2.setNumThreads(1)
    sets = (("camera set (bench/sets.py)", ensure_set("camera", cache, corpus).files),
            ("corpus photos", _photos(corpus)))  # fmt: skip
    lines = [f"Sum over files of each file's fastest of {passes} passes; one process, one OpenCV thread, files in "
             "memory.", "", "| file set | files | function | s | ms per file | cost over dhash |",
             "|---|---:|---|---:|---:|---:|"]  # fmt: skip
    for label, paths in sets:
        blobs = []
        for path in paths:
            with open(path, "rb") as handle:
                blobs.append(handle.read())
        for function in FUNCTIONS.values():  # warm-up: imports, weight caches
            _time_files(function, blobs[:20])
        best = {name: np.full(len(blobs), np.inf) for name in FUNCTIONS}
        for _ in range(passes):
            for name, function in FUNCTIONS.items():
                best[name] = np.minimum(best[name], _time_files(function, blobs))
        base = best[next(iter(FUNCTIONS))].sum()
        for name, spent in best.items():
            total = spent.sum()
            lines.append(f"| {label} | {len(blobs)} | {name} | {total:.2f} | {1000 * total / len(blobs):.2f} | "
                         f"{100 * (total / base - 1):+.1f} % |")  # fmt: skip
        print("\n".join(lines[-3:]), flush=True)
    return lines


if __name__ == "__main__":
    main()

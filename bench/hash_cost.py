"""What the hashes cost beside the decode they come from, per image, in-process.

    python -m bench.hash_cost [--sets camera,large,small] [--passes 5]

Files are read into memory first. Each pass decodes every file once (tasks/image/multihash.py
`decode_reduced`) and hashes that decode with the default algorithms (with and without the region phashes)
and with dhash alone, each timed on its own; the OpenCV floor of bench/contenders.py (`cv2.imdecode`, 1/8
for JPEG) is timed on the same bytes in the same pass. A step's time is the sum over files of its fastest
pass on each file: the machine is shared, and the minimum discards the time other processes took. One
process, one OpenCV and BLAS thread, like a worker process.
"""

from __future__ import annotations

import argparse
import os
import time

from tasks.image.limits import prepare_decoders

prepare_decoders()  # one BLAS thread, before numpy loads

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.contenders import JPEG_MAGIC  # noqa: E402
from bench.sets import DEFAULT_CACHE, DEFAULT_CORPUS, SET_NAMES, ensure_set  # noqa: E402
from tasks.errors import FileUnreadable  # noqa: E402
from tasks.image.algos import DEFAULT_ALGOS, parse_algos  # noqa: E402
from tasks.image.multihash import REDUCED_ALGOS, decode_reduced, hashes_and_regions  # noqa: E402

#: Timed passes over each set.
PASSES = 5
HASH_SIZE = 8
#: Hash steps timed on every decode: the default job's algorithms (region phashes included), the same
#: without the region phashes, and dhash alone.
_DEFAULT = parse_algos(DEFAULT_ALGOS)
STEPS = {
    "default hashes": (tuple(a for a in _DEFAULT if a in REDUCED_ALGOS), "phash-regions" in _DEFAULT),
    "default without regions": (tuple(a for a in _DEFAULT if a in REDUCED_ALGOS), False),
    "dhash alone": (("dhash",), False),
}


def _floor(data: bytes) -> None:
    blob = np.frombuffer(data, np.uint8)
    cv2.imdecode(blob, cv2.IMREAD_REDUCED_GRAYSCALE_8 if data[:3] == JPEG_MAGIC else cv2.IMREAD_GRAYSCALE)


def _one_pass(blobs: list[bytes]) -> np.ndarray:
    """(files x (floor, decode, *STEPS)) seconds of one pass; a file that does not decode costs 0 hashing."""
    spent = np.zeros((len(blobs), 2 + len(STEPS)))
    for index, data in enumerate(blobs):
        start = time.perf_counter()
        _floor(data)
        spent[index, 0] = time.perf_counter() - start
        start = time.perf_counter()
        try:
            reduced = decode_reduced(data, HASH_SIZE)
        except FileUnreadable:
            continue
        spent[index, 1] = time.perf_counter() - start
        for column, (want, regions) in enumerate(STEPS.values(), start=2):
            start = time.perf_counter()
            hashes_and_regions(reduced, HASH_SIZE, want, regions)
            spent[index, column] = time.perf_counter() - start
    return spent


def measure(paths: list[str], passes: int) -> np.ndarray:
    """Per-step totals (s): the sum over files of each file's fastest pass."""
    blobs = []
    for path in paths:
        with open(path, "rb") as handle:
            blobs.append(handle.read())
    _one_pass(blobs[:20])  # warm-up: imports, weight caches
    best = np.full((len(blobs), 2 + len(STEPS)), np.inf)
    for _ in range(passes):
        best = np.minimum(best, _one_pass(blobs))
    return best.sum(axis=0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SET_NAMES))
    parser.add_argument("--passes", type=int, default=PASSES)
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    print(f"load average {os.getloadavg()[0]:.1f}; sum over files of each file's fastest of {args.passes} passes")
    print("| set | files | floor us/img | decode us/img | " + " | ".join(f"{s} us/img, % of decode" for s in STEPS)
          + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(STEPS))
    for name in args.sets.split(","):
        files = ensure_set(name, args.cache_dir, args.corpus).files
        totals = 1e6 * measure(files, args.passes) / len(files)
        steps = " | ".join(f"{cost:.0f}, {100 * cost / totals[1]:.1f} %" for cost in totals[2:])
        print(f"| {name} | {len(files)} | {totals[0]:.0f} | {totals[1]:.0f} | {steps} |", flush=True)


if __name__ == "__main__":
    main()

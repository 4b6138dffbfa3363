"""Hash-quality check: how far hashfleet's output is from the same algorithm on a full-resolution decode.

The reference for every file is `pack_bits(dhash_bits(decode_robust(bytes)))` (hashfleet's default `dhash`
on the untouched full-size decode), computed here in a process pool, untimed. Each hashfleet CSV is
compared to it file by file: identical, differing by k bits, or missing on one side (error/absent).
Today the worker runs exactly this code path, so the expected difference is 0; the check is there for when
the worker decodes JPEGs at reduced size.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections import Counter
from multiprocessing import get_context

from bench.sets import FileSet

#: Hash size the benchmark runs hashfleet with (its default).
HASH_SIZE = 8
#: Environment variables that set the BLAS thread count (read when numpy loads).
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: Differing files listed by name in the report (most bits first).
WORST_SHOWN = 5
#: Gray levels of full scale (margins are reported in 8-bit gray levels).
GRAY_LEVELS = 255
#: Target from the issue: at most this share of files may differ ...
MAX_DIFF_SHARE = 0.01
#: ... and by at most this many bits each.
MAX_DIFF_BITS = 1


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def reference_hash(path: str) -> tuple[str, list[float]]:
    """Hex dhash of the full-resolution robust decode ('' when the file cannot be hashed), and each bit's
    margin: |right - left| of its two grid cells in gray levels (1/255 of full scale). The margin is
    recomputed with the INTER_AREA grid `dhash_bits` uses; a flipped bit with a tiny margin is a near-tie."""
    import cv2
    import numpy as np

    from tasks.errors import FileUnreadable
    from tasks.image.decode import decode_robust
    from tasks.image.dhash import dhash_bits, pack_bits

    try:
        with open(path, "rb") as handle:
            gray = decode_robust(handle.read())
    except (OSError, FileUnreadable):
        return "", []
    grid = cv2.resize(gray.astype(np.float32, copy=False), (HASH_SIZE + 1, HASH_SIZE),
                      interpolation=cv2.INTER_AREA)
    scale = 1 if gray.dtype == np.uint8 else GRAY_LEVELS  # 8-bit images stay in gray levels (0..255)
    margins = np.abs(grid[:, 1:] - grid[:, :-1]).ravel() * scale
    return pack_bits(dhash_bits(gray, HASH_SIZE)).hex(), margins.tolist()


def reference_hashes(fileset: FileSet, processes: int) -> dict[str, tuple[str, list[float]]]:
    """Reference for every file, in fresh (spawned) processes with one BLAS and one OpenCV thread, like a
    worker: float32 sums over millions of pixels round differently with another thread count, and exact
    ties (flat graphics) can then land on either side of the hash's rounding tolerance."""
    saved = {var: os.environ.get(var) for var in BLAS_THREAD_VARS}
    os.environ.update({var: "1" for var in BLAS_THREAD_VARS})
    try:
        with get_context("spawn").Pool(processes, initializer=_init_worker) as pool:
            hashes = pool.map(reference_hash, fileset.files, chunksize=16)
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    return dict(zip(fileset.files, hashes, strict=True))


@dataclasses.dataclass
class Quality:
    compared: int
    differing: int
    max_bits: int
    histogram: dict[int, int]
    missing: int
    max_flip_margin: float = 0.0  # largest reference margin (gray levels) among flipped bits
    worst: list = dataclasses.field(default_factory=list)  # (path, bits, largest flipped margin)

    @property
    def share(self) -> float:
        return self.differing / self.compared if self.compared else 0.0

    @property
    def meets_target(self) -> bool:
        return self.share <= MAX_DIFF_SHARE and self.max_bits <= MAX_DIFF_BITS and not self.missing


def compare(reference: dict[str, tuple[str, list[float]]], csv_path: str) -> Quality:
    """Compare a hashfleet CSV (path, hash, error, size) with the reference hashes."""
    with open(csv_path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
        produced = {row["path"]: row["hash"] for row in csv.DictReader(handle)}
    bits: Counter[int] = Counter()
    missing = 0
    flip_margin = 0.0
    worst = []
    for path, (ref, margins) in reference.items():
        got = produced.get(path, "")
        if not ref or not got:
            missing += (ref != got)
            continue
        flipped = int(ref, 16) ^ int(got, 16)
        bits[flipped.bit_count()] += 1
        width = len(margins)
        # bit 0 of the grid is the most significant
        flips = [margins[i] for i in range(width) if flipped >> (width - 1 - i) & 1]
        if flips:
            flip_margin = max(flip_margin, *flips)
            worst.append((path, len(flips), max(flips)))
    compared = sum(bits.values())
    differing = compared - bits.get(0, 0)
    worst.sort(key=lambda item: (-item[1], item[0]))
    return Quality(compared, differing, max(bits) if bits else 0, dict(sorted(bits.items())), missing,
                   flip_margin, worst[:WORST_SHOWN])

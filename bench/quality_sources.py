"""Where the reduced-decode hash differences come from, per file set (JPEGs only: the others are not reduced).

For each JPEG, three 9x8 grids of the robust dhash (hash size 8) are computed, in gray levels:
  F  full-resolution decode, area-averaged (the quality reference of bench/quality.py);
  B  the same full decode averaged per 1/scale block first, then onto the grid as if each block were
     flat: what a perfect reduced decode (exact block means, no rounding) would give;
  R  the worker's reduced decode (uint8 block values from libjpeg-turbo's scaled IDCT).
F vs B isolates the geometry error (blocks cut by a cell edge), B vs R the rounding of the reduced pixels
to integers. The share of files with a near-tie in F (a bit whose two cells differ by less than x gray
levels) shows how small an error already flips a bit. Untimed; two processes.

    python -m bench.quality_sources [--set camera] [--limit N]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
from multiprocessing import get_context  # noqa: E402

import numpy as np  # noqa: E402

from bench.sets import DEFAULT_CACHE, DEFAULT_CORPUS, ensure_set  # noqa: E402

HASH_SIZE = 8
#: Tolerance of the hash's comparison, in gray levels (tasks/image/dhash.py ROUNDING_TOLERANCE x 255).
TOLERANCE = 2.0**-20 * 255
#: Near-tie thresholds reported, gray levels.
TIES = (1e-3, 0.01, 0.03, 0.1, 0.3, 1.0)


def _grids(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    import cv2

    from tasks.errors import FileUnreadable
    from tasks.image.areas import area_weights
    from tasks.image.decode import decode_robust, decode_robust_reduced, sniff_format
    from tasks.image.multihash import MIN_PIXELS_PER_CELL

    cv2.setNumThreads(1)
    with open(path, "rb") as handle:
        data = handle.read()
    if sniff_format(data) != "jpeg":
        return None
    try:
        full = decode_robust(data).astype(np.float64)
        reduced = decode_robust_reduced(data, MIN_PIXELS_PER_CELL * (HASH_SIZE + 1))
    except FileUnreadable:
        return None
    s, (h, w) = reduced.scale, full.shape
    rows, cols = reduced.image.shape
    padded = ((0, rows * s - h), (0, cols * s - w))
    sums = np.pad(full, padded).reshape(rows, s, cols, s).sum(axis=(1, 3))
    counts = np.pad(np.ones_like(full), padded).reshape(rows, s, cols, s).sum(axis=(1, 3))

    def diffs(image: np.ndarray, scale: int) -> np.ndarray:
        grid = area_weights(image.shape[0], scale, h, HASH_SIZE) @ image @ \
            area_weights(image.shape[1], scale, w, HASH_SIZE + 1).T
        return (grid[:, 1:] - grid[:, :-1]).ravel()

    return diffs(full, 1), diffs(sums / counts, s), diffs(reduced.image.astype(np.float64), s)


def _share_differing(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a > TOLERANCE) != (b > TOLERANCE)).any(axis=1).mean())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="camera")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    files = ensure_set(args.set, args.cache_dir, args.corpus).files[:args.limit]
    with get_context("spawn").Pool(2) as pool:
        found = [g for g in pool.map(_grids, files, chunksize=8) if g is not None]
    full, blocks, reduced = (np.array([g[i] for g in found]) for i in range(3))
    print(f"{args.set}: {len(found)} JPEGs; per-bit grid error in gray levels (median / p90 / p99 / max) "
          "and share of files with a flipped bit")
    for name, a, b in (("geometry (F vs B)", full, blocks), ("rounding (B vs R)", blocks, reduced),
                       ("total (F vs R)", full, reduced)):
        err = np.abs(a - b)
        q = np.percentile(err, [50, 90, 99])
        print(f"  {name:18s} {q[0]:.4f} / {q[1]:.4f} / {q[2]:.4f} / {err.max():.3f}   "
              f"files differing {100 * _share_differing(a, b):.1f} %")
    margins = np.abs(full)
    flipped = (full > TOLERANCE) != (reduced > TOLERANCE)
    print("  near-ties in the full-resolution grid: files with a bit whose cells differ by < x gray levels;")
    print("  and files whose reduced-decode hash differs in a bit that is NOT such a near-tie")
    for x in TIES:
        clear_flips = (flipped & (margins >= x)).any(axis=1).mean()
        print(f"    x = {x:<6g} {100 * (margins < x).any(axis=1).mean():5.1f} % of files have one; "
              f"{100 * clear_flips:5.1f} % differ outside them")


if __name__ == "__main__":
    main()

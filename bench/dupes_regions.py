"""Time of `dupes` (producer/near/find.near_pairs) on a million files with and without the region stage.

    python -m bench.dupes_regions [--n 1000000] [--framed 0.01] [--seed 0]

Hashes are uniform random (phash, centre phash, the eight region hashes), a share `--framed` of the files
with a content hash (a frame found), 20 % of the files a copy of another with a few bits flipped in every
hash. Uniform hashes are the join's easy case: realistic, clustered ones make more candidates
(bench/dupes.py), so these are lower bounds for both columns alike. One process, in memory; besides the
wall time it prints the process's CPU time, which other jobs on a shared machine disturb far less.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from producer.near.find import near_pairs
from producer.near.hashindex import MISSING, HashIndex
from producer.near.regions import CONTENT
from tasks.image.regions import REGIONS

#: Share of files that are copies of another, and bits flipped in each of their hashes.
COPY_SHARE, COPY_BITS = 0.20, 3


def synthetic(n: int, framed: float, seed: int) -> HashIndex:
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**63, (n, 2 + len(REGIONS)), dtype=np.uint64) << np.uint64(1)
    copies = np.flatnonzero(rng.random(n) < COPY_SHARE)
    words[copies] = words[rng.integers(0, n, len(copies))]
    for _ in range(COPY_BITS):
        words[copies] ^= np.uint64(1) << rng.integers(0, 64, words[copies].shape).astype(np.uint64)
    regions = words[:, 2:].copy()
    regions[rng.random(n) >= framed, CONTENT] = 0
    missing = np.full(n, MISSING, np.int64)
    hashes = {"phash": words[:, 0].copy(), "phash-centre": words[:, 1].copy(), "phash-regions": regions}
    return HashIndex([], hashes, np.full(n, 50, np.int16), missing, missing, missing, missing, tuple(hashes), 8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--framed", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    index = synthetic(args.n, args.framed, args.seed)
    for regions in (False, True):
        started, cpu = time.monotonic(), time.process_time()
        a, _, _ = near_pairs(index, 8, regions=regions)
        print(f"n {args.n:,} regions {regions}: {len(a):,} pairs in {time.monotonic() - started:.1f} s "
              f"({time.process_time() - cpu:.1f} CPU s, load {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()

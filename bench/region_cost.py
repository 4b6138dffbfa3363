"""What the region hashes cost on the workers, beside the reduced decode they are computed from.

    python -m bench.region_cost [--every 4] [--passes 5]

Camera set (bench/sets.py), every `--every`th file, in memory; per file the fastest of `--passes` of: the
reduced decode (tasks.image.multihash.decode_reduced), dhash + phash + centre phash + quality from it, and
the same with the eight region phashes, as a job computes them in one area pass
(tasks.image.multihash.hashes_and_regions); the regions cost the difference. One process, one OpenCV
thread; the passes interleave the three so drift hits them alike.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.sets import DEFAULT_CACHE, DEFAULT_CORPUS, ensure_set


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args(argv)
    import cv2

    from tasks.image.multihash import REDUCED_ALGOS, decode_reduced, hashes_and_regions

    cv2.setNumThreads(1)
    blobs = []
    for path in ensure_set("camera", args.cache_dir, args.corpus).files[:: args.every]:
        with open(path, "rb") as handle:
            blobs.append(handle.read())
    reduced = [decode_reduced(data, 8) for data in blobs]
    best = {name: np.full(len(blobs), np.inf) for name in ("decode", "hashes", "with regions")}
    for _ in range(args.passes):
        for i, (data, image) in enumerate(zip(blobs, reduced, strict=True)):
            start = time.perf_counter()
            decode_reduced(data, 8)
            decoded = time.perf_counter()
            hashes_and_regions(image, 8, REDUCED_ALGOS, False)
            hashed = time.perf_counter()
            hashes_and_regions(image, 8, REDUCED_ALGOS, True)
            done = time.perf_counter()
            for name, spent in (("decode", decoded - start), ("hashes", hashed - decoded),
                                ("with regions", done - hashed)):
                best[name][i] = min(best[name][i], spent)
    ms = {name: 1000 * spent.mean() for name, spent in best.items()}
    ms["regions"] = ms["with regions"] - ms["hashes"]
    print(f"{len(blobs)} camera files, ms per file: reduced decode {ms['decode']:.2f}, dhash + phash + centre + "
          f"quality {ms['hashes']:.2f}, region phashes {ms['regions']:.2f} "
          f"({100 * ms['regions'] / ms['decode']:.1f} % of the decode)")


if __name__ == "__main__":
    main()

"""Pairs the region stage adds among the corpus files as they are (photos and cut-outs, no edits): every
such pair joins two files the whole-picture stage kept apart, so each is a candidate false pair to read.

    python -m bench.hard_corpus [--corpus ~/corpus] [--list 40]
"""

from __future__ import annotations

import argparse
import os

from bench.hard_quality import build_index
from bench.sets import DEFAULT_CORPUS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--list", type=int, default=40)
    args = parser.parse_args(argv)
    from producer.near.find import near_pairs

    paths = sorted(os.path.join(folder, name) for part in ("photos", "cutouts")
                   for folder, _, names in os.walk(os.path.join(args.corpus, part)) for name in names)
    index = build_index([{"path": p} for p in paths], cache=False)
    before = set(zip(*(side.tolist() for side in near_pairs(index, 8, regions=False)[:2]), strict=True))
    a, b, d = near_pairs(index, 8)
    new = [(i, j, k) for i, j, k in zip(a.tolist(), b.tolist(), d.tolist(), strict=True) if (i, j) not in before]
    print(f"{len(paths)} files: {len(before)} pairs without regions, {len(a)} with; {len(new)} new")
    for i, j, k in new[: args.list]:
        print(f"{k:3d}  {os.path.relpath(paths[i], args.corpus)}  ~  {os.path.relpath(paths[j], args.corpus)}")


if __name__ == "__main__":
    main()

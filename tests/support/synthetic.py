"""The made-up job of `python -m bench.synthetic`: its paths (never touched), the hash the synthetic task
(bench/synthetic_tasks.py) gives each, and the check of its outputs (`--check`): every path exactly once and
in walk order with its hash, and groups.json holding exactly the groups of paths whose hashes agree. The
check holds a Counter of the hashes: for small jobs (tests), not 10 million files."""

from __future__ import annotations

import csv
import json
import os
import zlib
from collections import Counter

#: Files per made-up folder.
FILES_PER_FOLDER = 1000
#: Every Nth file repeats an earlier name (and so its fake hash), to give the merge groups to build.
DUPLICATE_EVERY = 50


def fake_paths(count: int):
    """`count` paths `/data/photos/dNNNN/IMG_NNNNNNN.JPG`, every DUPLICATE_EVERY-th repeating a name."""
    for i in range(count):
        name = i - 1 if i % DUPLICATE_EVERY == 0 and i else i
        yield f"/data/photos/d{i // FILES_PER_FOLDER:04d}/IMG_{name:07d}.JPG"


def fake_hash(path: str) -> str:
    """The hex the synthetic task (bench/synthetic_tasks.py) stores for `path`."""
    return zlib.crc32(os.fsencode(os.path.basename(path))).to_bytes(8, "big").hex()


def check_outputs(paths, csv_path: str, groups_path: str) -> list[str]:
    """Problems found (empty when the outputs are right)."""
    problems = []
    counts: Counter = Counter()
    with open(csv_path, newline="") as handle:
        rows = csv.DictReader(handle)
        for number, path in enumerate(paths):
            row = next(rows, None)
            if row is None:
                problems.append(f"the output ends at row {number}")
                break
            expected = fake_hash(path)
            counts[expected] += 1
            if (row["path"], row["hash"], row["error"]) != (path, expected, "") and len(problems) < 5:
                problems.append(f"row {number}: {row['path']} {row['hash']} {row['error']!r}, expected {path} "
                                f"{expected}")
        extra = sum(1 for _ in rows)
    if extra:
        problems.append(f"{extra} rows more than the job's paths")
    expected_groups = {h: n for h, n in counts.items() if n > 1}
    with open(groups_path) as handle:
        groups = json.load(handle)
    got = {h: len(p) for h, p in groups.items()}
    if got != expected_groups:
        problems.append(f"{len(got)} groups, expected {len(expected_groups)} "
                        f"(first differences: {sorted(set(got.items()) ^ set(expected_groups.items()))[:3]})")
    for h, members in groups.items():
        if any(fake_hash(p) != h for p in members):
            problems.append(f"group {h} holds {members[:3]}...")
            break
    return problems

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
from collections import Counter
from multiprocessing import Pool

from bench.sets import FileSet

#: Hash size the benchmark runs hashfleet with (its default).
HASH_SIZE = 8
#: Target from the issue: at most this share of files may differ ...
MAX_DIFF_SHARE = 0.01
#: ... and by at most this many bits each.
MAX_DIFF_BITS = 1


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def reference_hash(path: str) -> str:
    """Hex dhash of the full-resolution robust decode, or '' when the file cannot be hashed."""
    from tasks.decode import DecodeError, decode_robust
    from tasks.dhash import dhash_bits, pack_bits

    try:
        with open(path, "rb") as handle:
            gray = decode_robust(handle.read())
        return pack_bits(dhash_bits(gray, HASH_SIZE)).hex()
    except (OSError, DecodeError):
        return ""


def reference_hashes(fileset: FileSet, processes: int) -> dict[str, str]:
    with Pool(processes, initializer=_init_worker) as pool:
        hashes = pool.map(reference_hash, fileset.files, chunksize=16)
    return dict(zip(fileset.files, hashes, strict=True))


@dataclasses.dataclass
class Quality:
    compared: int
    differing: int
    max_bits: int
    histogram: dict[int, int]
    missing: int

    @property
    def share(self) -> float:
        return self.differing / self.compared if self.compared else 0.0

    @property
    def meets_target(self) -> bool:
        return self.share <= MAX_DIFF_SHARE and self.max_bits <= MAX_DIFF_BITS and not self.missing


def compare(reference: dict[str, str], csv_path: str) -> Quality:
    """Compare a hashfleet CSV (path, hash, error, size) with the reference hashes."""
    with open(csv_path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
        produced = {row["path"]: row["hash"] for row in csv.DictReader(handle)}
    bits: Counter[int] = Counter()
    missing = 0
    for path, ref in reference.items():
        got = produced.get(path, "")
        if not ref or not got:
            missing += (ref != got)
            continue
        bits[(int(ref, 16) ^ int(got, 16)).bit_count()] += 1
    compared = sum(bits.values())
    differing = compared - bits.get(0, 0)
    return Quality(compared, differing, max(bits) if bits else 0, dict(sorted(bits.items())), missing)

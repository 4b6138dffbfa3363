"""The hash algorithms a job can ask for and the hash sizes they accept. Light on purpose: the producer
imports this (to check options), not the decoders, so it never loads OpenCV.

A job computes one or more algorithms from one decode (`--algo dhash,phash`); the first named is its
primary hash: exact-duplicate groups, `--index` reuse and the `hash` output column are keyed on it, and
every further algorithm gets a column of its own.
"""

from __future__ import annotations

from collections.abc import Iterable

#: --algo choices; tasks/batch.py maps each to how it is computed.
#: dhash: robust difference hash (area-averaged); dhash-classic: bit-exact with the PyImageSearch recipe;
#: phash: DCT hash of the same decode (tasks/image/phash.py); phash-centre: phash of the picture with 4 % cut
#: from every border, which matches another picture's phash when one is a border crop of the other;
#: phash-regions: the phashes of eight regions of the picture (tasks/image/regions.py: without its frame,
#: centre square, middle 80 %, upper-left 75 %, turned 2 and 4 degrees either way), 8 bytes each, for rough edits;
#: pdq: Meta's PDQ (256 bits whatever the hash size) through the optional `pdqhash` package, from a full
#: colour decode (bench/RESULTS.md: it finds fewer edited copies than phash; offered for interoperability).
ALGORITHMS = ("dhash", "dhash-classic", "phash", "phash-centre", "phash-regions", "pdq")
#: Algorithms whose hashes have a fixed number of bytes, whatever --hash-size.
FIXED_BYTES = {"pdq": 32, "phash-regions": 64}
#: What a job computes unless told otherwise: what `hashfleet dupes` and `search` use by default
#: (bench/RESULTS.md, near-duplicate quality), and dhash first, as the primary hash.
DEFAULT_ALGOS = "dhash,phash,phash-centre,phash-regions"
#: Hash sizes must be multiples of this so a hash is a whole number of bytes and hex digits.
HASH_SIZE_STEP = 4
#: Largest hash size accepted (64x64 = 4096 bits).
MAX_HASH_SIZE = 64


def check_hash_size(hash_size: int) -> int:
    """`hash_size`, or ValueError saying which sizes are allowed."""
    if hash_size < HASH_SIZE_STEP or hash_size > MAX_HASH_SIZE or hash_size % HASH_SIZE_STEP:
        raise ValueError(f"hash size must be a multiple of {HASH_SIZE_STEP} in [4, {MAX_HASH_SIZE}]")
    return hash_size


def hash_bytes(hash_size: int) -> int:
    """Bytes one packed hash takes."""
    return hash_size * hash_size // 8


def parse_algos(spec: str | Iterable[str]) -> tuple[str, ...]:
    """The algorithms of `spec` ("dhash,phash" or a sequence), in order, each once; ValueError naming the
    choices for an unknown or empty one."""
    names = [n.strip() for n in spec.split(",")] if isinstance(spec, str) else [n.strip() for n in spec]
    unknown = [n for n in names if n not in ALGORITHMS]
    if unknown or not names:
        raise ValueError(f"unknown algorithm {(unknown or [''])[0]!r}; choose one or more of "
                         f"{', '.join(ALGORITHMS)} (comma-separated)")
    return tuple(dict.fromkeys(names))


def algo_bytes(algo: str, hash_size: int) -> int:
    """Bytes one hash of `algo` takes in a job of `hash_size`."""
    return FIXED_BYTES.get(algo) or hash_bytes(hash_size)


def row_bytes(algos: tuple[str, ...], hash_size: int) -> int:
    """Bytes of hashes per file for a job computing `algos`: one block per algorithm, in order."""
    return sum(algo_bytes(a, hash_size) for a in algos)


def column_name(algo: str) -> str:
    """The output column of a further algorithm (`phash-centre` -> `phash_centre`)."""
    return algo.replace("-", "_")

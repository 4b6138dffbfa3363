"""The hash algorithms a job can ask for and the hash sizes they accept. Light on purpose: the producer
imports this (to check options), not the decoders, so it never loads OpenCV."""

from __future__ import annotations

#: --algo choices; tasks/hashing.py maps each to its bytes-to-bits function.
ALGORITHMS = ("dhash", "dhash-classic")
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

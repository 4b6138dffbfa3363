"""What a distributed near-duplicate join puts on the wire and in Redis (pure: bytes and numpy, no Celery).

- The hashes every part reads: one blob per join, raw little-endian uint64 behind a header with their
  count and a CRC-32, so a truncated or overwritten key fails the part with a clear message instead of
  joining the wrong hashes (a part only makes sense on the exact array its plan was cut for).
- A part (tasks.nearjoin.join.Part) as a dict of plain ints, which msgpack and json both carry.
- A part's pairs: packed one int64 each (tasks.nearjoin.pairarrays.pack), sorted, delta-coded, byte-shuffled and
  zlib-compressed. Sorted pairs differ by small steps, so after shuffling most bytes are zero and a pair
  costs 1-3 bytes instead of 9 as separate columns.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib

import numpy as np

from tasks.nearjoin.join import Part
from tasks.nearjoin.pairarrays import pack

#: Version tag of part summaries and stored pairs, so a mixed-version cluster fails loudly.
JOIN_WIRE_VERSION = 1
#: First bytes of a stored hashes blob.
HASHES_MAGIC = b"HFJH"
#: Hashes blob header: magic, hash count, CRC-32 of the hash bytes (little-endian).
HASHES_HEADER = struct.Struct("<4sQI")
#: zlib level for packed pairs: level 1 gets most of the gain (they are delta-coded and shuffled first).
PAIRS_COMPRESSION = 1
#: Bytes of one packed pair.
PAIR_BYTES = 8


def pack_hashes(hashes: np.ndarray) -> bytes:
    """The stored form of a uint64 hashes array: header (count, CRC-32) plus the raw little-endian bytes."""
    raw = np.ascontiguousarray(hashes, dtype="<u8").tobytes()
    return HASHES_HEADER.pack(HASHES_MAGIC, len(hashes), zlib.crc32(raw)) + raw


def unpack_hashes(blob: bytes) -> np.ndarray:
    """The hashes array of :func:`pack_hashes` (read-only, no copy); ValueError if the blob is damaged."""
    if len(blob) < HASHES_HEADER.size:
        raise ValueError(f"stored hashes are {len(blob)} bytes, shorter than their header")
    magic, count, crc = HASHES_HEADER.unpack_from(blob)
    if magic != HASHES_MAGIC:
        raise ValueError(f"stored hashes start with {magic!r}, not {HASHES_MAGIC!r}: not written by hashfleet")
    raw = memoryview(blob)[HASHES_HEADER.size :]
    if len(raw) != count * 8:
        raise ValueError(f"stored hashes hold {len(raw)} bytes, their header says {count} hashes ({count * 8})")
    if zlib.crc32(raw) != crc:
        raise ValueError("stored hashes fail their CRC-32 check: the key was damaged or overwritten")
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64, copy=False)


def part_to_wire(part: Part) -> dict:
    """A part as a dict of plain ints."""
    return dataclasses.asdict(part)


def part_from_wire(fields: dict) -> Part:
    """The Part of :func:`part_to_wire`; ValueError for missing, extra or non-integer fields."""
    names = {field.name for field in dataclasses.fields(Part)}
    if set(fields) != names or not all(isinstance(value, int) for value in fields.values()):
        raise ValueError(f"a join part needs the integer fields {sorted(names)}, got {fields!r}")
    return Part(**fields)


def pack_pairs(a: np.ndarray, b: np.ndarray, distance: np.ndarray, n: int) -> bytes:
    """Pairs (a, b, distance) of indices into n hashes as compact bytes: see the module docstring."""
    packed = pack(a, b, distance, n)
    packed.sort()
    steps = np.diff(packed, prepend=np.int64(0)).astype("<i8")
    shuffled = steps.view(np.uint8).reshape(-1, PAIR_BYTES).T.tobytes()
    return zlib.compress(shuffled, PAIRS_COMPRESSION)


def unpack_pairs(blob: bytes) -> np.ndarray:
    """The sorted packed pairs (int64 each, tasks.nearjoin.pairarrays.pack) of :func:`pack_pairs`;
    tasks.nearjoin.pairarrays.unpack turns them, or several parts' concatenated, into (a, b, distance)."""
    shuffled = np.frombuffer(zlib.decompress(blob), np.uint8)
    if len(shuffled) % PAIR_BYTES:
        raise ValueError(f"packed pairs hold {len(shuffled)} bytes, not a multiple of {PAIR_BYTES}")
    steps = np.ascontiguousarray(shuffled.reshape(PAIR_BYTES, -1).T).view("<i8").ravel()
    return np.cumsum(steps, dtype=np.int64)

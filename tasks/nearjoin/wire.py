"""What a distributed near-duplicate join puts on the wire and in Redis (pure: bytes and numpy, no Celery).

- The hashes every part reads: one blob per join, raw little-endian uint64 behind a header with their
  count and a CRC-32, so a truncated or overwritten key fails the part with a clear message instead of
  joining the wrong hashes (a part only makes sense on the exact array its plan was cut for).
- The groups of a join that has them (tasks/nearjoin/groups.py: the video of each frame), one blob beside
  the hashes in the same form: little-endian int32 behind a header with their count and a CRC-32.
- A part (tasks.nearjoin.join.Part) as a dict of plain ints, which msgpack and json both carry, with the
  wire version and whether the join has groups. A worker of an older version refuses the dict's extra
  fields before it joins anything, so it can never return the pairs within a group that it would not drop.
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

#: Version tag of parts, part summaries and stored pairs, so a mixed-version cluster fails loudly.
JOIN_WIRE_VERSION = 2
#: First bytes of a stored hashes blob, and of a stored groups blob.
HASHES_MAGIC = b"HFJH"
GROUPS_MAGIC = b"HFJG"
#: Hashes (or groups) blob header: magic, count, CRC-32 of the array's bytes (little-endian).
HASHES_HEADER = struct.Struct("<4sQI")
#: zlib level for packed pairs: level 1 gets most of the gain (they are delta-coded and shuffled first).
PAIRS_COMPRESSION = 1
#: Bytes of one packed pair.
PAIR_BYTES = 8


def pack_hashes(hashes: np.ndarray) -> bytes:
    """The stored form of a uint64 hashes array: header (count, CRC-32) plus the raw little-endian bytes."""
    return _pack(HASHES_MAGIC, np.ascontiguousarray(hashes, dtype="<u8"))


def unpack_hashes(blob: bytes) -> np.ndarray:
    """The hashes array of :func:`pack_hashes` (read-only, no copy); ValueError if the blob is damaged."""
    return _unpack(blob, HASHES_MAGIC, "hashes", "<u8").astype(np.uint64, copy=False)


def pack_groups(groups: np.ndarray) -> bytes:
    """The stored form of a join's groups (int32, tasks.nearjoin.groups.as_groups), as :func:`pack_hashes`."""
    return _pack(GROUPS_MAGIC, np.ascontiguousarray(groups, dtype="<i4"))


def unpack_groups(blob: bytes) -> np.ndarray:
    """The groups array of :func:`pack_groups` (read-only, no copy); ValueError if the blob is damaged."""
    return _unpack(blob, GROUPS_MAGIC, "groups", "<i4").astype(np.int32, copy=False)


def _pack(magic: bytes, array: np.ndarray) -> bytes:
    raw = array.tobytes()
    return HASHES_HEADER.pack(magic, len(array), zlib.crc32(raw)) + raw


def _unpack(blob: bytes, expected: bytes, what: str, dtype: str) -> np.ndarray:
    if len(blob) < HASHES_HEADER.size:
        raise ValueError(f"stored {what} are {len(blob)} bytes, shorter than their header")
    magic, count, crc = HASHES_HEADER.unpack_from(blob)
    if magic != expected:
        raise ValueError(f"stored {what} start with {magic!r}, not {expected!r}: not written by hashfleet")
    raw = memoryview(blob)[HASHES_HEADER.size :]
    size = np.dtype(dtype).itemsize
    if len(raw) != count * size:
        raise ValueError(f"stored {what} hold {len(raw)} bytes, their header says {count} {what} ({count * size})")
    if zlib.crc32(raw) != crc:
        raise ValueError(f"stored {what} fail their CRC-32 check: the key was damaged or overwritten")
    return np.frombuffer(raw, dtype=dtype)


def part_to_wire(part: Part, grouped: bool = False) -> dict:
    """A part as a dict of plain ints: the wire version, 1 when the join has groups (else 0), the fields."""
    return {"v": JOIN_WIRE_VERSION, "grouped": int(grouped), **dataclasses.asdict(part)}


def part_from_wire(fields: dict) -> tuple[Part, bool]:
    """The (Part, grouped) of :func:`part_to_wire`; ValueError for another wire version, or missing, extra
    or non-integer fields."""
    if fields.get("v") != JOIN_WIRE_VERSION:
        raise ValueError(f"join part of wire version {fields.get('v', 1)!r}, this worker reads version "
                         f"{JOIN_WIRE_VERSION}: run the same hashfleet version on the producer and every worker")
    names = {field.name for field in dataclasses.fields(Part)} | {"v", "grouped"}
    if set(fields) != names or not all(isinstance(value, int) for value in fields.values()):
        raise ValueError(f"a join part needs the integer fields {sorted(names)}, got {fields!r}")
    part = Part(**{name: value for name, value in fields.items() if name not in ("v", "grouped")})
    return part, bool(fields["grouped"])


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

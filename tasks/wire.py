"""What comes back over the broker: a chunk's packed hash arrays, and the merge's duplicate groups (paths go
out as tasks/pathblob.py blobs).

Results are byte arrays aligned with the chunk's paths, never the paths themselves.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from tasks.algos import hash_bytes

#: Version tag in every chunk result, so a mixed-version cluster fails loudly instead of mis-merging.
WIRE_VERSION = 2
#: zlib level for packed results: level 1 gets most of the gain for a few microseconds per chunk.
WIRE_COMPRESSION = 1
#: File sizes saturate at this (uint32) on the wire.
MAX_WIRE_SIZE = 2**32 - 1


def empty_result(n: int, hash_size: int) -> ChunkResult:
    """A result for `n` files, all zero: hashes, codes (OK), sizes and mtimes."""
    return ChunkResult(hashes=np.zeros((n, hash_bytes(hash_size)), np.uint8), codes=np.zeros(n, np.uint8),
                       sizes=np.zeros(n, np.uint32), mtimes=np.zeros(n, np.uint32))


@dataclasses.dataclass
class ChunkResult:
    """Per file, in path order: hash (n x hash_bytes), error code (uint8), size in bytes (uint32) and
    mtime in whole seconds (uint32; what incremental runs compare), as the worker read them."""

    hashes: np.ndarray
    codes: np.ndarray
    sizes: np.ndarray
    mtimes: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.mtimes is None:
            self.mtimes = np.zeros(len(self.codes), np.uint32)

    def __len__(self) -> int:
        return len(self.codes)

    def put(self, index: int, packed: bytes | None, code: int, size: int, mtime: int) -> None:
        """Record one file (sizes and mtimes saturate at the uint32 range of the wire)."""
        if packed:
            self.hashes[index] = np.frombuffer(packed, np.uint8)
        self.codes[index] = code
        self.sizes[index] = min(max(size, 0), MAX_WIRE_SIZE)
        self.mtimes[index] = min(max(mtime, 0), MAX_WIRE_SIZE)

    def to_wire(self) -> dict:
        """One zlib stream of the four arrays: codes are nearly all zero and sibling files share mtimes,
        so a 64-bit hash costs about 14 bytes per file on the wire instead of 17."""
        raw = b"".join((self.hashes.tobytes(), self.codes.tobytes(), self.sizes.astype("<u4").tobytes(),
                        self.mtimes.astype("<u4").tobytes()))
        return {"v": WIRE_VERSION, "n": len(self), "packed": zlib.compress(raw, WIRE_COMPRESSION)}

    @classmethod
    def from_wire(cls, payload: dict, hash_bytes: int) -> ChunkResult:
        if payload.get("v") != WIRE_VERSION:
            raise ValueError(f"chunk result version {payload.get('v')!r}, expected {WIRE_VERSION}")
        n = payload["n"]
        raw = np.frombuffer(zlib.decompress(payload["packed"]), np.uint8)
        cut = np.cumsum([n * hash_bytes, n, 4 * n])
        hashes, codes, sizes, mtimes = np.split(raw, cut)
        return cls(hashes=hashes.reshape(n, hash_bytes), codes=codes, sizes=sizes.view("<u4"),
                   mtimes=mtimes.view("<u4"))


def pack_groups(groups: list[np.ndarray]) -> dict:
    """Groups as two little-endian uint64 arrays: all members, and where each group starts."""
    members = np.concatenate(groups) if groups else np.zeros(0, np.uint64)
    starts = np.cumsum([0] + [len(g) for g in groups[:-1]]) if groups else np.zeros(0)
    return {"members": members.astype("<u8").tobytes(), "starts": np.asarray(starts, "<u8").tobytes()}


def unpack_groups(packed: dict) -> list[np.ndarray]:
    """The groups :func:`pack_groups` packed."""
    members = np.frombuffer(packed["members"], "<u8")
    starts = np.frombuffer(packed["starts"], "<u8").astype(np.int64)
    return np.split(members, starts[1:]) if len(starts) else []

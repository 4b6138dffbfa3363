"""What comes back over the broker: a chunk's packed hash arrays (paths go out as tasks/pathblob.py blobs).

Results are byte arrays aligned with the chunk's paths, never the paths themselves.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

#: Version tag in every chunk result, so a mixed-version cluster fails loudly instead of mis-merging.
WIRE_VERSION = 4
#: zlib level for packed results: level 1 gets most of the gain for a few microseconds per chunk.
WIRE_COMPRESSION = 1
#: File sizes saturate at this (uint32) on the wire.
MAX_WIRE_SIZE = 2**32 - 1


#: Per-file columns after the hashes, in wire order, with their little-endian types.
COLUMNS = (("codes", "u1"), ("sizes", "<u4"), ("mtimes", "<u4"), ("quality", "u1"), ("widths", "<u4"),
           ("heights", "<u4"))
#: Quality byte of a file that has none (not hashed, or hashed only by an algorithm that does not score it).
NO_QUALITY = 255


def empty_result(n: int, row_bytes: int) -> ChunkResult:
    """A result for `n` files with `row_bytes` of hashes each (tasks.image.algos.row_bytes), all zero: hashes,
    codes (OK), sizes, mtimes and dimensions; quality unknown."""
    columns = {name: np.zeros(n, dtype) for name, dtype in COLUMNS}
    columns["quality"][:] = NO_QUALITY
    return ChunkResult(hashes=np.zeros((n, row_bytes), np.uint8), **columns)


@dataclasses.dataclass
class ChunkResult:
    """Per file, in path order: its hashes side by side (n x row bytes, one block per algorithm of the
    job), error code, size in bytes and mtime in whole seconds (what incremental runs compare) as the
    worker read the file, quality score (0-100, NO_QUALITY when none) and the image's width and height."""

    hashes: np.ndarray
    codes: np.ndarray
    sizes: np.ndarray
    mtimes: np.ndarray | None = None
    quality: np.ndarray | None = None
    widths: np.ndarray | None = None
    heights: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name, dtype in COLUMNS:
            if getattr(self, name) is None:
                setattr(self, name, np.full(len(self.codes), NO_QUALITY if name == "quality" else 0, dtype))

    def __len__(self) -> int:
        return len(self.codes)

    def copy(self) -> ChunkResult:
        """A writable copy (:meth:`from_wire` gives read-only views of the received bytes)."""
        return ChunkResult(**{f.name: np.array(getattr(self, f.name)) for f in dataclasses.fields(self)})

    def put(self, index: int, packed: bytes | None, code: int, size: int, mtime: int,
            quality: int = NO_QUALITY, width: int = 0, height: int = 0) -> None:
        """Record one file (sizes, mtimes and dimensions saturate at the uint32 range of the wire)."""
        if packed:
            self.hashes[index] = np.frombuffer(packed, np.uint8)
        self.codes[index] = code
        self.sizes[index] = min(max(size, 0), MAX_WIRE_SIZE)
        self.mtimes[index] = min(max(mtime, 0), MAX_WIRE_SIZE)
        self.quality[index] = quality
        self.widths[index] = min(width, MAX_WIRE_SIZE)
        self.heights[index] = min(height, MAX_WIRE_SIZE)

    def to_wire(self) -> dict:
        """One zlib stream of all the arrays: codes are nearly all zero and sibling files share mtimes and
        often dimensions, so they compress well."""
        raw = b"".join([self.hashes.tobytes()] + [getattr(self, name).astype(dtype).tobytes()
                                                  for name, dtype in COLUMNS])
        return {"v": WIRE_VERSION, "n": len(self), "packed": zlib.compress(raw, WIRE_COMPRESSION)}

    @classmethod
    def from_wire(cls, payload: dict, row_bytes: int) -> ChunkResult:
        """The result :meth:`to_wire` packed, for files of `row_bytes` of hashes each."""
        if payload.get("v") != WIRE_VERSION:
            raise ValueError(f"chunk result version {payload.get('v')!r}, expected {WIRE_VERSION}")
        n = payload["n"]
        raw = np.frombuffer(zlib.decompress(payload["packed"]), np.uint8)
        sizes = [n * row_bytes] + [n * np.dtype(dtype).itemsize for _, dtype in COLUMNS]
        if len(raw) != sum(sizes):
            raise ValueError(f"chunk result of {len(raw)} bytes, expected {sum(sizes)} for {n} files")
        parts = np.split(raw, np.cumsum(sizes)[:-1])
        columns = {name: part.view(dtype) for (name, dtype), part in zip(COLUMNS, parts[1:], strict=True)}
        return cls(hashes=parts[0].reshape(n, row_bytes), **columns)

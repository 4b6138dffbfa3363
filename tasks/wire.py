"""What crosses the broker: compact path blobs in, packed hash arrays out.

Paths travel as one string per chunk: NUL-joined file-system bytes (NUL cannot occur in a POSIX path,
so newlines and non-UTF-8 names survive), zlib-compressed (sibling paths share long prefixes), base64 so
json and msgpack carry it alike. Results are three byte arrays aligned with the chunk's paths.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import zlib

import numpy as np

#: Version tag in every chunk result, so a mixed-version cluster fails loudly instead of mis-merging.
WIRE_VERSION = 1
#: zlib level for path blobs: 6 is near the best ratio for paths at a fraction of level 9's cost.
PATH_COMPRESSION = 6
#: File sizes saturate at this (uint32) on the wire.
MAX_WIRE_SIZE = 2**32 - 1


def encode_paths(paths: list[str]) -> str:
    raw = b"\0".join(os.fsencode(p) for p in paths)
    return base64.b64encode(zlib.compress(raw, PATH_COMPRESSION)).decode("ascii")


def decode_paths(blob: str) -> list[str]:
    raw = zlib.decompress(base64.b64decode(blob))
    return [os.fsdecode(p) for p in raw.split(b"\0")] if raw else []


@dataclasses.dataclass
class ChunkResult:
    """Hashes (n x hash_bytes), error codes (n uint8) and file sizes (n uint32), in path order."""

    hashes: np.ndarray
    codes: np.ndarray
    sizes: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    def to_wire(self) -> dict:
        return {
            "v": WIRE_VERSION,
            "hashes": self.hashes.tobytes(),
            "codes": self.codes.tobytes(),
            "sizes": self.sizes.astype("<u4").tobytes(),
        }

    @classmethod
    def from_wire(cls, payload: dict, hash_bytes: int) -> ChunkResult:
        if payload.get("v") != WIRE_VERSION:
            raise ValueError(f"chunk result version {payload.get('v')!r}, expected {WIRE_VERSION}")
        codes = np.frombuffer(payload["codes"], np.uint8)
        hashes = np.frombuffer(payload["hashes"], np.uint8).reshape(len(codes), hash_bytes)
        sizes = np.frombuffer(payload["sizes"], "<u4")
        return cls(hashes=hashes, codes=codes, sizes=sizes)

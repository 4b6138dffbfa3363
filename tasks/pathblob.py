"""How a chunk's paths cross the broker: one string per chunk (no numpy here: the producer publishes
with this before it loads anything heavy).

NUL-joined file-system bytes (NUL cannot occur in a POSIX path, so newlines and non-UTF-8 names survive),
zlib-compressed (sibling paths share long prefixes), base64 so json and msgpack carry it alike.
"""

from __future__ import annotations

import base64
import os
import zlib

#: zlib level for path blobs: 6 is near the best ratio for paths at a fraction of level 9's cost.
PATH_COMPRESSION = 6


def encode_paths(paths: list[str]) -> str:
    raw = b"\0".join(os.fsencode(p) for p in paths)
    return base64.b64encode(zlib.compress(raw, PATH_COMPRESSION)).decode("ascii")


def decode_paths(blob: str) -> list[str]:
    raw = zlib.decompress(base64.b64decode(blob))
    return [os.fsdecode(p) for p in raw.split(b"\0")] if raw else []


#: Bytes inflated to find a blob's first path (longer than any path the system can open).
FIRST_PATH_BYTES = 8192


def first_path(blob: str) -> str:
    """The first path of a blob, inflating only its beginning (for previews)."""
    raw = zlib.decompressobj().decompress(base64.b64decode(blob), FIRST_PATH_BYTES)
    return os.fsdecode(raw.split(b"\0", 1)[0])

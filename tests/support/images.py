"""Fixture files: real images converted to other formats, and hostile inputs, written into a folder."""

from __future__ import annotations

import os
import struct
import zlib

import cv2
import numpy as np

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "images")


def fixture_paths() -> list[str]:
    return sorted(os.path.join(DATA, name) for name in os.listdir(DATA))


def photo(name: str = "butterfly.jpg") -> np.ndarray:
    """A real photo as BGR uint8."""
    return cv2.imread(os.path.join(DATA, name), cv2.IMREAD_COLOR)


def write(path: str, data: bytes) -> str:
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def encode(ext: str, image: np.ndarray, params: tuple = ()) -> bytes:
    ok, buf = cv2.imencode(ext, image, list(params))
    assert ok, ext
    return buf.tobytes()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression-bomb shape)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b""))


def pillow_bytes(image: np.ndarray, fmt: str, **options) -> bytes:
    """Encode with Pillow (for GIF, palette and other modes OpenCV does not write)."""
    import io

    from PIL import Image

    rgb = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    if fmt == "GIF":
        rgb = rgb.convert("P", palette=Image.ADAPTIVE)
    buf = io.BytesIO()
    rgb.save(buf, fmt, **options)
    return buf.getvalue()

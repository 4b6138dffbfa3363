"""PNG specifics: header facts read from the bytes, and the fast libspng decode where it is exact.

libspng (pyspng) decodes a 2.5 MP RGB PNG in 26-40 ms against 42-53 ms on OpenCV's libpng path
(`git show a134370:bench/RESULTS-archive.md`, "Decoders measured"), but pyspng drops palette transparency
and rejects gray+alpha, so it is used only where those cannot occur: 8-bit gray, RGB and RGBA images without
a tRNS chunk. Everything else goes through OpenCV.
"""

from __future__ import annotations

import struct

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IHDR = struct.Struct(">4sIIBB")  # chunk type, width, height, bit depth, color type
#: PNG color types libspng decodes as stored: gray (0), RGB (2) and RGBA (6).
_SPNG_COLOR_TYPES = (0, 2, 6)


def png_header(data: bytes) -> tuple[int, int, int, int] | None:
    """(width, height, bit depth, color type) from the IHDR chunk, or None if there is none."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 8 + 4 + _IHDR.size:
        return None
    kind, width, height, depth, color = _IHDR.unpack_from(data, 12)
    return (width, height, depth, color) if kind == b"IHDR" else None


#: Largest chunk length the PNG specification allows (2^31 - 1).
MAX_CHUNK_LENGTH = 2**31 - 1


def chunks_fit(data: bytes) -> bool:
    """True when every chunk of the PNG `data` (up to IEND, or the last whole chunk header) lies inside the
    file. OpenCV's PNG reader allocates a chunk's declared length before reading it, so one damaged length
    field in a 1 KB file would cost up to 4 GiB of memory; such a file cannot decode anyway."""
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"IEND":  # nothing to allocate: a file cut inside IEND keeps what its decoder makes of it
            break
        end = pos + 12 + length  # length, type, body, CRC
        if length > MAX_CHUNK_LENGTH or end > len(data):
            return False
        pos = end
    return True


def _has_transparency_chunk(data: bytes) -> bool:
    """tRNS must precede the first IDAT; search only the header part."""
    first_idat = data.find(b"IDAT")
    return data.find(b"tRNS", 0, first_idat if first_idat >= 0 else len(data)) >= 0


def decode_8bit_spng(data: bytes, header: tuple[int, int, int, int] | None) -> np.ndarray | None:
    """Gray (H, W), RGB (H, W, 3) or RGBA (H, W, 4) uint8 via libspng for 8-bit gray/RGB/RGBA PNGs
    without tRNS (`header`: what :func:`png_header` read from `data`); None for any other PNG or when
    libspng refuses the data (the caller then lets OpenCV decide, and report corruption)."""
    if header is None or header[2] != 8 or header[3] not in _SPNG_COLOR_TYPES:
        return None
    if _has_transparency_chunk(data):
        return None
    import pyspng

    try:
        return pyspng.load(data)
    except (RuntimeError, ValueError):
        return None

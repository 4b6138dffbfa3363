"""Hostile inputs beyond the basic ones: odd encodings, odd file types, odd paths and odd permissions.

Bytes builders take a BGR photo (support.images.photo()) and return file contents; path builders create
things on disk that a plain `open()` cannot (paths over PATH_MAX, devices).
"""

from __future__ import annotations

import ctypes
import io
import os
import stat
import struct

import cv2
import numpy as np

from support.images import encode, png_chunk

#: Linux limits: a path (with its NUL) and one name, in bytes.
PATH_MAX = os.pathconf("/", "PC_PATH_MAX")
NAME_MAX = os.pathconf("/", "PC_NAME_MAX")


def _pil(bgr: np.ndarray):
    from PIL import Image

    return Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def _save(image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def baseline_jpeg(bgr: np.ndarray) -> bytes:
    return _save(_pil(bgr), "JPEG", quality=92)


def progressive_jpeg(bgr: np.ndarray) -> bytes:
    return _save(_pil(bgr), "JPEG", quality=92, progressive=True)


def cmyk_jpeg(bgr: np.ndarray) -> bytes:
    """A CMYK JPEG as Pillow writes it (Adobe APP14 marker, inverted CMYK like Photoshop)."""
    return _save(_pil(bgr).convert("CMYK"), "JPEG", quality=92)


def exif_rotated_jpeg(bgr: np.ndarray) -> bytes:
    """Pixels stored sideways with EXIF Orientation 6 ("rotate 90 clockwise to view"): a viewer, and
    hashfleet, should see `bgr` upright."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    stored = _pil(bgr).transpose(Image.Transpose.ROTATE_90)  # counter-clockwise: undone by Orientation 6
    return _save(stored, "JPEG", quality=92, exif=exif.tobytes())


def huge_gray(width: int = 12000, height: int = 9000, cells: tuple[int, int] = (120, 90)) -> np.ndarray:
    """A `width` x `height` grayscale image made of flat blocks (a random `cells` grid scaled up): huge in
    pixels, small once compressed (flat 8x8 DCT blocks, long PNG runs)."""
    grid = np.random.default_rng(12).integers(0, 256, (cells[1], cells[0]), dtype=np.uint8)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_NEAREST)


def png_signature_only() -> bytes:
    return b"\x89PNG\r\n\x1a\n"


def png_bad_crc(png: bytes, kind: bytes = b"IDAT") -> bytes:
    """`png` with the CRC of its first `kind` chunk flipped."""
    data = bytearray(png)
    at = data.index(kind)
    length = struct.unpack(">I", data[at - 4:at])[0]
    data[at + 4 + length] ^= 0xFF
    return bytes(data)


def png_with_text(bgr: np.ndarray) -> bytes:
    """A PNG with an ancillary tEXt chunk right after IHDR (to damage that chunk's CRC)."""
    data = encode(".png", bgr)
    ihdr_end = 8 + 4 + 4 + 13 + 4
    return data[:ihdr_end] + png_chunk(b"tEXt", b"Comment\0hostile") + data[ihdr_end:]


def bmp_declaring(width: int, height: int) -> bytes:
    """A 10x10 BMP whose header claims `width` x `height` pixels."""
    data = bytearray(encode(".bmp", np.zeros((10, 10, 3), np.uint8)))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48">'
       b'<rect width="32" height="48" fill="black"/></svg>\n')


def heic_like() -> bytes:
    """An ISO-BMFF `ftyp` box with brand `heic` (what an iPhone HEIC starts with), then filler: OpenCV has
    no HEIC decoder, so a real HEIC and this stand-in are handled alike."""
    ftyp = b"ftyp" + b"heic" + b"\0\0\0\0" + b"mif1heic"
    return struct.pack(">I", 4 + len(ftyp)) + ftyp + bytes(200)


def avif(bgr: np.ndarray) -> bytes:
    return _save(_pil(bgr), "AVIF", quality=90)


def animated_webp(first: np.ndarray, second: np.ndarray) -> bytes:
    frames = [_pil(first), _pil(second)]
    return _save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0,
                 lossless=True)


def still_webp(bgr: np.ndarray) -> bytes:
    return _save(_pil(bgr), "WEBP", lossless=True)


def jpeg_with_trailing_garbage(jpeg: bytes) -> bytes:
    return jpeg + np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8).tobytes()


def char_device(path: str) -> str:
    """A character device node at `path` with /dev/zero's numbers (endless zeros if ever read)."""
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 5))
    return path


def deep_folder(base: str, length: int) -> str:
    """Create nested folders under `base` so that the returned absolute path is exactly `length` bytes."""
    path = os.path.abspath(base)
    os.makedirs(path, exist_ok=True)
    while (room := length - len(os.fsencode(path)) - 1) >= 0:
        path = os.path.join(path, "d" * (room if room <= NAME_MAX else 200))
        os.mkdir(path)
    assert len(os.fsencode(path)) == length, path
    return path


def write_at(folder: str, relative: list[str], data: bytes) -> str:
    """Write `data` at folder/relative[0]/.../relative[-1], creating the folders, through descriptors
    (openat), so the full path may exceed PATH_MAX. Returns the full path."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in relative[:-1]:
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open(relative[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=fd)
        with os.fdopen(out, "wb") as handle:
            handle.write(data)
    finally:
        os.close(fd)
    return os.path.join(folder, *relative)


# Capabilities that let root ignore file modes (linux/capability.h) and prctl's "drop from bounding set".
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _PR_CAPBSET_DROP = 1, 2, 24


def drop_file_permission_override() -> None:
    """preexec_fn: as root, drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so the
    command (and every child) obeys file modes like any user, even on root's own files. The tests run as
    root in CI, where chmod 000 would otherwise change nothing. A no-op for other users."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

"""Small JPEG thumbnails as `data:` URIs, made with OpenCV from file paths, a few at once.

A report over thousands of groups decodes thousands of images, so the work is spread over a few threads:
OpenCV releases the GIL while it decodes, resizes and encodes, so threads run in parallel on the cores with
nothing to pickle and no process to start (a spawned or forkserver child re-imports the caller's `__main__`,
and a forked one inherits the caller's threads' locks).

A file that cannot be read or decoded yields a :class:`Thumbnail` with the reason instead of a picture: one
bad file must never stop a report. Files are read with tasks/inputs/readfile.py, which refuses FIFOs and devices
before opening them (a report must not hang on a FIFO named like a photo), and decoded from bytes with
`cv2.imdecode` (OpenCV's `imread` on a non-UTF-8 `str` path can crash the process).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tasks.image.limits import prepare_decoders

prepare_decoders()  # before cv2 loads; keeps the limit `hashfleet report` set from HASHFLEET_MAX_PIXELS

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from tasks.errors import FileError, FileUnreadable  # noqa: E402
from tasks.image.decode import imdecode, jpeg_declared_size, sniff_format  # noqa: E402
from tasks.inputs.readfile import read_image_bytes  # noqa: E402

#: Longest side of a thumbnail, in pixels. The page shows them in a box this size: big enough to tell two
#: photos apart, small enough that one costs ~4 kB of base64 at JPEG_QUALITY (measured on tests/data/images).
THUMBNAIL_BOX = 120
#: JPEG quality of a thumbnail: 70 is where the blocking stops being visible at this size.
JPEG_QUALITY = 70
#: Threads making thumbnails at once (at most one per core): decoding is CPU-bound.
DEFAULT_WORKERS = 4
#: DCT reductions libjpeg-turbo decodes a JPEG at directly (skipping most of a full decode), largest first.
_JPEG_REDUCTIONS = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                    (2, cv2.IMREAD_REDUCED_COLOR_2))


@dataclass(frozen=True)
class Thumbnail:
    """A `data:image/jpeg;base64,...` URI, or None with `error` (a FileError slug) saying why not."""

    uri: str | None
    error: str = ""


def make_thumbnail(path: str, box: int = THUMBNAIL_BOX, quality: int = JPEG_QUALITY) -> Thumbnail:
    """The thumbnail of the image at `path`, fitted in `box` x `box` pixels (never enlarged)."""
    try:
        image = _decode_color(read_image_bytes(path), box)
    except FileUnreadable as exc:
        return Thumbnail(None, exc.code.reason)
    height, width = image.shape[:2]
    scale = min(box / width, box / height, 1.0)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # INTER_AREA averages every source pixel: a nearest or linear shrink by 10x or more aliases badly.
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1.0 else image
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return Thumbnail(None, FileError.INTERNAL.reason)
    return Thumbnail("data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii"))


def make_thumbnails(paths: Sequence[str], *, workers: int = DEFAULT_WORKERS) -> list[Thumbnail]:
    """One :class:`Thumbnail` per path, in order, made by up to `workers` threads (one per core at most)."""
    workers = max(1, min(workers, os.cpu_count() or 1, len(paths)))
    if workers == 1:
        return [make_thumbnail(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbnail") as pool:
        return list(pool.map(make_thumbnail, paths))


def _decode_color(data: bytes, box: int) -> np.ndarray:
    """8-bit BGR pixels of `data`, transparency composited on white. A JPEG is decoded at the largest DCT
    reduction that still covers `box`; EXIF orientation is applied (IMREAD_COLOR and its reduced modes)."""
    flags = cv2.IMREAD_UNCHANGED
    if sniff_format(data) == "jpeg":
        height, width = jpeg_declared_size(data)
        fits = min(width, height) and max(width, height) / box
        flags = next((f for r, f in _JPEG_REDUCTIONS if fits and r <= fits), cv2.IMREAD_COLOR)
    return _to_bgr8(imdecode(data, flags))


def _to_bgr8(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:  # 16-bit or float: scale to 8 bits for a preview
        peak = 65535.0 if image.dtype == np.uint16 else 1.0
        image = np.clip(image.astype(np.float32) * (255.0 / peak), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    channels = image.shape[2]
    if channels == 3:
        return image
    color = cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR) if channels == 2 else image[:, :, :3]
    # Composite on white: a cut-out's transparent pixels often store black, which would hide a dark subject.
    weight = image[:, :, -1:].astype(np.float32) / 255.0
    return (color * weight + 255.0 * (1.0 - weight)).astype(np.uint8)

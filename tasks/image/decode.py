"""Decode image bytes to the grayscale array a hash algorithm needs. Pure: bytes in, array or code out.

Files are read by the caller (tasks/inputs/readfile.py); OpenCV's `imdecode` is used rather than `imread`
because `imread` on a `str` path with non-UTF-8 bytes can crash the process in OpenCV 5.
"""

from __future__ import annotations

import dataclasses
import struct

from tasks.image.limits import prepare_decoders

#: The pixel limit OpenCV enforces on full decodes, applied here to an image's declared size before a reduced
#: decode. It is fixed when this module loads (tasks/image/limits.py): the worker app and the commands that
#: decode (`search`, `report`) set it from HASHFLEET_MAX_PIXELS first; a library user gets the default.
MAX_PIXELS = prepare_decoders()

import cv2  # noqa: E402  (after the limits above)
import numpy as np  # noqa: E402
import simplejpeg  # noqa: E402

from tasks.errors import FileError, FileUnreadable  # noqa: E402
from tasks.image.jpeg import dc_scans_only  # noqa: E402
from tasks.image.png import PNG_SIGNATURE, chunks_fit, decode_8bit_spng, png_header  # noqa: E402

#: Background that transparent pixels are composited on for the robust dhash (white, full scale).
#: A fixed background keeps a cut-out's silhouette; dropping alpha would expose whatever colour the
#: transparent pixels happen to store (often black), collapsing thousands of cut-outs onto few hashes.
BACKGROUND = 1.0

_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\x00\x00\x00\x0cjP  ", "jp2"),
    (b"\xff\x4f\xff\x51", "jp2"),
    (b"#?RADIANCE", "hdr"),
    (b"#?RGBE", "hdr"),
    (b"PF", "pfm"),
    (b"Pf", "pfm"),
)


def sniff_format(data: bytes) -> str | None:
    """Container format from the first bytes, or None when it is not one we know."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and (data[8:12] in (b"avif", b"avis") or b"avif" in data[16:40]):
        return "avif"  # a HEIF (major brand mif1/heic) is AVIF only if it lists the avif brand
    if len(data) > 2 and data[0:1] == b"P" and data[1:2] in b"1234567" and data[2:3].isspace():
        return "pnm"
    return None


def checked_png_header(data: bytes) -> tuple[int, int, int, int] | None:
    """:func:`tasks.image.png.png_header`, or FileUnreadable: TOO_MANY_PIXELS when it declares more than the pixel
    limit (libpng refuses a width or height over 2^31 - 1, or its own 1,000,000 limit, as a bad header before
    OpenCV's pixel check runs: without this such a PNG would be `corrupt` rather than too big), CORRUPT when
    a chunk's length runs past the end of the file (:func:`tasks.image.png.chunks_fit`). Not a PNG: None."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    header = png_header(data)
    if header is not None and header[0] * header[1] > MAX_PIXELS:
        raise FileUnreadable(FileError.TOO_MANY_PIXELS)
    if not chunks_fit(data):
        raise FileUnreadable(FileError.CORRUPT)
    return header


def imdecode(data: bytes, flags: int) -> np.ndarray:
    """`cv2.imdecode(data, flags)`, or FileUnreadable with the code to record (too many pixels, corrupt, not an
    image)."""
    checked_png_header(data)
    return _imdecode_checked(data, flags)


def _imdecode_checked(data: bytes, flags: int) -> np.ndarray:
    """:func:`imdecode` of data whose PNG header and chunk lengths were already checked."""
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:  # OpenCV asserts on sizes over OPENCV_IO_MAX_IMAGE_PIXELS / width limits
        message = str(exc)
        if "MAX_IMAGE" in message or "validateInputImageSize" in message:
            raise FileUnreadable(FileError.TOO_MANY_PIXELS) from None
        raise FileUnreadable(FileError.CORRUPT) from None
    if image is None or image.size == 0:
        known = sniff_format(data) is not None
        raise FileUnreadable(FileError.CORRUPT if known else FileError.NOT_AN_IMAGE)
    return image


def decode_classic(data: bytes) -> np.ndarray:
    """Exactly what `cv2.imread(path)` gives, then BGR->gray: alpha dropped, 16-bit scaled to 8-bit,
    EXIF orientation applied (IMREAD_COLOR does all three)."""
    image = imdecode(data, cv2.IMREAD_COLOR)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def decode_color(data: bytes) -> np.ndarray:
    """Full-size 8-bit BGR, as `cv2.imread(path)` gives it (EXIF orientation applied; alpha dropped)."""
    return imdecode(data, cv2.IMREAD_COLOR)


def decode_robust(data: bytes) -> np.ndarray:
    """Grayscale with transparency composited on :data:`BACKGROUND`: uint8 for 8-bit images (what a JPEG
    decoder yields anyway; the hash sums it exactly), float32 in [0, 1] for 16-bit and float images, which
    keep their precision.
    JPEG is decoded straight to gray (which also applies EXIF orientation); 8-bit gray, RGB and RGBA PNGs
    by libspng; the rest unchanged by OpenCV, to see alpha and full bit depth.
    """
    return _decode_robust(data, sniff_format(data))


def _decode_robust(data: bytes, fmt: str | None) -> np.ndarray:
    if fmt == "jpeg":
        return imdecode(data, cv2.IMREAD_GRAYSCALE)
    if fmt == "png":
        pixels = decode_8bit_spng(data, checked_png_header(data))
        if pixels is not None:
            return _gray8(pixels, rgb=True)
        image = _imdecode_checked(data, cv2.IMREAD_UNCHANGED)  # what libspng does not decode: 16-bit, palette
    else:
        image = imdecode(data, cv2.IMREAD_UNCHANGED)
    if image.dtype == np.uint8:
        return _gray8(image)
    return _gray_float(image)


def _gray8(image: np.ndarray, rgb: bool = False) -> np.ndarray:
    """uint8 BGR(A) (RGB(A) if `rgb`)/gray(+alpha) -> uint8 gray, alpha composited on white:
    255 - (255 - gray) * alpha."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels == 1:
        return image if image.ndim == 2 else image[:, :, 0]
    if channels == 2:
        gray, alpha = image[:, :, 0], image[:, :, 1]
    else:
        gray = cv2.cvtColor(image, _TO_GRAY[rgb, channels])
        if channels == 3:
            return gray
        alpha = image[:, :, 3]
    ink = cv2.multiply(cv2.bitwise_not(gray), np.ascontiguousarray(alpha), scale=1 / 255)  # (255-g)*a/255
    return cv2.bitwise_not(ink)


#: cvtColor code by (channels in RGB order?, channel count).
_TO_GRAY = {(False, 3): cv2.COLOR_BGR2GRAY, (False, 4): cv2.COLOR_BGRA2GRAY,
            (True, 3): cv2.COLOR_RGB2GRAY, (True, 4): cv2.COLOR_RGBA2GRAY}


def _gray_float(image: np.ndarray) -> np.ndarray:
    """16-bit or float images: the same composite in float32, keeping their precision."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    unit = _to_unit_float(image)
    if channels == 1:
        return unit if unit.ndim == 2 else unit[:, :, 0]
    if channels == 2:
        gray, alpha = unit[:, :, 0], unit[:, :, 1]
    else:
        gray = cv2.cvtColor(unit[:, :, :3], cv2.COLOR_BGR2GRAY)
        if channels == 3:
            return gray
        alpha = unit[:, :, 3]
    return gray * alpha + BACKGROUND * (1.0 - alpha)


def _to_unit_float(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image.astype(np.float32) * np.float32(1 / 255)
    if image.dtype == np.uint16:
        return image.astype(np.float32) * np.float32(1 / 65535)
    unit = image.astype(np.float32, copy=False)
    return np.nan_to_num(unit, nan=0.0, posinf=1.0, neginf=0.0)


@dataclasses.dataclass(frozen=True)
class Reduced:
    """A grayscale image decoded at 1/`scale` of its displayed `height` x `width` (scale 1: full size).

    Pixel i along an axis covers displayed pixels [i*scale, (i+1)*scale), clipped to the image: the last
    one may cover less (libjpeg rounds reduced sizes up), which the hash's area weights account for.
    """

    image: np.ndarray
    scale: int
    height: int
    width: int


def jpeg_declared_size(data: bytes) -> tuple[int, int]:
    """(height, width) a JPEG's header declares ((0, 0) when libjpeg-turbo's fast path cannot read it), or
    FileUnreadable(TOO_MANY_PIXELS) over the pixel limit: a reduced decode is checked by OpenCV only at its
    reduced size, so the declared one is checked here first."""
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return 0, 0
    if height * width > MAX_PIXELS:
        raise FileUnreadable(FileError.TOO_MANY_PIXELS)
    return height, width


def decode_robust_reduced(data: bytes, min_side: int) -> Reduced:
    """Like :func:`decode_robust`, but a JPEG is decoded by libjpeg-turbo directly at the largest DCT
    reduction (1/8, 1/4, 1/2) whose short side stays >= `min_side`: most of the work of a full decode
    (IDCT, upsampling, color conversion) is skipped. Other formats cannot be reduced while decoding."""
    fmt = sniff_format(data)
    if fmt == "jpeg":
        height, width = jpeg_declared_size(data)
        scale = next((s for s in _REDUCTIONS if min(height, width) // s >= min_side), 1)
        if scale > 1:
            image = _decode_dc_only(data) if scale == 8 else None
            if image is None:
                image = imdecode(data, _REDUCED_GRAY[scale])  # applies EXIF orientation, like IMREAD_GRAYSCALE
            if image.shape != (-(-height // scale), -(-width // scale)):
                height, width = width, height  # rotated 90 degrees by its EXIF orientation
            return Reduced(image, scale, height, width)
    image = _decode_robust(data, fmt)
    return Reduced(image, 1, *image.shape[:2])


def _decode_dc_only(data: bytes) -> np.ndarray | None:
    """1/8-scale gray of a progressive JPEG from its DC scans alone; None when not applicable."""
    try:
        dc = dc_scans_only(data)
    except (IndexError, struct.error):
        return None
    if dc is None:
        return None
    image = cv2.imdecode(np.frombuffer(dc, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    return image if image is not None and image.size else None


#: DCT reductions libjpeg-turbo decodes to directly, largest first.
_REDUCTIONS = (8, 4, 2)
_REDUCED_GRAY = {8: cv2.IMREAD_REDUCED_GRAYSCALE_8, 4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
                 2: cv2.IMREAD_REDUCED_GRAYSCALE_2}

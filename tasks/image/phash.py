"""DCT perceptual hash and image quality: pure functions over an already-decoded image (no files, no Celery).

`phash` is imagehash's `phash` recipe on hashfleet's exact area-averaged thumbnail: a (4 * hash_size)
square grey thumbnail, its 2-D DCT-II, and the (hash_size x hash_size) lowest-frequency block compared with
the block's own median. The DC term is part of the block and of the median, as in imagehash (so the first
bit is almost always set). Given the same thumbnail the bits equal imagehash's: cv2.dct is orthonormal,
scipy.fftpack's DCT (which imagehash uses) is not, and the two differ by a factor sqrt(2) on the first row
and column of coefficients, which :func:`phash_bits` restores. Thumbnails differ, though: imagehash resizes
with Pillow's Lanczos filter from a full decode, hashfleet takes the exact area average of the same reduced
decode as dhash (:func:`thumbnails`), so a few bits differ between the two on the same file (0-2 of 64 on
the plain photos of tests/data/images).

Bit convention as in tasks/image/dhash.py: row-major, first bit most significant, packed by `pack_bits`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

from tasks.image.algos import check_hash_size
from tasks.image.dhash import area_grid

if TYPE_CHECKING:
    from tasks.image.decode import Reduced

#: Thumbnail side per hash bit row (imagehash's `highfreq_factor`): the DCT sees 4x the hash's frequencies.
HIGHFREQ_FACTOR = 4
#: Side of the thumbnail :func:`quality` is defined on (the phash thumbnail at hash size 8).
QUALITY_GRID = 32
#: Steps between adjacent thumbnail cells count in whole percent of full scale, rounded down (PDQ's
#: integer division): smooth gradients, sky and sensor noise, whose steps stay under 1 %, add nothing.
QUALITY_STEP_PERCENT = 100
#: Summed whole-percent steps of the 1,984 neighbour pairs of a 32x32 thumbnail per quality point: PDQ's
#: divisor, 90 for the 8,064 pairs of its 64x64 grid, scaled to our pair count (bench/NEAR_QUALITY.md: our
#: quality correlates 0.83 with PDQ's on the benchmark photos).
QUALITY_DIVISOR = 22
#: Highest quality (PDQ's clamp).
MAX_QUALITY = 100
#: Images of lower quality are "low information": their hash bits are mostly decided by noise, so they are
#: flagged and kept out of near-duplicate pairs. Chosen in bench/NEAR_QUALITY.md.
LOW_QUALITY = 10
#: Share of each side cut away for the centre-crop hash (4 % per border, the issue's border crop).
CENTRE_MARGIN = 0.04
#: Decodes up to this many pixels are averaged through an integral image (:func:`thumbnails`): its int32
#: sums of 8-bit pixels are exact up to 2**31 / 255 pixels. Larger ones (full decodes of huge PNGs) use
#: tasks/image/dhash.py's run sums, which need no image-sized buffer.
INTEGRAL_PIXELS = 2**23
#: Relative weight of the first row and column of cv2.dct's orthonormal DCT-II in scipy.fftpack's
#: unnormalised one (imagehash's), up to a common factor that does not change a median comparison.
_FIRST_ROW_WEIGHT = math.sqrt(2)


def thumbnails(reduced: Reduced, side: int, margins: tuple[float, ...] = (0.0,)) -> list[np.ndarray]:
    """(side x side) float64 grey thumbnails in [0, 1], one per margin: the exact area average of the image
    with `margin` of each side cut from every border (0: the whole image), from the reduced decode.

    Decodes up to INTEGRAL_PIXELS go through one integral image shared by every margin (one pass over the
    pixels, then (side + 1)^2 interpolated lookups per thumbnail, instead of a matrix product costing side
    multiply-adds per pixel or a run-sum pass per thumbnail). Its sums are exact integers for 8-bit images,
    so no BLAS summation order can move a bit. Larger decodes use tasks/image/dhash.py's run sums, the margin
    rounded to whole pixels (under 1/2000 of a side at that size).
    """
    image, scale = reduced.image, reduced.scale
    if image.size > INTEGRAL_PIXELS:
        return [_cropped_grid(reduced, side, margin) for margin in margins]
    depth = cv2.CV_32S if image.dtype == np.uint8 else cv2.CV_64F
    integral = cv2.integral(image, sdepth=depth)
    # All margins in one gather: numpy's per-call overhead, not arithmetic, is what costs at this size.
    rows = [_axis(reduced.height, margin, side, image.shape[0], scale) for margin in margins]
    cols = [_axis(reduced.width, margin, side, image.shape[1], scale) for margin in margins]
    (y0, fy, heights), (x0, fx, widths) = (
        [np.stack(part) for part in zip(*axis, strict=True)] for axis in (rows, cols)
    )
    corners = _corners(integral, y0, fy, x0, fx)
    means = np.diff(np.diff(corners, axis=1), axis=2) / (heights[:, :, None] * widths[:, None, :])
    if image.dtype == np.uint8:
        means *= 1 / 255
    return list(means)


def _corners(integral: np.ndarray, y0: np.ndarray, fy: np.ndarray, x0: np.ndarray, fx: np.ndarray) -> np.ndarray:
    """(margins x rows x cols) values of the integral image at each margin's edge grid, from (margins x edges)
    pixel indices and fractions per axis. The integral is bilinear inside a pixel, so this is exact."""
    width = integral.shape[1]
    flat = integral.ravel()
    index = y0[:, :, None] * width + x0[:, None, :]  # flat indices: far cheaper than 2-D fancy indexing
    top_left, bottom_left = flat[index], flat[index + width]
    top_right, bottom_right = flat[index + 1], flat[index + width + 1]
    fy = fy[:, :, None]
    left = top_left + (bottom_left - top_left) * fy
    right = top_right + (bottom_right - top_right) * fy
    return left + (right - left) * fx[:, None, :]


def _axis(extent: int, margin: float, cells: int, pixels: int, scale: int):
    """Cell edges of an axis in reduced pixels: (pixel each edge falls in, fraction into it, cell lengths).

    Reduced pixel i covers displayed pixels [i * scale, (i + 1) * scale); the last one may stop short (libjpeg
    rounds reduced sizes up), and no edge goes past the image, so it needs no special case.
    """
    start = extent * margin / scale
    edges = start + np.arange(cells + 1) * ((extent / scale - 2 * start) / cells)
    first = np.minimum(edges.astype(np.intp), pixels - 1)
    return first, edges - first, np.diff(edges)


def _cropped_grid(reduced: Reduced, side: int, margin: float) -> np.ndarray:
    image, scale = reduced.image, reduced.scale
    rows, cols = image.shape[:2]
    top, left = round(margin * rows), round(margin * cols)
    height = min((rows - top) * scale, reduced.height) - top * scale
    width = min((cols - left) * scale, reduced.width) - left * scale
    return area_grid(image[top : rows - top, left : cols - left], scale, height, width, side, side)


def phash_bits(thumb: np.ndarray, hash_size: int = 8) -> np.ndarray:
    """(hash_size x hash_size) bools: the low-frequency DCT block of `thumb` above its median.

    `thumb` is a square grey float array with an even side of at least `hash_size`, normally
    HIGHFREQ_FACTOR * hash_size from :func:`thumbnails`. The DC term is included, as in imagehash.
    """
    check_hash_size(hash_size)
    if thumb.ndim != 2 or thumb.shape[0] != thumb.shape[1] or thumb.shape[0] < hash_size or thumb.shape[0] % 2:
        raise ValueError(f"thumbnail must be a square 2-D array with an even side >= {hash_size}, not {thumb.shape}")
    block = cv2.dct(np.asarray(thumb, np.float64))[:hash_size, :hash_size]
    block[0, :] *= _FIRST_ROW_WEIGHT
    block[:, 0] *= _FIRST_ROW_WEIGHT
    ranked = np.sort(block, axis=None)  # the median, without np.median's overhead (a third of this function)
    middle = ranked.size // 2
    return block > (ranked[middle - 1] + ranked[middle]) / 2


def quality(thumb: np.ndarray) -> int:
    """0..100: how much detail a 32x32 thumbnail holds (PDQ's quality metric on hashfleet's thumbnail).

    quality = min(100, sum(floor(100 * |a - b|)) // 22) over every pair (a, b) of horizontally or
    vertically adjacent cells, values in [0, 1]. A flat or smoothly shaded image scores 0; steps under 1 %
    of full scale (noise, gentle gradients) count nothing. Below :data:`LOW_QUALITY` an image is flagged.
    """
    if thumb.shape != (QUALITY_GRID, QUALITY_GRID):
        raise ValueError(f"quality is defined on a {QUALITY_GRID}x{QUALITY_GRID} thumbnail, not {thumb.shape}")
    steps = np.concatenate([np.abs(np.diff(thumb, axis=0)).ravel(), np.abs(np.diff(thumb, axis=1)).ravel()])
    total = int(np.floor(steps * QUALITY_STEP_PERCENT).sum())
    return min(MAX_QUALITY, total // QUALITY_DIVISOR)


def is_low_information(score: int) -> bool:
    """True for a quality under :data:`LOW_QUALITY`: keep the image out of near-duplicate pairs."""
    return score < LOW_QUALITY

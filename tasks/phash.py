"""DCT perceptual hash and image quality: pure functions over an already-decoded image (no files, no Celery).

`phash` is imagehash's `phash` recipe on hashfleet's exact area-averaged thumbnail: a (4 * hash_size)
square grey thumbnail, its 2-D DCT-II, and the (hash_size x hash_size) lowest-frequency block compared with
the block's own median. The DC term is part of the block and of the median, as in imagehash (so the first
bit is almost always set). Given the same thumbnail the bits equal imagehash's: cv2.dct is orthonormal,
scipy.fftpack's DCT (which imagehash uses) is not, and the two differ by a factor sqrt(2) on the first row
and column of coefficients, which :func:`phash_bits` restores. Thumbnails differ, though: imagehash resizes
with Pillow's Lanczos filter from a full decode, hashfleet area-averages the same reduced decode as dhash
(tasks/dhash.py :func:`area_grid`), so a few bits differ between the two on the same file.

Bit convention as in tasks/dhash.py: row-major, first bit most significant, packed by `pack_bits`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

from tasks.dhash import area_grid
from tasks.spec import check_hash_size

if TYPE_CHECKING:
    from tasks.decode import Reduced

#: Thumbnail side per hash bit row (imagehash's `highfreq_factor`): the DCT sees 4x the hash's frequencies.
HIGHFREQ_FACTOR = 4
#: Side of the thumbnail :func:`quality` is defined on (the phash thumbnail at hash size 8).
QUALITY_GRID = 32
#: Steps between adjacent thumbnail cells count in whole percent of full scale, rounded down (PDQ's
#: integer division): smooth gradients, sky and sensor noise, whose steps stay under 1 %, add nothing.
QUALITY_STEP_PERCENT = 100
#: Summed whole-percent steps of the 1,984 neighbour pairs of a 32x32 thumbnail per quality point. PDQ
#: divides its 64x64 sum (8,064 pairs) by 90; on 4x fewer pairs this gives about PDQ's scale.
QUALITY_DIVISOR = 22
#: Highest quality (PDQ's clamp).
MAX_QUALITY = 100
#: Images of lower quality are "low information": their hash bits are mostly decided by noise, so they are
#: flagged and kept out of near-duplicate pairs. Chosen in bench/NEAR_QUALITY.md.
LOW_QUALITY = 10
#: Share of each side cut away for the centre-crop hash (4 % per border, the issue's border crop).
CENTRE_MARGIN = 0.04
#: Relative weight of the first row and column of cv2.dct's orthonormal DCT-II in scipy.fftpack's
#: unnormalised one (imagehash's), up to a common factor that does not change a median comparison.
_FIRST_ROW_WEIGHT = math.sqrt(2)


def thumbnail(reduced: Reduced, side: int) -> np.ndarray:
    """(side x side) float64 grey thumbnail in [0, 1]: the exact area average of the reduced decode."""
    return area_grid(reduced.image, reduced.scale, reduced.height, reduced.width, side, side)


def centre_thumbnail(reduced: Reduced, side: int, margin: float = CENTRE_MARGIN) -> np.ndarray:
    """Like :func:`thumbnail` for the centre of the image, `margin` of each side cut from every border.

    The cut is rounded to whole reduced pixels (the area average stays exact and needs no new geometry):
    at the usual >= 72 px short side of a reduced decode that moves the margin by at most 0.7 %.
    """
    image, scale = reduced.image, reduced.scale
    rows, cols = image.shape[:2]
    top, left = round(margin * rows), round(margin * cols)
    height = min((rows - top) * scale, reduced.height) - top * scale
    width = min((cols - left) * scale, reduced.width) - left * scale
    return area_grid(image[top : rows - top, left : cols - left], scale, height, width, side, side)


def phash_bits(thumb: np.ndarray, hash_size: int = 8) -> np.ndarray:
    """(hash_size x hash_size) bools: the low-frequency DCT block of `thumb` above its median.

    `thumb` is a square grey float array with an even side of at least `hash_size`, normally
    HIGHFREQ_FACTOR * hash_size from :func:`thumbnail`. The DC term is included, as in imagehash.
    """
    check_hash_size(hash_size)
    if thumb.ndim != 2 or thumb.shape[0] != thumb.shape[1] or thumb.shape[0] < hash_size or thumb.shape[0] % 2:
        raise ValueError(f"thumbnail must be a square 2-D array with an even side >= {hash_size}, not {thumb.shape}")
    block = cv2.dct(np.asarray(thumb, np.float64))[:hash_size, :hash_size]
    block[0, :] *= _FIRST_ROW_WEIGHT
    block[:, 0] *= _FIRST_ROW_WEIGHT
    return block > np.median(block)


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

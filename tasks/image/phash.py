"""DCT perceptual hash and image quality: pure functions over an already-decoded image (no files, no Celery).

`phash` is imagehash's `phash` recipe on hashfleet's exact area-averaged thumbnail: a (4 * hash_size)
square grey thumbnail, its 2-D DCT-II, and the (hash_size x hash_size) lowest-frequency block compared with
the block's own median. The DC term is part of the block and of the median, as in imagehash (so the first
bit is almost always set). Given the same thumbnail the bits equal imagehash's: the block is computed with
the same unnormalised DCT-II basis scipy.fftpack uses (:func:`phash_bits_of`). Thumbnails differ, though:
imagehash resizes with Pillow's Lanczos filter from a full decode, hashfleet takes the exact area average of
the same reduced decode as dhash (tasks/image/areas.py), so a few bits differ between the two on the same
file (0-2 of 64 on the plain photos of tests/data/images).

Bit convention as in tasks/image/dhash.py: row-major, first bit most significant, packed by `pack_bits`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from tasks.image.algos import MAX_HASH_SIZE, check_hash_size
from tasks.image.areas import Grid, area_grids

if TYPE_CHECKING:
    from tasks.image.decode import Reduced

#: Thumbnail side per hash bit row (imagehash's `highfreq_factor`): the DCT sees 4x the hash's frequencies.
HIGHFREQ_FACTOR = 4
#: DCT coefficients smaller than this are rounding, not image content, and count as 0: a mirror-symmetric
#: picture has exactly zero odd frequencies, which arithmetic leaves as ~1e-17 of either sign; without the
#: snap their bits (a third of such a hash) would depend on summation order, i.e. on the BLAS build.
ROUNDING_TOLERANCE = 2.0**-20
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

def thumbnail_grids(side: int, margins: tuple[float, ...] = (0.0,)) -> tuple[Grid, ...]:
    """The (side x side) grids of :func:`thumbnails`, one per margin."""
    return tuple(Grid(side, side, margin) for margin in margins)


def thumbnails(reduced: Reduced, side: int, margins: tuple[float, ...] = (0.0,)) -> list[np.ndarray]:
    """(side x side) float64 grey thumbnails in [0, 1], one per margin: the exact area average of the image
    with `margin` of each side cut from every border (0: the whole image), from the reduced decode
    (tasks/image/areas.py)."""
    return area_grids(reduced.image, reduced.scale, reduced.height, reduced.width, thumbnail_grids(side, margins))


def phash_bits(thumb: np.ndarray, hash_size: int = 8) -> np.ndarray:
    """(hash_size x hash_size) bools: the low-frequency DCT block of `thumb` above its median.

    `thumb` is a square grey float array with an even side of at least `hash_size`, normally
    HIGHFREQ_FACTOR * hash_size from :func:`thumbnails`. The DC term is included, as in imagehash.
    """
    return phash_bits_of([thumb], hash_size)[0]


def phash_bits_of(thumbs: list[np.ndarray], hash_size: int = 8) -> np.ndarray:
    """:func:`phash_bits` of several thumbnails of one side at once, as an (n x hash_size x hash_size) array.

    Only the hash_size lowest frequencies are computed, as two small products with the DCT-II basis
    (imagehash's unnormalised one: no first-row weighting needed), for all thumbnails together: on a small
    image the per-call overhead of a full cv2.dct per thumbnail cost more than the arithmetic.
    """
    check_hash_size(hash_size)
    try:
        stack = np.array(thumbs, dtype=np.float64)  # np.array, not np.stack: a third of the time on 10 thumbnails
    except ValueError:  # thumbnails of different shapes
        stack = None
    side = stack.shape[-1] if stack is not None else -1
    if stack is None or stack.ndim != 3 or stack.shape[1] != side or side < hash_size or side % 2:
        raise ValueError(f"thumbnails must be square 2-D arrays of one even side >= {hash_size}, not "
                         f"{[np.shape(t) for t in thumbs]}")
    basis = _dct_basis(side, hash_size)
    blocks = basis @ stack @ basis.T
    blocks[np.abs(blocks) < ROUNDING_TOLERANCE] = 0.0
    ranked = np.sort(blocks.reshape(len(thumbs), -1), axis=1)  # the median, without np.median's overhead
    middle = hash_size * hash_size // 2
    return blocks > ((ranked[:, middle - 1] + ranked[:, middle]) / 2)[:, None, None]


@functools.lru_cache(maxsize=MAX_HASH_SIZE)
def _dct_basis(side: int, hash_size: int) -> np.ndarray:
    """(hash_size x side) cos(pi k (2 i + 1) / (2 side)): the first rows of the unnormalised DCT-II matrix."""
    k, i = np.mgrid[0:hash_size, 0:side]
    basis = np.cos(np.pi * k * (2 * i + 1) / (2 * side))
    basis.flags.writeable = False  # shared through the cache
    return basis


def quality(thumb: np.ndarray) -> int:
    """0..100: how much detail a 32x32 thumbnail holds (PDQ's quality metric on hashfleet's thumbnail).

    quality = min(100, sum(floor(100 * |a - b|)) // 22) over every pair (a, b) of horizontally or
    vertically adjacent cells, values in [0, 1]. A flat or smoothly shaded image scores 0; steps under 1 %
    of full scale (noise, gentle gradients) count nothing. Below :data:`LOW_QUALITY` an image is flagged.
    """
    if thumb.shape != (QUALITY_GRID, QUALITY_GRID):
        raise ValueError(f"quality is defined on a {QUALITY_GRID}x{QUALITY_GRID} thumbnail, not {thumb.shape}")
    total = int(_whole_percent_steps(thumb[1:] - thumb[:-1]) + _whole_percent_steps(thumb[:, 1:] - thumb[:, :-1]))
    return min(MAX_QUALITY, total // QUALITY_DIVISOR)


def _whole_percent_steps(steps: np.ndarray) -> float:
    """sum(floor(100 * |step|)): exact in float64 (whole numbers far under 2**53)."""
    np.abs(steps, out=steps)
    steps *= QUALITY_STEP_PERCENT
    return np.floor(steps, out=steps).sum()


def is_low_information(score: int) -> bool:
    """True for a quality under :data:`LOW_QUALITY`: keep the image out of near-duplicate pairs."""
    return score < LOW_QUALITY

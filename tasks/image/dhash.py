"""Difference hashes: pure functions over an already-decoded grayscale image (no files, no Celery).

Bit convention everywhere in hashfleet (the imagehash one): the (hash_size x hash_size) boolean grid
`right > left`, read row-major, first bit most significant. Hex is that bit string, 4 bits per digit.
"""

from __future__ import annotations

import cv2
import numpy as np

from tasks.image.algos import check_hash_size
from tasks.image.areas import Grid, area_grids

#: Robust dhash: differences below this (in units of full scale) are float rounding of the area
#: average (a flat image comes out with ~1e-7 wobbles), not image content, and count as "not brighter".
ROUNDING_TOLERANCE = 2.0**-20


def _diff_bits(small: np.ndarray) -> np.ndarray:
    return small[:, 1:] > small[:, :-1]


def dhash_classic_bits(gray: np.ndarray, hash_size: int = 8) -> np.ndarray:
    """The classic OpenCV recipe: cv2.resize with its default bilinear filter, on the uint8 gray image.

    Bit-exact with the PyImageSearch `dhash()` (which sums 2**i over the same grid, i.e. the
    reverse bit order; see :func:`to_reversed_int`).
    """
    check_hash_size(hash_size)
    return _diff_bits(cv2.resize(gray, (hash_size + 1, hash_size)))


def dhash_bits(gray: np.ndarray, hash_size: int = 8) -> np.ndarray:
    """Robust dhash: the image area-averaged onto the grid (what cv2.INTER_AREA computes), exactly.

    Area averaging uses every source pixel, so rescaling or recompressing the image moves few bits;
    bilinear samples only a few pixels per cell and jumps with aliasing. `gray` is uint8 (0..255) or
    float in [0, 1].
    """
    return dhash_bits_reduced(gray, 1, gray.shape[0], gray.shape[1], hash_size)


def dhash_bits_reduced(image: np.ndarray, scale: int, height: int, width: int, hash_size: int = 8):
    """Robust dhash of an image decoded at 1/`scale` of `height` x `width` (scale 1: full size): the area
    averages of :func:`dhash_bits`, from the reduced pixels with exact cell geometry
    (tasks/image/areas.py)."""
    return dhash_of_grid(area_grids(image, scale, height, width, (dhash_grid(hash_size),))[0])


def dhash_grid(hash_size: int) -> Grid:
    """The grid a robust dhash of `hash_size` compares: one more column than rows."""
    return Grid(check_hash_size(hash_size), hash_size + 1)


def dhash_of_grid(small: np.ndarray) -> np.ndarray:
    """Robust dhash bits of the area averages of :func:`dhash_grid`: each cell brighter than its left
    neighbour by more than float rounding."""
    return small[:, 1:] - small[:, :-1] > ROUNDING_TOLERANCE


def pack_bits(bits: np.ndarray) -> bytes:
    """Row-major, first bit most significant (vectorised; no per-bit Python loop)."""
    return np.packbits(bits.ravel()).tobytes()


def to_reversed_int(packed: bytes) -> int:
    """Integer with the first grid bit as the *least* significant bit: the original script's order."""
    bits = np.unpackbits(np.frombuffer(packed, np.uint8))
    return int.from_bytes(np.packbits(bits[::-1]).tobytes(), "big")

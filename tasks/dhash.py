"""Difference hashes: pure functions over an already-decoded grayscale image (no files, no Celery).

Bit convention everywhere in hashfleet (the imagehash one): the (hash_size x hash_size) boolean grid
`right > left`, read row-major, first bit most significant. Hex is that bit string, 4 bits per digit.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from tasks.spec import check_hash_size

#: Image geometries whose area weights are kept (photo collections repeat a few sizes).
WEIGHTS_CACHE = 256
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
    """Robust dhash: the image area-averaged onto the grid (what cv2.INTER_AREA computes), summed in float64.

    Area averaging uses every source pixel, so rescaling or recompressing the image moves few bits;
    bilinear samples only a few pixels per cell and jumps with aliasing. Float32 avoids the rounding
    ties that uint8 averaging would create.
    """
    return dhash_bits_reduced(gray, 1, gray.shape[0], gray.shape[1], hash_size)


@functools.lru_cache(maxsize=WEIGHTS_CACHE)
def area_weights(pixels: int, scale: int, extent: int, cells: int) -> np.ndarray:
    """(cells x pixels) box-filter weights: pixel i covers [i*scale, min((i+1)*scale, extent)) of an axis
    `extent` long, cut into `cells` equal cells; each row sums to 1. With scale 1 this is INTER_AREA."""
    starts = np.arange(pixels, dtype=np.float64) * scale
    ends = np.minimum(starts + scale, extent)
    edges = np.arange(cells + 1, dtype=np.float64) * (extent / cells)
    overlap = np.minimum(ends[None, :], edges[1:, None]) - np.maximum(starts[None, :], edges[:-1, None])
    weights = np.clip(overlap, 0.0, None)
    weights = weights / weights.sum(axis=1, keepdims=True)
    weights.flags.writeable = False  # shared through the cache
    return weights


def dhash_bits_reduced(image: np.ndarray, scale: int, height: int, width: int, hash_size: int = 8):
    """Robust dhash of an image decoded at 1/`scale` of `height` x `width` (scale 1: full size): the area
    averages of :func:`dhash_bits`, from the reduced pixels with exact cell geometry.

    Two small matrix products (grid rows x H, then W x grid columns) do the box filter; for a large
    image this is ~8x faster than cv2.resize(INTER_AREA) to a 9x8 grid, which takes a generic slow path
    for such extreme reductions (bench/RESULTS.md).
    """
    check_hash_size(hash_size)
    rows = area_weights(image.shape[0], scale, height, hash_size)
    cols = area_weights(image.shape[1], scale, width, hash_size + 1)
    # float64 sums: with float32, BLAS's summation order (thread count, build) moved exact ties by
    # ~1.5e-6, above ROUNDING_TOLERANCE, so the same flat image hashed differently on two machines.
    small = (rows @ image.astype(np.float64)) @ cols.T
    return small[:, 1:] - small[:, :-1] > ROUNDING_TOLERANCE


def pack_bits(bits: np.ndarray) -> bytes:
    """Row-major, first bit most significant (vectorised; no per-bit Python loop)."""
    return np.packbits(bits.ravel()).tobytes()


def to_hex(packed: bytes) -> str:
    return packed.hex()


def to_reversed_int(packed: bytes) -> int:
    """Integer with the first grid bit as the *least* significant bit: the original script's order."""
    bits = np.unpackbits(np.frombuffer(packed, np.uint8))
    return int.from_bytes(np.packbits(bits[::-1]).tobytes(), "big")


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex hashes of the same size."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


"""Difference hashes: pure functions over an already-decoded grayscale image (no files, no Celery).

Bit convention everywhere in hashfleet (the imagehash one): the (hash_size x hash_size) boolean grid
`right > left`, read row-major, first bit most significant. Hex is that bit string, 4 bits per digit.
"""

from __future__ import annotations

import functools
import itertools

import cv2
import numpy as np

from tasks.image.algos import check_hash_size

#: Axis geometries whose runs of equal weight are kept (a few hundred bytes each at hash size 8, at most
#: ~70 KB at hash size 64).
WEIGHTS_CACHE = 1024
#: Images up to this many pixels are area-averaged by dense float64 products (their weight matrices
#: are small), larger ones by exact run sums (:func:`runs`).
DENSE_PIXELS = 2**16
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


def _overlaps(first_pixels: np.ndarray, scale: int, extent: int, cells: int) -> np.ndarray:
    """(cells x len(first_pixels)) length of each given pixel inside each cell: pixel i covers
    [i*scale, min((i+1)*scale, extent)) of an axis `extent` long, cut into `cells` equal cells."""
    starts = first_pixels.astype(np.float64) * scale
    ends = np.minimum(starts + scale, extent)
    edges = np.arange(cells + 1, dtype=np.float64) * (extent / cells)
    overlap = np.minimum(ends[None, :], edges[1:, None]) - np.maximum(starts[None, :], edges[:-1, None])
    return np.clip(overlap, 0.0, None)


def area_weights(pixels: int, scale: int, extent: int, cells: int) -> np.ndarray:
    """(cells x pixels) box-filter weights of every pixel (see :func:`_overlaps`); each row sums to 1.
    With scale 1 this is INTER_AREA. Expanded from :func:`runs` on every call (a few µs): only the runs
    are cached, so thumbnails of a thousand sizes neither miss the cache nor fill it with a matrix per
    width (up to 9 x 65,536 floats each)."""
    bounds, weights = runs(pixels, scale, extent, cells)
    return np.repeat(weights, np.diff(bounds), axis=1)


@functools.lru_cache(maxsize=WEIGHTS_CACHE)
def runs(pixels: int, scale: int, extent: int, cells: int) -> tuple[tuple[int, ...], np.ndarray]:
    """An axis cut into runs of pixels with equal weights, for :func:`area_weights` without its
    (cells x pixels) matrix: (run bounds, cells x runs weights of one pixel of each run).

    Only the pixels around a cell edge (one may straddle two cells) and the last one (clipped in a
    reduced decode) differ from their neighbours, so an axis has at most 2 * cells + 1 runs.
    """
    edges = np.arange(1, cells) * (extent / cells) // scale
    firsts = {0, pixels - 1, *(int(e) + k for e in edges for k in (0, 1))}
    bounds = sorted(p for p in firsts if 0 <= p < pixels) + [pixels]
    overlap = _overlaps(np.array(bounds[:-1]), scale, extent, cells)
    weights = overlap / (overlap @ np.diff(bounds).astype(np.float64))[:, None]
    weights.flags.writeable = False  # shared through the cache
    return tuple(bounds), weights


def _row_run_sums(image: np.ndarray, bounds: tuple[int, ...]) -> np.ndarray:
    """(runs x width) column sums of each run of rows, exact: integer sums for uint8 (cv2.reduce: one
    SIMD pass over the image, ~20x faster than converting it to float64 for a matrix product), float64
    sums otherwise. Exact sums keep the hash independent of summation order, threads and BLAS build."""
    depth = cv2.CV_32S if image.dtype == np.uint8 and image.shape[0] * 255 < 2**31 else cv2.CV_64F
    image = np.ascontiguousarray(image)
    sums = [cv2.reduce(image[a:b], 0, cv2.REDUCE_SUM, dtype=depth) for a, b in itertools.pairwise(bounds)]
    return np.vstack(sums).astype(np.float64, copy=False)


def dhash_bits_reduced(image: np.ndarray, scale: int, height: int, width: int, hash_size: int = 8):
    """Robust dhash of an image decoded at 1/`scale` of `height` x `width` (scale 1: full size): the area
    averages of :func:`dhash_bits`, from the reduced pixels with exact cell geometry (:func:`area_grid`)."""
    check_hash_size(hash_size)
    small = area_grid(image, scale, height, width, hash_size, hash_size + 1)
    return small[:, 1:] - small[:, :-1] > ROUNDING_TOLERANCE


def area_grid(image: np.ndarray, scale: int, height: int, width: int, rows: int, cols: int) -> np.ndarray:
    """(rows x cols) float64 area averages, in units of full scale (uint8 is divided by 255), of an image
    decoded at 1/`scale` of `height` x `width`: exactly what cv2.INTER_AREA computes on the full image.

    Pixels are summed exactly in runs of equal weight (a few per grid row and column), then the run sums
    are weighted onto the grid by two tiny products. cv2.resize(INTER_AREA) to a 9x8 grid takes a generic
    slow path for such extreme reductions: 10-19 ms on a 2.5 MP image, against 2 ms for the two matrix
    products this function began as (`git show a134370:bench/RESULTS-archive.md`, "Decoders measured").
    """
    if image.size <= DENSE_PIXELS:  # a few matrix products beat ~20 reductions on a thumbnail
        row_weights = area_weights(image.shape[0], scale, height, rows)
        small = row_weights @ image.astype(np.float64) @ area_weights(image.shape[1], scale, width, cols).T
    else:
        row_bounds, row_weights = runs(image.shape[0], scale, height, rows)
        col_bounds, col_weights = runs(image.shape[1], scale, width, cols)
        sums = np.add.reduceat(_row_run_sums(image, row_bounds), col_bounds[:-1], axis=1)
        small = row_weights @ sums @ col_weights.T
    if image.dtype == np.uint8:
        small *= 1 / 255
    return small


def pack_bits(bits: np.ndarray) -> bytes:
    """Row-major, first bit most significant (vectorised; no per-bit Python loop)."""
    return np.packbits(bits.ravel()).tobytes()


def to_reversed_int(packed: bytes) -> int:
    """Integer with the first grid bit as the *least* significant bit: the original script's order."""
    bits = np.unpackbits(np.frombuffer(packed, np.uint8))
    return int.from_bytes(np.packbits(bits[::-1]).tobytes(), "big")

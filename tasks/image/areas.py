"""Area averages of a decoded image on hash grids: what cv2.INTER_AREA computes on the full image, exactly,
from a reduced decode, for several grids at once. Pure: pixels in, float64 grids out.

Every robust hash is taken from such grids: dhash from a (hash_size x hash_size + 1) grid, phash and the
quality score from a 32x32 thumbnail, the centre-crop phash from a 32x32 thumbnail of the picture without
its borders. :func:`area_grids` computes them all from one integral image and one gather of their corners,
so a job pays for one pass over the pixels and a fixed ~35 numpy calls on a few thousand values, whatever
the image's size: on a 0.03 MP image numpy's per-call overhead, not arithmetic, is what costs
(bench/hash_cost.py).
"""

from __future__ import annotations

import functools
import itertools
from typing import NamedTuple

import cv2
import numpy as np

#: Axis geometries whose runs of equal weight are kept (a few hundred bytes each at hash size 8, at most
#: ~70 KB at hash size 64).
WEIGHTS_CACHE = 1024
#: Decodes up to this many pixels are averaged through an integral image (:func:`area_grids`): its int32
#: sums of 8-bit pixels are exact up to 2**31 / 255 pixels. Larger ones (full decodes of huge PNGs) use
#: exact run sums (:func:`area_grid`), which need no image-sized buffer.
INTEGRAL_PIXELS = 2**23
#: Grid sets whose edge layout is kept (one per hash size and set of algorithms a job asks for).
LAYOUT_CACHE = 64


#: The whole image, as (top, bottom, left, right) fractions of its height and width.
WHOLE = (0.0, 1.0, 0.0, 1.0)


class _GridFields(NamedTuple):
    rows: int
    cols: int
    margin: float
    box: tuple[float, float, float, float]


class Grid(_GridFields):
    """`rows` x `cols` equal cells over `box` of the image ((top, bottom, left, right) fractions of its height
    and width; the whole image by default) with `margin` of each of the box's sides cut from every border.
    A tuple: grids key the layout caches and a job's grid dict dozens of times per image, and a tuple hashes
    in C (a dataclass's hash is a Python call each time)."""

    __slots__ = ()

    def __new__(cls, rows: int, cols: int, margin: float = 0.0, box: tuple[float, float, float, float] = WHOLE):
        if rows < 1 or cols < 1 or not 0.0 <= margin < 0.5:
            raise ValueError(f"a grid needs at least one row and column and a margin in [0, 0.5), not "
                             f"{(rows, cols, margin)}")
        top, bottom, left, right = box
        if not (0.0 <= top < bottom <= 1.0 and 0.0 <= left < right <= 1.0):
            raise ValueError(f"a grid's box must be a non-empty part of the image, not {box}")
        return super().__new__(cls, rows, cols, margin, box)


def area_grids(image: np.ndarray, scale: int, height: int, width: int, grids: tuple[Grid, ...]) -> list[np.ndarray]:
    """One (rows x cols) float64 array of area averages in [0, 1] (uint8 is divided by 255) per grid, of an
    image decoded at 1/`scale` of its displayed `height` x `width` (scale 1: full size).

    The integral image is bilinear inside a pixel, so sampling it at the cell edges is exact: its sums are
    integers for 8-bit images and the interpolation rounds at ~1e-16 of them, far under anything a hash
    compares (tasks/image/dhash.py ROUNDING_TOLERANCE). The corners of all grids are sampled in one gather
    (2,268 of them at hash size 8: the 9 x 10 dhash corners and two 33 x 33), so the work per image does not
    grow with its width. Decodes over INTEGRAL_PIXELS go through :func:`area_grid`, margins rounded to whole
    pixels (under 1/2000 of a side at that size).
    """
    if image.size > INTEGRAL_PIXELS:
        return [_cropped_grid(image, scale, height, width, grid) for grid in grids]
    layout = _layout(grids)
    y0, fy, heights = _edges(layout.rows, height / scale, image.shape[0])
    x0, fx, widths = _edges(layout.cols, width / scale, image.shape[1])
    integral = cv2.integral(image, sdepth=cv2.CV_32S if image.dtype == np.uint8 else cv2.CV_64F)
    flat, stride = integral.ravel(), integral.shape[1]
    top_left = y0[layout.corner_rows] * stride + x0[layout.corner_cols]
    bottom_left = top_left + stride
    fy, fx = fy[layout.corner_rows], fx[layout.corner_cols]
    top, bottom = flat[top_left], flat[bottom_left]
    left = top + (bottom - top) * fy
    top, bottom = flat[top_left + 1], flat[bottom_left + 1]
    corners = left + (top + (bottom - top) * fy - left) * fx
    averages: list[np.ndarray] = []
    for run in layout.runs:  # grids of one shape side by side are averaged together
        n, rows, cols = run.count, run.rows, run.cols
        block = corners[run.corner : run.corner + n * (rows + 1) * (cols + 1)].reshape(n, rows + 1, cols + 1)
        sums = block[:, 1:] - block[:, :-1]  # slices, not np.diff: every numpy call counts at this size
        cells = heights[run.row_index][:, :, None] * widths[run.col_index][:, None]
        means = (sums[:, :, 1:] - sums[:, :, :-1]) / cells
        if image.dtype == np.uint8:
            means *= 1 / 255
        averages.extend(means)
    return averages


class _Run(NamedTuple):
    """Consecutive grids of one shape, averaged together."""

    count: int
    rows: int
    cols: int
    corner: int  # the first grid's first corner
    row_index: np.ndarray  # (count x rows): each grid's cell heights, as indices into the row edge lengths
    col_index: np.ndarray  # (count x cols)


class _Layout(NamedTuple):
    """Where the grids' edges and corners sit when all grids are sampled together."""

    rows: np.ndarray  # every grid's row edges side by side, as fractions of the height
    cols: np.ndarray  # the same for columns
    corner_rows: np.ndarray  # row edge (index into `rows`) of every corner, grid by grid, row-major
    corner_cols: np.ndarray
    runs: list[_Run]  # the grids, cut into runs of one shape


@functools.lru_cache(maxsize=LAYOUT_CACHE)
def _layout(grids: tuple[Grid, ...]) -> _Layout:
    """The edges and corners of `grids`: the corners' places depend on the grids' shapes only, the edges on
    their boxes and margins, so grids whose boxes change from image to image (a centre square follows the
    aspect, a frame's content its frame) reuse the shapes' corner layout and each grid's own edges."""
    rows = np.concatenate([_fractions(g)[0] for g in grids])
    cols = np.concatenate([_fractions(g)[1] for g in grids])
    for array in (rows, cols):
        array.flags.writeable = False  # shared through the cache
    return _Layout(rows, cols, *_corners(tuple((g.rows, g.cols) for g in grids)))


@functools.lru_cache(maxsize=WEIGHTS_CACHE)
def _fractions(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """A grid's (row edges, column edges), as fractions of the image's height and width."""
    axes = []
    for n, (start, end) in ((grid.rows, grid.box[:2]), (grid.cols, grid.box[2:])):
        edges = grid.margin + np.arange(n + 1) * ((1 - 2 * grid.margin) / n)
        edges[-1] = 1 - edges[0]  # the last edge exactly where the margin starts, not a rounding past it
        axes.append(edges if (start, end) == (0.0, 1.0) else start + (end - start) * edges)
    return axes[0], axes[1]


@functools.lru_cache(maxsize=LAYOUT_CACHE)
def _corners(shapes: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray, list[_Run]]:
    """The :class:`_Layout` fields after the edges, for grids of these (rows, cols) side by side."""
    row_starts = list(itertools.accumulate((r + 1 for r, _ in shapes[:-1]), initial=0))
    col_starts = list(itertools.accumulate((c + 1 for _, c in shapes[:-1]), initial=0))
    corner_rows = np.concatenate([np.repeat(np.arange(start, start + r + 1), c + 1)
                                  for (r, c), start in zip(shapes, row_starts, strict=True)])
    corner_cols = np.concatenate([np.tile(np.arange(start, start + c + 1), r + 1)
                                  for (r, c), start in zip(shapes, col_starts, strict=True)])
    corner_starts = list(itertools.accumulate(((r + 1) * (c + 1) for r, c in shapes[:-1]), initial=0))
    runs = []
    for shape, members in itertools.groupby(range(len(shapes)), key=lambda i: shapes[i]):
        members = list(members)
        row_index = np.array([np.arange(row_starts[i], row_starts[i] + shape[0]) for i in members])
        col_index = np.array([np.arange(col_starts[i], col_starts[i] + shape[1]) for i in members])
        runs.append(_Run(len(members), *shape, corner_starts[members[0]], row_index, col_index))
    for array in (corner_rows, corner_cols, *(r.row_index for r in runs), *(r.col_index for r in runs)):
        array.flags.writeable = False  # shared through the cache
    return corner_rows, corner_cols, runs


def _edges(fractions: np.ndarray, extent: float, pixels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell edges at `fractions` of an axis `extent` reduced pixels long: (pixel each edge falls in, fraction
    into it, lengths between consecutive edges). Reduced pixel i covers displayed pixels [i * scale,
    (i + 1) * scale); the last one may stop short (libjpeg rounds reduced sizes up), and no edge goes past
    the image."""
    edges = fractions * extent
    first = np.minimum(edges.astype(np.intp), pixels - 1)
    return first, edges - first, edges[1:] - edges[:-1]


def _cropped_grid(image: np.ndarray, scale: int, height: int, width: int, grid: Grid) -> np.ndarray:
    rows, cols = image.shape[:2]
    (top, bottom), (left, right) = (_cut(grid.box[:2], grid.margin, rows), _cut(grid.box[2:], grid.margin, cols))
    height = min(bottom * scale, height) - top * scale
    width = min(right * scale, width) - left * scale
    return area_grid(image[top:bottom, left:right], scale, height, width, grid.rows, grid.cols)


def _cut(side: tuple[float, float], margin: float, pixels: int) -> tuple[int, int]:
    """The whole pixels [first, last) of an axis `pixels` long that a box's `side` (start, end fractions)
    keeps with `margin` of its length cut from both ends."""
    start, end = side
    length = end - start
    first = round((start + margin * length) * pixels)
    if side == (0.0, 1.0):
        return first, pixels - first  # symmetric, as the margin is
    return first, max(first + 1, round((end - margin * length) * pixels))


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



def area_grid(image: np.ndarray, scale: int, height: int, width: int, rows: int, cols: int) -> np.ndarray:
    """(rows x cols) float64 area averages, in units of full scale (uint8 is divided by 255), of an image
    decoded at 1/`scale` of `height` x `width`, by exact run sums: what :func:`area_grids` falls back to on
    decodes too big for an integral image.

    Pixels are summed exactly in runs of equal weight (a few per grid row and column), then the run sums
    are weighted onto the grid by two tiny products.
    """
    row_bounds, row_weights = runs(image.shape[0], scale, height, rows)
    col_bounds, col_weights = runs(image.shape[1], scale, width, cols)
    sums = np.add.reduceat(_row_run_sums(image, row_bounds), col_bounds[:-1], axis=1)
    small = row_weights @ sums @ col_weights.T
    if image.dtype == np.uint8:
        small *= 1 / 255
    return small

"""Phashes of regions of a picture, for copies that keep only part of it or cover part of it: the picture
without a uniform frame (a screenshot's window, letterbox bars), its centre square (a square crop for a
feed), its middle 80 % (a 10 % crop), its upper-left 75 % x 75 % (leaves out a caption band at the bottom
and a logo in the top-right, bottom-right or bottom-left corner) and the picture turned 2 and 4 degrees either
way and cut to its corners (a copy turned 1-5 degrees). Pure: a decoded grey image in, bits out.

Each region is averaged exactly onto the phash thumbnail by tasks/image/areas.py, in the same pass (one
integral image, one gather) as the job's other hashes, and hashed as tasks/image/phash.py hashes the whole
picture; the turned regions are interpolated from the 32 x 32 area thumbnail of the whole picture. The
frame is found by tasks/image/frames.py.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from tasks.image.areas import WHOLE, Grid, area_grids
from tasks.image.decode import Reduced
from tasks.image.frames import frame_box
from tasks.image.phash import HIGHFREQ_FACTOR, phash_bits_of

#: Share of each side the "inner" region cuts (a 10 % crop; a 1-5 degree turn cut to its corners keeps 87-97 %).
INNER_MARGIN = 0.10
#: Side of the corner window, as a share of the picture's width and height.
CORNER_SHARE = 0.75
#: Turns (degrees) of the "turned" regions: the picture turned this much either way and cut to its corners,
#: which a copy turned by 1-5 degrees and cut likewise resembles. bench/hard_quality.py (dev photos, region
#: pairs within 2 bits): 3 degrees alone finds 0.80 of the 1-5 degree turns, 2 and 4 degrees 0.91.
TURN_DEGREES = (2.0, 4.0)
#: The region hashes are 64-bit phashes whatever a job's hash size: the near-duplicate join works on 64 bits.
REGION_HASH_SIZE = 8
#: Decodes over this many pixels have their regions averaged from a copy shrunk by a whole factor to between
#: SOURCE_SIDE and twice that on its long side.
REGION_PIXELS = 1 << 22
SOURCE_SIDE = 1024
#: Side of the square area grid of the whole picture the turned regions are interpolated from: the phash
#: thumbnail itself, interpolated at TURN_CELL points per cell (held photos turned 1-5 degrees,
#: bench/HARD_EDITS.md: 0.963 found from 32 cells, 0.951 from 64, and a 128-cell resize aliased more).
CANVAS = 32
#: Pixels per thumbnail cell (each way) of a turned region's interpolated square, area-averaged onto the
#: thumbnail: 2 keeps the interpolation's aliasing under what a phash bit sees.
TURN_CELL = 2
#: The region hashes, in the order :func:`region_phashes` returns them.
REGIONS = ("content", "square", "inner", "upper-left", "turned+2", "turned-2", "turned+4", "turned-4")


def region_grids(reduced: Reduced, frame: tuple[float, float, float, float] | None, side: int) -> tuple[Grid, ...]:
    """The exact area grids of the content inside `frame` (the whole picture without one), the centre square,
    the middle 80 % and the upper-left window (the first four :data:`REGIONS`), then the CANVAS square of the
    whole picture the turns are interpolated from. Only the content moves with a frame, so the others meet
    a copy whose frame was found where the original's was not."""
    square = min(reduced.height, reduced.width)
    down, across = (reduced.height - square) / 2 / reduced.height, (reduced.width - square) / 2 / reduced.width
    return (
        Grid(side, side, box=frame or WHOLE),
        Grid(side, side, box=(down, 1 - down, across, 1 - across)),
        Grid(side, side, INNER_MARGIN),
        Grid(side, side, box=(0.0, CORNER_SHARE, 0.0, CORNER_SHARE)),
        Grid(CANVAS, CANVAS),
    )


def region_thumbnails(averages: list[np.ndarray], height: int, width: int) -> list[np.ndarray]:
    """The len(REGIONS) phash thumbnails of a `height` x `width` picture, in :data:`REGIONS` order, from the
    area averages of :func:`region_grids`: the four boxes as they are, the turns interpolated from the canvas."""
    *thumbs, canvas = averages
    side = thumbs[0].shape[0]
    for degrees in TURN_DEGREES:
        for sign in (1, -1):
            window = turned(canvas, height, width, sign * degrees, TURN_CELL * side)
            thumbs.append(cv2.resize(window, (side, side), interpolation=cv2.INTER_AREA))
    return thumbs


def region_source(reduced: Reduced) -> Reduced:
    """The decode the region grids are averaged from: `reduced` itself, or, for a full-size decode over
    REGION_PIXELS (a large PNG or WebP), a copy area-averaged by a whole factor (:func:`_shrink`) in one pass:
    exact area grids of a decode that size take a pass over its pixels per grid."""
    if reduced.image.size <= REGION_PIXELS:
        return reduced
    image, factor = _shrink(reduced.image, SOURCE_SIDE)
    return Reduced(image, reduced.scale * factor, reduced.height, reduced.width)


def region_phashes(reduced: Reduced, hash_size: int = 8) -> tuple[np.ndarray, bool]:
    """((len(REGIONS) x hash_size x hash_size) bools, whether a frame was found) of a reduced decode (see
    tasks/image/decode.py). Without a frame the content is the whole picture.

    Every region is area-averaged exactly from the decode (tasks/image/areas.py), as a copy's whole-picture
    phash is; the turns are interpolated from a CANVAS-square area grid of the whole picture. A job takes
    these grids in the one area pass of all its hashes (tasks/image/multihash.py).
    """
    frame = frame_box(reduced)
    source = region_source(reduced)
    grids = region_grids(reduced, frame, HIGHFREQ_FACTOR * hash_size)
    averages = area_grids(source.image, source.scale, source.height, source.width, grids)
    return phash_bits_of(region_thumbnails(averages, reduced.height, reduced.width), hash_size), frame is not None


def _shrink(image: np.ndarray, longest: int) -> tuple[np.ndarray, int]:
    """(`image` area-averaged down by the largest whole factor that leaves its long side at least `longest`
    pixels, the factor): each pixel of the copy is factor x factor pixels of the image, the rows and columns
    past the last whole block left out (OpenCV's area resize by a whole factor costs a fifth of an arbitrary
    one)."""
    factor = max(1, max(image.shape) // longest)
    if factor == 1:
        return image, 1
    rows, cols = image.shape[0] // factor, image.shape[1] // factor
    copy = cv2.resize(image[: rows * factor, : cols * factor], (cols, rows), interpolation=cv2.INTER_AREA)
    return copy, factor


def turned(source: np.ndarray, height: int, width: int, degrees: float, side: int) -> np.ndarray:
    """(side x side): a `height` x `width` picture, given as its square grid `source`, turned `degrees`
    (counter-clockwise) about its centre, cut to the largest centred rectangle of its own aspect that holds
    no corner of the canvas, and stretched onto the square (as every region is stretched onto the square
    thumbnail), in one interpolation pass. The turn is in the picture's own pixels, whatever its aspect."""
    cells = source.shape[0]
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    scale = min(width / (width * abs(c) + height * abs(s)), height / (width * abs(s) + height * abs(c)))
    # output pixel (x, y) is the kept rectangle's point p = ((x + 0.5) / side - 0.5) * (kept width, height)
    # from the centre, which the turn brought from the picture's point R(-degrees) p + centre, which lies in
    # source cell (picture point * cells / (width, height) - 0.5). Composed: one affine map, output -> source.
    kx, ky = width * scale / side, height * scale / side  # picture pixels per output pixel
    ax, ay = cells / width, cells / height  # source cells per picture pixel
    # R(-degrees) in image coordinates (y down) for a counter-clockwise turn on screen: [[c, -s], [s, c]]
    inverse = np.array([
        [ax * c * kx, -ax * s * ky, ax * (c * kx * (0.5 - side / 2) - s * ky * (0.5 - side / 2)) + cells / 2 - 0.5],
        [ay * s * kx, ay * c * ky, ay * (s * kx * (0.5 - side / 2) + c * ky * (0.5 - side / 2)) + cells / 2 - 0.5],
    ])
    return cv2.warpAffine(source, inverse, (side, side), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def pack_regions(bits: np.ndarray, framed: bool) -> bytes:
    """The 64-bit region phashes of :data:`REGIONS`, 8 bytes each, first bit most significant; the content
    hash is all zeros when no frame was found (a phash always has 32 bits set, so zero means "none")."""
    if not framed:
        bits[0] = False
    return np.packbits(bits.reshape(len(REGIONS), -1), axis=1).tobytes()


def packed_regions(reduced: Reduced) -> bytes:
    """:func:`pack_regions` of a reduced decode's :func:`region_phashes`."""
    return pack_regions(*region_phashes(reduced, REGION_HASH_SIZE))

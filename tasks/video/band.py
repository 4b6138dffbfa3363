"""The band hash of a video frame: the phash of the middle half of its height, full width, which leaves out
an overlay in any corner (a channel logo, a watermark) or along the top or bottom edge (a ticker, subtitles)
up to a quarter of the height. Pure: a gray frame in, a 64-bit integer out.

A copy whose whole picture an overlay moved beyond the frame distance keeps its original's band (the band
against the band: the same region on both sides, as images join their upper-left regions,
producer/near/regions.py). Regions measured on the quality set's logo copies (an opaque box at 72-94 % of the
width, 6-22 % of the height, bench/VIDEO_QUALITY.md; share of frames within 10 bits of the original's):
the whole picture 0.30, the upper-left 75 % x 75 % 0.70 (the box reaches into it), the middle 60 % x 60 %
0.94, the middle band 1.00 with no frame of another film or of a mirrored copy within 12 bits.
"""

from __future__ import annotations

import numpy as np

from tasks.image.areas import Grid, area_grids
from tasks.image.phash import HIGHFREQ_FACTOR, phash_bits_of

#: (top, bottom, left, right) of the band, as shares of the frame's height and width.
BAND_BOX = (0.25, 0.75, 0.0, 1.0)
#: 64 bits, as every frame hash the join compares.
BAND_HASH_SIZE = 8
_GRID = Grid(HIGHFREQ_FACTOR * BAND_HASH_SIZE, HIGHFREQ_FACTOR * BAND_HASH_SIZE, box=BAND_BOX)


def band_phash(gray: np.ndarray) -> int:
    """The 64-bit phash (first grid bit most significant) of the band of a gray frame, area-averaged
    exactly onto the phash thumbnail as the whole picture's is (tasks/image/areas.py)."""
    thumb = area_grids(gray, 1, gray.shape[0], gray.shape[1], (_GRID,))[0]
    bits = phash_bits_of([thumb], BAND_HASH_SIZE)[0]
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big")

"""Where a picture sits inside a uniform frame: a screenshot's window chrome, letterbox bars, a mat. Pure: a
decoded grey image in, a box out. Its region phash (tasks/image/regions.py) meets a copy that shows the
picture without the frame, or in another one.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from tasks.image.decode import Reduced

#: A border line is part of a frame when at least this share of its pixels are within FRAME_TOLERANCE of
#: its median: window chrome, letterbox bars and mats are flat; a photo's edge rarely is.
FRAME_LINE_SHARE = 0.95
#: A frame has flat lines on at least this many sides (a caption band on one side is not a frame).
MIN_FRAME_SIDES = 2
#: Grey levels (of full scale) a frame's pixels may differ from its colour (JPEG ringing, dithering).
FRAME_TOLERANCE = 0.06
#: The content found inside a frame must cover at least this share of the picture and be this much smaller
#: than it on some side; otherwise the whole picture is the content.
MIN_CONTENT_SHARE, MIN_TRIM = 0.15, 0.03
#: Connected regions unlike the frame smaller than this share of the picture (a title bar's buttons and
#: letters) are not content; the content is the bounding box of the larger ones.
MIN_PART_SHARE = 0.005
#: Longest side frames are looked for on (a larger decode is area-averaged down first): a bounded cost for
#: full-size PNG decodes; a window's frame or a letterbox bar is many pixels wide even at this size. (A
#: whole-factor shrink first would cost a fifth, but moves the blended edges the parts are found from:
#: dev screenshots whose title bar joined the photo went from 9 to 40 of 81.)
FRAME_SIDE = 512
#: Frame colour sets whose grey-level table is kept (a frame's colours repeat across a collection's
#: screenshots and scans).
TABLE_CACHE = 256


def _unit(gray: np.ndarray) -> np.ndarray:
    if gray.dtype == np.uint8:
        return gray.astype(np.float32) / 255.0
    return gray.astype(np.float32, copy=False)


def frame_colours(image: np.ndarray) -> list[float]:
    """The colours (in [0, 1]) of the image's flat outermost lines, one per flat side: both rows and both
    columns are looked at at once (a few numpy calls: this runs on every image)."""
    full = 255.0 if image.dtype == np.uint8 else 1.0
    colours = []
    for pair in (image[[0, -1]], image[:, [0, -1]].T):
        n = pair.shape[1]
        halves = np.partition(pair, ((n - 1) // 2, n // 2), axis=1)  # the two middle values, not a whole sort
        middle = (halves[:, (n - 1) // 2].astype(np.float32) + halves[:, n // 2]) / 2
        near = np.count_nonzero(np.abs(pair.astype(np.float32) - middle[:, None]) <= FRAME_TOLERANCE * full, axis=1)
        colours += [float(m) / full for m, k in zip(middle, near, strict=True) if k >= FRAME_LINE_SHARE * n]
    return colours


def content_box(gray: np.ndarray, colours: list[float] | None = None) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the picture inside a uniform frame, or the whole image.

    The sides whose outermost line is flat give the frame's colours (at least MIN_FRAME_SIDES of them); the
    content is the bounding box of the connected regions of pixels unlike every frame colour that are not
    small, so a title bar's buttons and letters do not count as content, and a photo whose own pixels take
    the frame's colour in places still counts whole. `colours`: the image's :func:`frame_colours`, if known.
    """
    h, w = gray.shape
    whole = (0, h, 0, w)
    colours = frame_colours(gray) if colours is None else colours
    if len(colours) < MIN_FRAME_SIDES:
        return whole
    box = _big_parts_box(_unlike(gray, colours), MIN_PART_SHARE * h * w)
    if box is None:
        return whole
    left, top, width, height = box
    bottom, right = top + height, left + width
    height, width = bottom - top, right - left
    trimmed = width <= (1 - MIN_TRIM) * w or height <= (1 - MIN_TRIM) * h
    if not trimmed or width * height < MIN_CONTENT_SHARE * h * w:
        return whole
    return top, bottom, left, right


def _unlike(gray: np.ndarray, colours: list[float]) -> np.ndarray:
    """(h x w) uint8, 1 where a pixel is unlike every frame colour (farther than FRAME_TOLERANCE): for 8-bit
    pixels one table lookup, whatever the number of colours."""
    if gray.dtype == np.uint8:
        return cv2.LUT(gray, _unlike_table(tuple(colours)))
    image = _unit(gray)
    unlike = np.ones(image.shape, bool)
    for colour in colours:
        unlike &= np.abs(image - colour) > FRAME_TOLERANCE
    return unlike.astype(np.uint8)


@functools.lru_cache(maxsize=TABLE_CACHE)
def _unlike_table(colours: tuple[float, ...]) -> np.ndarray:
    """256 entries: 1 for the grey levels unlike every colour, each distance rounded to a whole level as
    cv2.absdiff of the level and the colour would round it."""
    levels = np.arange(256, dtype=np.float64)
    table = np.ones(256, np.uint8)
    for colour in colours:
        table &= np.minimum(np.round(np.abs(levels - colour * 255.0)), 255) > FRAME_TOLERANCE * 255
    table.flags.writeable = False  # shared through the cache
    return table


def _big_parts_box(mask: np.ndarray, min_pixels: float) -> tuple[int, int, int, int] | None:
    """(left, top, width, height) around the connected parts of `mask` of at least `min_pixels` pixels, or
    None when there is none. OpenCV's per-part statistics cost 5x the labelling itself: the parts' pixels
    are counted and the big ones boxed with whole-image passes instead (a single part, the usual case:
    the mask itself; up to 255 parts: 8-bit labels, a histogram and a table lookup)."""
    count, labels = cv2.connectedComponents(mask, connectivity=8)
    if count == 2:
        return cv2.boundingRect(mask) if cv2.countNonZero(mask) >= min_pixels else None
    if count <= 256:
        labels = labels.astype(np.uint8)
        sizes = cv2.calcHist([labels], [0], None, [count], [0, count]).ravel()
    else:
        sizes = np.bincount(labels.ravel(), minlength=count)
    big = sizes >= min_pixels
    big[0] = False  # the frame
    if not big.any():
        return None
    if labels.dtype == np.uint8:
        table = np.zeros(256, np.uint8)
        table[:count] = big
        return cv2.boundingRect(cv2.LUT(labels, table))
    return cv2.boundingRect(big.astype(np.uint8)[labels])


def frame_box(reduced: Reduced) -> tuple[float, float, float, float] | None:
    """(top, bottom, left, right) of the picture inside a uniform frame as fractions of the displayed image
    (a Grid box), or None when the image has no frame. Looked for on a copy at most FRAME_SIDE pixels long,
    and only when at least MIN_FRAME_SIDES outermost lines of the decode are flat (most photos: 4 medians)."""
    colours = frame_colours(reduced.image)
    if len(colours) < MIN_FRAME_SIDES:
        return None
    work = _fit(reduced.image, FRAME_SIDE)
    rows, cols = work.shape
    top, bottom, left, right = content_box(work, colours if work is reduced.image else None)
    if (top, bottom, left, right) == (0, rows, 0, cols):
        return None
    # a work pixel is about image.shape / work.shape decoded pixels, each `scale` displayed ones
    down = reduced.image.shape[0] * reduced.scale / rows / reduced.height
    across = reduced.image.shape[1] * reduced.scale / cols / reduced.width
    return top * down, min(1.0, bottom * down), left * across, min(1.0, right * across)


def _fit(image: np.ndarray, longest: int) -> np.ndarray:
    """`image` area-averaged down so that its long side is at most `longest` pixels."""
    if max(image.shape) <= longest:
        return image
    factor = longest / max(image.shape)
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

"""Phashes of regions of a picture, for copies that keep only part of it or cover part of it: the picture
without a uniform frame (a screenshot's window, letterbox bars), its centre square (a square crop for a
feed), its middle 80 % (a 10 % crop), its upper-left 75 % x 75 % (leaves out a caption band at the bottom
and a logo in the top-right, bottom-right or bottom-left corner) and the picture turned 2 and 4 degrees either
way and cut to its corners (a copy turned 1-5 degrees). Pure: a decoded grey image in, bits out.

Each region is averaged onto the phash thumbnail (cells on whole pixels of the reduced decode, which is at
least 72 pixels on its short side, through one integral image) and hashed as tasks/image/phash.py hashes
the whole picture.
"""

from __future__ import annotations

import cv2
import numpy as np

from tasks.image.phash import HIGHFREQ_FACTOR, phash_bits_of

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
#: Longest side the regions are found and cut on (a larger decode is area-averaged down first): 16 pixels of
#: it per phash thumbnail cell at 32 cells, and a bounded cost for full-size PNG decodes.
WORK_SIDE = 512
#: Pixels per thumbnail cell (each way) of a turned region's interpolated square, area-averaged onto the
#: thumbnail: 4 keeps the interpolation's aliasing under what a phash bit sees.
TURN_CELL = 4
#: The region hashes, in the order :func:`region_phashes` returns them.
REGIONS = ("content", "square", "inner", "upper-left", "turned+2", "turned-2", "turned+4", "turned-4")


def _unit(gray: np.ndarray) -> np.ndarray:
    if gray.dtype == np.uint8:
        return gray.astype(np.float32) / 255.0
    return gray.astype(np.float32, copy=False)


def content_box(gray: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the picture inside a uniform frame, or the whole image.

    The sides whose outermost line is flat give the frame's colours (at least MIN_FRAME_SIDES of them); the
    content is the bounding box of the connected regions of pixels unlike every frame colour that are not
    small, so a title bar's buttons and letters do not count as content, and a photo whose own pixels take
    the frame's colour in places still counts whole.
    """
    image = _unit(gray)
    h, w = image.shape
    whole = (0, h, 0, w)
    colours = []
    for line in (image[0], image[-1], image[:, 0], image[:, -1]):
        colour = float(np.median(line))
        if np.mean(np.abs(line - colour) <= FRAME_TOLERANCE) >= FRAME_LINE_SHARE:
            colours.append(colour)
    if len(colours) < MIN_FRAME_SIDES:
        return whole
    unlike = np.ones(image.shape, bool)
    for colour in colours:
        unlike &= np.abs(image - colour) > FRAME_TOLERANCE
    count, _, stats, _ = cv2.connectedComponentsWithStats(unlike.astype(np.uint8), connectivity=8)
    big = stats[1:][stats[1:, cv2.CC_STAT_AREA] >= MIN_PART_SHARE * h * w]
    if not len(big):
        return whole
    left, top = int(big[:, 0].min()), int(big[:, 1].min())
    width, height = int((big[:, 0] + big[:, 2]).max()) - left, int((big[:, 1] + big[:, 3]).max()) - top
    trimmed = width <= (1 - MIN_TRIM) * w or height <= (1 - MIN_TRIM) * h
    if not trimmed or width * height < MIN_CONTENT_SHARE * h * w:
        return whole
    return top, top + height, left, left + width


def region_boxes(box: tuple[int, int, int, int], h: int, w: int) -> list[tuple[int, int, int, int]]:
    """The boxes (top, bottom, left, right) of :data:`REGIONS` in an h x w image whose content is `box`:
    the other regions are taken on the whole image, so they do not move when a frame is found in one copy
    and not in the other."""
    side = min(h, w)
    sy, sx = (h - side) // 2, (w - side) // 2
    my, mx = round(h * INNER_MARGIN), round(w * INNER_MARGIN)
    return [
        box,
        (sy, sy + side, sx, sx + side),
        (my, h - my, mx, w - mx),
        (0, round(h * CORNER_SHARE), 0, round(w * CORNER_SHARE)),
    ]


def region_phashes(gray: np.ndarray, hash_size: int = 8) -> tuple[np.ndarray, bool]:
    """((len(REGIONS) x hash_size x hash_size) bools, whether a frame was found) of a grey image (the
    reduced decode: uint8, or float in [0, 1]). Without a frame the content is the whole picture."""
    image = _fit(_unit(gray), WORK_SIDE)  # a PNG's decode is full size: regions need no more than WORK_SIDE
    box = content_box(image)
    side = HIGHFREQ_FACTOR * hash_size
    thumbs = list(_box_means(image, region_boxes(box, *image.shape), side))
    for degrees in TURN_DEGREES:
        for sign in (1, -1):
            window = turned(image, sign * degrees, TURN_CELL * side)
            thumbs.append(cv2.resize(window, (side, side), interpolation=cv2.INTER_AREA).astype(np.float64))
    return phash_bits_of(thumbs, hash_size), box != (0, image.shape[0], 0, image.shape[1])


def _fit(image: np.ndarray, longest: int) -> np.ndarray:
    """`image` area-averaged down so that its long side is at most `longest` pixels."""
    if max(image.shape) <= longest:
        return image
    factor = longest / max(image.shape)
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _box_means(image: np.ndarray, boxes: list[tuple[int, int, int, int]], side: int) -> np.ndarray:
    """(len(boxes) x side x side) means of the cells of each box (top, bottom, left, right), cell edges on
    whole pixels, from one integral image gathered once for all boxes (OpenCV's INTER_AREA on a float image
    took 0.3 ms a region on a 1/8-scale camera JPEG). A box under `side` pixels on a side is resized."""
    if any(bottom - top < side or right - left < side for top, bottom, left, right in boxes):
        windows = [image[top:max(bottom, top + 1), left:max(right, left + 1)] for top, bottom, left, right in boxes]
        return np.stack([cv2.resize(w, (side, side), interpolation=cv2.INTER_LINEAR) for w in windows]).astype(
            np.float64)
    integral = cv2.integral(image, sdepth=cv2.CV_64F)
    edges = np.asarray(boxes, np.float64)
    steps = np.arange(side + 1) / side
    ys = np.rint(edges[:, :1] + (edges[:, 1:2] - edges[:, :1]) * steps).astype(np.intp)
    xs = np.rint(edges[:, 2:3] + (edges[:, 3:4] - edges[:, 2:3]) * steps).astype(np.intp)
    corners = integral[ys[:, :, None], xs[:, None, :]]
    sums = corners[:, 1:, 1:] - corners[:, :-1, 1:] - corners[:, 1:, :-1] + corners[:, :-1, :-1]
    return sums / (np.diff(ys)[:, :, None] * np.diff(xs)[:, None, :])


def turned(image: np.ndarray, degrees: float, side: int) -> np.ndarray:
    """(side x side): `image` turned `degrees` (counter-clockwise) about its centre, cut to the largest centred
    rectangle of its own aspect that holds no corner of the canvas, and stretched onto the square (as every
    region is stretched onto the square thumbnail), in one interpolation pass."""
    h, w = image.shape
    c, s = np.cos(np.radians(abs(degrees))), np.sin(np.radians(abs(degrees)))
    scale = min(w / (w * c + h * s), h / (w * s + h * c))
    ch, cw = max(1.0, h * scale - 2), max(1.0, w * scale - 2)
    turn = np.vstack([cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees, 1.0), (0, 0, 1)])
    # output pixel (x, y) <- the kept rectangle's point ((x + 0.5) cw / side, (y + 0.5) ch / side)
    crop = np.array([[side / cw, 0, -side / cw * ((w - cw) / 2) - 0.5 + 0.5 * side / cw],
                     [0, side / ch, -side / ch * ((h - ch) / 2) - 0.5 + 0.5 * side / ch], [0, 0, 1]])
    return cv2.warpAffine(image, (crop @ turn)[:2], (side, side), flags=cv2.INTER_LINEAR)


def packed_regions(gray: np.ndarray) -> bytes:
    """The 64-bit region phashes of :data:`REGIONS`, 8 bytes each, first bit most significant; the content
    hash is all zeros when no frame was found (a phash always has 32 bits set, so zero means "none")."""
    bits, framed = region_phashes(gray, REGION_HASH_SIZE)
    if not framed:
        bits[0] = False
    return np.packbits(bits.reshape(len(REGIONS), -1), axis=1).tobytes()

"""The region stage of `dupes`: pairs of files that share a region (a square crop, a 10 % crop, a turned copy,
a caption or a logo over one corner), and the check that keeps two different pictures sharing an overlay apart.
Pure numpy over the hashes of a HashIndex (phash-regions: tasks/image/regions.py).

Both stages are exact joins over typed rows (producer/near/typedjoin.py): every file contributes one row per
hash kind, and only the kinds that describe the same picture are joined (a square against a square, a
middle 80 % against a whole picture...).
"""

from __future__ import annotations

import numpy as np

from producer.near.typedjoin import least, typed_join
from tasks.image.regions import REGIONS
from tasks.nearjoin.pairarrays import Pairs

#: The index column of the region hashes.
REGIONS_HASH = "phash-regions"
#: Region pairs (square, middle 80 %, upper-left 75 %) are joined within this many bits. bench/HARD_EDITS.md
#: (dev photos): at 2 the square crops, 10 % crops, captions and logos are all found with no pair of
#: different photos.
REGION_MAX_DISTANCE = 2
#: A turned region meets a whole picture within this many bits: at 2 the 1-5 degree turns of the dev photos
#: are found 0.91, at 4 0.98 (bench/HARD_EDITS.md). Only the turned rows probe the whole pictures at this
#: distance (a join across two sets, producer/near/typedjoin.py): about 7 s at a million files.
TURNED_MAX_DISTANCE = 4
#: A pair found on whole pictures is confirmed when one of the regions an overlay in a corner or a band
#: leaves out (centre square, middle 80 %, upper-left 75 %) is within this many bits (bench/HARD_EDITS.md).
CONFIRM_DISTANCE = 12
#: ...or when they share a region (the kinds of the second stage) within this many bits: a border crop's
#: regions are all shifted by its cut, but its turned or inner regions still meet the other's picture. At 8
#: the dev set's 4 % crops are all confirmed (1 in 40 is not at 6), but 7 corpus pairs of different pictures
#: (painting fragments, calibration shots) are too (bench/HARD_EDITS.md).
CONFIRM_REGION_DISTANCE = 6
CONTENT, SQUARE, INNER, UPPER_LEFT = (REGIONS.index(r) for r in ("content", "square", "inner", "upper-left"))
TURNED = tuple(i for i, r in enumerate(REGIONS) if r.startswith("turned"))
#: Distance of a pair no stage matches (above any 64-bit distance).
NO_MATCH = 255
#: Row kinds of the joins: the whole picture, its centre crop (phash-centre), and each region.
FULL, CENTRE = "full", "centre"


def framed(regions: np.ndarray) -> np.ndarray:
    """Bools: the files in which a frame (window, bars) was found; the others' content hash is zero."""
    return regions[:, CONTENT] != 0


def content_rows(ids: np.ndarray, regions: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    """The "content" rows of the first stage: only the framed files have one."""
    inside = framed(regions)
    return "content", ids[inside], regions[inside, CONTENT]


def region_pairs(ids: np.ndarray, full: np.ndarray, regions: np.ndarray) -> Pairs:
    """Second stage: files sharing a region (within REGION_MAX_DISTANCE, a turned one within
    TURNED_MAX_DISTANCE), as indices into `ids`' index, at the least such distance.

    A square crop's whole picture is its centre square (square against square); a 10 % crop's whole
    picture is its original's middle 80 %; a turned copy is close to its original turned 2 or 4 degrees;
    a copy with a caption band or a logo box keeps its original's upper-left 75 % (same region both sides).
    """
    views = [
        (FULL, ids, full),
        ("square", ids, regions[:, SQUARE]),
        ("inner", ids, regions[:, INNER]),
        ("upper-left", ids, regions[:, UPPER_LEFT]),
    ]
    a, b, d = typed_join(views, {("square", "square"), ("inner", FULL), ("upper-left", "upper-left")},
                         REGION_MAX_DISTANCE)
    turns = [(FULL, ids, full)] + [("turned", ids, regions[:, i]) for i in TURNED]
    ta, tb, td = typed_join(turns, {("turned", FULL)}, TURNED_MAX_DISTANCE)
    return least(np.r_[a, ta], np.r_[b, tb], np.r_[d, td])


def confirmed(a: np.ndarray, b: np.ndarray, full: np.ndarray, regions: np.ndarray, max_distance: int) -> np.ndarray:
    """Bools: which first-stage pairs (a, b: file indices) are the same picture beyond a shared overlay.

    A pair is confirmed by a framed file's content against the other's content or whole picture (within
    CONFIRM_DISTANCE: a border crop of a framed picture cuts into its frame), or, unless both files are
    framed (two screenshots in one window), by a region shared within CONFIRM_REGION_DISTANCE or by a
    region an overlay in a corner or a band leaves out (centre square, middle 80 %, upper-left 75 %): two
    different photos carrying the same logo, caption band or window match on the whole picture only
    because of it, and differ everywhere else.
    """
    ra, rb = regions[a], regions[b]
    both_framed = framed(regions)[a] & framed(regions)[b]
    contents = content_distances(a, b, full, regions) <= max(max_distance, CONFIRM_DISTANCE)
    view = np.minimum.reduce([_dist(ra[:, i], rb[:, i]) for i in (SQUARE, INNER, UPPER_LEFT)]) <= CONFIRM_DISTANCE
    shared = region_distances(a, b, full, regions) <= CONFIRM_REGION_DISTANCE
    return contents | (~both_framed & (shared | view))


def _dist(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x ^ y).astype(np.int64)


def content_distances(a: np.ndarray, b: np.ndarray, full: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Per pair (a, b): the least of content-content, content-whole and whole-content over the framed files
    of the pair, as the first stage joins them; NO_MATCH when neither file is framed."""
    fa, fb = framed(regions)[a], framed(regions)[b]
    ca, cb = regions[a, CONTENT], regions[b, CONTENT]
    out = np.full(len(a), NO_MATCH, np.int64)
    out = np.where(fa & fb, np.minimum(out, _dist(ca, cb)), out)
    out = np.where(fa, np.minimum(out, _dist(ca, full[b])), out)
    return np.where(fb, np.minimum(out, _dist(full[a], cb)), out)


def region_distances(a: np.ndarray, b: np.ndarray, full: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Per pair (a, b): the least distance over the region kinds :func:`region_pairs` joins."""
    return np.minimum(_view_distances(a, b, full, regions), _turn_distances(a, b, full, regions))


def region_match_distances(a: np.ndarray, b: np.ndarray, full: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Per pair (a, b): the distance :func:`region_pairs` pairs them at, NO_MATCH when it does not."""
    views, turns = _view_distances(a, b, full, regions), _turn_distances(a, b, full, regions)
    return np.minimum(np.where(views <= REGION_MAX_DISTANCE, views, NO_MATCH),
                      np.where(turns <= TURNED_MAX_DISTANCE, turns, NO_MATCH))


def _view_distances(a, b, full, regions) -> np.ndarray:
    ra, rb = regions[a], regions[b]
    kinds = [
        _dist(ra[:, SQUARE], rb[:, SQUARE]),
        _dist(ra[:, UPPER_LEFT], rb[:, UPPER_LEFT]),
        _dist(ra[:, INNER], full[b]),
        _dist(full[a], rb[:, INNER]),
    ]
    return np.minimum.reduce(kinds)


def _turn_distances(a, b, full, regions) -> np.ndarray:
    ra, rb = regions[a], regions[b]
    return np.minimum.reduce([_dist(ra[:, i], full[b]) for i in TURNED] + [_dist(full[a], rb[:, i]) for i in TURNED])

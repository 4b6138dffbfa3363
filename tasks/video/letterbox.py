"""Black bars around a picture (letterbox, pillarbox) on one gray frame: measured, and cut away before a frame
is hashed, so a letterboxed copy hashes like its original. Pure numpy."""

from __future__ import annotations

import numpy as np

#: A row or column is a bar when its brightest pixel is under this (of 255): black with codec noise.
BAR_LEVEL = 32
#: A frame is letterboxed when bars take at least this share of its height (or width), both sides together:
#: 16:9 inside 4:3 leaves 25 %, 2.39:1 inside 16:9 about 26 %; a thin black edge of a scan is not a bar.
MIN_BAR_SHARE = 0.08
#: A video is letterboxed when more than this share of its sampled frames had bars cut before hashing (a
#: dark scene of a full-frame video may look barred on a frame or two; a letterboxed film is barred nearly
#: throughout, its black frames aside).
LETTERBOXED_FRAMES = 0.5


def bar_share(gray: np.ndarray) -> float:
    """The larger of the shares of the height in black rows at the top and bottom, and of the width in black
    columns at the left and right (0.0 for a frame that is black all over: nothing shows what is a bar)."""
    if gray.size == 0 or gray.max() < BAR_LEVEL:
        return 0.0
    shares = []
    for lines in (gray.max(axis=1), gray.max(axis=0)):
        lit = np.flatnonzero(lines >= BAR_LEVEL)
        shares.append((lit[0] + len(lines) - 1 - lit[-1]) / len(lines))
    return float(max(shares))


def is_letterboxed(gray: np.ndarray) -> bool:
    """True when black bars take at least MIN_BAR_SHARE of the frame's height or width."""
    return bar_share(gray) >= MIN_BAR_SHARE


def inside_bars(gray: np.ndarray) -> np.ndarray:
    """The picture inside centred black bars of at least MIN_BAR_SHARE of the height (or width), or the
    frame itself. Bars are centred, so the narrower side's bar is cut from both sides: a picture dark at one
    edge (a night sky, a shadow) keeps that edge, and a frame dark along one side only is left whole. A
    letterboxed or pillarboxed copy of a video then hashes like the original (bench/VIDEO_QUALITY.md: 16:9
    footage in a 4:3 frame, 2 of 12 copies paired as they were, 12 of 12 with the bars cut)."""
    if gray.size == 0 or gray.max() < BAR_LEVEL:
        return gray
    window = [slice(None), slice(None)]
    for axis, lines in ((0, gray.max(axis=1)), (1, gray.max(axis=0))):
        lit = np.flatnonzero(lines >= BAR_LEVEL)
        bar = min(lit[0], len(lines) - 1 - lit[-1])
        if 2 * bar / len(lines) >= MIN_BAR_SHARE:
            window[axis] = slice(bar, len(lines) - bar)
    return gray[tuple(window)]


def video_letterboxed(barred: int, frames: int) -> bool:
    """True when more than LETTERBOXED_FRAMES of a video's `frames` sampled frames had bars cut (`barred`)."""
    return frames > 0 and barred > LETTERBOXED_FRAMES * frames

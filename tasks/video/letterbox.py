"""Black bars around a picture (letterbox, pillarbox), measured on one gray frame: pure numpy."""

from __future__ import annotations

import numpy as np

#: A row or column is a bar when its brightest pixel is under this (of 255): black with codec noise.
BAR_LEVEL = 32
#: A frame is letterboxed when bars take at least this share of its height (or width), both sides together:
#: 16:9 inside 4:3 leaves 25 %, 2.39:1 inside 16:9 about 26 %; a thin black edge of a scan is not a bar.
MIN_BAR_SHARE = 0.08


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

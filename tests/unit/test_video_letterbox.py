"""Black bars on a frame (tasks/video/letterbox.py)."""

from __future__ import annotations

import numpy as np

from tasks.video.letterbox import bar_share, is_letterboxed


def picture(height=90, width=160):
    return np.random.default_rng(0).integers(60, 255, (height, width), dtype=np.uint8)


def test_a_picture_with_black_bars_above_and_below_is_letterboxed():
    frame = picture()
    frame[:12], frame[-12:] = 5, 5
    assert bar_share(frame) == 24 / 90
    assert is_letterboxed(frame)


def test_pillarbox_bars_at_the_sides_count_too():
    frame = picture()
    frame[:, :20] = 0
    assert is_letterboxed(frame)


def test_a_full_frame_picture_and_a_black_frame_are_not_letterboxed():
    assert not is_letterboxed(picture())
    assert not is_letterboxed(np.zeros((90, 160), np.uint8))

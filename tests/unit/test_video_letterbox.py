"""Black bars on a frame (tasks/video/letterbox.py)."""

from __future__ import annotations

import numpy as np

from tasks.video.letterbox import bar_share, inside_bars, is_letterboxed, video_letterboxed


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


def test_the_picture_inside_centred_bars_is_cut_out_for_hashing():
    frame = picture()
    frame[:12], frame[-12:] = 0, 0
    assert inside_bars(frame).shape == (66, 160)
    assert (inside_bars(frame) == frame[12:-12]).all()


def test_a_dark_band_on_one_side_only_is_picture_not_bars():
    frame = picture()
    frame[:20] = 0
    assert inside_bars(frame).shape == frame.shape


def test_a_letterboxed_frame_hashes_like_the_picture_without_bars():
    import cv2

    from tasks.video.frames import hash_frames

    wide = cv2.resize(picture(90, 160), (320, 180), interpolation=cv2.INTER_CUBIC)
    boxed = np.zeros((240, 320), np.uint8)
    boxed[30:210] = wide
    plain, letterboxed = hash_frames([(0.0, wide)]), hash_frames([(0.0, boxed)])
    assert letterboxed.phash[0] == plain.phash[0]


def test_a_picture_dark_at_its_bottom_edge_loses_only_the_bars():
    frame = picture(120, 160)
    frame[100:] = 0  # the picture's own dark band, then the bars
    boxed = np.zeros((160, 160), np.uint8)
    boxed[20:140] = frame
    assert (inside_bars(boxed) == frame).all()


def test_a_video_is_letterboxed_when_most_of_its_sampled_frames_had_bars_cut():
    assert video_letterboxed(barred=6, frames=10)
    assert not video_letterboxed(barred=5, frames=10)  # half: a dark full-frame film can look barred
    assert not video_letterboxed(barred=0, frames=0)


def test_a_segment_counts_the_frames_whose_bars_were_cut(tmp_path):
    from support.footage import write_footage
    from tasks.video.segment import index_segment

    boxed = index_segment(write_footage(tmp_path / "boxed.mp4", 6, 10, bars=30), 0.0, None, 1.0)
    plain = index_segment(write_footage(tmp_path / "plain.mp4", 6, 10), 0.0, None, 1.0)
    assert (len(boxed.frames), boxed.barred) == (6, 6)
    assert (len(plain.frames), plain.barred) == (6, 0)

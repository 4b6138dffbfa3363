"""Cuts between shots (tasks/video/cuts.py) and the sampling grid that starts again at each (tasks/video/sample.py):
real frames decoded from files encoded in the test."""

from __future__ import annotations

import av
import numpy as np
import pytest

from support.footage import texture, write_footage
from support.videos import write_pictures
from tasks.video.cuts import CutFinder
from tasks.video.segment import index_segment


def decoded(path):
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield float(frame.time), frame


def cuts_in(path, step: float = 1.0) -> list[float]:
    finder = CutFinder(step)
    found = (finder.saw(time, frame) for time, frame in decoded(path))
    return [round(cut, 2) for cut in found if cut is not None]


def write_pan(path, seconds: int = 6, rate: int = 10, size=(160, 96)) -> str:
    """One shot: a gradient sliding steadily sideways, a few pixels a frame."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        ramp = np.linspace(0, 255, 4 * size[0]).astype(np.uint8)
        for index in range(seconds * rate):
            row = np.roll(ramp, -3 * index)[:size[0]]
            rgb = np.repeat(np.tile(row, (size[1], 1))[:, :, None], 3, axis=2)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def test_a_new_picture_is_a_cut_at_its_first_frame(tmp_path):
    # footage showing a different picture every second, from 0.5 s into it: new shots at 0.5, 1.5 ... s
    path = write_footage(tmp_path / "shots.mp4", 6, 10, offset=0.5)
    assert cuts_in(path) == pytest.approx([0.5, 1.5, 2.5, 3.5, 4.5, 5.5])


def test_steady_motion_within_a_shot_is_no_cut(tmp_path):
    assert cuts_in(write_pan(tmp_path / "pan.mp4")) == []


def test_a_letterboxed_copy_has_the_same_cuts_as_its_film(tmp_path):
    film = write_footage(tmp_path / "film.mp4", 6, 10, offset=0.5)
    boxed = write_footage(tmp_path / "boxed.mp4", 6, 10, offset=0.5, bars=40)
    assert cuts_in(boxed) == cuts_in(film)


def test_cuts_closer_than_half_a_step_are_one(tmp_path):
    # a new picture every second; sampled every 4 s, only every other one is half a step after the last cut
    path = write_footage(tmp_path / "shots.mp4", 8, 10, offset=0.5)
    assert cuts_in(path, step=4.0) == pytest.approx([0.5, 2.5, 4.5, 6.5])


def test_a_copy_trimmed_between_two_grid_times_samples_the_same_moments_of_each_shot_as_its_film(tmp_path):
    # Given a film with a new picture every second and a copy of its seconds 8.5 to 20.5 at another rate
    film = index_segment(write_footage(tmp_path / "film.mp4", 24, 10), 0.0, None, 1.0)
    copy = index_segment(write_footage(tmp_path / "copy.mp4", 12, 8, (160, 90), offset=8.5), 0.0, None, 1.0)
    # Then from the copy's first cut on, each of its samples lies at a film sample's time, 8.5 s earlier
    assert copy.frames.times[:3].tolist() == [0.0, 0.5, 1.5]
    assert set((copy.frames.times[1:] + 8.5).tolist()) <= set(film.frames.times.tolist())
    # and shows the same picture (the copy is smaller and coarser: a few bits)
    at = np.searchsorted(film.frames.times, copy.frames.times[1:] + 8.5)
    apart = [int(a ^ b).bit_count() for a, b in zip(copy.frames.phash[1:], film.frames.phash[at], strict=True)]
    assert max(apart) <= 8, apart


def test_a_cut_to_black_is_none_and_the_next_shot_starts_at_its_first_picture(tmp_path):
    from support.footage import picture

    black = np.zeros((96, 160, 3), np.uint8)
    path = write_pictures(tmp_path / "shots.mp4", [(picture(0, (160, 96)), 10, False), (black, 1, False),
                                                   (picture(1, (160, 96)), 10, False)])
    assert cuts_in(path) == pytest.approx([1.1])


def test_a_film_opening_with_a_cut_a_frame_in_reads_on_and_sees_its_next_cut(tmp_path):
    # Given a film whose first two frames are keyframes (black, then its first shot) and whose next keyframe
    # is its next cut, 2.5 s in: two keyframe intervals seen say nothing of how often keyframes come
    from support.footage import picture

    black = np.zeros((96, 160, 3), np.uint8)
    path = write_pictures(tmp_path / "film.mp4", [(black, 1, True), (picture(0, (160, 96)), 24, True),
                                                 (picture(1, (160, 96)), 40, True)], gop=250)
    # When it is sampled at 1 frame/s, Then the sampler reads on (no seek) and starts a shot at 0.1 and 2.5 s
    got = index_segment(path, 0.0, None, 1.0)
    assert got.frames.times.tolist() == pytest.approx([0.0, 0.1, 1.1, 2.1, 2.5, 3.5, 4.5, 5.5])


def test_a_frame_decoded_as_packed_rgb_has_the_blocks_of_its_luma(tmp_path):
    from support.footage import picture
    from tasks.video.cuts import signature

    rgb = av.VideoFrame.from_ndarray(picture(3, (320, 180)), format="rgb24")
    limited = signature(rgb.reformat(format="yuv420p"))  # luma in 16-235
    assert np.abs(signature(rgb) - (limited - 16) * 255 / 219).max() < 3


def test_a_frame_smaller_than_the_signature_grid_still_has_one():
    from tasks.video.cuts import BLOCKS, signature

    tiny = av.VideoFrame.from_ndarray(np.full((6, 10, 3), 200, np.uint8), format="rgb24")
    assert signature(tiny).shape == (BLOCKS, BLOCKS)


def pan_frame(index: int, seed: int = 1, speed: int = 6) -> av.VideoFrame:
    """Frame `index` of a fast pan over texture `seed` (its 8 x 8 block signature moves about 6 gray levels a
    frame, 22 over four frames; a cut to another texture moves it about 40)."""
    window = np.roll(texture(seed, 1024), -speed * index, axis=1)[:, :256]
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(window), format="gray")


def cuts_seen(frames: list[tuple[int, int]], rate: float = 25.0) -> list[float]:
    """The cuts a CutFinder tells among (frame index, texture seed) frames fed to it at `rate` frames/s: the
    frames a decoder that skips B-frames hands over."""
    finder = CutFinder(1.0)
    found = (finder.saw(index / rate, pan_frame(index, seed)) for index, seed in frames)
    return [round(cut, 2) for cut in found if cut is not None]


def test_a_fast_pan_decoded_at_uneven_gaps_is_no_cut():
    # Given a fast pan whose frames come decoded one, then four frames apart (B-frames left undecoded)
    kept = [index for start in range(0, 40, 5) for index in (start, start + 1)]
    # Then a move over four frames is no cut: the moves around it span one frame each
    assert cuts_seen([(index, 1) for index in kept]) == []


def test_a_cut_decoded_right_after_a_kept_frame_is_a_cut_though_the_next_move_spans_four_frames():
    # Given a fast pan cut to another fast pan at frame 7, decoded one frame after the frame before it and
    # four frames before the next one decoded
    frames = [(0, 1), (1, 1), (5, 1), (6, 1), (7, 2), (11, 2), (12, 2), (16, 2), (17, 2)]
    assert cuts_seen(frames) == [0.28]


def test_an_mpeg2_film_with_b_frames_starts_its_shot_at_the_cut_s_own_frame(tmp_path):
    # Given MPEG-2 with two B-frames between references and a cut at frame 14 (a B-frame), no keyframe there
    from support.footage import picture

    path = tmp_path / "film.mpg"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg2video", rate=25, options={"sc_threshold": "1000000000"})
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.codec_context.gop_size, stream.codec_context.max_b_frames = 12, 2
        for index in range(60):
            rgb = picture(0 if index < 14 else 1, (160, 96))
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(str(path)) as container:
        kinds = [av.video.frame.PictureType(frame.pict_type) for frame in container.decode(video=0)]
    assert kinds[14] == av.video.frame.PictureType.B
    # When it is sampled as workers sample it, Then the second shot starts at 0.56 s, the cut's own frame
    assert index_segment(str(path), 0.0, None, 1.0).frames.times.tolist() == pytest.approx([0.0, 0.56, 1.56])

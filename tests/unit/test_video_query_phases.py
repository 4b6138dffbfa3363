"""A query video's head sampled at every frame and the grids through it that `search` tries
(producer/near/queryphases.py), on fast footage encoded in the test."""

from __future__ import annotations

import numpy as np
import pytest

from producer.near.queryphases import closeness, first_cut, phase_indices
from producer.near.videoquery import sample_query, sample_video
from producer.near.videosearch import clip_in_videos
from support.footage import write_pan
from tasks.video.frames import VideoFrames


@pytest.fixture(scope="module")
def pan(tmp_path_factory):
    """A 20 s fast pan at 25 frames/s, and 8 s of it from frame 113 (4.52 s): cut mid-shot, half a second
    off the film's samples (4, 5, 6 ... s), where the pan has moved 72 pixels and its frames share nothing."""
    folder = tmp_path_factory.mktemp("pan")
    return write_pan(folder / "film.mp4", 20), write_pan(folder / "excerpt.mp4", 8, first=113)


def test_the_first_cut_is_the_first_sample_off_the_grid():
    assert first_cut(np.array([0.0, 1.0, 2.0, 2.4, 3.4]), 1.0) == pytest.approx(2.4)
    assert first_cut(np.array([0.0, 0.5, 1.0]), 0.5) is None


def test_each_phase_holds_the_first_frame_the_frames_shown_a_step_apart_and_the_samples_after_the_head():
    head = np.arange(0, 2.5, 0.25)  # every frame of 2.5 s at 4 frames/s
    phases = phase_indices(head, 1.0, 2.5, rest=2)
    assert len(phases) == 4  # one per frame of the first step
    assert [head[p[p < len(head)]].tolist() for p in phases] == [[0.0, 1.0, 2.0], [0.0, 0.25, 1.25, 2.25],
                                                                 [0.0, 0.5, 1.5], [0.0, 0.75, 1.75]]
    assert all(p[-2:].tolist() == [10, 11] for p in phases)


def frames(times, phash) -> VideoFrames:
    phash = np.array(phash, np.uint64)
    return VideoFrames(np.array(times, float), phash, phash, phash, np.full(len(phash), 50, np.uint8))


def test_closeness_is_the_mean_bits_to_the_frames_at_the_mapped_times_each_at_most_a_miss():
    video = frames([4.0, 5.0, 6.0, 7.0], [1, 2, 4, 8])
    # the query's 0-3 s are the video's 4-7 s: in step, nothing apart
    assert closeness(frames([0.0, 1.0, 2.0, 3.0], [1, 2, 4, 8]), video, 0.0, 4.0, 4.0, 8.0, crops=False) == 0
    # a frame with every bit flipped costs 32 (a miss), one bit flipped 1: (32 + 1 + 0 + 0) / 4
    query = frames([0.0, 1.0, 2.0, 3.0], [~np.uint64(1), 3, 4, 8])
    assert closeness(query, video, 0.0, 4.0, 4.0, 8.0, crops=False) == pytest.approx(33 / 4)


def test_a_query_samples_every_frame_of_its_head(pan):
    query = sample_query(pan[1])
    assert np.diff(query.video.frames.times[:50]).max() < 0.05  # 25 frames/s
    assert len(query.phases) == 25


def test_an_excerpt_of_fast_footage_cut_mid_shot_is_found_through_the_phase_in_step_with_its_source(pan):
    film = sample_video(pan[0])
    # Given an excerpt whose own grid meets none of the film's samples
    grid = sample_video(pan[1])
    assert clip_in_videos([film], grid.frames, grid.duration, 10) == []
    # When the search tries each phase through its head
    query = sample_query(pan[1])
    found = clip_in_videos([film], query.video.frames, query.video.duration, 10, phases=query.phases, step=query.step)
    # Then it is found where it sits: 4.52-12.52 s of the film
    assert len(found) == 1
    assert found[0].start == pytest.approx(4.52, abs=1.0) and found[0].end == pytest.approx(12.52, abs=0.25)


def test_a_query_is_sampled_at_the_rate_of_most_of_the_index_s_videos():
    from producer.near.videoquery import index_rate
    from tasks.video.frames import IndexedVideo, no_frames

    def video(rate: float) -> IndexedVideo:
        return IndexedVideo("v.mp4", 10.0, 64, 64, 25.0, no_frames(), sample_fps=rate)

    assert index_rate([video(2.0), video(2.0), video(1.0)]) == 2.0
    assert index_rate([video(0.0)]) == 1.0  # an index that does not say: the default

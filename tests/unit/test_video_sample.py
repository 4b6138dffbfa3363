"""Sampling and hashing video frames (tasks/video): real files encoded by PyAV in the test."""

from __future__ import annotations

import numpy as np
import pytest

from support.videos import write_video
from tasks.video.frames import hash_frames
from tasks.video.probe import probe
from tasks.video.sample import sample_gray


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "moving.mp4"
    write_video(path)
    return str(path)


def test_probe_reads_duration_size_and_rate_from_the_container(video):
    info = probe(video)
    assert (info.width, info.height, info.fps) == (160, 96, 10.0)
    assert info.duration == pytest.approx(6.0, abs=0.2)


def test_sampling_at_one_frame_per_second_takes_a_frame_at_every_whole_second(video):
    times = [time for time, _ in sample_gray(video, fps=1.0)]
    assert times == pytest.approx([0, 1, 2, 3, 4, 5])


def test_a_segment_samples_the_same_times_as_the_whole_video_does(video):
    whole = hash_frames(sample_gray(video, fps=2.0))
    part = hash_frames(sample_gray(video, fps=2.0, start=1.2, end=4.0))
    assert list(part.times) == pytest.approx([1.5, 2.0, 2.5, 3.0, 3.5])
    inside = np.isin(whole.times, part.times)
    assert list(whole.phash[inside]) == list(part.phash)


def test_frames_that_show_different_pictures_get_different_hashes(video):
    frames = hash_frames(sample_gray(video, fps=1.0))
    assert len(set(frames.dhash.tolist())) == len(frames)
    assert frames.quality.min() > 0

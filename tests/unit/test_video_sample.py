"""Sampling and hashing video frames (tasks/video): real files encoded by PyAV in the test."""

from __future__ import annotations

import av
import numpy as np
import pytest

from tasks.video.frames import hash_frames
from tasks.video.probe import probe
from tasks.video.sample import sample_gray


def write_video(path, seconds: int = 6, rate: int = 10, size=(160, 96)) -> None:
    """A video whose picture changes every second (a bright square moving over a gradient)."""
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        ramp = np.tile(np.linspace(0, 200, width, dtype=np.uint8), (height, 1))
        for index in range(seconds * rate):
            rgb = np.stack([ramp, ramp[::-1, ::-1], np.full_like(ramp, 60)], axis=2)
            second = index // rate
            x = (second * 23) % (width - 30)
            rgb[20:50, x:x + 30] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


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

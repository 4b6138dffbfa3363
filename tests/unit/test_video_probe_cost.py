"""The producer's fast header probe (producer/video/probe.py) plans each video as FFmpeg's own probe would."""

from __future__ import annotations

import pytest

from producer.video import probe as videoprobe
from producer.video.probe import UNKNOWN, VideoCost, probe_cost
from support.videos import write_still, write_variable_rate, write_video


@pytest.fixture
def kinds(tmp_path):
    """Videos of several codecs, containers and timings."""
    return [write_video(tmp_path / "mpeg4.mp4", seconds=3),
            write_video(tmp_path / "h264.mkv", seconds=3, codec="libx264", size=(320, 192)),
            write_video(tmp_path / "vp9.webm", seconds=2, codec="libvpx-vp9"),
            write_video(tmp_path / "turned.mp4", seconds=2, rotation=90),
            write_still(tmp_path / "still.mp4", hours=10),
            write_variable_rate(tmp_path / "vfr.mkv")]


def _default_probe(path: str) -> VideoCost:
    return videoprobe._header_cost(path, {}) or UNKNOWN


def test_the_fast_probe_gives_the_cost_ffmpegs_own_probe_gives(kinds):
    for path in kinds:
        assert videoprobe._header_cost(path, videoprobe.FAST_PROBE) == _default_probe(path) != UNKNOWN, path


def test_a_header_the_fast_probe_cannot_read_is_probed_again_ffmpegs_way(kinds, monkeypatch):
    monkeypatch.setattr(videoprobe, "FAST_PROBE", {"format": "no-such-format"})
    assert [probe_cost(path) for path in kinds] == [_default_probe(path) for path in kinds]


def test_a_file_no_probe_can_read_has_the_unknown_cost(tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video\n" * 40)
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert probe_cost(str(tmp_path / "notes.mp4")) == probe_cost(str(tmp_path / "empty.mp4")) == UNKNOWN

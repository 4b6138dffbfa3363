"""Hostile videos become records, never exceptions or hangs (tasks/video/segment.py, tasks/video/isolate.py):
each real file made here with PyAV, then damaged the way files are in the wild."""

from __future__ import annotations

import os
import shutil
import signal

import numpy as np
import pytest

from support.videos import picture, write_audio_only, write_still, write_variable_rate, write_video
from tasks.errors import FileError
from tasks.video import isolate
from tasks.video.segment import index_segment


def hamming(a: int, b: int) -> int:
    return bin(int(a) ^ int(b)).count("1")


def mangled(path: str, out: str, keep: float = 1.0, scramble_at: float | None = None) -> str:
    """A copy of `path` cut to `keep` of its bytes, with 3 kB scrambled at `scramble_at` of its length."""
    data = bytearray(open(path, "rb").read())
    if scramble_at is not None:
        at = int(len(data) * scramble_at)
        for i in range(at, at + 3000, 7):
            data[i] = (data[i] * 31 + 7) % 256
    with open(out, "wb") as handle:
        handle.write(data[:int(len(data) * keep)])
    return out


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def mkv(folder):
    return write_video(folder / "ten.mkv", seconds=10, size=(320, 192), gop=10)


def test_a_zero_byte_file_is_an_empty_file_record(folder):
    (folder / "empty.mp4").write_bytes(b"")
    assert index_segment(str(folder / "empty.mp4"), 0, None, 1.0).code == FileError.EMPTY_FILE


def test_text_named_like_a_video_is_not_a_video(folder):
    (folder / "notes.mp4").write_text("hello\n" * 100)
    assert index_segment(str(folder / "notes.mp4"), 0, None, 1.0).code == FileError.NOT_A_VIDEO


def test_an_image_named_like_a_video_is_judged_by_its_content_and_hashed_as_one_frame(folder):
    from support.images import fixture_paths

    jpeg = next(p for p in fixture_paths() if p.endswith(".jpg"))
    shutil.copy(jpeg, folder / "photo.mp4")
    got = index_segment(str(folder / "photo.mp4"), 0, None, 1.0)
    assert got.code == FileError.OK and len(got.frames) == 1 and got.width > 0


def test_an_audio_only_file_has_no_video_stream(folder):
    assert index_segment(write_audio_only(folder / "song.m4a"), 0, None, 1.0).code == FileError.NO_VIDEO_STREAM


def test_frames_past_the_pixel_limit_are_refused_before_decoding(mkv):
    got = index_segment(mkv, 0, None, 1.0, max_pixels=320 * 192 - 1)
    assert got.code == FileError.TOO_MANY_PIXELS and len(got.frames) == 0


def test_a_ten_hour_still_is_one_frame_read_once(folder):
    got = index_segment(write_still(folder / "still.mp4", hours=10), 0, None, 1.0)
    assert got.code == FileError.OK and got.duration == pytest.approx(36000)
    assert got.frames.times.tolist() == [0.0]


def test_variable_frame_rate_takes_the_frame_shown_at_each_second_and_each_frame_once(folder):
    # frames at 0, 0.1, 0.5, 1.7, 2.0, 3.3, 3.4, 4.9, 5.0 and 5.9 s: 1.0 s shows the frame of 0.5 s, 3.0 s the
    # frame of 2.0 s again (sampled once, at 2.0 s), 4.0 s that of 3.4 s; 5.9 s is not reached by the grid
    got = index_segment(write_variable_rate(folder / "vfr.mkv"), 0, None, 1.0)
    assert got.frames.times.tolist() == pytest.approx([0.0, 1.0, 2.0, 4.0, 5.0])


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_a_rotation_in_the_metadata_is_hashed_upright_as_players_show_it(folder, rotation):
    # Given the same footage stored sideways with a display rotation, and stored upright
    turns = (rotation // 90) % 4

    def upright(second, width, height):
        return np.ascontiguousarray(np.rot90(picture(second, height, width) if turns % 2 else
                                             picture(second, width, height), turns))

    sideways = write_video(folder / f"rot{rotation}.mp4", rotation=rotation, codec="mpeg4")
    size = (96, 160) if turns % 2 else (160, 96)
    straight = write_video(folder / f"straight{rotation}.mp4", size=size, frame=upright)
    a, b = index_segment(sideways, 0, None, 1.0), index_segment(straight, 0, None, 1.0)
    # Then both have the displayed size and hash alike (only the encoders' noise differs)
    assert (a.width, a.height) == (b.width, b.height) == size
    assert max(hamming(x, y) for x, y in zip(a.frames.phash, b.frames.phash, strict=True)) <= 6


@pytest.mark.parametrize("ext", ["mkv", "mp4", "avi"])
def test_corrupt_packets_in_the_middle_keep_the_frames_around_them_and_say_what_was_lost(folder, ext):
    whole = write_video(folder / f"clean.{ext}", seconds=10, size=(320, 192), gop=10)
    got = index_segment(mangled(whole, str(folder / f"mid.{ext}"), scramble_at=0.5), 0, None, 1.0)
    assert got.code == FileError.DAMAGED_VIDEO and got.lost > 0
    times = got.frames.times.tolist()
    assert {0.0, 1.0, 2.0} <= set(times) and max(times) >= 7.0  # before and after the damage (2.1-3.0 s)


def test_a_cut_off_matroska_file_keeps_its_first_frames_and_is_not_ok(mkv, folder):
    got = index_segment(mangled(mkv, str(folder / "cut.mkv"), keep=0.6), 0, None, 1.0)
    assert got.code in (FileError.DAMAGED_VIDEO, FileError.TRUNCATED_VIDEO)
    assert got.frames.times.tolist()[:4] == [0.0, 1.0, 2.0, 3.0]


def test_a_cut_off_mp4_without_its_index_is_corrupt(folder):
    whole = write_video(folder / "clean-cut.mp4", seconds=4)
    assert index_segment(mangled(whole, str(folder / "cut.mp4"), keep=0.6), 0, None, 1.0).code == FileError.CORRUPT


def test_a_missing_file_and_a_folder_named_like_a_video_are_records(folder):
    os.makedirs(folder / "dir.mp4", exist_ok=True)
    assert index_segment(str(folder / "gone.mp4"), 0, None, 1.0).code == FileError.NOT_FOUND
    assert index_segment(str(folder / "dir.mp4"), 0, None, 1.0).code == FileError.NOT_A_FILE


def test_a_decoder_that_spins_is_stopped_at_the_time_limit_in_isolation(mkv, monkeypatch):
    # Given a segment whose decoding never ends (the forked child inherits the stand-in)
    monkeypatch.setattr(isolate, "index_segment", lambda *args: __import__("time").sleep(60))
    # Then isolation ends it at the limit with a timeout record
    assert isolate.index_segment_isolated(mkv, 0, None, 1.0, (), 2**28, limit=0.5).code == FileError.TIMEOUT


def test_a_decoder_that_crashes_its_process_is_a_worker_crashed_record_in_isolation(mkv, monkeypatch):
    monkeypatch.setattr(isolate, "index_segment", lambda *args: os.kill(os.getpid(), signal.SIGKILL))
    assert isolate.index_segment_isolated(mkv, 0, None, 1.0, (), 2**28, limit=30).code == FileError.WORKER_CRASHED


def test_isolation_gives_the_same_record_as_indexing_in_process(mkv):
    alone = isolate.index_segment_isolated(mkv, 2.0, 6.0, 2.0, (), 2**28, limit=30)
    here = index_segment(mkv, 2.0, 6.0, 2.0)
    assert alone.code == here.code == FileError.OK
    assert alone.frames.times.tolist() == here.frames.times.tolist()
    assert alone.frames.phash.tolist() == here.frames.phash.tolist()


def test_a_video_stream_of_a_codec_ffmpeg_cannot_decode_is_not_a_video_for_the_worker_and_the_producer(folder):
    # Given an MP4 whose sample table box lost its name (one flipped bit, found by bench/video_fuzz.py): its
    # video stream has no codec FFmpeg can open
    from producer.video.probe import VideoCost, probe_cost

    data = open(write_video(folder / "known.mp4", seconds=2), "rb").read()
    assert data.count(b"stbl") == 1
    (folder / "unknown.mp4").write_bytes(data.replace(b"stbl", b"strl"))
    # Then the worker records it and the producer's probe gives an unknown cost instead of failing the walk
    assert index_segment(str(folder / "unknown.mp4"), 0, None, 1.0).code == FileError.NOT_A_VIDEO
    assert probe_cost(str(folder / "unknown.mp4")) == VideoCost(0.0, 0.0)

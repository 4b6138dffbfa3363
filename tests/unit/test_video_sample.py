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


def write_with_b_frames(path, codec: str, seconds: int = 4, rate: int = 10) -> str:
    import av

    from support.videos import picture

    with av.open(str(path), "w") as container:
        options = {"preset": "ultrafast", "x264-params": "bframes=3:b-pyramid=normal"} if codec == "libx264" else {}
        stream = container.add_stream(codec, rate=rate, options=options)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        if codec == "mpeg4":
            stream.codec_context.max_b_frames = 2
        for index in range(seconds * rate):
            image = av.VideoFrame.from_ndarray(picture(index, 160, 96), format="rgb24")
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def test_an_h264_video_with_b_frames_gets_a_frame_for_every_second_within_a_few_frames_of_it(tmp_path):
    from tasks.video.segment import index_segment

    path = write_with_b_frames(tmp_path / "b.mp4", "libx264")  # I B B B P B B B P ...: a new picture each frame
    got = index_segment(path, 0.0, None, 1.0)
    assert got.code == 0 and got.frames.times.tolist() == [0.0, 1.0, 2.0, 3.0]
    every = hash_frames(sample_gray(path, fps=10.0))  # every frame, none skipped
    for time, dhash in zip(got.frames.times, got.frames.dhash, strict=True):
        near = every.dhash[np.abs(every.times - time) <= 0.2 + 1e-9]  # within two frames of the time
        assert dhash in near.tolist(), time


def write_b_pyramid(path, seconds: int = 6) -> str:
    """FFmpeg's testsrc2 pattern (every frame moves) encoded by x264 at its default preset: B-frames that
    other B-frames reference (B-pyramid)."""
    import av

    with av.open(f"testsrc2=size=320x180:rate=30:duration={seconds}", format="lavfi") as source, \
            av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30, options={"preset": "medium"})
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for frame in source.decode(video=0):
            frame = frame.reformat(format="yuv420p")
            frame.pict_type = 0  # the encoder chooses (the source marks every frame a key frame)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def test_an_x264_video_with_referenced_b_frames_is_sampled_in_one_pass_with_nothing_lost_every_time(
        tmp_path, monkeypatch):
    # Given an x264 clip whose B-frames reference each other: skipping them makes the decoder log that it
    # cannot drop references it never decoded
    from tasks.video import segment

    path = write_b_pyramid(tmp_path / "pyramid.mp4")
    passes = []
    sample = segment._sample
    monkeypatch.setattr(segment, "_sample", lambda *args, **kw: passes.append(args[5]) or sample(*args, **kw))
    # When it is indexed twice in one process (PyAV would drop the second segment's repeated messages)
    first, second = (segment.index_segment(path, 1.0, 5.0, 1.0) for _ in range(2))
    # Then each time it is one pass skipping every B-frame, and nothing is counted lost
    assert passes == ["BIDIR", "BIDIR"]
    assert first.lost == second.lost == 0 and first.code == second.code == 0
    assert first.frames.times.tolist() == second.frames.times.tolist()


@pytest.mark.parametrize("skip_every_b", [False, True])
def test_when_skipping_frames_would_miss_a_sampling_time_the_segment_is_sampled_again_with_every_frame(
        tmp_path, monkeypatch, skip_every_b):
    # Given P-frames 0.3 s apart (two B-frames between) and a 10 fps sampling grid, the B-frames skipped
    # as non-reference frames or as every B-frame
    from tasks.video import segment

    monkeypatch.setattr(segment, "SKIP_B_CODECS", frozenset({"mpeg4"} if skip_every_b else ()))
    path = write_with_b_frames(tmp_path / "b.mp4", "mpeg4")
    # When it is indexed, Then every grid time gets its own frame, as when every frame is decoded
    got = segment.index_segment(path, 0.0, None, 10.0)
    reference = hash_frames(sample_gray(path, fps=10.0))
    assert got.frames.times.tolist() == pytest.approx(reference.times.tolist())
    assert len(got.frames) == 40


@pytest.fixture(scope="module")
def mpeg_ps(tmp_path_factory):
    """MPEG-2 in an MPEG program stream (.mpg): a container whose seeks land near, not at, the time asked. A new
    picture every second, on the second: its cuts fall on the sampling grid."""
    import av

    from support.videos import picture

    path = tmp_path_factory.mktemp("mpg") / "clip.mpg"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg2video", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 192, "yuv420p"
        stream.codec_context.gop_size, stream.codec_context.max_b_frames = 12, 2
        for index in range(10 * 25):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture(index // 25, 320, 192), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def test_segments_of_a_program_stream_join_up_to_the_whole_video_despite_its_inexact_seeks(mpeg_ps):
    from tasks.video.segment import index_segment

    whole = index_segment(mpeg_ps, 0.0, None, 1.0)
    parts = [index_segment(mpeg_ps, start, end, 1.0) for start, end in ((0.0, 3.0), (3.0, 7.0), (7.0, None))]
    assert np.concatenate([p.frames.times for p in parts]).tolist() == whole.frames.times.tolist()
    assert np.concatenate([p.frames.phash for p in parts]).tolist() == whole.frames.phash.tolist()
    assert len(whole.frames) == 10


def test_seeking_ahead_at_a_low_rate_takes_the_same_frames_as_reading_on(mpeg_ps):
    import av

    from tasks.video.sample import SampleStats, sample_frames

    taken = {}
    for seek in (True, False):
        stats = SampleStats()
        with av.open(mpeg_ps) as container:
            taken[seek] = [time for time, _ in sample_frames(container, 0.2, seek=seek, stats=stats)]
        assert (stats.seeks > 0) == seek
    assert taken[True] == taken[False] and len(taken[True]) == 2


def test_a_bare_mpeg1_stream_whose_header_says_half_a_millisecond_is_recorded_as_long_as_its_frames(tmp_path):
    # Given 3 s of MPEG-1 video as a bare elementary stream, whose header FFmpeg reads as 0.0005 s long
    import av

    from support.videos import picture
    from tasks.video.probe import probe
    from tasks.video.segment import index_segment

    path = str(tmp_path / "bare.m1v")
    with av.open(path, "w", format="mpeg1video") as container:
        stream = container.add_stream("mpeg1video", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for index in range(75):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture(index // 25, 160, 96), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert probe(path).duration < 0.01
    # When it is indexed, Then its record says about 3 s, as its frames do
    got = index_segment(path, 0.0, None, 1.0)
    assert got.code == 0 and len(got.frames) >= 3 and 2.9 <= got.duration <= 3.1


def test_skipping_b_frames_a_time_takes_the_nearer_of_the_decoded_frames_around_it(tmp_path):
    import av

    from tasks.video.sample import sample_frames, upright_gray

    path = write_b_pyramid(tmp_path / "pyramid.mp4", seconds=3)
    with av.open(path) as container:  # the frames a pass skipping every B-frame decodes, by time
        container.streams.video[0].codec_context.skip_frame = "BIDIR"
        decoded = {float(f.time): upright_gray(f, 256) for f in container.decode(video=0)}
    times = np.array(sorted(decoded))
    with av.open(path) as container:
        sampled = list(sample_frames(container, 3.0, skip="BIDIR", cuts=False))
    assert [t for t, _ in sampled] == pytest.approx(np.arange(9) / 3)
    took_later = 0
    for t, gray in sampled:
        before, after = times[times <= t + 1e-6].max(), times[times > t + 1e-6].min()
        nearer = before if t - before <= after - t + 1e-6 else after
        assert np.array_equal(gray, decoded[nearer]), (t, before, after)
        took_later += nearer == after
    assert took_later  # (x264's frame types here put a decoded frame nearer after some time than before it)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_at_uneven_frame_times_each_time_takes_the_frame_shown_then_and_each_frame_once(tmp_path, seed):
    import av

    from support.videos import write_variable_rate
    from tasks.video.sample import SampleStats, sample_frames, upright_gray

    # Given a video whose frames come 0.02 to 2.5 s apart, each a picture of its own
    gaps = np.random.default_rng(seed).integers(20, 2500, 30)
    path = write_variable_rate(tmp_path / "vfr.mkv", times_ms=[0, *np.cumsum(gaps).tolist()], each_its_own=True)
    with av.open(path) as container:
        shown = {float(f.time): upright_gray(f, 256) for f in container.decode(video=0)}
    starts = np.array(sorted(shown))
    # When it is sampled at 1 frame/s, every frame decoded and no cut followed
    stats = SampleStats()
    with av.open(path) as container:
        sampled = list(sample_frames(container, 1.0, skip="DEFAULT", cuts=False, stats=stats))
    # Then each whole second up to the end takes the frame shown then, unless that frame was taken already
    expected, taken = [], set()
    for second in range(int(np.ceil(stats.packet_end))):
        if second < stats.packet_end - 1e-6:
            frame = float(starts[starts <= second + 1e-6].max())
            if frame not in taken:
                expected.append((float(second), frame))
                taken.add(frame)
    assert [t for t, _ in sampled] == [t for t, _ in expected]
    for (_, gray), (_, frame) in zip(sampled, expected, strict=True):
        assert np.array_equal(gray, shown[frame])

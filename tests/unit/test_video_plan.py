"""How the producer cuts videos into tasks (producer/video/plan.py), and how a task's packed result travels
(tasks/video/wire.py)."""

from __future__ import annotations

import numpy as np
import pytest

from producer.video.plan import REFERENCE_RATE, VIDEOS_PER_TASK, VideoCost, VideoPlan, divert_videos, plan_tasks
from tasks.errors import FileError
from tasks.video.frames import VideoFrames
from tasks.video.segment import SegmentResult
from tasks.video.wire import pack_segments, unpack_segments


def hd(seconds: float) -> VideoCost:
    """A 1080p 30 fps video of `seconds`."""
    return VideoCost(seconds, seconds * REFERENCE_RATE)


def test_a_two_hour_film_is_cut_into_segments_of_the_task_length_each_its_own_task():
    tasks = plan_tasks([hd(7200)], fps=1.0, segment_s=120)
    assert len(tasks) == 60 and all(len(t) == 1 for t in tasks)
    segments = [t[0] for t in tasks]
    assert segments[0] == (0, 0.0, 120.0) and segments[-1] == (0, 7080.0, None)
    assert all(a[2] == b[1] for a, b in zip(segments, segments[1:], strict=False))  # end to end, no gap


def test_segments_start_on_the_sampling_grid():
    tasks = plan_tasks([hd(100)], fps=3.0, segment_s=30)
    starts = [t[0][1] for t in tasks]
    assert all(abs(s * 3 - round(s * 3)) < 1e-9 for s in starts)


def test_a_4k_60fps_video_gets_segments_eight_times_shorter_than_1080p30():
    k4 = VideoCost(600, 600 * 60 * 3840 * 2160)
    tasks = plan_tasks([k4], fps=1.0, segment_s=120)
    assert len(tasks) == 40  # 600 s / (120 s / 8)


def test_short_videos_are_batched_in_order_up_to_one_task_of_work():
    tasks = plan_tasks([hd(30)] * 10, fps=1.0, segment_s=120)
    assert [[v for v, _, _ in t] for t in tasks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert all(end is None and start == 0.0 for t in tasks for _, start, end in t)


def test_a_batch_holds_at_most_videos_per_task_tiny_videos():
    tasks = plan_tasks([VideoCost(1, 1)] * (VIDEOS_PER_TASK + 1), fps=1.0, segment_s=120)
    assert [len(t) for t in tasks] == [VIDEOS_PER_TASK, 1]


def test_a_ten_hour_still_with_one_frame_is_one_task_and_an_unreadable_video_is_batched_whole():
    still = VideoCost(36000, 1 * 64 * 48)
    assert plan_tasks([still, VideoCost(0.0, 0.0)], fps=1.0, segment_s=120) == [[(0, 0.0, None), (1, 0.0, None)]]


def test_videos_keep_walk_order_when_a_long_one_sits_between_short_ones():
    tasks = plan_tasks([hd(10), hd(1000), hd(10)], fps=1.0, segment_s=120)
    order = [v for t in tasks for v, _, end in t if end is None]
    assert order == [0, 1, 2]


def test_a_task_says_in_flower_which_video_and_which_seconds_it_holds():
    plan = VideoPlan(1.0, ["/films/long.mp4", "/clips/a.mp4", "/clips/b.mp4"],
                     [[(0, 0.0, 120.0)], [(0, 120.0, None)], [(1, 0.0, None), (2, 0.0, None)]])
    assert plan.describe(0) == "(video 'long.mp4': 0-120 s, 1 fps)"
    assert plan.describe(1) == "(video 'long.mp4': 120 s to the end, 1 fps)"
    assert plan.describe(2) == "(2 videos from 'a.mp4', whole, 1 fps)"
    assert plan.segments(2) == [["/clips/a.mp4", 0.0, None], ["/clips/b.mp4", 0.0, None]]
    assert VideoPlan.from_doc(plan.to_doc()) == plan


def test_the_walk_sends_videos_aside_local_or_in_an_object_store_and_images_on_and_no_videos_drops_them():
    walk = ["/a.jpg", "/b.MP4", "/c.png", "/d.mkv", "s3://bucket/e.mp4", "s3://bucket/f.webp"]
    videos: list[str] = []
    assert list(divert_videos(walk, videos)) == ["/a.jpg", "/c.png", "s3://bucket/f.webp"]
    assert videos == ["/b.MP4", "/d.mkv", "s3://bucket/e.mp4"]
    assert list(divert_videos(walk, None)) == ["/a.jpg", "/c.png", "s3://bucket/f.webp"]


def test_segment_results_round_trip_through_the_packed_wire_format():
    frames = VideoFrames(np.array([0.0, 1.0]), *(np.array([2**64 - 1, 5], np.uint64) for _ in range(3)),
                         np.array([10, 100], np.uint8), np.array([7, 2**63], np.uint64))
    results = [SegmentResult(FileError.OK, 2**40, 7, 3600.5, 3840, 2160, 29.97, frames, 0),
               SegmentResult(FileError.NOT_A_VIDEO, 12, 7)]
    got = unpack_segments(pack_segments(results))
    assert [r.code for r in got] == [FileError.OK, FileError.NOT_A_VIDEO]
    assert got[0].size == 2**40 and got[0].duration == 3600.5 and got[0].fps == pytest.approx(29.97)
    assert got[0].frames.dhash.tolist() == [2**64 - 1, 5] and got[1].frames.times.tolist() == []
    assert got[0].frames.band.tolist() == [7, 2**63]


def test_a_result_packed_by_a_worker_before_the_band_hash_reads_with_no_band():
    # Given what a version-2 worker stored: the same rows, frames without the band column
    import zlib

    from tasks.video.wire import FRAME_DTYPE, FRAME_DTYPES, SEGMENT_DTYPE

    frames = VideoFrames(np.array([0.0, 1.0]), *(np.array([9, 5], np.uint64) for _ in range(3)),
                         np.array([10, 100], np.uint8), np.array([7, 8], np.uint64))
    current = pack_segments([SegmentResult(FileError.OK, 1000, 7, 2.0, 64, 48, 25.0, frames, 0)])
    raw = zlib.decompress(current["packed"])
    rows, new = raw[:SEGMENT_DTYPE.itemsize], np.frombuffer(raw[SEGMENT_DTYPE.itemsize:], FRAME_DTYPE)
    old = np.zeros(len(new), FRAME_DTYPES[2])
    for name in old.dtype.names:
        old[name] = new[name]
    # When the producer reads it, Then every field is there and the band is 0 (none)
    (got,) = unpack_segments({"v": 2, "n": 1, "packed": zlib.compress(rows + old.tobytes())})
    assert got.size == 1000 and got.frames.phash.tolist() == [9, 5] and got.frames.quality.tolist() == [10, 100]
    assert got.frames.band.tolist() == [0, 0]


def test_a_packed_result_of_another_version_is_refused():
    payload = pack_segments([])
    payload["v"] += 1
    with pytest.raises(ValueError, match="version"):
        unpack_segments(payload)


def test_a_manifest_brings_back_a_jobs_videos_so_wait_and_resume_follow_their_tasks(tmp_path):
    from producer import manifest
    from producer.job import build_job

    job = build_job((f"/b/{i}.jpg" for i in range(5)), "dhash", 8, 2)
    job.videos = VideoPlan(2.0, ["/v/a.mp4", "/v/long.mkv"], [[(0, 0.0, None)], [(1, 0.0, 60.0)], [(1, 60.0, None)]])
    manifest.save(job, str(tmp_path))
    loaded = manifest.load(job.id, str(tmp_path))
    assert loaded.videos == job.videos
    assert loaded.task_count == len(job.blobs) + 3 and loaded.remote == list(range(len(job.blobs) + 3))
    assert [loaded.task_files(i) for i in range(len(job.blobs), loaded.task_count)] == [1, 0, 1]

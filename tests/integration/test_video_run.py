"""`hashfleet run` on a folder of images and videos, with real prefork workers: every video becomes a record
and its sampled frames come back in time order, equal to sampling the whole file in one process, even when
the producer cut it into segments that different tasks indexed."""

from __future__ import annotations

import csv
import os
import re
import shutil

import pytest

from producer.outputs.videoframes import read_videos
from support.servers import hashfleet
from support.videos import write_audio_only, write_still, write_video
from tasks.video.segment import index_segment

pytestmark = pytest.mark.integration

#: Seconds of 1080p30 video per task, made tiny so the 20 s test video (320 x 192 at 10 fps) is cut into
#: several segments.
TINY_SEGMENT = "0.03"


@pytest.fixture
def mixed_folder(images):
    """The committed photos plus videos: short, long enough to be split, a ten-hour still, and three that
    are not videos at all."""
    write_video(images / "clip.mp4", seconds=6)
    write_video(images / "long.mkv", seconds=20, size=(320, 192))
    write_still(images / "still.mp4", hours=10)
    write_audio_only(images / "song.m4v")
    (images / "notes.mp4").write_text("not a video\n" * 40)
    shutil.copy(images / "orange.jpg", images / "photo-named.mov")
    return images


EXPECTED_ERRORS = {"clip.mp4": "", "long.mkv": "", "still.mp4": "", "song.m4v": "no-video-stream",
                   "notes.mp4": "not-a-video", "photo-named.mov": ""}


@pytest.mark.parametrize("fmt", ["sqlite", "csv"])
def test_run_indexes_videos_beside_images_with_frames_in_order_as_one_process_samples_them(
        tmp_path, mixed_folder, shared_env, fmt):
    # Given a folder of photos and videos, and a segment length that splits the 20 s video
    out = tmp_path / f"index.{fmt}"
    env = dict(shared_env, HASHFLEET_VIDEO_SEGMENT=TINY_SEGMENT)
    # When it is indexed by the shared worker
    done = hashfleet(["run", str(mixed_folder), "-o", str(out), "--chunk-size", "4", "--timeout", "120"],
                     env=env, timeout=150)
    assert done.returncode == 0, done.stderr
    # Then the producer planned more tasks than videos (the long one was split)
    videos, tasks = map(int, re.search(r"(\d+) videos in (\d+) tasks", done.stderr).groups())
    assert videos == len(EXPECTED_ERRORS) and tasks > videos
    # And every video has one record, in walk order, with the frames one process samples from the whole file
    got = list(read_videos(str(out)))
    assert [os.path.basename(v.path) for v in got] == sorted(EXPECTED_ERRORS)
    for video in got:
        name = os.path.basename(video.path)
        assert video.error == EXPECTED_ERRORS[name], name
        whole = index_segment(video.path, 0.0, None, 1.0)
        assert video.frames.times.tolist() == whole.frames.times.tolist(), name
        assert video.frames.phash.tolist() == whole.frames.phash.tolist(), name
        assert video.frames.dhash.tolist() == whole.frames.dhash.tolist(), name
        assert (video.width, video.height) == (whole.width, whole.height), name
    long = next(v for v in got if v.path.endswith("long.mkv"))
    assert long.frames.times.tolist() == [float(s) for s in range(20)]
    assert next(v for v in got if v.path.endswith("still.mp4")).duration == pytest.approx(36000)


def test_the_index_has_one_row_per_image_and_per_video_and_says_which_is_which(tmp_path, mixed_folder, shared_env):
    out = tmp_path / "index.csv"
    done = hashfleet(["run", str(mixed_folder), "-o", str(out), "--timeout", "120"], env=shared_env, timeout=150)
    assert done.returncode == 0, done.stderr
    with open(out, newline="") as handle:
        rows = {os.path.basename(r["path"]): r for r in csv.DictReader(handle)}
    assert len(rows) == len(os.listdir(mixed_folder))
    assert {name for name, r in rows.items() if r["kind"] == "video"} == set(EXPECTED_ERRORS)
    assert rows["orange.jpg"]["kind"] == "image" and rows["orange.jpg"]["hash"]
    assert rows["clip.mp4"]["width"] == "160" and rows["clip.mp4"]["hash"] == ""
    assert "no-video-stream: 1" in done.stdout and "not-a-video: 1" in done.stdout


def test_no_videos_leaves_video_files_out_of_the_index(tmp_path, mixed_folder, shared_env):
    out = tmp_path / "index.csv"
    done = hashfleet(["run", str(mixed_folder), "-o", str(out), "--no-videos", "--timeout", "120"],
                     env=shared_env, timeout=150)
    assert done.returncode == 0, done.stderr
    with open(out, newline="") as handle:
        kinds = {r["kind"] for r in csv.DictReader(handle)}
    assert kinds == {"image"} and not (tmp_path / "index.videos.csv").exists()


def test_video_results_travel_with_the_json_serializer_too(tmp_path, worker_env, start_workers):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "clip.mp4", seconds=3)
    env = dict(worker_env, HASHFLEET_SERIALIZER="json")
    start_workers(count=1, concurrency=1, HASHFLEET_SERIALIZER="json")
    out = tmp_path / "index.jsonl"
    done = hashfleet(["run", str(folder), "-o", str(out), "--timeout", "120"], env=env, timeout=150)
    assert done.returncode == 0, done.stderr
    (video,) = read_videos(str(out))
    assert video.frames.times.tolist() == [0.0, 1.0, 2.0] and video.error == ""

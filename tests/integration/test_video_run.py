"""`hashfleet run` on a folder of images and videos, with real prefork workers: every video becomes a record
and its sampled frames come back in time order, equal to sampling the whole file in one process, even when
the producer cut it into segments that different tasks indexed."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from producer.outputs.videoframes import read_videos
from support.servers import REPO, hashfleet
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
    os.rename(write_video(images / "footage.mp4", seconds=4, size=(160, 112)), images / "footage-named.jpg")
    return images


#: Videos by name, and their errors; then the video named like an image, found by its content.
EXPECTED_ERRORS = {"clip.mp4": "", "long.mkv": "", "still.mp4": "", "song.m4v": "no-video-stream",
                   "notes.mp4": "not-a-video", "photo-named.mov": ""}
BY_CONTENT = "footage-named.jpg"


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
    # And the video named like an image was found by its content once the image chunks were in
    assert "1 files named like images are videos" in done.stderr
    # And every video has one record, in walk order (the one found by content last), with the frames one
    # process samples from the whole file
    got = list(read_videos(str(out)))
    assert [os.path.basename(v.path) for v in got] == [*sorted(EXPECTED_ERRORS), BY_CONTENT]
    for video in got:
        name = os.path.basename(video.path)
        assert video.error == EXPECTED_ERRORS.get(name, ""), name
        whole = index_segment(video.path, 0.0, None, 1.0)
        assert video.frames.times.tolist() == whole.frames.times.tolist(), name
        assert video.frames.phash.tolist() == whole.frames.phash.tolist(), name
        assert video.frames.dhash.tolist() == whole.frames.dhash.tolist(), name
        assert video.frames.band.tolist() == whole.frames.band.tolist(), name
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
    assert {name for name, r in rows.items() if r["kind"] == "video"} == {*EXPECTED_ERRORS, BY_CONTENT}
    assert rows[BY_CONTENT]["error"] == "" and rows[BY_CONTENT]["width"] == "160"
    assert rows["orange.jpg"]["kind"] == "image" and rows["orange.jpg"]["hash"]
    assert rows["clip.mp4"]["width"] == "160" and rows["clip.mp4"]["hash"] == ""
    assert "no-video-stream: 1" in done.stdout and "not-a-video: 1" in done.stdout
    assert f"{len(rows)} files" in done.stdout  # the video named like an image counted once


def test_no_videos_leaves_video_files_out_and_says_which_image_names_hold_a_video(
        tmp_path, mixed_folder, shared_env):
    out = tmp_path / "index.csv"
    done = hashfleet(["run", str(mixed_folder), "-o", str(out), "--no-videos", "--timeout", "120"],
                     env=shared_env, timeout=150)
    assert done.returncode == 0, done.stderr
    with open(out, newline="") as handle:
        rows = {os.path.basename(r["path"]): r for r in csv.DictReader(handle)}
    assert {r["kind"] for r in rows.values()} == {"image"} and not (tmp_path / "index.videos.csv").exists()
    assert rows[BY_CONTENT]["error"] == "video-content" and "video-content: 1" in done.stdout


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


def test_images_and_a_segmented_video_go_through_a_small_window_to_an_exact_sqlite_index(
        tmp_path, images, shared_env, redis_server):
    # Given photos and a 20 s video cut into several segments, a window of 2 tasks in flight, and the shared
    # worker's two processes (window, segment length and jobs folder are the producer's settings)
    from producer.outputs.reader import read_records
    from tasks.batch import hash_one
    from tasks.image.algos import DEFAULT_ALGOS, algo_bytes, parse_algos

    write_video(images / "long.mkv", seconds=20, size=(320, 192))
    env = dict(shared_env, HASHFLEET_WINDOW="2", HASHFLEET_VIDEO_SEGMENT=TINY_SEGMENT,
               HASHFLEET_JOBS_DIR=str(tmp_path / "jobs"))
    out = tmp_path / "index.sqlite"
    # When it is indexed in chunks of 2 photos
    done = hashfleet(["run", str(images), "-o", str(out), "--chunk-size", "2", "--timeout", "120"],
                     env=env, timeout=150)
    assert done.returncode == 0, done.stderr
    job_id = re.search(r"job ([0-9a-f]{12})", done.stderr).group(1)
    chunks = int(re.search(r"images in (\d+) chunks", done.stderr).group(1))
    videos, tasks = map(int, re.search(r"(\d+) videos in (\d+) tasks", done.stderr).groups())
    assert videos == 1 and tasks >= 3 and chunks + tasks > 2 * 2
    # photos and a video: files, and the tasks that hold them
    assert re.search(r"^hashed (\d+)/\1 files \((\d+)/\2 tasks\), ", done.stderr, re.M), done.stderr
    # Then every photo is hashed exactly as the pure function hashes it, once
    records = {r.path: r for r in read_records(str(out)) if r.kind == "image"}
    photos = sorted(str(images / n) for n in os.listdir(images) if not n.endswith(".mkv"))
    assert sorted(records) == photos
    edges = np.cumsum([0] + [algo_bytes(a, 8) for a in parse_algos(DEFAULT_ALGOS)]).tolist()
    for path, record in records.items():
        got = hash_one(path, DEFAULT_ALGOS, 8)
        hexes = [got.packed[lo:hi].hex() for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
        assert (record.hash, *record.more, record.error, record.size) == (*hexes, "", got.size), path
    # And the video's frames, read from the drained results, are the whole file's sampled at once, in order
    (video,) = read_videos(str(out))
    whole = index_segment(video.path, 0.0, None, 1.0)
    assert video.error == "" and video.frames.times.tolist() == [float(s) for s in range(20)]
    assert video.frames.phash.tolist() == whole.frames.phash.tolist()
    assert video.frames.dhash.tolist() == whole.frames.dhash.tolist()
    # And Redis holds nothing of the job but its marker: the video tasks' frames were drained like chunks
    keys = [k.decode() for k in redis_server.client().keys(f"*{job_id}*")]
    assert keys == [f"celery-task-meta-{job_id}-marker"]


def test_a_run_whose_probe_of_a_video_hangs_or_crashes_indexes_every_video_all_the_same(tmp_path, shared_env):
    # Given videos whose probe in the producer hangs or crashes its process (tests/support/hostile_probe.py)
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("clip.mp4", "hang.mp4", "crash.mkv"):
        write_video(folder / name, seconds=3)
    tests = os.path.join(REPO, "tests")
    env = dict(shared_env, HASHFLEET_PROBE_TIMEOUT="2",
               PYTHONPATH=os.pathsep.join(p for p in (tests, shared_env.get("PYTHONPATH")) if p))
    out = tmp_path / "index.sqlite"
    # When they are indexed by a producer with such probe children
    done = subprocess.run([sys.executable, "-m", "support.hostile_probe", "run", str(folder), "-o", str(out),
                           "--timeout", "120"], env=env, cwd=REPO, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr
    # Then the producer said which probes it gave up on, and every video has its record and all its frames
    assert "hang.mp4': probing it took over 2 s" in done.stderr, done.stderr
    assert "crash.mkv': its probe's process died" in done.stderr, done.stderr
    got = {os.path.basename(video.path): video for video in read_videos(str(out))}
    assert sorted(got) == ["clip.mp4", "crash.mkv", "hang.mp4"]
    for name, video in got.items():
        assert video.error == "" and video.frames.times.tolist() == [0.0, 1.0, 2.0], name

"""`hashfleet run --index OLD` with real prefork workers: a video unchanged since OLD keeps its record and frames
and never reaches a worker; a touched one is sampled again; a run at another --video-fps reuses none."""

from __future__ import annotations

import os
import re

import pytest

from producer.outputs.reader import read_records
from producer.outputs.videoframes import read_videos
from support.servers import hashfleet
from support.videos import write_video

pytestmark = pytest.mark.integration

#: Seconds a run of the committed photos and two small videos may take on the shared worker.
RUN_TIMEOUT = 120


def video_tasks_succeeded(worker) -> int:
    """Video tasks the worker logged as succeeded."""
    with open(worker.log_path, errors="replace") as log:
        return sum(1 for line in log if "hashfleet.index_videos" in line and "succeeded" in line)


def run(folder, out, env, *extra: str):
    done = hashfleet(["run", str(folder), "-o", str(out), "--timeout", str(RUN_TIMEOUT), *extra], env=env,
                     timeout=RUN_TIMEOUT + 30)
    assert done.returncode == 0, done.stderr
    return done


def columns(video) -> dict[str, list]:
    f = video.frames
    return {name: getattr(f, name).tolist() for name in ("times", "dhash", "phash", "centre", "quality", "band")}


@pytest.fixture
def folder(images):
    """The committed photos and two small videos."""
    write_video(images / "kept.mp4", seconds=4)
    write_video(images / "touched.mp4", seconds=5, size=(128, 96))
    return images


@pytest.mark.parametrize("fmt", ["sqlite", "csv"])
def test_an_incremental_run_reuses_an_unchanged_video_and_samples_a_touched_one_again(
        tmp_path, folder, shared_env, shared_worker, fmt):
    # Given a folder of photos and two videos indexed
    old = tmp_path / f"old.{fmt}"
    run(folder, old, shared_env)
    before = {os.path.basename(v.path): v for v in read_videos(str(old))}
    assert sorted(before) == ["kept.mp4", "touched.mp4"] and all(not v.error for v in before.values())
    # And one video touched (its mtime changed), the other's bytes replaced by garbage of the same size with its
    # mtime put back: a worker that sampled it again would record it as not a video
    kept = folder / "kept.mp4"
    seen = os.stat(kept)
    kept.write_bytes(b"\0" * seen.st_size)
    os.utime(kept, ns=(seen.st_atime_ns, seen.st_mtime_ns))
    os.utime(folder / "touched.mp4", (1_600_000_000, 1_600_000_000))
    tasks = video_tasks_succeeded(shared_worker)
    # When the run is repeated with the old index
    new = tmp_path / f"new.{fmt}"
    done = run(folder, new, shared_env, "--index", str(old))
    # Then the producer says one of the two videos was reused, and the worker sampled only the touched one
    assert re.search(r"2 videos in \d+ tasks \(1 unchanged, reused from the index\)", done.stderr), done.stderr
    assert "2 videos, 1 reused from the index" in done.stdout
    assert video_tasks_succeeded(shared_worker) - tasks == 1
    # And the unchanged video's record and frames in the new index are those of the old one
    after = {os.path.basename(v.path): v for v in read_videos(str(new))}
    assert after["kept.mp4"].error == "" and columns(after["kept.mp4"]) == columns(before["kept.mp4"])
    assert (after["kept.mp4"].duration, after["kept.mp4"].width) == (before["kept.mp4"].duration,
                                                                     before["kept.mp4"].width)
    # And the touched one was sampled again: the worker recorded its new mtime, and the same frames
    records = {os.path.basename(r.path): r for r in read_records(str(new)) if r.kind == "video"}
    assert records["touched.mp4"].mtime == 1_600_000_000 and records["kept.mp4"].mtime == int(seen.st_mtime)
    assert columns(after["touched.mp4"]) == columns(before["touched.mp4"])
    assert [os.path.basename(v.path) for v in after.values()] == ["kept.mp4", "touched.mp4"]  # walk order


def test_a_run_at_another_video_rate_reuses_no_video(tmp_path, folder, shared_env, shared_worker):
    # Given a folder indexed at the default rate (1 fps)
    old = tmp_path / "old.sqlite"
    run(folder, old, shared_env)
    tasks = video_tasks_succeeded(shared_worker)
    # When it is indexed again at 2 fps with the old index, nothing changed
    new = tmp_path / "new.sqlite"
    done = run(folder, new, shared_env, "--index", str(old), "--video-fps", "2")
    # Then no video was reused: both were sampled again, at the new rate
    assert "(0 unchanged, reused from the index)" in done.stderr, done.stderr
    assert video_tasks_succeeded(shared_worker) > tasks
    for video in read_videos(str(new)):
        assert video.sample_fps == 2.0 and video.frames.times.tolist()[:2] == [0.0, 0.5], video.path


def test_a_submitted_job_keeps_its_reused_videos_in_its_manifest_for_wait(tmp_path, folder, shared_env):
    # Given a folder indexed, then one video touched
    old = tmp_path / "old.sqlite"
    run(folder, old, shared_env)
    os.utime(folder / "touched.mp4", (1_600_000_000, 1_600_000_000))
    env = dict(shared_env, HASHFLEET_JOBS_DIR=str(tmp_path / "jobs"))
    # When a job is submitted with the old index and waited for from another process
    submitted = hashfleet(["submit", str(folder), "--index", str(old)], env=env, timeout=60)
    assert submitted.returncode == 0, submitted.stderr
    assert "(1 unchanged, reused from the index)" in submitted.stderr, submitted.stderr
    new = tmp_path / "new.csv"
    waited = hashfleet(["wait", submitted.stdout.strip(), "-o", str(new), "--timeout", str(RUN_TIMEOUT)], env=env,
                       timeout=RUN_TIMEOUT + 30)
    # Then the output holds both videos, the reused one with the frames of the old index
    assert waited.returncode == 0, waited.stderr
    before = {os.path.basename(v.path): columns(v) for v in read_videos(str(old))}
    assert {os.path.basename(v.path): columns(v) for v in read_videos(str(new))} == before


def test_an_incremental_run_reuses_a_video_named_like_an_image_without_hashing_it_as_one(
        tmp_path, images, shared_env, shared_worker):
    # Given a video named like an image, indexed as a video after the workers found it by its content
    os.rename(write_video(images / "clip.mp4", seconds=3), images / "clip.jpg")
    old = tmp_path / "old.sqlite"
    assert "1 files named like images are videos" in run(images, old, shared_env).stderr
    tasks = video_tasks_succeeded(shared_worker)
    # When the run is repeated with that index
    new = tmp_path / "new.sqlite"
    done = run(images, new, shared_env, "--index", str(old))
    # Then the walk takes it for the video the index holds: reused, not sent to an image chunk or a video task
    assert "1 videos in 1 tasks (1 unchanged, reused from the index)" in done.stderr, done.stderr
    assert "named like images" not in done.stderr and video_tasks_succeeded(shared_worker) == tasks
    (video,) = read_videos(str(new))
    assert video.path.endswith("clip.jpg") and columns(video) == columns(next(read_videos(str(old))))

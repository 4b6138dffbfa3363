"""Incremental runs reuse videos (producer/outputs/incremental.py, producer/outputs/oldvideos.py,
producer/video/reuse.py): which videos of an old index are offered, how they are planned into tasks the
producer never sends, and how those tasks' results travel through the job's spool and manifest."""

from __future__ import annotations

import os

import pytest

from producer import manifest
from producer.job import build_job
from producer.outputs.formats import Record, write_records
from producer.outputs.incremental import Index, OldVideo
from producer.outputs.videoresults import job_videos
from producer.spool import ReusedChunks
from producer.video.plan import VIDEOS_PER_TASK, VideoCost, plan_tasks
from producer.video.reuse import plan_job_videos
from support.videos import random_frames
from tasks.settings import Settings
from tasks.video.frames import IndexedVideo, VideoFrames

META = {"job": "j", "algo": "dhash", "hash_size": "8"}
FORMATS = ("sqlite", "csv", "jsonl", "parquet")


def frames(n: int, seed: int) -> VideoFrames:
    return random_frames(n, seed)


@pytest.fixture
def old_index(tmp_path):
    """Three video files and an index of them sampled at 1 fps: `good.mp4` (sampled to its end, letterboxed),
    `broken.mp4` (its record has an error) and `changed.mp4` (touched since)."""

    def write(fmt: str, sample_fps: float = 1.0) -> tuple[str, dict[str, str]]:
        paths = {}
        videos, records = [], []
        for number, (name, error) in enumerate((("good.mp4", ""), ("broken.mp4", "truncated-video"),
                                                 ("changed.mp4", ""))):
            path = paths[name] = str(tmp_path / name)
            with open(path, "wb") as handle:
                handle.write(b"x" * (100 + number))
            seen = os.stat(path)
            videos.append(IndexedVideo(path, 6.0, 160, 96, 10.0, frames(6, number), error, name == "good.mp4",
                                       sample_fps))
            records.append(Record(path, "", error, seen.st_size, int(seen.st_mtime), (), None, 160, 96, "video"))
        out = str(tmp_path / f"old.{fmt}")
        write_records(out, records, META, videos)
        os.utime(paths["changed.mp4"], (1_600_000_000, 1_600_000_000))
        return out, paths

    return write


@pytest.mark.parametrize("fmt", FORMATS)
def test_only_an_unchanged_video_sampled_to_its_end_at_the_same_rate_is_offered_with_its_frames(old_index, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    # Given an index of three videos sampled at 1 fps
    out, paths = old_index(fmt)
    index = Index(out, "dhash", 8, video_fps=1.0)
    try:
        # Then the unchanged one is offered, with its size, mtime and frames as the index has them
        good = os.stat(paths["good.mp4"])
        assert index.unchanged_video(paths["good.mp4"]) == OldVideo(6, good.st_size, int(good.st_mtime))
        video = index.old_video(paths["good.mp4"])
        assert video.frames.phash.tolist() == frames(6, 0).phash.tolist() and video.letterboxed
        # And neither the one whose record has an error nor the touched one, nor a path it never held
        assert index.unchanged_video(paths["broken.mp4"]) is None
        assert index.unchanged_video(paths["changed.mp4"]) is None
        assert index.unchanged_video(paths["good.mp4"] + ".other.mp4") is None
    finally:
        index.close()


def test_an_object_video_is_offered_when_its_listed_size_and_last_modified_match_its_record(tmp_path):
    from producer.listed import ListedObject

    # Given an index holding a video object sampled to its end, with the size and mtime a worker recorded
    url, size, mtime = "s3://films/v/a.mp4", 7_548_771, 1_765_000_000
    video = IndexedVideo(url, 6.0, 160, 96, 10.0, frames(6, 0), "", False, 1.0)
    out = str(tmp_path / "old.sqlite")
    write_records(out, [Record(url, "", "", size, mtime, (), None, 160, 96, "video")], META, [video])
    index = Index(out, "dhash", 8, video_fps=1.0)
    try:
        # Then the walk's listing of it, unchanged, is offered with no request; rewritten or unlisted, it is not
        assert index.unchanged_video(ListedObject(url, size, mtime)) == OldVideo(6, size, mtime)
        assert index.unchanged_video(ListedObject(url, size, mtime + 1)) is None
        assert index.unchanged_video(ListedObject(url, size + 1, mtime)) is None
        assert index.unchanged_video(url) is None
    finally:
        index.close()


@pytest.mark.parametrize("fmt", ("sqlite", "csv"))
def test_an_index_sampled_at_another_rate_offers_no_video(old_index, fmt):
    out, paths = old_index(fmt)
    index = Index(out, "dhash", 8, video_fps=2.0)
    try:
        assert index.unchanged_video(paths["good.mp4"]) is None
    finally:
        index.close()


def test_an_index_that_does_not_say_its_sampling_rate_offers_no_video(old_index):
    import sqlite3

    # Given a SQLite index written before videos kept their sampling rate
    out, paths = old_index("sqlite")
    db = sqlite3.connect(out)
    db.execute("ALTER TABLE videos DROP COLUMN sample_fps")
    db.commit()
    db.close()
    index = Index(out, "dhash", 8, video_fps=1.0)
    try:
        assert index.unchanged_video(paths["good.mp4"]) is None
    finally:
        index.close()


def test_reused_videos_are_batched_apart_from_the_others_in_walk_order():
    fresh, reused = VideoCost(5.0, 1e6), VideoCost(0.0, 0.0, reused=5)
    tasks = plan_tasks([reused, reused, fresh, fresh, reused], fps=1.0, segment_s=120)
    assert tasks == [[(0, 0.0, None), (1, 0.0, None)], [(2, 0.0, None), (3, 0.0, None)], [(4, 0.0, None)]]
    many = plan_tasks([reused] * (VIDEOS_PER_TASK + 1), fps=1.0, segment_s=120)
    assert [len(t) for t in many] == [VIDEOS_PER_TASK, 1]


def test_reused_videos_tasks_are_held_by_the_job_and_come_back_through_its_spool_and_manifest(
        tmp_path, old_index, monkeypatch):
    # Given a job of the three videos of an index, walked into the jobs directory
    from producer.video import plan as videoplan

    probed = []

    def probe_costs(paths, roots=(), timeout=None):  # the probe's children are other processes: patch here
        probed.extend(paths)
        return iter([VideoCost(6.0, 1e6)] * len(paths))

    monkeypatch.setattr(videoplan, "probe_costs", probe_costs)
    out, paths = old_index("sqlite")
    jobs = str(tmp_path / "jobs")
    job = build_job(iter(()), "dhash", 8, 1, spool_dir=manifest.jobs_directory(jobs))
    index = Index(out, "dhash", 8, video_fps=1.0)
    try:
        plan_job_videos(job, list(paths.values()), Settings(video_fps=1.0), index)
    finally:
        index.close()
    # Then only the two it cannot reuse were probed, the reused one's task is held, not sent
    assert sorted(probed) == sorted([paths["broken.mp4"], paths["changed.mp4"]])
    assert isinstance(job.reused, ReusedChunks) and job.reused_videos == 1
    assert list(job.reused) == [0] and job.remote == list(range(1, job.task_count))
    # And after a save and a load, the job's video results give it back as the index had it
    manifest.save(job, jobs)
    loaded = manifest.load(job.id, jobs)
    video, record = next(job_videos(_only_reused(loaded), drained=None))
    assert video.path == paths["good.mp4"] and video.letterboxed and video.sample_fps == 1.0
    assert video.frames.dhash.tolist() == frames(6, 0).dhash.tolist() and video.error == ""
    assert (record.size, record.mtime) == (os.stat(paths["good.mp4"]).st_size,
                                           int(os.stat(paths["good.mp4"]).st_mtime))


def _only_reused(job):
    """The job with its video plan cut to its first (reused) task, so no drained result is needed."""
    job.videos.tasks = job.videos.tasks[:1]
    return job


def test_a_csv_index_whose_frames_file_is_damaged_still_reuses_the_videos_read_before_the_damage(
        old_index, capsys):
    # Given a CSV index whose frames file has a bad hash in its last frame (the last video's)
    out, paths = old_index("csv")
    frames_csv = out.replace(".csv", ".frames.csv")
    with open(frames_csv, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    lines[-1] = lines[-1].replace(",", ",zz", 2)
    with open(frames_csv, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    # When an incremental run opens it, Then it does not fail: the first video is still reused, and one line
    # says what happened
    index = Index(out, "dhash", 8, video_fps=1.0)
    try:
        assert index.unchanged_video(paths["good.mp4"]) is not None
    finally:
        index.close()
    assert "stop being readable" in capsys.readouterr().err

"""The jobs directory's housekeeping: finished jobs are pruned after the keep time, unfinished ones never."""

import json
import os

from producer.jobsdir import DAY, kept_jobs, mark_finished, prune


def kept(folder, job_id: str, counts: list[int], age_days: float | None, now: float, videos=None) -> None:
    """A job's manifest and spools in `folder`; finished `age_days` before `now` (None: not finished)."""
    with open(folder / f"{job_id}.json", "w") as handle:
        json.dump({"v": 3, "id": job_id, "counts": counts, "walk_errors": [["x", 5]], "videos": videos}, handle)
    (folder / f"{job_id}.chunks").write_bytes(b"c" * 1000)
    (folder / f"{job_id}.reused").write_bytes(b"")
    if age_days is not None:
        mark_finished(job_id, str(folder))
        os.utime(folder / f"{job_id}.done", (now - age_days * DAY, now - age_days * DAY))


def test_prune_removes_only_the_jobs_that_finished_before_the_keep_time(tmp_path):
    # Given a job finished 10 days ago, one finished 2 days ago, and one never finished (submitted 30 days ago)
    now = 2_000_000_000.0
    kept(tmp_path, "old", [256, 10], 10, now)
    kept(tmp_path, "recent", [5], 2, now)
    kept(tmp_path, "unfinished", [7], None, now)
    os.utime(tmp_path / "unfinished.json", (now - 30 * DAY, now - 30 * DAY))
    old_bytes = sum(p.stat().st_size for p in tmp_path.glob("old.*"))
    # When the directory is pruned with a keep time of 7 days
    gone = prune(str(tmp_path), 7, now=now)
    # Then only the job finished 10 days ago is gone, every file of it
    assert [(job.id, job.files, job.bytes) for job in gone] == [("old", 267, old_bytes)]
    assert sorted(os.listdir(tmp_path)) == sorted([f"{j}.{s}" for j in ("recent", "unfinished")
                                                   for s in ("json", "chunks", "reused")] + ["recent.done"])
    # And the listing shows what is left, the unfinished job as not finished
    listed = {job.id: job for job in kept_jobs(str(tmp_path))}
    assert set(listed) == {"recent", "unfinished"}
    assert listed["unfinished"].finished is None and listed["recent"].finished == now - 2 * DAY


def test_an_empty_or_missing_jobs_directory_lists_and_prunes_nothing(tmp_path):
    assert kept_jobs(str(tmp_path / "none")) == [] and prune(str(tmp_path / "none"), 7) == []
    assert kept_jobs(str(tmp_path)) == []


def test_the_listing_counts_a_jobs_videos_among_its_files(tmp_path):
    # Given a job of 4 images, a walk error and 3 videos (in 2 tasks), and a job of images only
    tasks = [[[0, 0.0, None]], [[1, 0.0, None], [2, 0.0, None]]]
    plan = {"fps": 1.0, "paths": ["a.mp4", "b.mp4", "c.mp4"], "tasks": tasks}
    kept(tmp_path, "mixed", [4], None, 0.0, videos=plan)
    kept(tmp_path, "photos", [4], None, 0.0)
    # When the jobs are listed
    listed = {job.id: job for job in kept_jobs(str(tmp_path))}
    # Then the videos count as files, and are counted apart too
    assert (listed["mixed"].files, listed["mixed"].videos) == (8, 3)
    assert (listed["photos"].files, listed["photos"].videos) == (5, 0)

"""Housekeeping of HASHFLEET_JOBS_DIR: which jobs it keeps, which of them finished, and pruning the finished.

A job's files are `<job>.json` (the manifest), `<job>.chunks` and `<job>.reused` (producer/manifest.py),
`<job>.results` (chunk results drained from the backend, producer/drained.py), `<job>.sent` (how far
its window got, producer/window.py), and for a submitted job `<job>.feeder` and `<job>.log` (its
background feeder's lock and output, producer/feeder.py).
When a job's outputs have been written (`run --broker`, `wait`, `resume -o`), `<job>.done` is added: its
modification time is when the job finished. Only such jobs are ever pruned. A job without it may still be
running on the workers, or waiting for `wait`/`resume`, which need its files, so it is kept until it is
finished or its files are deleted by hand.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

from producer.manifest import chunks_path, manifest_path

#: Kind (file suffix) of the marker a finished job gets beside its manifest.
DONE = "done"
#: Seconds in a day (the keep time is set in days).
DAY = 86_400


@dataclasses.dataclass(frozen=True)
class KeptJob:
    """One job in the jobs directory."""

    id: str
    files: int  # input files the job covers (images hashed or reused, videos, walk errors), from its manifest
    bytes: int  # disk its files take
    finished: float | None  # when its outputs were written (epoch seconds), None when not (yet)
    videos: int = 0  # videos among the files


def mark_finished(job_id: str, jobs_dir: str) -> None:
    """Record that the job's outputs are written: from now on `prune` may remove it."""
    with open(chunks_path(jobs_dir, job_id, DONE), "w"):
        pass


def _files_by_job(folder: str) -> dict[str, list[str]]:
    """Every file of the jobs directory, by the job id its name starts with (one listing for all jobs)."""
    files: dict[str, list[str]] = {}
    for name in os.listdir(folder):
        files.setdefault(name.split(".", 1)[0], []).append(os.path.join(folder, name))
    return files


def kept_jobs(jobs_dir: str) -> list[KeptJob]:
    """Every job whose manifest is in `jobs_dir`, oldest first."""
    folder = os.path.expanduser(jobs_dir)
    if not os.path.isdir(folder):
        return []
    files = _files_by_job(folder)
    manifests = sorted((os.stat(manifest_path(folder, job_id)).st_mtime, job_id)
                       for job_id, paths in files.items()
                       if job_id.isalnum() and manifest_path(folder, job_id) in paths)
    jobs = []
    for _, job_id in manifests:
        try:
            with open(manifest_path(folder, job_id), encoding="ascii") as handle:
                doc = json.load(handle)
            videos = len((doc.get("videos") or {}).get("paths", []))
            count = sum(doc.get("counts", [])) + len(doc.get("walk_errors", [])) + videos
        except (OSError, ValueError, AttributeError):
            count = videos = 0  # unreadable: listed (and prunable once finished) all the same
        done = chunks_path(folder, job_id, DONE)
        jobs.append(KeptJob(job_id, count, sum(os.path.getsize(p) for p in files[job_id]),
                            os.path.getmtime(done) if done in files[job_id] else None, videos))
    return jobs


def prune(jobs_dir: str, keep_days: float, now: float | None = None) -> list[KeptJob]:
    """Remove the files of every job that finished more than `keep_days` ago; return those jobs."""
    now = time.time() if now is None else now
    folder = os.path.expanduser(jobs_dir)
    gone = [job for job in kept_jobs(jobs_dir) if job.finished is not None and now - job.finished > keep_days * DAY]
    files = _files_by_job(folder) if gone else {}
    for job in gone:
        # The marker goes last: a prune interrupted half-way leaves a job that is still marked finished.
        for path in sorted(files[job.id], key=lambda p: p == chunks_path(folder, job.id, DONE)):
            os.unlink(path)
    return gone

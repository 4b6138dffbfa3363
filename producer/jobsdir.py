"""Housekeeping of HASHFLEET_JOBS_DIR: which jobs it keeps, which of them finished, and pruning the finished.

A job's files are `<job>.json` (the manifest), `<job>.chunks` and `<job>.reused` (producer/manifest.py).
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

from producer.manifest import manifest_path

#: Suffix of the marker a finished job gets beside its manifest.
DONE_SUFFIX = ".done"
#: Seconds in a day (the keep time is set in days).
DAY = 86_400


@dataclasses.dataclass(frozen=True)
class KeptJob:
    """One job in the jobs directory."""

    id: str
    files: int  # input files the job covers (hashed, reused or walk errors), from its manifest
    bytes: int  # disk its files take
    finished: float | None  # when its outputs were written (epoch seconds), None when not (yet)


def mark_finished(job_id: str, jobs_dir: str) -> None:
    """Record that the job's outputs are written: from now on `prune` may remove it."""
    with open(manifest_path(jobs_dir, job_id)[:-len(".json")] + DONE_SUFFIX, "w"):
        pass


def _files_of(folder: str, job_id: str) -> list[str]:
    return [os.path.join(folder, n) for n in os.listdir(folder) if n.startswith(job_id + ".")]


def kept_jobs(jobs_dir: str) -> list[KeptJob]:
    """Every job whose manifest is in `jobs_dir`, oldest first."""
    folder = os.path.expanduser(jobs_dir)
    if not os.path.isdir(folder):
        return []
    manifests = sorted((os.stat(os.path.join(folder, n)).st_mtime, n[:-len(".json")])
                       for n in os.listdir(folder) if n.endswith(".json") and n[:-len(".json")].isalnum())
    jobs = []
    for _, job_id in manifests:
        try:
            with open(manifest_path(folder, job_id), encoding="ascii") as handle:
                doc = json.load(handle)
            files = sum(doc.get("counts", [])) + len(doc.get("walk_errors", []))
        except (OSError, ValueError):
            files = 0  # unreadable: listed (and prunable once finished) all the same
        paths = _files_of(folder, job_id)
        done = [p for p in paths if p.endswith(DONE_SUFFIX)]
        jobs.append(KeptJob(job_id, files, sum(os.path.getsize(p) for p in paths),
                            os.path.getmtime(done[0]) if done else None))
    return jobs


def prune(jobs_dir: str, keep_days: float, now: float | None = None) -> list[KeptJob]:
    """Remove the files of every job that finished more than `keep_days` ago; return those jobs."""
    now = time.time() if now is None else now
    folder = os.path.expanduser(jobs_dir)
    gone = [job for job in kept_jobs(jobs_dir) if job.finished is not None and now - job.finished > keep_days * DAY]
    for job in gone:
        # The marker goes last: a prune interrupted half-way leaves a job that is still marked finished.
        for path in sorted(_files_of(folder, job.id), key=lambda p: p.endswith(DONE_SUFFIX)):
            os.unlink(path)
    return gone

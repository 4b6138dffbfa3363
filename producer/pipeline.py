"""The steps `run`, `submit`, `wait` and `resume` share: walk into a job, enqueue it, follow it, write
the outputs, summarise."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from producer.app import producer_app
from producer.chunking import Fleet
from producer.follow import JobFollower
from producer.job import Job, build_job, enqueue
from producer.videoplan import divert_videos, plan_videos
from producer.walk import iter_image_paths
from tasks.app import unacked_sweep_interval
from tasks.ids import CHUNK_TASK
from tasks.settings import Settings

if TYPE_CHECKING:
    from producer.outputs.results import JobResult

#: Seconds beyond the visibility timeout and one sweep before pending chunks are re-sent.
STALL_MARGIN = 10


def _no_step(step: str, count: int) -> None:
    """follow_and_write's default `on_step`: nobody times the steps."""


def walk_job(paths, algo: str, hash_size: int, settings: Settings, follow_symlinks: bool,
             index_path: str | None, fleet: Fleet = None, spool_dir: str | None = None) -> Job:
    """Walk PATHS into a chunked job (unchanged files from `index_path` reused; `fleet`: see chunking.py),
    its chunks spooled to a file in `spool_dir` (producer/spool.py), else held in memory."""
    walk_errors = []
    videos: list[str] = []
    index = None
    if index_path:
        from producer.outputs.incremental import Index

        index = Index(index_path, algo, hash_size)
    try:
        walk = iter_image_paths(list(paths), follow_symlinks, lambda p, c: walk_errors.append((p, c)))
        walk = divert_videos(walk, videos if settings.videos else None)
        job = build_job(walk, algo, hash_size, settings.chunk_size, index, fleet=fleet, spool_dir=spool_dir)
    finally:
        if index is not None:
            index.close()
    job.walk_errors = walk_errors
    if videos:
        job.videos = plan_videos(videos, settings.video_fps, settings.video_segment, settings.allowed_roots)
    reused = sum(job.counts[i] for i in job.reused)
    click.echo(f"hashfleet: job {job.id}: {job.total} files in {len(job.blobs)} chunks"
               + (f" ({reused} unchanged, reused from the index)" if index_path else "")
               + (f", {len(videos)} videos in {len(job.videos.tasks)} tasks" if videos else ""), err=True)
    return job


def hash_job(settings: Settings, job: Job, out: str, groups_out: str | None, check=lambda: None,
             timeout: float | None = None) -> JobResult:
    """Enqueue every chunk of `job` the workers hash and follow it to its outputs."""
    with producer_app(settings) as app:
        if job.task_count:
            enqueue(app, job)
        return follow_and_write(app, settings, job, job.remote, out, groups_out, check, timeout)


def follow_and_write(app, settings: Settings, job: Job, chunks: list[int], out: str,
                     groups_out: str | None, check=lambda: None, timeout: float | None = None, *,
                     chunk_task: str = CHUNK_TASK, on_step: Callable[[str, int], None] = _no_step) -> JobResult:
    """Wait for `chunks` and the merge (with progress), then write the outputs. Chunks presumed lost are
    re-sent to `chunk_task` (the task they were enqueued to). `on_step(step, count)` is called as each step
    ends: "followed" (files), "records" (rows written), "groups" (groups written); benchmarks time them."""
    # Loaded here, after the chunks are published, while the workers already hash (numpy, rich, sqlite3).
    from producer.outputs import formats as output
    from producer.outputs.results import JobResult
    from producer.progress import JobProgress

    files = sum(job.task_files(i) for i in chunks)
    if not job.task_count:
        result = JobResult.from_payload(job, None)
    else:
        with JobProgress(files, settings.progress_interval) as progress:
            payload = JobFollower(app, job.id, chunks, on_chunk=progress.advance, check=check, timeout=timeout,
                                  reconnect_timeout=settings.reconnect_timeout,
                                  resend=lambda pending: enqueue(app, job, chunk_task, only=pending),
                                  stall_timeout=stall_timeout(settings)).run()
        result = JobResult.from_payload(job, payload, app.backend)
    on_step("followed", files)
    meta = {"job": job.id, "algo": job.algo, "hash_size": str(job.hash_size)}
    try:
        on_step("records", output.write_records(out, result.records(), meta,
                                                result.videos() if job.videos else None))
        if groups_out:
            output.write_groups(groups_out, result.group_paths())
            on_step("groups", result.group_count)
    finally:
        result.close()
    return result


def stall_timeout(settings: Settings) -> float:
    """No chunk finished for this long means a chunk message was lost, not slow: a chunk redelivered
    after the visibility timeout (plus one unacked sweep) would have finished by then."""
    return settings.visibility_timeout + unacked_sweep_interval(settings.visibility_timeout) + STALL_MARGIN


def summary(result: JobResult, out: str, started: float) -> None:
    elapsed = time.monotonic() - started
    files = result.job.total + len(result.job.walk_errors) + result.job.video_count
    errors = result.error_counts
    n_errors = sum(errors.values())
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
    rate = result.job.total / max(elapsed, 1e-9)
    click.echo(f"hashfleet: {files} files in {elapsed:.1f} s ({rate:.1f} img/s): "
               f"{files - n_errors} hashed, {n_errors} errors" + (f" ({detail})" if detail else ""))
    click.echo(f"hashfleet: {result.group_count} exact-duplicate groups ({result.duplicate_files} files); wrote {out}")

"""The steps `run`, `submit`, `wait` and `resume` share: walk into a job, send it a window at a time and
follow it, merge, write the outputs, summarise."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from producer import manifest
from producer.app import producer_app
from producer.chunking import Fleet
from producer.drained import DrainedResults, drain_chunks
from producer.follow import JobFollower
from producer.job import Job, build_job, send_chunks
from producer.spool import ChunkSpool
from producer.video.bycontent import add_content_videos
from producer.video.plan import divert_videos
from producer.video.reuse import plan_job_videos
from producer.walk import iter_image_paths
from producer.window import ChunkWindow, SentMark, window_size
from tasks.app import unacked_sweep_interval
from tasks.ids import CHUNK_TASK, chunk_task_id, data_id
from tasks.settings import Settings
from tasks.store import forget_results, mark_job, stored

if TYPE_CHECKING:
    from producer.outputs.results import JobResult


def _no_step(step: str, count: int) -> None:
    """follow_and_write's default `on_step`: nobody times the steps."""


def walk_job(paths, algo: str, hash_size: int, settings: Settings, follow_symlinks: bool,
             index_path: str | None, fleet: Fleet = None, spool_dir: str | None = None) -> Job:
    """Walk PATHS into a chunked job (unchanged images and videos from `index_path` reused; `fleet`: see
    chunking.py), its chunks spooled to a file in `spool_dir` (producer/spool.py), else held in memory."""
    walk_errors = []
    videos: list[str] = []
    index = None
    if index_path:
        from producer.outputs.incremental import Index

        index = Index(index_path, algo, hash_size, settings.video_fps if settings.videos else None)
    try:
        walk = iter_image_paths(list(paths), follow_symlinks, lambda p, c: walk_errors.append((p, c)))
        walk = divert_videos(walk, videos if settings.videos else None, index.holds_video if index else None)
        job = build_job(walk, algo, hash_size, settings.chunk_size, index, fleet=fleet, spool_dir=spool_dir)
        if videos:
            plan_job_videos(job, videos, settings, index)
    finally:
        if index is not None:
            index.close()
    job.walk_errors = walk_errors
    reused = sum(job.counts[i] for i in job.reused if i < len(job.blobs))
    click.echo(f"hashfleet: job {job.id}: {job.total} {'images' if videos else 'files'} in {len(job.blobs)} chunks"
               + (f" ({reused} unchanged, reused from the index)" if index_path else "")
               + (f", {len(videos)} videos in {len(job.videos.tasks)} tasks" if videos else "")
               + (f" ({job.reused_videos} unchanged, reused from the index)" if videos and index_path else ""),
               err=True)
    return job


def hash_job(settings: Settings, job: Job, out: str, groups_out: str | None, check=lambda: None,
             timeout: float | None = None, fleet: Fleet = None) -> JobResult:
    """Send the chunks of `job` a window at a time (sized for `fleet`: see producer/window.py), follow them
    and write the outputs."""
    with producer_app(settings) as app:
        mark_job(app.backend, job.id, job.task_count)
        return follow_and_write(app, settings, job, out, groups_out, check, timeout, fleet=fleet)


def open_drained(job: Job) -> DrainedResults:
    """The job's drained results: beside its chunk spool (so `wait` and `resume` find them), or in a
    temporary file for a job held in memory."""
    if isinstance(job.blobs, ChunkSpool):
        return DrainedResults(job_file(job, "results"), job.task_count)
    handle, path = tempfile.mkstemp(prefix=f"hashfleet-{job.id}-", suffix=".results")
    os.close(handle)
    return DrainedResults(path, job.task_count, temporary=True)


def job_file(job: Job, kind: str) -> str:
    """`<job>.<kind>` beside the job's chunk spool."""
    return os.path.splitext(job.blobs.path)[0] + f".{kind}"


def job_window(app, job: Job, drained: DrainedResults, size: int, resume: bool = False) -> ChunkWindow:
    """The chunks still to hash, `size` in flight at a time. Chunks below the job's sent mark (another
    process published them) are taken as in flight; with `resume`, those finished in the backend are
    drained first and the rest are sent again."""
    mark = SentMark(job_file(job, "sent") if isinstance(job.blobs, ChunkSpool) else None)
    sent = [i for i in range(min(mark.value, job.task_count)) if i not in job.reused and i not in drained]
    if resume:
        have = stored(app.backend, [data_id(chunk_task_id(job.id, i)) for i in sent])
        drain_chunks(app.backend, job.id, drained, [i for i, ok in zip(sent, have, strict=True) if ok])
    start = 0 if resume else min(mark.value, job.task_count)
    todo = (i for i in range(start, job.task_count) if i not in job.reused and i not in drained)
    return ChunkWindow(todo, size, mark, () if resume else sent)


def submit_job(app, settings: Settings, job: Job, fleet: Fleet = None, resume: bool = False) -> int:
    """Send the job's first window (the rest is sent by whoever waits for it: `wait`, `resume -o`);
    returns how many chunks were sent."""
    drained = open_drained(job)
    try:
        window = job_window(app, job, drained, window_size(settings.window, fleet, job.task_count), resume)
        batch = window.take()
        _send(app, job, batch, CHUNK_TASK, resume)
        window.sent(batch)
        window.mark.flush()
        return len(batch)
    finally:
        drained.close()


def follow_job(app, settings: Settings, job: Job, drained: DrainedResults, check=lambda: None,
               timeout: float | None = None, *, fleet: Fleet = None, resume: bool = False,
               chunk_task: str = CHUNK_TASK, on_sent: Callable[[], None] = lambda: None) -> int:
    """Send the job's chunks still to hash (image chunks and video tasks) a window at a time and drain each
    into `drained` as it finishes, with progress; returns how many files they held. Chunks are sent to
    `chunk_task`; with `resume`, those another process sent are sent again (the result backend may have
    lost them). `on_sent()` is called after each publish."""
    from producer.progress import JobProgress, progress_unit

    remote = job.task_count - len(job.reused)
    window = job_window(app, job, drained, window_size(settings.window, fleet, remote), resume)
    if resume:
        click.echo(f"hashfleet: job {job.id}: re-enqueued {remote - drained.count} of {job.task_count} chunks",
                   err=True)
    files = tasks = 0  # what is left to follow (not a list: a 100 M-file job has 400,000 chunks)
    for index in range(job.task_count):
        if index not in job.reused and index not in drained:
            files, tasks = files + job.task_files(index), tasks + 1

    def send(chunks: list[int]) -> None:
        _send(app, job, chunks, chunk_task, resume)
        on_sent()

    with JobProgress(files, settings.progress_interval, unit=progress_unit(job.total, job.video_count),
                     tasks=tasks if job.video_count else 0) as progress:
        JobFollower(app, job.id, window, on_chunk=progress.advance, check=check, timeout=timeout,
                    reconnect_timeout=settings.reconnect_timeout,
                    resend=send,
                    drain=lambda chunks: drain_chunks(app.backend, job.id, drained, chunks),
                    stall_timeout=stall_timeout(settings)).run()
    window.mark.flush()
    return files


def follow_whole_job(app, settings: Settings, job: Job, drained: DrainedResults, check=lambda: None,
                     timeout: float | None = None, *, fleet: Fleet = None, resume: bool = False,
                     chunk_task: str = CHUNK_TASK, on_sent: Callable[[], None] = lambda: None) -> int:
    """:func:`follow_job`, then the files the workers found to be videos named like images, sent to video
    tasks added to the job (producer/video/bycontent.py) and followed in turn; returns how many files all
    the tasks followed held."""
    files = follow_job(app, settings, job, drained, check, timeout, fleet=fleet, resume=resume,
                       chunk_task=chunk_task, on_sent=on_sent)
    if add_content_videos(job, drained, settings):
        click.echo(f"hashfleet: job {job.id}: {job.content_videos} files named like images are videos, "
                   f"sent as video tasks", err=True)
        if os.path.exists(manifest.manifest_path(settings.jobs_dir, job.id)):
            manifest.save(job, settings.jobs_dir)  # `status`, `wait` and `resume` elsewhere count those tasks
        files += follow_job(app, settings, job, drained, check, timeout, fleet=fleet, resume=resume)
    return files


def follow_and_write(app, settings: Settings, job: Job, out: str, groups_out: str | None, check=lambda: None,
                     timeout: float | None = None, *, fleet: Fleet = None, resume: bool = False,
                     chunk_task: str = CHUNK_TASK, on_step: Callable[[str, int], None] = _no_step) -> JobResult:
    """:func:`follow_whole_job`, merge, then write the outputs. `on_step(step, count)` is called as each step
    ends: "followed" (files), "merged" (groups), "records" (rows written), "groups" (groups written);
    benchmarks time them."""
    drained = open_drained(job)
    try:
        files = follow_whole_job(app, settings, job, drained, check, timeout, fleet=fleet, resume=resume,
                                 chunk_task=chunk_task, on_sent=_load_outputs)
        on_step("followed", files)
        from producer.outputs import formats as output  # loaded while the workers hashed: _load_outputs
        from producer.outputs.results import JobResult

        result = JobResult.merge(job, drained)
    except BaseException:
        drained.close()
        raise
    on_step("merged", result.group_count)
    meta = {"job": job.id, "algo": job.algo, "hash_size": str(job.hash_size)}
    try:
        on_step("records", output.write_records(out, result.records(), meta,
                                                result.videos() if job.videos else None))
        if groups_out:
            output.write_groups(groups_out, result.group_paths())
            on_step("groups", result.group_count)
    finally:
        result.close()
        drained.close()
    return result


def _load_outputs() -> None:
    """Import the merge and the output writers (numpy, sqlite3: ~0.1 s of CPU) once chunks are out, so the
    workers hash while it runs instead of waiting for it before their first chunk."""
    from producer.outputs import formats, results  # noqa: F401


def _send(app, job: Job, chunks: list[int], chunk_task: str, forget: bool) -> None:
    """Publish `chunks`; when `forget`, their stored states go first, so a stale FAILURE (a chunk that could
    not report while Redis was away) does not fail their second run."""
    if forget:
        forget_results(app.backend, [job.chunk_id(i) for i in chunks])
    send_chunks(app, job, chunks, chunk_task)


def stall_timeout(settings: Settings) -> float:
    """No chunk finished for this long means a chunk message was lost, not slow: a chunk redelivered
    after the visibility timeout (plus one unacked sweep) would have finished within the stall margin
    (HASHFLEET_STALL_MARGIN) of it."""
    return settings.visibility_timeout + unacked_sweep_interval(settings.visibility_timeout) + settings.stall_margin


def summary(result: JobResult, out: str, started: float) -> None:
    elapsed = time.monotonic() - started
    images = result.job.total - result.job.content_videos
    files = images + len(result.job.walk_errors) + result.job.video_count
    errors = result.error_counts
    n_errors = sum(errors.values())
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
    rate = images / max(elapsed, 1e-9)
    reused = f", {result.job.reused_videos} reused from the index" if result.job.reused_videos else ""
    videos = f", {result.job.video_count} videos{reused}" if result.job.video_count else ""
    click.echo(f"hashfleet: {files} files in {elapsed:.1f} s ({rate:.1f} img/s{videos}): "
               f"{files - n_errors} hashed, {n_errors} errors" + (f" ({detail})" if detail else ""))
    click.echo(f"hashfleet: {result.group_count} exact-duplicate groups ({result.duplicate_files} files); wrote {out}")


"""Detached jobs: `submit` returns at once; `status`, `wait` and `resume` pick the job up by its id."""

from __future__ import annotations

import time

import click

from producer import manifest
from producer.cli.group import cli
from producer.cli.options import broker_options, check_output_paths, job_options, output_options
from producer.feeder import feed as feed_job
from producer.feeder import feed_lock, start_feeder
from producer.fleet import cluster_fleet
from producer.jobsdir import DAY, kept_jobs, mark_finished, prune
from tasks.errors import ConfigError
from tasks.ids import chunk_task_id, data_id
from tasks.settings import Settings
from tasks.store import job_known, mark_job, stored


def cluster_settings(broker, result_backend, **extra) -> Settings:
    settings = Settings.from_env(broker_url=broker, result_backend=result_backend, **extra)
    if settings.embedded:
        raise ConfigError("detached jobs need a broker the workers share: set --broker or HASHFLEET_BROKER_URL")
    from producer.preflight import check_services

    check_services(settings)
    return settings


def chunks_done(app, job) -> set[int]:
    """Chunks of `job` hashed (image chunks and video tasks, 0..task_count-1): drained into its results file,
    reused from an index, or finished in the backend and not drained yet (those below the job's sent mark)."""
    from producer.pipeline import job_file, open_drained
    from producer.window import SentMark

    drained = open_drained(job)
    try:
        done = {i for i in range(job.task_count) if i in drained or i in job.reused}
    finally:
        drained.close()
    sent = [i for i in range(min(SentMark(job_file(job, "sent")).value, job.task_count)) if i not in done]
    have = stored(app.backend, [data_id(chunk_task_id(job.id, i)) for i in sent])
    return done | {i for i, ok in zip(sent, have, strict=True) if ok}


@cli.command()
@job_options
@broker_options
@click.option("--no-feed", "no_feed", is_flag=True,
              help="Send the first window only, start no background feeder: `wait` sends the rest.")
def submit(paths, algo, hash_size, chunk_size, follow_symlinks, index_path, videos, video_fps, broker,
           result_backend, no_feed) -> None:
    """Enqueue a job for the cluster's workers and print its id; returns at once. Its first window of chunks
    is sent, and a feeder started in the background (producer/feeder.py, logging to <job>.log in the jobs
    directory) sends the rest and drains the results until the job is done; `wait` then writes the outputs."""
    from producer.app import producer_app
    from producer.pipeline import submit_job, walk_job

    settings = cluster_settings(broker, result_backend, chunk_size=chunk_size, videos=videos, video_fps=video_fps)
    job = walk_job(paths, algo, hash_size, settings, follow_symlinks, index_path, cluster_fleet(settings),
                   manifest.jobs_directory(settings.jobs_dir))
    manifest.save(job, settings.jobs_dir)
    with producer_app(settings) as app:
        mark_job(app.backend, job.id, job.task_count)
        submit_job(app, settings, job, cluster_fleet(settings))
    if not no_feed:
        start_feeder(job, settings)
    click.echo(job.id)


@cli.command(hidden=True)
@click.argument("job_id")
def feed(job_id) -> None:
    """Feed a submitted job to its end in this process (what `submit` starts in the background)."""
    settings = cluster_settings(None, None)
    feed_job(settings, manifest.load(job_id, settings.jobs_dir))


@cli.command()
@click.argument("job_id")
@broker_options
def status(job_id, broker, result_backend) -> None:
    """Progress of a submitted job: image chunks and files, video tasks and videos hashed so far."""
    from producer.app import producer_app

    settings = cluster_settings(broker, result_backend)
    job = manifest.load(job_id, settings.jobs_dir)
    with producer_app(settings) as app:
        done = chunks_done(app, job)
        known = job_known(app.backend, job.id)
    complete = len(done) == job.task_count
    state = "complete" if complete else "lost by the broker: resume it" if not known else "running"
    if not complete and known:
        feeder = feed_lock(job).holder()
        state += (f" (fed by process {feeder})" if feeder
                  else f" (nobody feeds it: `hashfleet wait {job.id} -o OUT` does)")
    click.echo(f"job {job.id}: {progress_summary(job, done)}; {state}")


def progress_summary(job, done: set[int]) -> str:
    """What `status` says of the tasks `done`: image chunks and their files, and, when the job has videos,
    its video tasks and the videos finished (a video counts once its last segment is in) on their own."""
    chunks = len(job.blobs)
    images, tasks = [i for i in done if i < chunks], [i for i in done if i >= chunks]
    files = sum(job.task_files(i) for i in images)
    if not job.video_count:
        return f"{len(images)}/{chunks} chunks, {files}/{job.total} files hashed"
    videos = sum(job.task_files(i) for i in tasks)
    return (f"{len(images)}/{chunks} image chunks, {files}/{job.total} images, "
            f"{len(tasks)}/{job.task_count - chunks} video tasks, {videos}/{job.video_count} videos hashed")


@cli.command()
@click.argument("job_id")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="Output file: .csv, .jsonl, .sqlite or .parquet.")
@output_options
@broker_options
def wait(job_id, out, groups_out, timeout, broker, result_backend) -> None:
    """Wait for a submitted job to finish and write its outputs."""
    _pick_up(job_id, out, groups_out, timeout, broker, result_backend, resume=False)


@cli.command()
@click.argument("job_id")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), default=None,
              help="Also wait and write the outputs here.")
@output_options
@broker_options
def resume(job_id, out, groups_out, timeout, broker, result_backend) -> None:
    """Re-enqueue the chunks of a job that have no result (lost, or never run), a window at a time: without
    -o only the first window is sent (`wait` sends the rest)."""
    _pick_up(job_id, out, groups_out, timeout, broker, result_backend, resume=True)


def _pick_up(job_id, out, groups_out, timeout, broker, result_backend, resume: bool) -> None:
    """`wait` and `resume`: the job from its manifest, finished (its missing chunks re-sent when `resume`)."""
    check_output_paths(out, groups_out)
    settings = cluster_settings(broker, result_backend)
    _finish(settings, manifest.load(job_id, settings.jobs_dir), out, groups_out, timeout, resume=resume)


def _finish(settings: Settings, job, out, groups_out, timeout, resume: bool) -> None:
    from producer.app import producer_app
    from producer.pipeline import follow_and_write, job_file, submit_job, summary

    started = time.monotonic()
    with producer_app(settings) as app:
        if resume:
            mark_job(app.backend, job.id, job.task_count)
            if out is None:
                sent = submit_job(app, settings, job, cluster_fleet(settings), resume=True)
                click.echo(f"hashfleet: job {job.id}: re-enqueued {sent} chunks (the first window); "
                           f"`hashfleet wait {job.id} -o OUT` sends the rest", err=True)
                return
        lock = feed_lock(job)  # a live background feeder finishes the job first: never fed twice
        timeout = lock.wait(timeout, job.id, job_file(job, "log"))
        try:
            result = follow_and_write(app, settings, job, out, groups_out, timeout=timeout,
                                      fleet=cluster_fleet(settings), resume=resume)
        finally:
            lock.release()
    mark_finished(job.id, settings.jobs_dir)
    summary(result, out, started)


@cli.command("jobs")
@click.option("--prune", "prune_finished", is_flag=True,
              help="Remove the files of jobs that finished more than --older-than days ago.")
@click.option("--older-than", "older_than", type=float, default=None,
              help="Days a finished job is kept  [env HASHFLEET_JOBS_KEEP_DAYS; default: 7]")
def jobs_command(prune_finished, older_than) -> None:
    """List the jobs kept in HASHFLEET_JOBS_DIR (for status, wait and resume); --prune removes finished ones."""
    settings = Settings.from_env(jobs_keep_days=older_than)
    if prune_finished:
        gone = prune(settings.jobs_dir, settings.jobs_keep_days)
        freed = sum(job.bytes for job in gone)
        click.echo(f"hashfleet: removed {len(gone)} jobs finished over {settings.jobs_keep_days:g} days ago "
                   f"({freed / 1e6:.1f} MB) from {settings.jobs_dir}", err=True)
    now = time.time()
    for job in kept_jobs(settings.jobs_dir):
        state = (f"finished {(now - job.finished) / DAY:.1f} days ago" if job.finished is not None
                 else "not finished (running, or waiting for wait/resume)")
        videos = f" ({job.videos} videos)" if job.videos else ""
        click.echo(f"{job.id}  {job.files} files{videos}  {job.bytes / 1e6:.1f} MB  {state}")

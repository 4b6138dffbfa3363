"""Detached jobs: `submit` returns at once; `status`, `wait` and `resume` pick the job up by its id."""

from __future__ import annotations

import time

import click

from producer import manifest
from producer.app import producer_app
from producer.cli.group import cli
from producer.cli.options import broker_options, check_output_paths, job_options, output_options
from producer.job import enqueue
from producer.jobsdir import DAY, kept_jobs, mark_finished, prune
from producer.pipeline import follow_and_write, summary, walk_job
from tasks.errors import ConfigError
from tasks.ids import job_data_ids, merge_task_id
from tasks.settings import Settings
from tasks.store import forget_results, job_known, stored


def cluster_settings(broker, result_backend, **extra) -> Settings:
    settings = Settings.from_env(broker_url=broker, result_backend=result_backend, **extra)
    if settings.embedded:
        raise ConfigError("detached jobs need a broker the workers share: set --broker or HASHFLEET_BROKER_URL")
    from producer.preflight import check_services

    check_services(settings)
    return settings


def missing_chunks(app, job) -> list[int]:
    """Chunks of `job` whose packed data is not in the backend (not hashed yet, or lost)."""
    have = stored(app.backend, job_data_ids(job.id, job.task_count))
    return [i for i, ok in enumerate(have) if not ok]


@cli.command()
@job_options
@broker_options
def submit(paths, algo, hash_size, chunk_size, follow_symlinks, index_path, videos, video_fps, broker,
           result_backend) -> None:
    """Enqueue a job for the cluster's workers and print its id; returns at once."""
    from producer.fleet import cluster_fleet

    settings = cluster_settings(broker, result_backend, chunk_size=chunk_size, videos=videos, video_fps=video_fps)
    job = walk_job(paths, algo, hash_size, settings, follow_symlinks, index_path, cluster_fleet(settings),
                   manifest.jobs_directory(settings.jobs_dir))
    manifest.save(job, settings.jobs_dir)
    with producer_app(settings) as app:
        enqueue(app, job)
    click.echo(job.id)


@cli.command()
@click.argument("job_id")
@broker_options
def status(job_id, broker, result_backend) -> None:
    """Progress of a submitted job: chunks and files hashed so far."""
    settings = cluster_settings(broker, result_backend)
    job = manifest.load(job_id, settings.jobs_dir)
    with producer_app(settings) as app:
        missing = set(missing_chunks(app, job))
        merged = app.backend.get_task_meta(merge_task_id(job.id))["status"] == "SUCCESS"
        known = job_known(app.backend, job.id)
    done_files = sum(job.task_files(i) for i in range(job.task_count) if i not in missing)
    state = "complete" if merged and not missing else "lost by the broker: resume it" if not known else "running"
    click.echo(f"job {job.id}: {job.task_count - len(missing)}/{job.task_count} chunks, "
               f"{done_files}/{job.total + job.video_count} files hashed; {state}")


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
    """Re-enqueue only the chunks of a job that have no stored result (lost, or never run)."""
    _pick_up(job_id, out, groups_out, timeout, broker, result_backend, resume=True)


def _pick_up(job_id, out, groups_out, timeout, broker, result_backend, resume: bool) -> None:
    """`wait` and `resume`: the job from its manifest, finished (its missing chunks re-sent when `resume`)."""
    check_output_paths(out, groups_out)
    settings = cluster_settings(broker, result_backend)
    _finish(settings, manifest.load(job_id, settings.jobs_dir), out, groups_out, timeout, resume=resume)


def _finish(settings: Settings, job, out, groups_out, timeout, resume: bool) -> None:
    started = time.monotonic()
    with producer_app(settings) as app:
        missing = missing_chunks(app, job)
        if resume:
            remote = [i for i in missing if i not in job.reused]
            forget_results(app.backend, [job.chunk_id(i) for i in remote])  # no stale FAILURE states
            enqueue(app, job, only=remote)  # stores reused chunks again too
            click.echo(f"hashfleet: job {job.id}: re-enqueued {len(remote)} of {len(job.blobs)} chunks", err=True)
            if out is None:
                return
        result = follow_and_write(app, settings, job, missing, out, groups_out, timeout=timeout)
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
        click.echo(f"{job.id}  {job.files} files  {job.bytes / 1e6:.1f} MB  {state}")

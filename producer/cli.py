"""`hashfleet` command line. Every failure the user can fix is one line on stderr and a non-zero exit."""

from __future__ import annotations

import os
import sys
import time
from urllib.parse import urlsplit

import click

from producer import output
from producer.backend import polling_backend_url
from producer.follow import follow
from producer.job import Job, build_job, enqueue
from producer.progress import JobProgress
from producer.records import JobResult
from producer.walk import iter_image_paths
from tasks.dhash import HASH_SIZE_STEP, MAX_HASH_SIZE
from tasks.errors import ConfigError, HashfleetError
from tasks.hashing import HASHERS
from tasks.settings import Settings

#: Exit code for a job that could not complete (broker, workers, timeout).
EXIT_FAILED = 1
#: Exit code for bad options (click's convention).
EXIT_USAGE = 2
#: Exit code after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _check_hash_size(_ctx, _param, value: int) -> int:
    if value % HASH_SIZE_STEP:
        raise click.BadParameter(f"must be a multiple of {HASH_SIZE_STEP} (8 and 16 are usual)")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """hashfleet: hash, deduplicate and search millions of images with Celery workers."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="Output file: .csv, .jsonl or .sqlite (one record per input file).")
@click.option("--algo", type=click.Choice(sorted(HASHERS)), default="dhash", show_default=True,
              help="dhash: robust (area-averaged, transparency on white; JPEGs decoded directly at 1/2-1/8 "
                   "scale, so it is fast). dhash-classic: bit-exact with the PyImageSearch/OpenCV recipe, so "
                   "it keeps the original's full cv2.imread decoding (slower).")
@click.option("--hash-size", type=click.IntRange(HASH_SIZE_STEP, MAX_HASH_SIZE), default=8, show_default=True,
              callback=_check_hash_size, help="Grid side; the hash has hash-size^2 bits.")
@click.option("--chunk-size", type=click.IntRange(1, 100_000), default=None, envvar="HASHFLEET_CHUNK_SIZE",
              help="Files per task  [env HASHFLEET_CHUNK_SIZE; default: 256, less for small jobs]")
@click.option("--workers", type=click.IntRange(1, 1024), default=None, envvar="HASHFLEET_WORKERS",
              help="Embedded mode: local worker processes  [default: one per core]")
@click.option("--broker", default=None, envvar="HASHFLEET_BROKER_URL",
              help="redis://, rediss:// or amqp:// URL; workers run elsewhere  [env HASHFLEET_BROKER_URL; "
                   "default: embedded redis-server + local workers]")
@click.option("--result-backend", default=None, envvar="HASHFLEET_RESULT_BACKEND",
              help="Result backend URL  [env HASHFLEET_RESULT_BACKEND; default: the broker if Redis]")
@click.option("--follow-symlinks/--no-follow-symlinks", default=False, show_default=True,
              help="Descend into symlinked folders (each folder once, so loops end).")
@click.option("--groups", "groups_out", type=click.Path(dir_okay=False), default=None,
              help="Also write exact-duplicate groups {hash: [paths]} as JSON here.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Give up (exit 1) if the job has not finished after this many seconds.")
def run(paths, out, algo, hash_size, chunk_size, workers, broker, result_backend, follow_symlinks,
        groups_out, timeout) -> None:
    """Hash every image under PATHS and write one record per file to OUTPUT."""
    settings = Settings.from_env(broker_url=broker, result_backend=result_backend, chunk_size=chunk_size)
    output.output_format(out)
    for target in (out, groups_out):
        if target and not os.path.isdir(os.path.dirname(os.path.abspath(target))):
            raise click.BadParameter(f"folder of {target!r} does not exist", param_hint="output")
    if not settings.embedded:
        from producer.preflight import check_services

        check_services(settings)
    started = time.monotonic()
    job = Job(id="", algo=algo, hash_size=hash_size)
    walk_errors = job.walk_errors
    job = build_job(iter_image_paths(list(paths), follow_symlinks, lambda p, c: walk_errors.append((p, c))),
                    algo, hash_size, settings.chunk_size)
    job.walk_errors = walk_errors
    click.echo(f"hashfleet: job {job.id}: {job.total} files in {len(job.blobs)} chunks", err=True)
    if settings.embedded:
        from worker.embedded import embedded_cluster

        with embedded_cluster(settings, workers or default_workers()) as cluster:
            result = _execute(cluster.settings, job, cluster.check_alive, timeout, out, groups_out)
            _summary(result, out, time.monotonic() - started)
    else:
        result = _execute(settings, job, lambda: None, timeout, out, groups_out)
        _summary(result, out, time.monotonic() - started)


def _execute(settings: Settings, job: Job, check, timeout, out, groups_out) -> JobResult:
    """Enqueue, wait, and write the outputs while the services (and the chunk data they hold) are up."""
    if not job.blobs:
        result = JobResult.from_payload(job, None)
        _write_outputs(result, out, groups_out)
        return result
    from tasks.app import create_app

    app = create_app(settings)
    if urlsplit(settings.backend_url).scheme in ("redis", "rediss"):
        app.conf.result_backend = polling_backend_url(settings.backend_url)
    try:
        enqueue(app, job)
        with JobProgress(job.total, settings.progress_interval) as progress:
            payload = follow(app, job.id, list(range(len(job.blobs))), progress.advance, check, timeout,
                             settings.reconnect_timeout)
        result = JobResult.from_payload(job, payload, app.backend)
        _write_outputs(result, out, groups_out)
        return result
    finally:
        app.close()


def _write_outputs(result: JobResult, out: str, groups_out: str | None) -> None:
    meta = {"job": result.job.id, "algo": result.job.algo, "hash_size": str(result.job.hash_size)}
    output.write_records(out, result.records(), meta)
    if groups_out:
        output.write_groups(groups_out, result.group_paths())


def _summary(result: JobResult, out: str, elapsed: float) -> None:
    files = result.job.total + len(result.job.walk_errors)
    errors = result.error_counts
    n_errors = sum(errors.values())
    dup_files = sum(len(g) for g in result.groups)
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
    rate = result.job.total / max(elapsed, 1e-9)
    click.echo(f"hashfleet: {files} files in {elapsed:.1f} s ({rate:.1f} img/s): "
               f"{files - n_errors} hashed, {n_errors} errors" + (f" ({detail})" if detail else ""))
    click.echo(f"hashfleet: {len(result.groups)} exact-duplicate groups ({dup_files} files); wrote {out}")


@cli.command("export")
@click.argument("index", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="Pickle file to write.")
@click.option("--format", "fmt", type=click.Choice(["pyimagesearch"]), default="pyimagesearch",
              show_default=True, help="pyimagesearch: the original script's {int hash: [paths]} pickle.")
def export(index, out, fmt) -> None:
    """Convert a hashfleet output (.csv/.jsonl/.sqlite) for tools that expect another format."""
    distinct = output.export_pyimagesearch(output.read_records(index), out)
    click.echo(f"hashfleet: wrote {distinct} hashes to {out} ({fmt})")


def main(argv: list[str] | None = None) -> None:
    """Entry point: click's usage errors and hashfleet's errors become one line and an exit code."""
    try:
        cli.main(args=argv, prog_name="hashfleet", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("hashfleet: interrupted; local workers and redis stopped", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("hashfleet: interrupted; local workers and redis stopped", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        click.echo(f"hashfleet: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"hashfleet: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except HashfleetError as exc:
        click.echo(f"hashfleet: error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)

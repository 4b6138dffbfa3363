"""`hashfleet` command line. Every failure the user can fix is one line on stderr and a non-zero exit."""

from __future__ import annotations

import os
import sys
import tempfile
import time

import click

from producer import manifest
from producer.cli import jobs, near  # noqa: F401  (register submit/status/wait/resume, dupes/search/report)
from producer.cli.group import cli
from producer.cli.options import broker_options, check_output_paths, job_options, output_options
from producer.jobsdir import mark_finished
from tasks.errors import ConfigError, HashfleetError
from tasks.settings import WORKERS_LIMIT, Settings

#: Exit code for a job that could not complete (broker, workers, timeout).
EXIT_FAILED = 1
#: Exit code for bad options (click's convention).
EXIT_USAGE = 2
#: Exit code after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


@cli.command()
@job_options
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="Output file: .csv, .jsonl, .sqlite or .parquet (one record per input file).")
@output_options
@click.option("--workers", type=int, default=None,
              help=f"Embedded mode: local worker processes, at most {WORKERS_LIMIT:,}  [env HASHFLEET_WORKERS; "
                   f"default: one per core]")
@broker_options
def run(paths, out, algo, hash_size, chunk_size, workers, broker, result_backend, follow_symlinks,
        groups_out, timeout, index_path, videos, video_fps) -> None:
    """Hash every image and video under PATHS and write one record per file to OUTPUT (videos' sampled
    frames go into its video tables or files: docs/video.md).

    Without --broker (or HASHFLEET_BROKER_URL), starts a private redis-server and local workers.
    """
    settings = Settings.from_env(broker_url=broker, result_backend=result_backend, chunk_size=chunk_size,
                                 workers=workers, videos=videos, video_fps=video_fps)
    check_output_paths(out, groups_out)
    if settings.embedded:
        from worker.redis_server import require_redis_server

        require_redis_server()  # before a long walk, not after
    else:
        from producer.preflight import check_services

        check_services(settings)
    started = time.monotonic()
    workers = settings.local_workers
    if settings.embedded:
        from worker.embedded import embedded_cluster

        # The local workers start (imports, pool forks: ~0.5 s of CPU) while this process imports Celery
        # (the CLI's own modules load none of it: ~0.1 s of CPU) and walks PATHS.
        with embedded_cluster(settings, workers) as cluster, \
                tempfile.TemporaryDirectory(prefix="hashfleet-job-") as spool_dir:
            from producer.pipeline import hash_job, summary, walk_job

            job = walk_job(paths, algo, hash_size, settings, follow_symlinks, index_path, workers, spool_dir)
            result = hash_job(cluster.settings, job, out, groups_out, cluster.check_alive, timeout, workers)
    else:
        from producer.fleet import cluster_fleet
        from producer.pipeline import hash_job, summary, walk_job

        fleet = cluster_fleet(settings)
        job = walk_job(paths, algo, hash_size, settings, follow_symlinks, index_path, fleet,
                       manifest.jobs_directory(settings.jobs_dir))
        manifest.save(job, settings.jobs_dir)  # a killed producer loses nothing: `hashfleet wait JOB`
        result = hash_job(settings, job, out, groups_out, timeout=timeout, fleet=fleet)
        mark_finished(job.id, settings.jobs_dir)
    summary(result, out, started)


@cli.command("export")
@click.argument("index", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="Pickle file to write.")
@click.option("--format", "fmt", type=click.Choice(["pyimagesearch"]), default="pyimagesearch",
              show_default=True, help="pyimagesearch: the original script's {int hash: [paths]} pickle.")
def export(index, out, fmt) -> None:
    """Convert a hashfleet output (.csv/.jsonl/.sqlite/.parquet) for tools that expect another format."""
    from producer.outputs.formats import export_pyimagesearch
    from producer.outputs.reader import read_records

    distinct = export_pyimagesearch(read_records(index), out)
    click.echo(f"hashfleet: wrote {distinct} hashes to {out} ({fmt})")


def main(argv: list[str] | None = None) -> None:
    """Entry point: click's usage errors and hashfleet's errors become one line and an exit code."""
    try:
        cli.main(args=argv, prog_name="hashfleet", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
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


def entry() -> None:
    """The console script: :func:`main`, then exit without the interpreter's teardown of celery, kombu,
    redis and numpy (~40 ms per run, measured). Every output file is closed and the local workers and
    redis-server are stopped inside main(); only the standard streams are left to flush."""
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

"""Pipeline cost without decoding: a 1,000,000-file job through the real producer, Redis, chord and merge.

    python -m bench.synthetic [--files 1000000] [--chunk-size 256] [--workers 2] [--redis-stats [--redis-aof]]
                              [--broker redis|rabbitmq] [--chunk-size auto --file-bytes 2000] [--check]

The worker answers a ping before the clock starts; the job is built, then sent a window at a time,
followed, drained, merged and written by the producer's own `follow_and_write` (producer/pipeline.py).
Measures: walk-free job build, end-to-end time of the chunks (per chunk: the per-task overhead with tasks
that do no work), the merge, output writing (records, then the exact-duplicate groups), the producer's
peak RSS (VmHWM, the merge included), the worker processes' peak RSS and Redis' `used_memory_peak`. Paths are made up
(`/data/photos/dNNNN/IMG_NNNNNNN.JPG`) and never touched. With `--redis-stats`, the workers first get
`SETTLE_S` to start and `IDLE_S` idle, then the job's Redis commands, bytes and CPU per chunk
(bench/redis_stats.py) and the CPU of producer, workers and Redis during the job are printed too;
`--redis-aof` turns AOF on (`appendfsync everysec`, as docs/deploy.md recommends) on that private server.
`--broker rabbitmq` makes the system RabbitMQ the broker (a private vhost, bench/rabbit_stats.py) and the
private Redis the result backend only; with `--redis-stats` RabbitMQ's messages, bytes and CPU per chunk
are printed too. `--chunk-size auto` takes the size producer/chunking.py gives a job of `--files` files
of `--file-bytes` bytes each (the made-up paths cannot be stat'ed) for a fleet of `--workers` processes.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

from bench import rabbit_stats, redis_stats
from producer.app import producer_app
from producer.chunking import SMALL_JOB_FILES, chunk_size_for
from producer.job import build_job
from producer.pipeline import follow_and_write
from support.procstat import peak_rss_kib
from support.rabbit import RabbitVhost
from support.synthetic import check_outputs, fake_paths
from support.warm_worker import WarmWorker, warm_worker
from tasks.settings import Settings
from tasks.store import mark_job
from worker.redis_server import RedisServer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Seconds the workers get to start before the idle interval (--redis-stats).
SETTLE_S = 4.0
#: Seconds of idle background measured before the job (--redis-stats).
IDLE_S = 5.0
#: Seconds the producer waits for the job at most (a 100,000,000-file run takes over an hour here).
JOB_TIMEOUT = 4 * 3600
#: The module of the worker's no-op chunk task, loaded with `--include`.
TASKS_MODULE = "bench.synthetic_tasks"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", default="256", help="files per chunk, or auto (producer/chunking.py)")
    parser.add_argument("--file-bytes", type=int, default=2000, help="with --chunk-size auto: mean file size")
    parser.add_argument("--settle", type=float, default=SETTLE_S, help="seconds the workers get to start")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis-stats", action="store_true",
                        help="also print Redis commands, bytes and CPU per chunk (private server only)")
    parser.add_argument("--check", action="store_true",
                        help="verify the outputs: every path once with its hash, the right groups (small jobs)")
    parser.add_argument("--redis-aof", action="store_true",
                        help="with --redis-stats: AOF on, appendfsync everysec, on the bench's private server")
    parser.add_argument("--broker", choices=("redis", "rabbitmq"), default="redis",
                        help="rabbitmq: the system RabbitMQ (private vhost) is the broker, Redis the result backend")
    args = parser.parse_args(argv)
    args.chunk_size = chunk_size_for(args.files, args.files < SMALL_JOB_FILES, args.file_bytes, args.workers) \
        if args.chunk_size == "auto" else int(args.chunk_size)
    return args


def peak_rss_mb(pid: int | str = "self") -> float:
    return peak_rss_kib(pid) / 1024


def cpu_now(worker: WarmWorker) -> tuple[float, float]:
    """CPU seconds so far of this process (the producer) and of the worker's main and pool processes."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, redis_stats.tree_cpu_s(worker.proc.pid, worker.pool_pids())


class Counters:
    """Redis (and RabbitMQ) counters and CPU around the job (--redis-stats): idle interval, then the job."""

    def __init__(self, server: RedisServer, vhost: RabbitVhost | None, worker: WarmWorker):
        self.server, self.vhost, self.worker = server, vhost, worker

    def before(self, args: argparse.Namespace) -> None:
        """Let the workers settle, measure IDLE_S of idle background, and take the job's starting point."""
        with self.server.client() as client:
            if args.redis_aof:
                client.config_set("appendfsync", "everysec")
                client.config_set("appendonly", "yes")
            time.sleep(args.settle)
            redis_stats.reset(client)
            self.idle0 = redis_stats.snapshot(client)
            self.beam = rabbit_stats.beam_pid() if self.vhost else None
            beam0 = rabbit_stats.cpu_s(self.beam) if self.vhost else 0.0
            time.sleep(IDLE_S)
            self.beam_idle = ((rabbit_stats.cpu_s(self.beam) if self.vhost else 0.0) - beam0) / IDLE_S
            self.idle1 = redis_stats.snapshot(client)
        self.rabbit0 = rabbit_stats.snapshot_before(self.vhost.name, self.beam) if self.vhost else None
        self.cpu0 = cpu_now(self.worker)

    def after(self) -> None:
        """The job's end point (taken while every client is still connected)."""
        with self.server.client() as client:
            self.job1 = redis_stats.snapshot(client)
        self.cpu1 = cpu_now(self.worker)
        self.rabbit1 = rabbit_stats.snapshot_after(self.vhost.name, self.beam) if self.vhost else None
        self.foreign = rabbit_stats.foreign_connections(self.vhost.name) if self.vhost else 0

    def report(self, args: argparse.Namespace, laps: dict[str, float], chunks: int) -> None:
        job_s, hashed_s = laps["groups"] - laps["start"], laps["followed"] - laps["built"]
        producer, workers = (end - start for start, end in zip(self.cpu0, self.cpu1, strict=True))
        redis_cpu = self.job1.cpu_s - self.idle1.cpu_s
        print(f"CPU s during the job ({job_s:.2f} s): producer {producer:.2f}, workers {workers:.2f}, redis-server "
              f"{redis_cpu:.2f} (end to end {chunks / hashed_s:.0f} chunks/s, {args.files / hashed_s:,.0f} paths/s); "
              f"per image: redis-server {redis_cpu / args.files * 1e6:.2f} us, workers "
              f"{workers / args.files * 1e6:.1f} us")
        print(redis_stats.report(redis_stats.diff(self.idle1, self.job1), redis_stats.diff(self.idle0, self.idle1),
                                 IDLE_S, job_s, chunks, args.chunk_size))
        if self.vhost:
            text, beam_cpu = rabbit_stats.report(self.rabbit0, self.rabbit1, self.beam_idle, job_s, chunks)
            print(text + f"\n  (connections in other vhosts at the end: {self.foreign})")
            print(redis_stats.ceiling_line("RabbitMQ", beam_cpu / chunks, args.chunk_size))


def run_job(args: argparse.Namespace, settings: Settings, tmp: str, laps: dict[str, float], counters: Counters | None):
    """Build, send and follow the made-up job to its outputs in `tmp`, between the `counters` (if any);
    `laps` gets the time each step ends (monotonic s) and "<step> count" what it counted. Returns the job."""
    from bench.synthetic_tasks import SYNTHETIC_TASK

    def on_step(step: str, count: int) -> None:
        laps[step] = time.monotonic()
        laps[f"{step} count"] = count

    with producer_app(settings) as app:
        if counters is not None:
            counters.before(args)
        laps["start"] = time.monotonic()
        job = build_job(fake_paths(args.files), "dhash", 8, args.chunk_size, spool_dir=tmp)
        laps["built"] = time.monotonic()
        mark_job(app.backend, job.id, len(job.blobs))
        follow_and_write(app, settings, job, os.path.join(tmp, "out.csv"), os.path.join(tmp, "groups.json"),
                         timeout=JOB_TIMEOUT, fleet=args.workers, chunk_task=SYNTHETIC_TASK, on_step=on_step)
        if counters is not None:
            counters.after()
    return job


def print_report(args: argparse.Namespace, job, laps: dict[str, float], pool_rss: list[float], redis_peak: float):
    chunks = len(job.blobs)
    print(f"files {args.files}, chunk size {args.chunk_size}, chunks {chunks}, workers {args.workers}, "
          f"broker {args.broker}")
    print(f"build job (paths -> compressed chunk blobs): {laps['built'] - laps['start']:.2f} s")
    follow_s = laps["followed"] - laps["built"]
    print(f"send a window at a time, no-op tasks, drain: {follow_s:.2f} s = {follow_s / chunks * 1e3:.2f} ms/chunk "
          f"end to end with {args.workers} workers")
    print(f"merge on the producer ({laps['merged count']} groups): {laps['merged'] - laps['followed']:.2f} s")
    print(f"write {laps['records count']} csv rows: {laps['records'] - laps['merged']:.2f} s; write "
          f"{laps['groups count']} groups: {laps['groups'] - laps['records']:.2f} s")
    print(f"producer peak RSS (merge included) {peak_rss_mb():.0f} MB; worker children peak RSS "
          f"{', '.join(f'{rss:.0f}' for rss in pool_rss)} MB; Redis peak memory {redis_peak:.1f} MB")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    laps: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hashfleet-synth-") as tmp:
        server = RedisServer(tmp)
        vhost = RabbitVhost() if args.broker == "rabbitmq" else None
        try:
            settings = Settings.from_env({}, broker_url=vhost.url if vhost else server.url, result_backend=server.url,
                                         chunk_size=args.chunk_size)
            with warm_worker(settings.broker_url, args.workers, tmp, cwd=REPO, env=settings.to_env(),
                             include=TASKS_MODULE) as worker:
                counters = Counters(server, vhost, worker) if args.redis_stats else None
                job = run_job(args, settings, tmp, laps, counters)
                pool_rss = sorted(peak_rss_mb(pid) for pid in worker.pool_pids())
            with server.client() as client:
                redis_peak = client.info("memory")["used_memory_peak"] / 2**20
        finally:
            server.kill()
            if vhost:
                vhost.delete()
        # After the peaks are read: the check holds a Counter of every hash.
        problems = check_outputs(fake_paths(args.files), os.path.join(tmp, "out.csv"),
                                 os.path.join(tmp, "groups.json")) if args.check else []
    print_report(args, job, laps, pool_rss, redis_peak)
    if counters is not None:
        counters.report(args, laps, len(job.blobs))
    print(f"(ru_maxrss of producer: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    if args.check:
        print("check: " + ("; ".join(problems) if problems else "every path once with its hash, groups right"))
        sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

"""Pipeline cost without decoding: a 1,000,000-file job through the real producer, Redis, chord and merge.

    python -m bench.synthetic [--files 1000000] [--chunk-size 256] [--workers 2] [--redis-stats [--redis-aof]]
                              [--broker redis|rabbitmq] [--chunk-size auto --file-bytes 2000] [--check]

Measures: walk-free job build, enqueue time (publishing all chunks), end-to-end time, output writing
(records, then the exact-duplicate groups),
the producer's peak RSS (VmHWM) and the peak RSS of the worker process that ran the merge, and the
per-task overhead (end-to-end seconds per chunk with tasks that do no work). Paths are made up
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
from producer.app import polling_backend_url
from producer.chunking import SMALL_JOB_FILES, chunk_size_for
from producer.follow import JobFollower
from producer.job import build_job, enqueue
from producer.outputs.formats import write_groups, write_records
from producer.outputs.results import JobResult
from support.procstat import children, peak_rss_kib
from tasks.app import create_app
from tasks.settings import Settings
from worker.embedded import worker_env
from worker.procs import spawn, stop_group
from worker.redis_server import RedisServer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Files per made-up folder.
FILES_PER_FOLDER = 1000
#: Every Nth file repeats an earlier name (and so its fake hash), to give the merge groups to build.
DUPLICATE_EVERY = 50
#: Seconds the workers get to start before the idle interval (--redis-stats).
SETTLE_S = 4.0
#: Seconds of idle background measured before the job (--redis-stats).
IDLE_S = 5.0


def fake_paths(count: int):
    for i in range(count):
        name = i - 1 if i % DUPLICATE_EVERY == 0 and i else i
        yield f"/data/photos/d{i // FILES_PER_FOLDER:04d}/IMG_{name:07d}.JPG"


def peak_rss_mb(pid: int | str = "self") -> float:
    return peak_rss_kib(pid) / 1024


def cpu_now(worker_pid: int) -> tuple[float, float]:
    """CPU seconds so far of this process (the producer) and of the worker's main and pool processes."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, redis_stats.tree_cpu_s(worker_pid, children(worker_pid))


def main(argv: list[str] | None = None) -> None:
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
    from bench.synthetic_tasks import SYNTHETIC_TASK

    with tempfile.TemporaryDirectory(prefix="hashfleet-synth-") as tmp:
        server = RedisServer(tmp)
        url = server.url
        vhost = rabbit_stats.PrivateVhost() if args.broker == "rabbitmq" else None
        broker = vhost.url if vhost else url
        settings = Settings.from_env({}, broker_url=broker, result_backend=url, chunk_size=args.chunk_size)
        env = worker_env(settings)
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
        argv_worker = [sys.executable, "-m", "celery", "-A", "tasks", "worker", "-I", "bench.synthetic_tasks",
                       "--pool", "prefork", "-c", str(args.workers), "-Q", settings.queue,
                       "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
        worker = spawn(argv_worker, env, os.path.join(tmp, "worker.log"))
        app = create_app(settings)
        app.conf.result_backend = polling_backend_url(url)
        stats_client = server.client() if args.redis_stats else None
        try:
            if stats_client is not None:
                if args.redis_aof:
                    stats_client.config_set("appendfsync", "everysec")
                    stats_client.config_set("appendonly", "yes")
                time.sleep(args.settle)
                redis_stats.reset(stats_client)
                idle0 = redis_stats.snapshot(stats_client)
                beam = rabbit_stats.beam_pid() if vhost else None
                beam_idle0 = rabbit_stats.cpu_s(beam) if vhost else 0.0
                time.sleep(IDLE_S)
                beam_idle1 = rabbit_stats.cpu_s(beam) if vhost else 0.0
                idle1 = redis_stats.snapshot(stats_client)
                rabbit0 = rabbit_stats.snapshot_before(vhost.name, beam) if vhost else None
                cpu0 = cpu_now(worker.pid)
            t0 = time.monotonic()
            job = build_job(fake_paths(args.files), "dhash", 8, args.chunk_size, spool_dir=tmp)
            t1 = time.monotonic()
            enqueue(app, job, chunk_task=SYNTHETIC_TASK)
            t2 = time.monotonic()
            payload = JobFollower(app, job.id, list(range(len(job.blobs))), timeout=3600).run()
            t3 = time.monotonic()
            result = JobResult.from_payload(job, payload, app.backend)
            rows = write_records(os.path.join(tmp, "out.csv"), result.records(), {})
            t4 = time.monotonic()
            write_groups(os.path.join(tmp, "groups.json"), result.group_paths())
            result.close()
            t5 = time.monotonic()
            if stats_client is not None:
                job1 = redis_stats.snapshot(stats_client)
                cpu1 = cpu_now(worker.pid)
                rabbit1 = rabbit_stats.snapshot_after(vhost.name, beam) if vhost else None
                foreign = rabbit_stats.foreign_connections(vhost.name) if vhost else 0
            children_rss = sorted(peak_rss_mb(pid) for pid in children(worker.pid))
            merge_rss = children_rss[-1]
            with server.client() as client:
                redis_peak = client.info("memory")["used_memory_peak"] / 2**20
            if args.check:  # after the peaks are read: the check holds a Counter of every hash
                from bench.synthetic_check import check_outputs

                problems = check_outputs(fake_paths(args.files), os.path.join(tmp, "out.csv"),
                                         os.path.join(tmp, "groups.json"))
        finally:
            if stats_client is not None:
                stats_client.close()
            app.close()
            stop_group(worker)
            server.kill()
            if vhost:
                vhost.delete()
    chunks = len(job.blobs)
    print(f"files {args.files}, chunk size {args.chunk_size}, chunks {chunks}, workers {args.workers}, "
          f"broker {args.broker}")
    print(f"build job (paths -> compressed chunk blobs): {t1 - t0:.2f} s")
    per_chunk = (t2 - t1) / chunks * 1e3
    print(f"enqueue (publish {chunks} chunk tasks + chord): {t2 - t1:.2f} s = {per_chunk:.2f} ms/chunk")
    print(f"wait (no-op tasks + merge): {t3 - t2:.2f} s = {(t3 - t2) / chunks * 1e3:.2f} ms/chunk end to end "
          f"with {args.workers} workers")
    print(f"write {rows} csv rows: {t4 - t3:.2f} s; write {result.group_count} groups: {t5 - t4:.2f} s")
    print(f"producer peak RSS {peak_rss_mb():.0f} MB; worker children peak RSS (merge ran in one) "
          f"{', '.join(f'{rss:.0f}' for rss in children_rss)} MB; sum {peak_rss_mb() + merge_rss:.0f} MB; "
          f"Redis peak memory {redis_peak:.0f} MB")
    if stats_client is not None:
        print(f"CPU s during the job ({t5 - t0:.2f} s): producer {cpu1[0] - cpu0[0]:.2f}, workers "
              f"{cpu1[1] - cpu0[1]:.2f}, redis-server {job1.cpu_s - idle1.cpu_s:.2f} "
              f"(end to end {chunks / (t3 - t1):.0f} chunks/s, {args.files / (t3 - t1):,.0f} paths/s); per image: "
              f"redis-server {(job1.cpu_s - idle1.cpu_s) / args.files * 1e6:.2f} us, workers "
              f"{(cpu1[1] - cpu0[1]) / args.files * 1e6:.1f} us")
        print(redis_stats.report(redis_stats.diff(idle1, job1), redis_stats.diff(idle0, idle1), IDLE_S, t5 - t0,
                                 chunks, args.chunk_size))
        if vhost:
            text, beam_cpu = rabbit_stats.report(rabbit0, rabbit1, (beam_idle1 - beam_idle0) / IDLE_S, t5 - t0, chunks)
            print(text + f"\n  (connections in other vhosts at the end: {foreign})")
            print(redis_stats.ceiling_line("RabbitMQ", beam_cpu / chunks, args.chunk_size))
    print(f"(ru_maxrss of producer: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    if args.check:
        print("check: " + ("; ".join(problems) if problems else "every path once with its hash, groups right"))
        sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

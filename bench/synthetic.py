"""Pipeline cost without decoding: a 1,000,000-file job through the real producer, Redis, chord and merge.

    python -m bench.synthetic [--files 1000000] [--chunk-size 256] [--workers 2]

Measures: walk-free job build, enqueue time (publishing all chunks), end-to-end time, output writing
(records, then the exact-duplicate groups),
the producer's peak RSS (VmHWM) and the peak RSS of the worker process that ran the merge, and the
per-task overhead (end-to-end seconds per chunk with tasks that do no work). Paths are made up
(`/data/photos/dNNNN/IMG_NNNNNNN.JPG`) and never touched.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

from producer.app import polling_backend_url
from producer.follow import JobFollower
from producer.job import build_job, enqueue
from producer.output import write_groups, write_records
from producer.results import JobResult
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


def fake_paths(count: int):
    for i in range(count):
        name = i - 1 if i % DUPLICATE_EVERY == 0 and i else i
        yield f"/data/photos/d{i // FILES_PER_FOLDER:04d}/IMG_{name:07d}.JPG"


def peak_rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker_children(parent: int) -> list[int]:
    children = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == parent:
                        children.append(int(pid))
            except OSError:
                pass
    return children


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    from bench.synthetic_tasks import SYNTHETIC_TASK

    with tempfile.TemporaryDirectory(prefix="hashfleet-synth-") as tmp:
        server = RedisServer(tmp)
        url = server.url
        settings = Settings.from_env({}, broker_url=url, chunk_size=args.chunk_size)
        env = worker_env(settings)
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
        argv_worker = [sys.executable, "-m", "celery", "-A", "tasks", "worker", "-I", "bench.synthetic_tasks",
                       "--pool", "prefork", "-c", str(args.workers), "-Q", settings.queue,
                       "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
        worker = spawn(argv_worker, env, os.path.join(tmp, "worker.log"))
        app = create_app(settings)
        app.conf.result_backend = polling_backend_url(url)
        try:
            t0 = time.monotonic()
            job = build_job(fake_paths(args.files), "dhash", 8, args.chunk_size)
            t1 = time.monotonic()
            enqueue(app, job, chunk_task=SYNTHETIC_TASK)
            t2 = time.monotonic()
            payload = JobFollower(app, job.id, list(range(len(job.blobs))), timeout=3600).run()
            t3 = time.monotonic()
            result = JobResult.from_payload(job, payload, app.backend)
            rows = write_records(os.path.join(tmp, "out.csv"), result.records(), {})
            t4 = time.monotonic()
            write_groups(os.path.join(tmp, "groups.json"), result.group_paths())
            t5 = time.monotonic()
            merge_rss = max(peak_rss_mb(pid) for pid in worker_children(worker.pid))
        finally:
            app.close()
            stop_group(worker)
            server.kill()
    chunks = len(job.blobs)
    print(f"files {args.files}, chunk size {args.chunk_size}, chunks {chunks}, workers {args.workers}")
    print(f"build job (paths -> compressed chunk blobs): {t1 - t0:.2f} s")
    per_chunk = (t2 - t1) / chunks * 1e3
    print(f"enqueue (publish {chunks} chunk tasks + chord): {t2 - t1:.2f} s = {per_chunk:.2f} ms/chunk")
    print(f"wait (no-op tasks + merge): {t3 - t2:.2f} s = {(t3 - t2) / chunks * 1e3:.2f} ms/chunk end to end "
          f"with {args.workers} workers")
    print(f"write {rows} csv rows: {t4 - t3:.2f} s; write {len(result.groups)} groups: {t5 - t4:.2f} s")
    print(f"producer peak RSS {peak_rss_mb():.0f} MB; worker child peak RSS (merge ran in one) "
          f"{merge_rss:.0f} MB; sum {peak_rss_mb() + merge_rss:.0f} MB")
    print(f"(ru_maxrss of producer: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()

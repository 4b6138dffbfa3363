"""Throughput cost of reading images from an S3-compatible store instead of a local folder.

    python -m bench.s3 [--files 300] [--repeats 3] [--workers 2] [--out bench/S3.md]

The same files (the first FILES images of ~/corpus/photos, or the committed fixtures replicated) are put
in a local folder and in a bucket of a moto S3 server (its own process, HTTP on loopback). One private
redis-server and one warm worker of WORKERS processes (worker/local.py) (AWS_ENDPOINT_URL pointing at moto) serve
`hashfleet run` on the local folder and on `s3://bucket/prefix`, alternating, REPEATS times after one
warm-up run of each; medians are written to OUT as markdown. moto on loopback is not a real store: no
network latency or bandwidth limit, so the figures are the client-side cost (HTTP, signing, boto3), a floor.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

from bench.hygiene import CpuMeter
from bench.services import clean_env, private_redis, run_timed
from support.warm_worker import warm_worker
from worker.procs import spawn, stop_group
from worker.redis_server import free_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FILES = 300
DEFAULT_REPEATS = 3
DEFAULT_WORKERS = 2
#: Seconds moto's server gets to answer its first request.
S3_START_TIMEOUT = 30.0
#: Seconds one `hashfleet run` may take.
RUN_TIMEOUT = 600
BUCKET = "bench"
PREFIX = "photos/"
EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".ppm", ".pgm")
#: Dummy credentials for moto (which accepts any).
AWS_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


def pick_files(count: int) -> tuple[list[str], str]:
    """Up to `count` image paths, and where they come from."""
    photos = os.path.expanduser("~/corpus/photos")
    found = []
    for folder, _, names in sorted(os.walk(photos)):
        found += [os.path.join(folder, n) for n in sorted(names) if n.lower().endswith(EXTENSIONS)]
    if found:
        return found[:count], f"first {min(count, len(found))} images of ~/corpus/photos"
    fixtures = os.path.join(REPO, "tests", "data", "images")
    base = [os.path.join(fixtures, n) for n in sorted(os.listdir(fixtures))]
    return [base[i % len(base)] for i in range(count)], f"tests/data/images replicated to {count}"


def start_moto(workdir: str, argv: list[str] | None = None):
    """A moto S3 server process on a free loopback port; (process, endpoint URL, a client of it). `argv`
    replaces moto's own server command; the port is appended to it."""
    import boto3

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = argv or [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p"]
    proc = spawn([*argv, str(port)], clean_env(), os.path.join(workdir, "moto.log"))
    client = boto3.session.Session().client("s3", endpoint_url=url, region_name="us-east-1",
                                            aws_access_key_id="bench", aws_secret_access_key="bench-secret")
    deadline = time.monotonic() + S3_START_TIMEOUT
    while True:
        try:
            client.list_buckets()
            return proc, url, client
        except Exception:  # noqa: BLE001  (not listening yet)
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_group(proc)
                raise RuntimeError(f"moto server did not start; see {workdir}/moto.log") from None
            time.sleep(0.2)


def hashed_rows(path: str) -> dict[str, str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {os.path.basename(r["path"]): r["hash"] for r in csv.DictReader(handle) if r["hash"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=DEFAULT_FILES)
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--out", default=os.path.join(REPO, "bench", "S3.md"))
    args = parser.parse_args(argv)
    files, source = pick_files(args.files)
    workdir = tempfile.mkdtemp(prefix="hashfleet-bench-s3-")
    try:
        local = os.path.join(workdir, "local")
        os.makedirs(local)
        names = [f"{i:04d}{os.path.splitext(p)[1].lower()}" for i, p in enumerate(files)]
        total_bytes = 0
        for name, path in zip(names, files, strict=True):
            shutil.copy(path, os.path.join(local, name))
            total_bytes += os.path.getsize(path)
        moto, endpoint, client = start_moto(workdir)
        try:
            client.create_bucket(Bucket=BUCKET)
            for name in names:
                client.upload_file(os.path.join(local, name), BUCKET, PREFIX + name)
            os.environ.update(AWS_ENV, AWS_ENDPOINT_URL=endpoint)  # the worker and producers inherit them
            with private_redis(workdir) as (port, redis_pid):
                broker = f"redis://127.0.0.1:{port}/0"
                with warm_worker(broker, args.workers, workdir, cwd=REPO) as worker:
                    meter = CpuMeter(lambda: [moto.pid, redis_pid, worker.proc.pid, *worker.pool_pids()])
                    times, others = measure(local, f"s3://{BUCKET}/{PREFIX}", broker, workdir, args.repeats,
                                            len(names), meter)
        finally:
            stop_group(moto)
        report = markdown(times, others, len(names), total_bytes, source, args)
        with open(args.out, "w") as handle:
            handle.write(report)
        print(report)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def measure(local: str, remote: str, broker: str, workdir: str, repeats: int, count: int,
            meter: CpuMeter) -> tuple[dict[str, list[float]], float]:
    """Seconds per run for each input, alternating (warm-up runs first, not kept), and the largest share of
    the machine other processes took during a kept run (each run waits for a quiet machine first); checks
    every file hashed and that both inputs give the same hashes."""
    env = clean_env(HASHFLEET_BROKER_URL=broker)
    times: dict[str, list[float]] = {"local": [], "s3": []}
    outs = {}
    others = 0.0
    for round_ in range(repeats + 1):
        for label, target in (("local", local), ("s3", remote)) if round_ % 2 == 0 else (("s3", remote),
                                                                                          ("local", local)):
            out = os.path.join(workdir, f"{label}.csv")
            argv = [sys.executable, "-m", "producer", "run", target, "-o", out]
            meter.wait_quiet()
            meter.start()
            seconds = run_timed(argv, os.path.join(workdir, f"{label}.log"), env, RUN_TIMEOUT, cwd=REPO)
            share, _own = meter.stop()
            if round_:
                times[label].append(seconds)
                others = max(others, share)
            outs[label] = hashed_rows(out)
    if not (len(outs["local"]) == len(outs["s3"]) == count and outs["local"] == outs["s3"]):
        raise RuntimeError(f"local and s3 runs disagree ({len(outs['local'])} vs {len(outs['s3'])} hashed)")
    return times, others


def markdown(times: dict[str, list[float]], others: float, count: int, total_bytes: int, source: str, args) -> str:
    local, remote = statistics.median(times["local"]), statistics.median(times["s3"])
    overhead_ms = (remote - local) / count * 1000
    runs = ", ".join  # every run's seconds
    lines = [
        "# Images in S3-compatible storage: throughput cost against local files",
        "",
        f"`python -m bench.s3 --files {args.files} --repeats {args.repeats} --workers {args.workers}` "
        f"({time.strftime('%Y-%m-%d')}, {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
        f"Python {platform.python_version()}).",
        "",
        f"{count} files ({source}, {total_bytes / 1e6:.1f} MB), default algorithms, one warm worker "
        f"`-c {args.workers}` on a private redis-server; `hashfleet run` (producer start, walk or listing, "
        f"hashing, output) on the local folder and on `s3://{BUCKET}/{PREFIX}` in a moto server, alternating; "
        f"median of {args.repeats} runs after one warm-up run of each. Each run waited for a quiet machine "
        f"(bench/hygiene.py); other processes took at most {others:.0%} of it during a kept run.",
        "",
        "| input | median s | runs (s) | files/s |",
        "|---|---:|---|---:|",
        f"| local folder | {local:.2f} | {runs(f'{t:.2f}' for t in times['local'])} | {count / local:.0f} |",
        f"| s3:// (moto, loopback) | {remote:.2f} | {runs(f'{t:.2f}' for t in times['s3'])} | {count / remote:.0f} |",
        "",
        f"Ratio s3 / local: **{remote / local:.2f}x**; overhead **{overhead_ms:.2f} ms per file** of wall time "
        f"({overhead_ms * args.workers:.2f} ms of worker time per file over {args.workers} processes). It "
        f"includes the producer's fixed costs for s3:// (importing boto3, making a client, the listing), "
        f"spread over the files.",
        "",
        "moto on loopback is not a real store: no network latency, no bandwidth limit, and the server shares "
        "the machine's cores with the workers. The figures are the client-side cost of a GET per object "
        "(HTTP, request signing, boto3) plus moto's own serving, not what AWS, MinIO or Ceph across a network "
        "would cost: there each GET also waits for a network round trip and the store's first byte (often tens "
        "of ms), time a worker spends idle, so more worker processes per core than for local files pay off.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

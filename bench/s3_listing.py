"""Listing a large s3:// prefix: the producer's walk streams it, page by page, in memory that does not grow.

    python -m bench.s3_listing [--objects 100000] [--small 10000]

A moto S3 server (its own process, HTTP on loopback) is filled with SMALL, then OBJECTS, keys under one
prefix (through moto's backend, not PUT requests, so filling takes seconds). For each, the producer's walk
(`producer.walk.iter_image_paths`, with the product's client, made beforehand) lists the prefix while the
consumer keeps no URL: the wall time and objects per second, then, in a second pass, the peak traced
memory (tracemalloc, which slows the walk about threefold). A walk that held the listing would peak with
the object count; a streamed one peaks at one page.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import tempfile
import time
import tracemalloc

from bench.s3 import AWS_ENV, start_moto
from worker.procs import stop_group

DEFAULT_OBJECTS = 100_000
DEFAULT_SMALL = 10_000
BUCKET = "listing"
PREFIX = "photos/"


def serve(port: int, objects: int) -> None:
    """The child: a moto server holding `objects` one-byte keys under PREFIX, answering once they are in."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends
    from moto.server import ThreadedMotoServer

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    backend.create_bucket(BUCKET, AWS_ENV["AWS_DEFAULT_REGION"])
    for i in range(objects):
        backend.put_object(BUCKET, f"{PREFIX}{i // 1000:04d}/{i:07d}.jpg", b"x")
    ThreadedMotoServer(ip_address="127.0.0.1", port=port).start()
    signal.pause()


def walk_once(traced: bool) -> tuple[int, float, int]:
    """(objects listed, seconds, peak traced bytes or 0) for one walk of the prefix, with a client made
    before (loading botocore's S3 model would otherwise be most of the peak)."""
    from producer.walk import iter_image_paths
    from tasks.inputs.s3client import new_s3_client

    client = new_s3_client()
    if traced:
        tracemalloc.start()
    try:
        started = time.perf_counter()
        seen = sum(1 for _ in iter_image_paths([f"s3://{BUCKET}/{PREFIX}"], s3_client=client))
        return seen, time.perf_counter() - started, tracemalloc.get_traced_memory()[1] if traced else 0
    finally:
        tracemalloc.stop()


def measure(objects: int, workdir: str) -> tuple[float, int]:
    """(seconds of the untraced walk, peak traced bytes) for a prefix of `objects` keys."""
    argv = [sys.executable, "-m", "bench.s3_listing", "--serve", "--objects", str(objects), "--port"]
    moto, endpoint, _client = start_moto(workdir, argv)
    try:
        os.environ.update(AWS_ENV, AWS_ENDPOINT_URL=endpoint)
        seen, seconds, _ = walk_once(traced=False)
        traced_seen, _, peak = walk_once(traced=True)
        assert seen == traced_seen == objects, (seen, traced_seen, objects)
        return seconds, peak
    finally:
        stop_group(moto)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=DEFAULT_OBJECTS)
    parser.add_argument("--small", type=int, default=DEFAULT_SMALL)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.port, args.objects)
        return
    print(f"`python -m bench.s3_listing --objects {args.objects} --small {args.small}` "
          f"({time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()})\n")
    print("| objects | walk s | objects/s | peak traced MB |\n|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="hashfleet-bench-s3-listing-") as workdir:
        for objects in (args.small, args.objects):
            seconds, peak = measure(objects, workdir)
            print(f"| {objects:,} | {seconds:.1f} | {objects / seconds:,.0f} | {peak / 1e6:.2f} |", flush=True)


if __name__ == "__main__":
    main()

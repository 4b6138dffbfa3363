"""Publishing a chord of a job's chunks: Celery's `chord(header, body).apply_async()` beside the streamed
publish (producer/publish.py, which the distributed join's parts could use; jobs are sent a window at a time
without a chord), alternating, into a private redis-server with no workers.

    python -m bench.publish [--files 200000] [--repeats 4]

Prints milliseconds per chunk of each way (median and every run).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from celery import chord

from producer.app import polling_backend_url
from producer.job import _chunk_signature, build_job
from producer.publish import publish_chord
from support.synthetic import fake_paths
from tasks.app import create_app
from tasks.ids import CHUNK_TASK
from tasks.settings import Settings
from worker.redis_server import RedisServer

#: Name of the chord's callback: never run (no worker), only published.
BODY_TASK = "hashfleet.bench_chord_body"


def publish(app, job, streamed: bool) -> None:
    body = app.signature(BODY_TASK, args=(job.id, len(job.blobs))).set(task_id=f"{job.id}-body")
    header = (_chunk_signature(app, job, i, CHUNK_TASK) for i in range(len(job.blobs)))
    if streamed:
        publish_chord(app, header, len(job.blobs), body)
    else:
        chord(list(header), body).apply_async()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {"celery chord": [], "streamed": []}
    with tempfile.TemporaryDirectory(prefix="hashfleet-publish-") as tmp:
        server = RedisServer(tmp)
        app = create_app(Settings.from_env({}, broker_url=server.url))
        app.conf.result_backend = polling_backend_url(server.url)
        try:
            for _ in range(args.repeats):
                for name in times:
                    job = build_job(fake_paths(args.files), "dhash", 8, 256)
                    started = time.perf_counter()
                    publish(app, job, streamed=name == "streamed")
                    times[name].append((time.perf_counter() - started) / len(job.blobs) * 1e3)
                    with server.client() as client:
                        client.flushall()  # the bench's own server: the next run starts empty
        finally:
            app.close()
            server.kill()
    for name, runs in times.items():
        print(f"{name}: {statistics.median(runs):.2f} ms/chunk (median; runs {', '.join(f'{t:.2f}' for t in runs)})")


if __name__ == "__main__":
    main()

"""What the length of hashfleet's Redis list means, as the KEDA autoscaler (deploy/k8s/keda/) reads it.

kombu keeps a queue in one Redis list named like the queue, plus one list per priority step
(`queue\\x06\\x163`, ...) only for messages that carry a priority; hashfleet sends none. A chunk a worker
has taken (running, or prefetched and waiting for a pool process) has left the list: it is in kombu's
`unacked` hash until acknowledged. So LLEN counts waiting work only (docs/deploy.md).
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from support.servers import hashfleet, wait_until

pytestmark = pytest.mark.integration

#: kombu's Redis transport: separator between a queue's name and its priority step, and the hash of
#: delivered, unacknowledged messages (kombu/transport/redis.py: Channel.sep, Channel.unacked_key).
PRIORITY_SEP = "\x06\x16"
UNACKED = "unacked"
#: Seconds for a worker to take a chunk, and for a job to finish.
WAIT = 60.0


def unacked_on(client, queue: str) -> int:
    """Unacknowledged messages of `queue` (the hash is shared by every queue of the Redis database)."""
    return sum(1 for raw in client.hvals(UNACKED) if json.loads(raw)[2] == queue)


def pool_processes(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def test_the_queue_is_one_plain_list_and_a_chunk_a_worker_holds_is_no_longer_in_it(
        tmp_path, images, worker_env, redis_server, start_workers):
    queue = worker_env["HASHFLEET_QUEUE"]
    client = redis_server.client()
    env = dict(worker_env, HASHFLEET_JOBS_DIR=str(tmp_path / "jobs"))
    # Given a single-process worker whose pool process cannot run anything (stopped)
    (worker,) = start_workers(count=1, concurrency=1)
    (pool,) = pool_processes(worker.proc.pid)
    os.kill(pool, signal.SIGSTOP)
    try:
        # When a job of 9 photos in chunks of 2 (5 chunks) is submitted
        submitted = hashfleet(["submit", str(images), "--chunk-size", "2"], env=env, timeout=60)
        assert submitted.returncode == 0, submitted.stderr
        chunks = 5
        # Then the worker takes one chunk: it leaves the list for the unacked hash, and the worker takes
        # no other (prefetch 1 per process)
        wait_until(lambda: unacked_on(client, queue) == 1, WAIT, "the worker did not take a chunk")
        assert client.llen(queue) == chunks - 1
        time.sleep(1)  # a second look: nothing else moves while the held chunk is not acknowledged
        assert (client.llen(queue), unacked_on(client, queue)) == (chunks - 1, 1)
        # And the waiting chunks are in one list named like the queue; no priority list exists
        assert client.type(queue) == b"list"
        assert [k for k in client.keys(f"{queue}*") if PRIORITY_SEP.encode() in k] == []
    finally:
        os.kill(pool, signal.SIGCONT)
    # And once the job is done, the list and the unacked hash hold nothing of it
    done = hashfleet(["wait", submitted.stdout.strip(), "-o", str(tmp_path / "out.csv"), "--timeout", "60"],
                     env=env, timeout=90)
    assert done.returncode == 0, done.stderr
    assert (client.llen(queue), unacked_on(client, queue)) == (0, 0)

"""The scale benchmarks' small versions. The 10-million-file job: a made-up job through the real producer,
a real redis-server and real prefork workers (tasks that skip decoding), with the chunk list spooled to
disk, the chord published one chunk at a time, the merge grouping on disk and the groups written from a
scratch table; its outputs checked path by path (`bench.synthetic --check`). The broker's cost per chunk:
the same job measured on Redis and on RabbitMQ (`--redis-stats --broker ...`)."""

import re
import subprocess
import sys

import pytest

from support.servers import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Files in the job: 118 chunks of 256, 599 exact-duplicate groups.
FILES = 30_000
CHUNKS = 118


def synthetic(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bench.synthetic", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_a_made_up_job_writes_every_path_once_with_its_hash_and_every_duplicate_group_and_its_redis_cost():
    out = synthetic("--files", str(FILES), "--redis-stats", "--settle", "2", "--check")
    assert f"write {FILES} csv rows" in out
    assert "check: every path once with its hash, groups right" in out
    # And the Redis commands per chunk and the ceiling they imply are printed
    assert re.search(rf"Redis during the job \([\d.]+ s, {CHUNKS} chunks\): \d+ commands", out), out
    assert "ceiling" in out.lower(), out


def test_the_broker_cost_of_a_small_job_on_rabbitmq_is_measured_per_chunk():
    out = synthetic("--files", "5000", "--redis-stats", "--settle", "2", "--broker", "rabbitmq", "--check")
    # Then RabbitMQ's messages, bytes and CPU per chunk, and its Redis backend's commands, are printed
    assert re.search(r"Redis during the job \([\d.]+ s, 20 chunks\): \d+ commands", out), out
    assert re.search(r"RabbitMQ during the job .* messages/chunk: ", out) and "us/chunk" in out, out
    assert "check: every path once with its hash, groups right" in out

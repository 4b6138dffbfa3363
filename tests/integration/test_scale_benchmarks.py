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


def synthetic(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bench.synthetic", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_a_made_up_job_writes_every_path_once_with_its_hash_and_every_duplicate_group():
    out = synthetic("--files", str(FILES), "--check")
    assert f"write {FILES} csv rows" in out
    assert "check: every path once with its hash, groups right" in out


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_the_broker_cost_of_a_small_job_is_measured_per_chunk_on_either_broker(broker):
    out = synthetic("--files", "5000", "--redis-stats", "--settle", "2", "--broker", broker, "--check")
    # Then the Redis commands per chunk, and with RabbitMQ its messages, bytes and CPU per chunk, are printed
    assert re.search(r"Redis during the job \([\d.]+ s, 20 chunks\): \d+ commands", out), out
    assert "ceiling" in out.lower(), out
    if broker == "rabbitmq":
        assert re.search(r"RabbitMQ during the job .* messages/chunk: ", out) and "us/chunk" in out, out
    assert "check: every path once with its hash, groups right" in out

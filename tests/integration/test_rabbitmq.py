"""RabbitMQ as broker, Redis as result backend: a job completes exactly, a worker killed mid-chunk has its chunk
redelivered at once (no visibility timeout), and an unusable amqp:// URL is one clear line."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from support.rabbit import amqp_url
from support.servers import REPO, clean_env, hashfleet

pytestmark = pytest.mark.integration

#: A killed worker's chunk must reach a second worker and the job finish within this many seconds of the kill:
#: far below the visibility timeout the workers are given (which is what a lost chunk waits for on Redis).
REDELIVERY_BOUND = 60.0
VISIBILITY_TIMEOUT = "3600"
#: The slow PNG (conftest.py) takes about 0.9 s of CPU to hash; the photos 10-30 ms.
#: Slow files in the killed worker's chunk: about 2 s of decoding together, so a pool process that has spent
#: HASHING_CPU seconds of CPU on the chunk is surely in the middle of it (and is paused within one POLL).
SLOW_FILES = 2
HASHING_CPU = 0.2
#: Seconds to wait for a worker to start hashing the chunk.
START_TIMEOUT = 30.0
#: Seconds between polls of a log or a process.
POLL = 0.02
#: Every preflight failure must be reported within this many seconds.
FAST = 15.0


@pytest.fixture
def worker_env(rabbit_env):
    """`start_workers` (tests/integration/conftest.py) starts its workers on RabbitMQ in this module."""
    return rabbit_env


def read_rows(path) -> dict[str, dict]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_path = {row["path"]: row for row in rows}
    assert len(by_path) == len(rows), "a file has more than one record"
    return by_path


def assert_every_file_hashed_once(rows: dict[str, dict], folder) -> None:
    assert sorted(rows) == sorted(str(folder / name) for name in os.listdir(folder))
    assert all(row["hash"] and not row["error"] for row in rows.values()), rows


def link_slow_files(folder, slow_png) -> None:
    for index in range(SLOW_FILES):
        os.link(slow_png, folder / f"slow{index}.png")


def pool_process(worker) -> int:
    """The one prefork pool process of a worker started with concurrency 1 (its main process's child)."""
    with open(f"/proc/{worker.proc.pid}/task/{worker.proc.pid}/children") as handle:
        (pid,) = (int(pid) for pid in handle.read().split())
    return pid


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until(condition, timeout: float, what: str) -> float:
    """Poll `condition` until it holds (bounded); returns the monotonic time it was seen to hold."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what()}"
        time.sleep(POLL)
    return time.monotonic()


def test_a_job_on_rabbitmq_completes_with_the_same_records_as_on_redis(tmp_path, images, worker_env, rabbitmq,
                                                                      start_workers):
    # Given two workers consuming from a RabbitMQ queue and storing results in Redis
    start_workers(count=2, concurrency=1)
    # When a job of several chunks runs through RabbitMQ, and the same job on Redis (embedded mode)
    done = hashfleet(["run", str(images), "-o", str(tmp_path / "rabbit.csv"), "--chunk-size", "2",
                      "--timeout", "60"], env=worker_env, timeout=90)
    assert done.returncode == 0, done.stderr
    on_redis = hashfleet(["run", str(images), "-o", str(tmp_path / "redis.csv"), "--workers", "1",
                          "--timeout", "60"], env=clean_env(), timeout=90)
    assert on_redis.returncode == 0, on_redis.stderr
    # Then there is one record per file, every file hashed, each record identical to the Redis job's
    rows = read_rows(tmp_path / "rabbit.csv")
    assert_every_file_hashed_once(rows, images)
    assert rows == read_rows(tmp_path / "redis.csv")
    # And the job left nothing queued or unacknowledged on RabbitMQ
    assert rabbitmq.queue_counts(worker_env["HASHFLEET_QUEUE"]) == (0, 0)


@pytest.mark.slow
def test_a_worker_killed_mid_chunk_has_its_chunk_redelivered_at_once_and_hashed_exactly_once(
        tmp_path, images, slow_png, worker_env, rabbitmq, start_workers):
    queue = worker_env["HASHFLEET_QUEUE"]
    link_slow_files(images, slow_png)
    # Given a worker in the middle of hashing the job's only chunk (seconds of work), paused there
    first, = start_workers(count=1, concurrency=1, HASHFLEET_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT)
    pool = pool_process(first)
    idle_cpu = cpu_seconds(pool)
    producer = subprocess.Popen(
        [sys.executable, "-m", "producer", "run", str(images), "-o", str(tmp_path / "out.csv"),
         "--chunk-size", "100", "--timeout", "120"],
        env=dict(worker_env, HASHFLEET_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT), cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: cpu_seconds(pool) - idle_cpu >= HASHING_CPU, START_TIMEOUT, first.log_tail)
        os.kill(pool, signal.SIGSTOP)
        assert "succeeded" not in first.log_tail(20000)
        assert rabbitmq.queue_counts(queue) == (0, 1)  # the chunk is out, unacknowledged
        # And a second, idle worker
        second, = start_workers(count=1, concurrency=1, HASHFLEET_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT)
        # When the first worker is killed outright (main process and pool)
        killed = time.monotonic()
        os.killpg(first.proc.pid, signal.SIGKILL)
        first.proc.wait(timeout=10)
        # Then RabbitMQ hands the chunk to the second worker at once, and the job finishes far sooner than
        # the visibility timeout would allow on Redis
        received = wait_until(lambda: "hashfleet.hash_chunk[" in second.log_tail(20000), REDELIVERY_BOUND,
                              second.log_tail)
        _, err = producer.communicate(timeout=REDELIVERY_BOUND)
        finished = time.monotonic()
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.wait(timeout=10)
    print(f"chunk redelivered {received - killed:.2f} s, job done {finished - killed:.2f} s after the kill")
    assert producer.returncode == 0, err + second.log_tail()
    assert finished - killed < REDELIVERY_BOUND
    # And the second worker hashed the chunk, once: every file has exactly one record, none an error
    assert second.tasks_succeeded(at_least=1) == 1
    assert "succeeded" not in first.log_tail(20000)
    assert_every_file_hashed_once(read_rows(tmp_path / "out.csv"), images)
    assert rabbitmq.queue_counts(queue) == (0, 0)


def one_line_error(done) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("hashfleet: error: ")
    return lines[0]


def test_a_wrong_rabbitmq_password_is_one_line_and_exit_one(tmp_path, images, rabbitmq, redis_server):
    url = amqp_url(rabbitmq.name, password="not-the-password")
    started = time.monotonic()
    done = hashfleet(["run", str(images), "-o", str(tmp_path / "o.csv"), "--broker", url,
                      "--result-backend", redis_server.url], env=clean_env(), timeout=FAST * 2)
    assert done.returncode == 1
    line = one_line_error(done)
    assert "refused the credentials" in line and "not-the-password" not in line  # the password is never echoed
    assert time.monotonic() - started < FAST


def test_a_closed_amqp_port_is_one_line_and_exit_one(tmp_path, images, redis_server):
    from worker.redis_server import free_port

    port = free_port()
    started = time.monotonic()
    done = hashfleet(["run", str(images), "-o", str(tmp_path / "o.csv"), "--broker", amqp_url(port=port),
                      "--result-backend", redis_server.url], env=clean_env(), timeout=FAST * 2)
    assert done.returncode == 1
    line = one_line_error(done)
    assert f"cannot reach broker amqp://guest:**@127.0.0.1:{port}" in line and "Connection refused" in line
    assert time.monotonic() - started < FAST

"""A job's chunks go out a window at a time (producer/window.py): the broker never holds more than the
window, finished chunks leave Redis, and a job cut mid-window by a killed producer or pool process ends
exact."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from support.servers import REPO, hashfleet, wait_until

pytestmark = pytest.mark.integration

#: Chunks in flight (HASHFLEET_WINDOW) in these tests: far fewer than their jobs have.
WINDOW = 3
#: Slow PNGs (about a second each) linked into a job, so it is still running when something is killed.
#: One process hashing: the first is the chunk whose end is awaited, the second keeps the worker busy
#: while the test kills the producer, so no more chunks finish and free the window meanwhile.
SLOW_FILES_ONE_PROCESS = 2
#: Two processes hashing: the first two run at once and may end together; two more keep both processes
#: busy as one of them is killed, so the victim holds a chunk.
SLOW_FILES_TWO_PROCESSES = 4
#: Seconds any job here may take.
JOB_TIMEOUT = 120


def read_rows(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def pool_processes(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def start_run(folder, out, env, chunk_size: int) -> tuple[subprocess.Popen, str]:
    """`hashfleet run` in the background; returns it and its job id (read from its first line)."""
    proc = subprocess.Popen([sys.executable, "-m", "producer", "run", str(folder), "-o", str(out), "--chunk-size",
                             str(chunk_size), "--timeout", str(JOB_TIMEOUT)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, re.search(r"job ([0-9a-f]{12})", proc.stderr.readline()).group(1)


def with_slow_files(images, slow_png, count: int) -> list[str]:
    """Link `count` slow files in, named to come first in the walk: the job's first chunks are slow whatever
    the machine's speed (the fast photos after them may all finish within one progress interval)."""
    for i in range(count):
        os.link(slow_png, images / f"0slow{i}.png")
    return sorted(str(images / n) for n in os.listdir(images))


@pytest.fixture
def window_env(worker_env, tmp_path):
    return dict(worker_env, HASHFLEET_WINDOW=str(WINDOW), HASHFLEET_JOBS_DIR=str(tmp_path / "jobs"),
                HASHFLEET_PROGRESS_INTERVAL="0.1")


def test_a_job_never_has_more_than_its_window_of_chunks_queued_or_held_and_leaves_no_chunk_data_in_redis(
        tmp_path, images, window_env, redis_server, start_workers):
    # Given one worker process, stopped, and a job of 49 photos in chunks of 2 (25 chunks), a window of 3
    for i in range(40):
        os.link(images / "home.jpg", images / f"h{i:03d}.jpg")
    (worker,) = start_workers(count=1, concurrency=1)
    (pool,) = pool_processes(worker.proc.pid)
    client, queue = redis_server.client(), window_env["HASHFLEET_QUEUE"]

    def in_broker() -> tuple[int, int]:
        """Chunks waiting in the queue, and those plus the ones the worker holds (read in one transaction)."""
        waiting, held = client.pipeline(transaction=True).llen(queue).hvals("unacked").execute()
        return waiting, waiting + sum(1 for raw in held if json.loads(raw)[2] == queue)

    os.kill(pool, signal.SIGSTOP)
    try:
        # When it runs
        proc, job_id = start_run(images, tmp_path / "out.csv", window_env, chunk_size=2)
        # Then the broker holds the window of chunks, and no more while none finishes
        wait_until(lambda: in_broker()[1] == WINDOW, JOB_TIMEOUT, f"{WINDOW} chunks in the broker")
        time.sleep(1)  # a second look: the producer sends nothing more
        assert in_broker() == (WINDOW - 1, WINDOW)  # one taken by the worker
    finally:
        os.kill(pool, signal.SIGCONT)
    # And once the worker goes on, never more than the window waiting while the job runs to its end (a
    # finished chunk's message may still await its acknowledgement as the next one goes out)
    deadline = time.monotonic() + JOB_TIMEOUT
    seen = []
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the job did not end"
        seen.append(in_broker())
        time.sleep(0.01)
    assert proc.returncode == 0, proc.stderr.read()
    assert len(read_rows(tmp_path / "out.csv")) == 49
    assert max((waiting for waiting, _ in seen), default=0) <= WINDOW, seen
    assert max((total for _, total in seen), default=0) <= WINDOW + 1, seen
    # And Redis holds nothing of the job but its marker: every chunk's result and data were drained
    assert [k.decode() for k in client.keys(f"*{job_id}*")] == [f"celery-task-meta-{job_id}-marker"]


def test_a_producer_killed_mid_window_leaves_a_job_status_shows_running_and_wait_finishes(
        tmp_path, images, slow_png, window_env, start_workers):
    # Given a cluster run of slow files, one per chunk, whose producer is killed as the first chunk is in
    files = with_slow_files(images, slow_png, SLOW_FILES_ONE_PROCESS)
    start_workers(count=1, concurrency=1)
    proc, job_id = start_run(images, tmp_path / "a.csv", window_env, chunk_size=1)
    try:
        assert "hashed" in proc.stderr.readline()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    # When its status is asked: nobody sends its chunks any more, so it is part done
    status = hashfleet(["status", job_id], env=window_env, timeout=60)
    done = int(re.search(rf"(\d+)/{len(files)} chunks", status.stdout).group(1))
    assert "running" in status.stdout and 1 <= done <= 2 + WINDOW < len(files), status.stdout
    # And `wait` picks the job up from another process
    waited = hashfleet(["wait", job_id, "-o", str(tmp_path / "b.csv"), "--timeout", str(JOB_TIMEOUT)],
                       env=window_env, timeout=JOB_TIMEOUT + 30)
    # Then it sends the rest and every file is in the output exactly once, hashed
    assert waited.returncode == 0, waited.stderr
    rows = read_rows(tmp_path / "b.csv")
    assert sorted(r["path"] for r in rows) == files and all(r["hash"] and not r["error"] for r in rows)


def test_a_pool_process_killed_mid_window_costs_its_chunk_a_rerun_and_the_job_ends_exact(
        tmp_path, images, slow_png, window_env, start_workers):
    # Given a worker of two processes and a job of slow files, one per chunk, a window of 3
    files = with_slow_files(images, slow_png, SLOW_FILES_TWO_PROCESSES)
    (worker,) = start_workers(count=1, concurrency=2)
    proc, _ = start_run(images, tmp_path / "out.csv", window_env, chunk_size=1)
    # When a pool process is SIGKILLed as the first chunk is in
    try:
        assert "hashed" in proc.stderr.readline()
        victim = pool_processes(worker.proc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        proc.wait(timeout=JOB_TIMEOUT + 30)
    finally:
        proc.kill()
    # Then the job completed, every file exactly once and hashed
    assert proc.returncode == 0, proc.stderr.read()
    rows = read_rows(tmp_path / "out.csv")
    assert sorted(r["path"] for r in rows) == files and all(r["hash"] and not r["error"] for r in rows)
    # (the worker reaps the killed process when it next looks at its pool: an idle one's death can go
    # unnoticed until after the job)
    wait_until(lambda: victim not in pool_processes(worker.proc.pid), 15, "the killed pool process replaced")

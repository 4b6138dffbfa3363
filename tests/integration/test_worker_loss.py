"""Worker loss: a file that hangs the decoder ends its worker process; the chunk is retried, then hashed
in isolation, so that file becomes an error record and every other file is hashed, exactly once. And a
pool process killed as it finishes a chunk (its result stored, or its chord report made) does not keep
the merge from being sent."""

import csv
import os
import time

import pytest

from support.servers import REPO, START_TIMEOUT, CeleryWorker, hashfleet

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Per-file limit for the test workers; the slow file needs several times this to decode.
FILE_TIMEOUT = "0.25"
#: Visibility timeout for the finishing-kill tests: long, so that the producer's stall re-send (this plus
#: about 20 s) cannot be what completes the job within FINISH_BOUND.
LONG_VISIBILITY_TIMEOUT = 300
#: Seconds a job of the nine fixture photos gets when one of its chunks loses its process (one retry, 1 s).
FINISH_BOUND = 45


def test_a_hanging_file_becomes_a_timeout_record_and_the_rest_of_its_chunk_is_hashed(
        tmp_path, images, slow_png, worker_env, start_workers):
    # Given a worker whose per-file limit is far below what one file needs
    os.link(slow_png, images / "slow.png")
    workers = start_workers(count=1, concurrency=1, HASHFLEET_FILE_TIMEOUT=FILE_TIMEOUT)
    started = time.monotonic()
    # When the job runs in one chunk holding the slow file
    done = hashfleet(["run", str(images), "-o", str(tmp_path / "out.csv"), "--chunk-size", "100",
                      "--timeout", "120"], env=worker_env, timeout=150)
    elapsed = time.monotonic() - started
    # Then the job completes: the slow file is a timeout record, every other file hashed once
    assert done.returncode == 0, done.stderr + workers[0].log_tail()
    with open(tmp_path / "out.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["path"] for r in rows) == sorted(str(images / n) for n in os.listdir(images))
    errors = {os.path.basename(r["path"]): r["error"] for r in rows if r["error"]}
    assert errors == {"slow.png": "timeout"}
    log = workers[0].log_tail(20000)
    # the watchdog ended the process in normal mode once: the attempt after the hang isolates that file
    assert log.count(f"took over {FILE_TIMEOUT} s") == 1, log
    assert elapsed < 120


def test_the_soft_time_limit_turns_the_rest_of_a_long_chunk_into_timeout_records(
        tmp_path, images, slow_png, worker_env, start_workers):
    # Given a chunk whose files together need far longer than its soft time limit
    for name in ("slow1.png", "slow2.png", "slow3.png"):
        os.link(slow_png, images / name)
    start_workers(count=1, concurrency=1, HASHFLEET_SOFT_TIME_LIMIT="1", HASHFLEET_FILE_TIMEOUT="60")
    # When the job runs as one chunk
    done = hashfleet(["run", str(images), "-o", str(tmp_path / "out.csv"), "--chunk-size", "100",
                      "--timeout", "120"], env=worker_env, timeout=150)
    # Then it completes with one record per file: the files not finished in time are timeout records
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "out.csv", newline="") as handle:
        rows = {os.path.basename(r["path"]): r for r in csv.DictReader(handle)}
    assert set(rows) == set(os.listdir(images))
    timed_out = sorted(n for n, r in rows.items() if r["error"] == "timeout")
    assert timed_out and set(timed_out) <= {"slow1.png", "slow2.png", "slow3.png"}, rows
    assert all(r["hash"] for n, r in rows.items() if n not in timed_out)


def test_a_pool_process_killed_as_it_finishes_a_chunk_does_not_keep_the_job_from_ending(
        tmp_path, images, worker_env):
    # Given a worker whose pool process is SIGKILLed once, just after chunk 3's result is stored (Celery
    # then acknowledges it without running it again), and a visibility timeout far longer than the test's bound
    from tasks.app import create_app
    from tasks.settings import Settings

    marker = tmp_path / "died"
    env = dict(worker_env, HASHFLEET_VISIBILITY_TIMEOUT=str(LONG_VISIBILITY_TIMEOUT))
    worker = CeleryWorker(dict(env, PYTHONPATH=os.path.join(REPO, "tests"), HASHFLEET_TEST_DIE_AFTER="stored",
                               HASHFLEET_TEST_DIE_CHUNK="-chunk-3", HASHFLEET_TEST_DIE_MARKER=str(marker)),
                          "dying@test", 1, str(tmp_path / "worker.log"), env["HASHFLEET_QUEUE"],
                          app="support.dying_worker")
    app = create_app(Settings.from_env(env))
    try:
        worker.wait_ready(app, timeout=START_TIMEOUT * 2)
        # When a job runs with one photo per chunk
        done = hashfleet(["run", str(images), "-o", str(tmp_path / "out.csv"), "--chunk-size", "1",
                          "--timeout", str(FINISH_BOUND)], env=env, timeout=FINISH_BOUND + 30)
    finally:
        worker.stop()
        app.close()
    # Then the process died there, and the job still completed, without the producer's stall re-send
    assert marker.exists(), worker.log_tail()
    assert done.returncode == 0, done.stderr + worker.log_tail()
    assert "re-sending" not in done.stderr
    # And every photo is in the output exactly once, hashed
    with open(tmp_path / "out.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["path"] for r in rows) == sorted(str(images / n) for n in os.listdir(images))
    assert all(r["hash"] and not r["error"] for r in rows)

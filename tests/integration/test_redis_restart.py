"""Redis restarts mid-job: with an fsync-always AOF the job completes exactly (producer and workers
reconnect, unacknowledged chunks are redelivered); without persistence the producer notices the empty
Redis within seconds and ends with one line pointing at `hashfleet resume`. And a chunk message lost the
way a restart can lose one (popped, never recorded as unacknowledged) must not leave the producer
waiting forever. See docs/reliability.md."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest

from support.netns import Background, assert_exact_output, chunk_ids, replicate_images
from support.servers import REPO, START_TIMEOUT, CeleryWorker, clean_env, stop_workers
from tasks.app import unacked_sweep_interval
from worker.redis_server import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Seconds a delivered chunk may stay unacknowledged before Redis gives it to another worker: short, since
#: these chunks take milliseconds and what is tested is that a timeout brings them back, not its length.
VISIBILITY_TIMEOUT = 2
#: Seconds between a worker's sweeps for expired unacknowledged messages (kombu's unacked_restore_interval,
#: as tasks/app.py sets it from the visibility timeout).
RESTORE_SWEEP = unacked_sweep_interval(VISIBILITY_TIMEOUT)
#: Seconds Redis stays down between the stop and the start: the producer and the workers see it gone at
#: once, and it is back before a worker's first reconnect attempt (kombu retries 2 s after the loss, then 4 s
#: after that: a 2 s downtime missed the first by milliseconds and cost every test 4 s more).
DOWNTIME = 1.0
#: Room for reconnect back-off, the rest of the job and a noisy machine.
SLACK = 25
#: With AOF, the job must end at most this long after Redis is back.
COMPLETION_BOUND = VISIBILITY_TIMEOUT + RESTORE_SWEEP + SLACK
#: Without persistence, the producer must give up at most this long after Redis is back (it checks the
#: job's marker every 2 s: producer/follow.py MARKER_INTERVAL; a drain that straddled the restart first
#: waits producer/drained.py DRAIN_TIMEOUT for the data Redis lost).
LOST_BOUND = 15
#: The lost-chunk test's stall margin (HASHFLEET_STALL_MARGIN): seconds the producer waits, beyond the
#: visibility timeout and a sweep, with no chunk finishing before it re-sends its pending chunks. 10 s by
#: default, for slow chunks; these take milliseconds, and waiting out 10 s was most of that test. Its stall
#: timeout, 2 + 1 + 2 s, is still far from the moment the test pops a chunk, just after the producer enqueues.
#: The restart tests keep the default: a re-send must not be what completes their jobs.
STALL_MARGIN = 2
#: A chunk that will never run (its message lost) must not keep the producer waiting longer than this
#: after the workers start: twice what a merely unacknowledged chunk needs to come back, plus slack.
STALL_BOUND = 2 * (VISIBILITY_TIMEOUT + RESTORE_SWEEP) + SLACK
#: Seconds the producer keeps retrying a backend that went away (longer than DOWNTIME, far below the bounds).
RECONNECT_TIMEOUT = 45
#: Seconds for the job's first progress line (workers and producer start on a possibly busy machine).
PROGRESS_TIMEOUT = 60
#: Enough chunks that the job is still running when Redis stops (a chunk of 5 takes ~4 ms of hashing, ~15 ms
#: with its messages): the stop comes at the first progress line, 5-195 files in here, and the rest of the
#: job is what every restart test waits for afterwards (1200 files took 2-4 s of it).
FILES = 600
#: The lost-chunk job needs no more than a few dozen chunks: it waits for the one that never runs.
LOST_CHUNK_FILES = 300
CHUNK_SIZE = 5
PROGRESS = re.compile(r"^hashed (\d+)/(\d+) images")


def test_a_redis_restart_with_aof_mid_job_loses_nothing_and_the_job_completes(
        tmp_path, restartable_redis, start_workers, run_producer, record_property):
    # Given Redis with an append-only file fsynced on every write, two workers, and 600 photos
    server = restartable_redis(persistent=True)
    env = job_env(server)
    workers = start_workers(env, count=2)
    # When a job runs in chunks of 5 and, once progress shows, Redis is stopped (SIGTERM) and started
    # again on the same port with the same directory
    inputs, out, job, job_id, done_at_stop = restart_redis_mid_job(server, env, tmp_path, run_producer)
    restarted = time.monotonic()
    # Then the job completes within the visibility timeout plus one restore sweep (and slack)
    code = job.wait(COMPLETION_BOUND)
    took = time.monotonic() - restarted
    runs = sum(len(chunk_ids(w.log_path, "succeeded")) for w in workers)
    chunks = -(-FILES // CHUNK_SIZE)
    record_property("seconds_from_restart_to_job_done", round(took, 1))
    print(f"\nredis restart with AOF: stopped at {done_at_stop}/{FILES} files, job done {took:.1f} s after "
          f"the restart; {runs} chunk runs for {chunks} chunks")
    assert code is not None, stuck_chunks(job_id, chunks, workers, COMPLETION_BOUND)
    assert code == 0, job.stderr
    # And the restart really came mid-job, and every file is in the output exactly once, hashed
    assert done_at_stop < FILES
    assert_exact_output(str(out), inputs)


def test_a_redis_restart_without_persistence_ends_the_job_with_one_line_naming_resume_which_finishes_it(
        tmp_path, restartable_redis, start_workers, run_producer, record_property):
    # Given Redis without any persistence, two workers, and 600 photos
    server = restartable_redis(persistent=False)
    env = job_env(server)
    start_workers(env, count=2)
    # When a job runs and, once progress shows, Redis restarts: it comes back empty
    inputs, out, job, job_id, done_at_stop = restart_redis_mid_job(server, env, tmp_path, run_producer)
    restarted = time.monotonic()
    # Then the producer gives up within seconds, with exit status 1
    code = job.wait(LOST_BOUND)
    took = time.monotonic() - restarted
    record_property("seconds_from_restart_to_job_lost", round(took, 1))
    print(f"\nredis restart without persistence: stopped at {done_at_stop}/{FILES} files, producer gave "
          f"up {took:.1f} s after the restart")
    assert code is not None, f"the producer still waits {LOST_BOUND} s after Redis came back empty: {job.stderr}"
    assert done_at_stop < FILES
    assert code == 1, job.stderr
    # And says so in one line, its last, naming the job and `hashfleet resume`; no traceback, no output
    errors = [line for line in job.stderr.splitlines() if re.search(r"error:|Error\b|Traceback", line)]
    assert len(errors) == 1 and job.stderr.splitlines()[-1] == errors[0], job.stderr
    assert errors[0].startswith("hashfleet: error: the result backend no longer knows job " + job_id), errors
    assert f"`hashfleet resume {job_id}`" in errors[0], errors
    assert "Traceback" not in job.stderr + job.stdout
    assert not out.exists()
    # And `hashfleet resume` re-enqueues the chunks Redis lost and the job completes exactly
    resumed = subprocess.run([sys.executable, "-m", "producer", "resume", job_id, "-o", str(out), "--timeout",
                              str(LOST_BOUND * 4)], env=env, cwd=REPO, capture_output=True, text=True,
                             timeout=LOST_BOUND * 5)
    assert resumed.returncode == 0, resumed.stderr
    assert re.search(r"re-enqueued \d+ of \d+ chunks", resumed.stderr), resumed.stderr
    assert_exact_output(str(out), inputs)


def test_a_chunk_popped_but_never_recorded_as_unacknowledged_does_not_leave_the_producer_waiting_forever(
        tmp_path, restartable_redis, start_workers, run_producer, record_property):
    # Given a job of 300 photos in chunks of 5, enqueued while no worker runs yet
    server = restartable_redis(persistent=True)
    env = dict(job_env(server), HASHFLEET_STALL_MARGIN=str(STALL_MARGIN))
    replicate_images(str(tmp_path / "images"), LOST_CHUNK_FILES)
    out = tmp_path / "out.csv"
    job = run_producer(env, tmp_path / "images", out)
    job.wait_for_line(r"^hashfleet: job (\w+):", PROGRESS_TIMEOUT)
    client = server.client()
    wait_until(lambda: client.llen(env["HASHFLEET_QUEUE"]) == -(-LOST_CHUNK_FILES // CHUNK_SIZE), PROGRESS_TIMEOUT,
               "the job's chunks were not all enqueued")
    # When one chunk's message is popped off the queue and recorded nowhere: what Redis does when it
    # stops between serving a worker's BRPOP and that worker recording the message as unacknowledged
    # (kombu's two steps; seen in the AOF of a restart mid-job), or when a host dies in between
    popped = json.loads(client.rpop(env["HASHFLEET_QUEUE"]))["headers"]["id"]
    client.close()
    start_workers(env, count=2)
    started = time.monotonic()
    # Then the producer does not wait forever: once no chunk has finished for its stall timeout it re-sends
    # the pending chunks, and the job completes exactly
    code = job.wait(STALL_BOUND)
    took = time.monotonic() - started
    record_property("seconds_from_workers_start_to_producer_exit", round(took, 1))
    print(f"\nchunk {popped} popped and lost: producer "
          + (f"exited ({code}) {took:.1f} s after the workers started" if code is not None
             else f"still waiting after {STALL_BOUND} s"))
    assert code is not None, (
        f"{STALL_BOUND} s after the workers started, the producer still waits for chunk {popped}, which is "
        f"neither queued nor unacknowledged and so will never run; it would wait until --timeout, or "
        f"forever without one: {job.stderr[-1500:]}")
    assert code == 0, job.stderr[-1500:]
    assert "re-sending" in job.stderr, job.stderr[-1500:]
    assert_exact_output(str(out), inputs=[os.path.join(tmp_path / "images", n)
                                         for n in os.listdir(tmp_path / "images")])


def restart_redis_mid_job(server, env, tmp_path, run_producer):
    """FILES photos and a job over them; once progress shows, Redis stopped for DOWNTIME s and started
    again. Returns (input paths, output path, the running job, its id, files done at the stop)."""
    inputs = replicate_images(str(tmp_path / "images"), FILES)
    out = tmp_path / "out.csv"
    job = run_producer(env, tmp_path / "images", out)
    job_id = job.wait_for_line(r"^hashfleet: job (\w+):", PROGRESS_TIMEOUT).group(1)
    job.wait_for_line(PROGRESS.pattern, PROGRESS_TIMEOUT)
    server.stop()
    done_at_stop = files_done(job)
    time.sleep(DOWNTIME)
    server.start()
    return inputs, out, job, job_id, done_at_stop

def job_env(server: RedisServer) -> dict[str, str]:
    return clean_env(HASHFLEET_BROKER_URL=server.url, HASHFLEET_QUEUE=f"test-{uuid.uuid4().hex[:8]}",
                     HASHFLEET_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT), HASHFLEET_PROGRESS_INTERVAL="0.2",
                     HASHFLEET_RECONNECT_TIMEOUT=str(RECONNECT_TIMEOUT), HASHFLEET_CONNECT_TIMEOUT="3",
                     HASHFLEET_JOBS_DIR=os.path.join(server.workdir, "jobs"))


def stuck_chunks(job_id: str, chunks: int, workers: list[CeleryWorker], bound: float) -> str:
    """Why a job is not done: chunks no worker ever received (popped and lost: nothing brings them back)
    and chunks received but never finished (unacknowledged: back after the visibility timeout)."""
    received, succeeded = set(), set()
    for worker in workers:
        received |= set(chunk_ids(worker.log_path, "received"))
        succeeded |= set(chunk_ids(worker.log_path, "succeeded"))
    never = sorted(set(f"{job_id}-chunk-{i}" for i in range(chunks)) - received)
    return (f"job {job_id} not done {bound} s after Redis came back: never received by any worker (lost "
            f"between BRPOP and the unacked record, see docs/reliability.md): {never}; received but not "
            f"finished (waiting for the visibility timeout and a sweep): {sorted(received - succeeded)}")


def wait_until(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{message} within {timeout} s"
        time.sleep(0.05)


def files_done(job: Background) -> int:
    """Files the producer had reported hashed so far (from its last progress line)."""
    counts = [int(m.group(1)) for line in job.stderr.splitlines() if (m := PROGRESS.match(line))]
    return counts[-1] if counts else 0


@pytest.fixture
def restartable_redis(tmp_path):
    servers = []

    def start(persistent: bool) -> RedisServer:
        workdir = tmp_path / f"redis-{len(servers)}"
        workdir.mkdir()
        servers.append(RedisServer(str(workdir), persistent=persistent))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def start_workers(tmp_path):
    """Start prefork workers (one process each) for a job environment; all stopped after the test."""
    from tasks.app import create_app
    from tasks.settings import Settings

    workers, apps = [], []

    def start(env: dict[str, str], count: int) -> list[CeleryWorker]:
        app = create_app(Settings.from_env(env))
        apps.append(app)
        started = [CeleryWorker(env, f"w{len(workers) + i}-{uuid.uuid4().hex[:6]}@test", 1,
                                str(tmp_path / f"worker-{len(workers) + i}.log"), env["HASHFLEET_QUEUE"])
                   for i in range(count)]
        workers.extend(started)
        for worker in started:
            worker.wait_ready(app, timeout=START_TIMEOUT * 4)
        return started

    try:
        yield start
    finally:
        stop_workers(workers)
        for app in apps:
            app.close()


@pytest.fixture
def run_producer():
    """`hashfleet run` in the background (only enqueues: workers run separately); stopped after the test."""
    jobs = []

    def run(env: dict[str, str], folder, out) -> Background:
        jobs.append(Background([sys.executable, "-m", "producer", "run", str(folder), "-o", str(out),
                                "--chunk-size", str(CHUNK_SIZE), "--timeout", "110"], env, cwd=REPO))
        return jobs[-1]

    try:
        yield run
    finally:
        for job in jobs:
            job.stop()

"""Redis crashing again and again mid-job under one worker: the worker's main process lives through every crash
(kombu's Redis transport used to end it with "Unrecoverable error" when a crash came at the wrong moment;
tasks/redis_transport.py) and every job completes exactly. The 30-crash run: `python -m bench.broker_crashes`
(bench/RESULTS.md)."""

from __future__ import annotations

import threading
import time

import pytest

from support.broker_crashes import CrashPlan, run_through_crashes

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Three crashes with short outages and uptimes, so the test stays near 10 s (bench.broker_crashes runs 30; the
#: unit tests drive the failing close deterministically): a chunk held at a crash comes back
#: after the visibility timeout (4 s) plus one sweep (1 s). A crash between a BRPOP and the worker's record of
#: the chunk as unacknowledged loses the chunk's message until the producer's stall re-send (safeguard 2 in
#: docs/reliability.md): 15 s more (1 run in 4 here).
PLAN = CrashPlan(crashes=3, outage=(0.5, 1.5), uptime=(0.3, 1.0), files=300, concurrency=2, visibility_timeout=4,
                 seed=19)


def test_a_worker_lives_through_redis_crashes_mid_job_and_every_job_completes_exactly(tmp_path, record_property):
    # Given one worker with two pool processes on a Redis with an fsync-always AOF
    # When Redis is SIGKILLed three times while jobs run, down 0.5-1.5 s each time, then started again
    run = run_through_crashes(PLAN, str(tmp_path))
    record_property("seconds", round(run.seconds, 1))
    print(f"\n{run.summary()}")
    # Then the worker's main process never exited: the same PID serves to the end, and it never gave up
    assert run.main_process_exits == 0, f"worker {run.worker_pid} exited; see {tmp_path}/worker-c2.log"
    assert run.unrecoverable_errors == 0
    # And every crash hit a running job, and every job's output was exact (run_through_crashes checks each)
    assert len(run.outages) == PLAN.crashes
    assert run.jobs >= 1


def test_a_message_published_while_redis_restarts_waits_for_it_and_is_queued_once_it_is_back(tmp_path):
    # Given the worker app (its publish retry policy), a connection already made, and then Redis stopped: what
    # the last chunk meets when it publishes the merge during a restart (Celery's default policy gives up
    # after ~0.6 s, and the chord fails with "Callback error: OperationalError")
    from tasks.app import create_app
    from tasks.settings import Settings
    from worker.redis_server import RedisServer

    server = RedisServer(str(tmp_path), persistent=True)  # an AOF: the message queued before the stop stays
    app = create_app(Settings.from_env({"HASHFLEET_BROKER_URL": server.url, "HASHFLEET_QUEUE": "published"}))
    outcome = {}

    def publish(task_id: str) -> None:
        started = time.monotonic()
        try:
            app.send_task("hashfleet.merge", args=("job",), task_id=task_id, ignore_result=True)
            outcome[task_id] = time.monotonic() - started
        except Exception as exc:  # noqa: BLE001  (reported by the assertion below)
            outcome[task_id] = exc

    try:
        publish("before")
        server.stop()
        # When a message is published while Redis is down, and Redis comes back 2 s later (started from this
        # thread: redis-server dies with the thread that started it)
        publisher = threading.Thread(target=publish, args=("during",))
        publisher.start()
        time.sleep(2.0)
        server.start()
        publisher.join(timeout=70)
        # Then the publish waited for Redis instead of failing, and both messages are queued
        assert isinstance(outcome["during"], float) and outcome["during"] >= 1.5, outcome
        assert server.client().llen("published") == 2
    finally:
        app.close()
        server.stop()

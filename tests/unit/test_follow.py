"""The producer's follow loop against a scripted result backend (no Redis): what it does with each state."""

from __future__ import annotations

import pytest
import redis
from celery import states

from producer.follow import MAX_BACKEND_RESENDS, follow
from tasks.errors import JobFailed
from tasks.ids import chunk_task_id, merge_task_id

JOB = "job1"


class ScriptedBackend:
    """get_many answers from `states_by_round` (one dict per poll, task id -> (status, result)); forget and
    the job marker are recorded/answered like Celery's backends do."""

    def __init__(self, rounds: list[dict]):
        self.rounds = rounds
        self.forgotten: list[str] = []

    def get_many(self, task_ids, interval=0, max_iterations=1):
        answers = self.rounds.pop(0) if self.rounds else {}
        for task_id in task_ids:
            if task_id in answers:
                status, result = answers[task_id]
                yield task_id, {"status": status, "result": result}

    def forget(self, task_id):
        self.forgotten.append(task_id)

    def get_task_meta(self, task_id):
        return {"status": states.SUCCESS, "result": {}}


class App:
    def __init__(self, backend):
        self.backend = backend


def chunk(i: int) -> str:
    return chunk_task_id(JOB, i)


def done(files: int) -> tuple[str, dict]:
    return states.SUCCESS, {"n": files, "errors": 0}


def lost() -> tuple[str, Exception]:
    return states.FAILURE, redis.ConnectionError("Connection closed by server.")


def test_a_chunk_that_failed_only_because_redis_went_away_is_sent_again_and_the_job_completes():
    # Given chunk 1 of two fails with a Redis connection error (Celery's chord counter update is not
    # retried), then succeeds when sent again
    backend = ScriptedBackend([
        {chunk(0): done(5), chunk(1): lost()},
        {},
        {chunk(1): done(5)},
        {merge_task_id(JOB): (states.SUCCESS, {"merged": True})},
    ])
    resent, progress = [], []
    # When the producer follows the job
    payload = follow(App(backend), JOB, [0, 1], lambda n, e: progress.append(n), resend=resent.append,
                     stall_timeout=60)
    # Then the failed state was forgotten and the chunk re-sent once, and the job finished
    assert backend.forgotten == [chunk(1)] and resent == [[1]]
    assert progress == [5, 5] and payload == {"merged": True}


def test_a_chunk_that_keeps_failing_for_the_backend_fails_the_job_after_a_few_resends():
    backend = ScriptedBackend([{chunk(0): lost()}] * (MAX_BACKEND_RESENDS + 1))
    resent = []
    with pytest.raises(JobFailed, match="chunk job1-chunk-0 of job job1 failed"):
        follow(App(backend), JOB, [0], lambda n, e: None, resend=resent.append, stall_timeout=60)
    assert len(resent) == MAX_BACKEND_RESENDS


def test_a_chunk_that_failed_for_any_other_reason_fails_the_job_at_once():
    backend = ScriptedBackend([{chunk(0): (states.FAILURE, RuntimeError("worker lost 4 times"))}])
    resent = []
    with pytest.raises(JobFailed, match="worker lost 4 times"):
        follow(App(backend), JOB, [0], lambda n, e: None, resend=resent.append, stall_timeout=60)
    assert resent == []

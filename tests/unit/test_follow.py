"""The producer's follow loop against a scripted result backend (no Redis): what it does with each state."""

from __future__ import annotations

import pytest
import redis
from celery import states
from celery.exceptions import TimeoutError as CeleryTimeoutError

from producer.follow import MAX_BACKEND_RESENDS, JobFollower, JobLost
from producer.window import ChunkWindow
from tasks.errors import BrokerUnavailable, JobFailed
from tasks.ids import chunk_task_id

JOB = "job1"


class ScriptedBackend:
    """get_many answers from `states_by_round` (one dict per poll, task id -> (status, result)); forget and
    the job marker are recorded/answered like Celery's backends do."""

    def __init__(self, rounds: list[dict], marker: str = states.SUCCESS):
        self.rounds = rounds
        self.marker = marker
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
        return {"status": self.marker, "result": {}}


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
    ])
    resent, progress = [], []
    # When the producer follows the job
    payload = JobFollower(App(backend), JOB, [0, 1], on_chunk=lambda n, e: progress.append(n),
                          resend=resent.append, stall_timeout=60).run()
    # Then the failed state was forgotten and the chunk re-sent once, and the job finished
    assert backend.forgotten == [chunk(1)] and resent == [[1]]
    assert progress == [5, 5] and payload == {"files": 10, "errors": 0}


def test_a_chunk_that_keeps_failing_for_the_backend_fails_the_job_after_a_few_resends():
    backend = ScriptedBackend([{chunk(0): lost()}] * (MAX_BACKEND_RESENDS + 1))
    resent = []
    with pytest.raises(JobFailed, match="chunk job1-chunk-0 of job job1 failed"):
        JobFollower(App(backend), JOB, [0], resend=resent.append, stall_timeout=60).run()
    assert len(resent) == MAX_BACKEND_RESENDS


def test_a_chunk_that_failed_for_any_other_reason_fails_the_job_at_once():
    backend = ScriptedBackend([{chunk(0): (states.FAILURE, RuntimeError("worker lost 4 times"))}])
    resent = []
    with pytest.raises(JobFailed, match="worker lost 4 times"):
        JobFollower(App(backend), JOB, [0], resend=resent.append, stall_timeout=60).run()
    assert resent == []


def test_a_stalled_job_has_its_pending_chunks_sent_again_by_the_health_check():
    # Given a follower whose chunks 2 and 0 have made no progress for longer than the stall timeout
    resent = []
    follower = JobFollower(App(ScriptedBackend([])), JOB, [2, 0], resend=resent.append, stall_timeout=0)
    # When it checks the job's health, Then it re-sends them, in chunk order
    follower.check_health()
    assert resent == [[0, 2]]


def test_a_job_the_backend_no_longer_knows_is_reported_lost_with_the_command_that_resumes_it():
    follower = JobFollower(App(ScriptedBackend([], marker=states.PENDING)), JOB, [0])
    follower.last_marker_check -= 3600  # the marker is due for a check
    with pytest.raises(JobLost, match="hashfleet resume job1"):
        follower.check_health()


def test_a_finished_chunk_whose_data_the_backend_lost_ends_the_job_as_lost_when_its_marker_went_too():
    # Given a chunk seen finished, whose data is gone when the producer drains it (Redis restarted empty)
    def drain(chunks):
        raise CeleryTimeoutError("Operation timed out (5.0)")

    follower = JobFollower(App(ScriptedBackend([{chunk(0): done(5)}], marker=states.PENDING)), JOB, [0],
                           drain=drain)
    # When the loop polls it and drains, Then the job ends as lost (not after the fetch's long wait, not a
    # traceback), naming the command that resumes it
    with pytest.raises(JobLost, match="hashfleet resume job1"):
        follower.run()


def test_a_finished_chunk_whose_data_is_late_while_the_job_is_known_is_drained_again_on_the_next_round():
    # Given a chunk seen finished whose data cannot be read at the first drain (Redis restarting)
    attempts = []

    def drain(chunks):
        attempts.append(list(chunks))
        if len(attempts) == 1:
            raise CeleryTimeoutError("Operation timed out (5.0)")

    follower = JobFollower(App(ScriptedBackend([{chunk(0): done(5)}])), JOB, [0], drain=drain)
    # When the loop follows the job, Then it drains the chunk again and the job completes
    assert follower.run() == {"files": 5, "errors": 0}
    assert attempts == [[0], [0]]


def test_a_job_past_its_timeout_says_how_to_pick_it_up_later():
    follower = JobFollower(App(ScriptedBackend([])), JOB, [0], timeout=1)
    follower.started -= 2
    with pytest.raises(JobFailed, match="hashfleet wait job1 -o OUT"):
        follower.check_health()


def test_a_result_seen_by_both_the_poll_and_the_feed_is_counted_once():
    progress = []
    follower = JobFollower(App(ScriptedBackend([])), JOB, [0, 1], on_chunk=lambda n, e: progress.append(n))
    follower.take(chunk(0), dict(zip(("status", "result"), done(3), strict=True)))
    follower.take(chunk(0), dict(zip(("status", "result"), done(3), strict=True)), polled=False)
    follower.settle()
    assert progress == [3] and list(follower.pending) == [chunk(1)]


def test_a_backend_lost_for_longer_than_the_reconnect_timeout_is_one_clear_error():
    follower = JobFollower(App(ScriptedBackend([])), JOB, [0], reconnect_timeout=0)
    follower.lost_since = follower.started - 1
    with pytest.raises(BrokerUnavailable, match="lost the result backend for 0 s"):
        follower.on_connection_error(redis.ConnectionError("gone"))


class FinishingBackend(ScriptedBackend):
    """Every chunk asked about is done: a fleet that finishes whatever it was sent by the next poll."""

    def __init__(self):
        super().__init__([])

    def get_many(self, task_ids, interval=0, max_iterations=1):
        for task_id in task_ids:
            yield task_id, {"status": states.SUCCESS, "result": {"n": 2, "errors": 0}}


def test_a_window_sends_the_chunks_in_order_never_more_than_its_size_ahead_of_the_drained_ones():
    # Given a job of ten chunks and a window of three
    sent, drained = [], []
    in_flight = []

    def publish(chunks):
        sent.append(list(chunks))
        in_flight.append(len(set(c for batch in sent for c in batch)) - len(drained))

    # When the producer follows it against a fleet that finishes everything it is sent
    follower = JobFollower(App(FinishingBackend()), JOB, ChunkWindow(range(10), 3), resend=publish,
                           drain=drained.extend)
    totals = follower.run()
    # Then every chunk was sent once, in order, at most three in flight, each drained before the job ended
    assert [c for batch in sent for c in batch] == list(range(10))
    assert max(in_flight) == 3 and sorted(drained) == list(range(10))
    assert totals == {"files": 20, "errors": 0}


def test_a_window_picked_up_by_another_process_sends_only_what_was_never_sent():
    # Given chunks 0-3 were sent by a producer that died, chunk 1 of them already drained
    window = ChunkWindow(iter(range(4, 6)), 4, adopted=[0, 2, 3])
    sent = []
    # When `wait` follows the job
    JobFollower(App(FinishingBackend()), JOB, window, resend=sent.append).run()
    # Then it sent chunks 4 and 5 only (0, 2 and 3 were taken as in flight)
    assert sent == [[4], [5]] or sent == [[4, 5]]

"""The producer's result feed (producer/pubsub.py) against a real redis-server: results arrive as stored."""

import threading
import time
import uuid

import pytest
from celery import states

from producer import follow as follow_module
from producer.app import producer_app
from producer.pubsub import ResultFeed, glob_escape
from tasks.ids import chunk_task_id, marker_id
from tasks.settings import Settings
from tasks.store import store_task_data

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture
def app(redis_server):
    app = producer_app(Settings.from_env({"HASHFLEET_BROKER_URL": redis_server.url}))
    yield app
    app.close()


def summary(files: int) -> dict:
    return {"n": files, "errors": 0}


def test_the_feed_yields_a_jobs_final_chunk_results_and_nothing_else(app):
    job = f"j*{uuid.uuid4().hex[:6]}"  # a glob character in the id is matched literally
    feed = ResultFeed(app.backend, job)
    try:
        assert feed.watch_chunks()
        backend = app.backend
        backend.store_result(chunk_task_id("jX" + job[2:], 0), summary(9), states.SUCCESS)  # other job
        store_task_data(backend, chunk_task_id(job, 0), {"packed": "AAAA"})  # data, not a result
        backend.store_result(f"{job}-marker", {"chunks": 2}, states.SUCCESS)
        backend.store_result(chunk_task_id(job, 0), RuntimeError("worker lost"), states.RETRY)  # not final
        backend.store_result(chunk_task_id(job, 0), summary(5), states.SUCCESS)
        backend.store_result(chunk_task_id(job, 11), summary(3), states.SUCCESS)
        got = []
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            got += feed.wait(1.0)
        got += feed.wait(0.2)  # nothing else is on its way
    finally:
        feed.close()
    assert [(task_id, meta["status"], meta["result"]) for task_id, meta in got] == [
        (chunk_task_id(job, 0), states.SUCCESS, summary(5)),
        (chunk_task_id(job, 11), states.SUCCESS, summary(3)),
    ]


class Polls:
    """Every poll (MGET) the follow loop makes, and an event per completed poll, so a test can store results
    right after a given poll instead of sleeping."""

    def __init__(self, backend):
        self.calls: list[list[str]] = []
        self.backend = backend
        self._get_many = backend.get_many
        self._done = threading.Condition()

    def __call__(self, ids, **kwargs):
        answers = list(self._get_many(ids, **kwargs))
        with self._done:
            self.calls.append(list(ids))
            self._done.notify_all()
        return answers

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        with self._done:
            assert self._done.wait_for(lambda: len(self.calls) >= count, timeout), f"fewer than {count} polls"


@pytest.fixture
def polls(app, monkeypatch):
    """The follow loop's polls, with a safety-net poll so rare that only the feed can deliver results
    within a test's timeout."""
    monkeypatch.setattr(follow_module, "FEED_POLL_INTERVAL", 600.0)
    recorder = Polls(app.backend)
    monkeypatch.setattr(app.backend, "get_many", recorder)
    return recorder


def after_poll(polls: Polls, count: int, *results: tuple[str, dict]) -> threading.Thread:
    """A thread standing in for the workers: stores `results` (task id, result) once `count` polls are done.
    (The follower runs in the test's own thread: Celery's app.backend is per thread, and the poll recorder
    is set on this thread's.)"""
    backend = polls.backend

    def store():
        polls.wait_for(count)
        for task_id, result in results:
            backend.store_result(task_id, result, states.SUCCESS)

    thread = threading.Thread(target=store, daemon=True)
    thread.start()
    return thread


def test_following_a_job_is_woken_by_each_result_instead_of_polling_for_it(app, polls):
    job = uuid.uuid4().hex[:12]
    app.backend.store_result(marker_id(job), {"chunks": 2}, states.SUCCESS)
    workers = after_poll(polls, 1, (chunk_task_id(job, 1), summary(4)), (chunk_task_id(job, 0), summary(6)))
    progress = []
    # When the producer follows the job, and the workers store their results after its first poll
    payload = follow_module.JobFollower(app, job, [0, 1], timeout=20,
                                        on_chunk=lambda files, errors: progress.append(files)).run()
    workers.join(10)
    # Then every result came from the feed: one poll at the start found nothing, none after
    assert payload == {"files": 10, "errors": 0} and sorted(progress) == [4, 6]
    assert polls.calls == [[chunk_task_id(job, 0), chunk_task_id(job, 1)]]


def test_a_job_with_many_pending_chunks_is_polled_until_few_are_left_then_pushed(app, polls, monkeypatch):
    # Given "few" means one pending chunk, and a job of three whose first two are already done
    monkeypatch.setattr(follow_module, "FAST_POLL_CHUNKS", 1)
    job = uuid.uuid4().hex[:12]
    app.backend.store_result(marker_id(job), {"chunks": 3}, states.SUCCESS)
    for i in (0, 1):
        app.backend.store_result(chunk_task_id(job, i), summary(2), states.SUCCESS)
    workers = after_poll(polls, 2, (chunk_task_id(job, 2), summary(1)))
    # When the producer follows it, and the last chunk is stored after its second poll
    payload = follow_module.JobFollower(app, job, [0, 1, 2], timeout=20).run()
    workers.join(10)
    # Then one poll found the first two, one more right after subscribing found nothing, and the feed
    # brought the rest
    assert payload == {"files": 5, "errors": 0}
    assert polls.calls == [[chunk_task_id(job, i) for i in range(3)], [chunk_task_id(job, 2)]]


def test_a_redis_user_without_pub_sub_rights_is_followed_by_polling(redis_server):
    # Given a Redis user allowed everything but subscribing (an ACL, or a proxy that does not relay it)
    user = f"nosub{uuid.uuid4().hex[:6]}"
    admin = redis_server.client()
    admin.acl_setuser(user, enabled=True, passwords=["+pw"], keys=["*"], channels=["*"],
                      commands=["+@all", "-psubscribe", "-subscribe"])
    url = f"redis://{user}:pw@127.0.0.1:{redis_server.port}/0"
    app = producer_app(Settings.from_env({"HASHFLEET_BROKER_URL": url}))
    try:
        job = uuid.uuid4().hex[:12]
        app.backend.store_result(marker_id(job), {"chunks": 1}, states.SUCCESS)
        app.backend.store_result(chunk_task_id(job, 0), summary(3), states.SUCCESS)
        # When the producer follows a job there, Then it gets no feed and still finishes, by polling
        assert follow_module.open_feed(app.backend, job) is None
        assert follow_module.JobFollower(app, job, [0], timeout=20).run() == {"files": 3, "errors": 0}
    finally:
        app.close()
        admin.acl_deluser(user)


def test_redis_glob_characters_are_escaped():
    assert glob_escape(r"a*b?c[d]e\f") == r"a\*b\?c\[d\]e\\f"

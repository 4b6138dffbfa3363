"""Workers retry a chunk's chord report while Redis is away (tasks/chord_backend.py), and only then."""

import pytest
import redis
from celery.backends.redis import RedisBackend

from tasks.app import create_app
from tasks.chord_backend import ChordRetryingRedisBackend
from tasks.settings import Settings


@pytest.fixture
def backend(monkeypatch):
    app = create_app(Settings.from_env({"HASHFLEET_BROKER_URL": "redis://127.0.0.1:1/0"}))  # never connected
    backend = app.backend
    monkeypatch.setattr(backend, "_sleep", lambda seconds: None)
    return backend


def failing_reports(monkeypatch, errors: list[Exception]) -> list[str]:
    """Make Celery's own report raise `errors` in turn, then succeed; returns the calls made."""
    calls = []

    def report(self, request, state, result, **kwargs):
        calls.append(state)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "reported"

    monkeypatch.setattr(RedisBackend, "on_chord_part_return", report)
    return calls


def test_workers_use_the_retrying_backend_for_redis_results(backend):
    assert isinstance(backend, ChordRetryingRedisBackend)


def test_a_chord_report_that_meets_a_redis_connection_error_is_sent_again_until_it_goes_through(
        backend, monkeypatch):
    calls = failing_reports(monkeypatch, [redis.ConnectionError("closed"), redis.TimeoutError("timeout")])
    assert backend.on_chord_part_return(object(), "SUCCESS", {"n": 5}) == "reported"
    assert calls == ["SUCCESS"] * 3


def test_a_chord_report_failing_for_another_reason_is_not_retried(backend, monkeypatch):
    calls = failing_reports(monkeypatch, [ValueError("bad chord")])
    with pytest.raises(ValueError):
        backend.on_chord_part_return(object(), "SUCCESS", {"n": 5})
    assert calls == ["SUCCESS"]


def test_a_chord_report_gives_up_after_the_configured_retries(backend, monkeypatch):
    calls = failing_reports(monkeypatch, [redis.ConnectionError("down")] * (backend.max_retries + 5))
    with pytest.raises(redis.ConnectionError):
        backend.on_chord_part_return(object(), "SUCCESS", {"n": 5})
    assert len(calls) == backend.max_retries + 1

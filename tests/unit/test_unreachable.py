"""A broker that cannot be reached is reported as such; a bug in asking it raises instead of looking like one."""

from __future__ import annotations

import socket

import pytest
import redis
from kombu import Connection

import producer.app
from producer import preflight
from producer.fleet import probe
from tasks.errors import BrokerUnavailable
from tasks.settings import Settings


class FailingInspect:
    """`app.control.inspect(...).stats()` raising `error`, in an app usable as a context manager."""

    def __init__(self, error: Exception):
        self.error = error
        self.control = self

    def inspect(self, timeout):
        return self

    def stats(self):
        raise self.error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def probing_with(monkeypatch, error: Exception):
    monkeypatch.setattr(producer.app, "producer_app", lambda settings: FailingInspect(error))
    return probe(Settings(), timeout=0.1)


@pytest.mark.parametrize("error", [redis.ConnectionError("refused"), ConnectionRefusedError(), TimeoutError()])
def test_a_fleet_probe_that_cannot_reach_the_broker_means_no_fleet_size(monkeypatch, error):
    assert probing_with(monkeypatch, error) is None


def test_a_bug_in_the_fleet_probe_raises_instead_of_silently_changing_the_chunk_size(monkeypatch):
    with pytest.raises(KeyError):
        probing_with(monkeypatch, KeyError("max-concurrency"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_amqp_broker_nobody_listens_for_is_reported_as_unreachable():
    url = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    with pytest.raises(BrokerUnavailable, match="cannot reach broker"):
        preflight._check(url, "broker", 1.0)


def test_a_bug_while_checking_an_amqp_broker_raises_as_itself(monkeypatch):
    def broken(self, **kwargs):
        raise AttributeError("a bug, not an unreachable broker")

    monkeypatch.setattr(Connection, "ensure_connection", broken)
    with pytest.raises(AttributeError, match="a bug"):
        preflight._check(f"amqp://guest:guest@127.0.0.1:{free_port()}//", "broker", 1.0)

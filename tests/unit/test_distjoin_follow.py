"""Following a distributed join ends every way it can, bounded: counts, a failure, a lost join, a lost backend."""

from types import SimpleNamespace

import pytest
import redis
from celery import states

from producer.near import distjoin
from producer.near.distjoin import JoinLost, follow_join
from tasks.errors import BrokerUnavailable, JobFailed
from tasks.nearjoin.wire import JOIN_WIRE_VERSION
from tasks.settings import Settings


class ScriptedBackend:
    """The merge's state as scripted (None: not finished), and whether Redis still holds the join's hashes."""

    def __init__(self, meta=None, exists=True, error=None):
        self.meta, self.error = meta, error
        self.client = SimpleNamespace(exists=lambda key: int(exists))

    def get_many(self, ids, interval, max_iterations):
        if self.error:
            raise self.error
        return [(ids[0], self.meta)] if self.meta else []


def scripted_app(**script):
    return SimpleNamespace(backend=ScriptedBackend(**script), hashfleet_settings=Settings())


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    monkeypatch.setattr(distjoin, "POLL_INTERVAL", 0.01)
    monkeypatch.setattr(distjoin, "EXISTS_INTERVAL", 0.0)


def test_a_finished_join_gives_its_pair_counts():
    app = scripted_app(meta={"status": states.SUCCESS, "result": {"v": JOIN_WIRE_VERSION, "pairs": [3, 0, 5]}})
    assert follow_join(app, "j") == [3, 0, 5]


def test_a_failed_part_ends_the_wait_with_its_reason():
    app = scripted_app(meta={"status": states.FAILURE, "result": ValueError("Dependency j-part-1 raised X")})
    with pytest.raises(JobFailed, match="join j failed: Dependency j-part-1 raised X"):
        follow_join(app, "j")


def test_a_join_that_does_not_finish_in_time_fails_after_the_timeout():
    with pytest.raises(JobFailed, match="did not finish within 0.1 s"):
        follow_join(scripted_app(), "j", timeout=0.1)


def test_a_join_whose_hashes_redis_lost_fails_at_once():
    with pytest.raises(JoinLost, match="no longer holds the hashes of join j"):
        follow_join(scripted_app(exists=False), "j", timeout=10)


def test_a_backend_unreachable_for_the_reconnect_timeout_ends_the_wait():
    app = scripted_app(error=redis.ConnectionError("refused"))
    with pytest.raises(BrokerUnavailable, match="lost the result backend for 0.1 s"):
        follow_join(app, "j", timeout=10, reconnect_timeout=0.1)

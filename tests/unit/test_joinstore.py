"""A join's hashes in Redis: stored once, read once per worker process, clear errors when gone or damaged."""

import uuid

import numpy as np
import pytest

from tasks.nearjoin import store as joinstore


class FakeRedis:
    def __init__(self):
        self.data, self.gets = {}, 0

    def set(self, key, value, ex=None):
        self.data[key] = value

    def get(self, key):
        self.gets += 1
        return self.data.get(key)

    def exists(self, key):
        return int(key in self.data)

    def delete(self, key):
        self.data.pop(key, None)


def test_a_worker_process_reads_a_joins_hashes_once_and_keeps_only_the_latest_join():
    # Given two joins' hashes stored (ids of this test's own: the cache lives as long as the process)
    client, j1, j2 = FakeRedis(), f"j1-{uuid.uuid4().hex}", f"j2-{uuid.uuid4().hex}"
    joinstore.store_hashes(client, j1, np.arange(5, dtype=np.uint64), expires=60)
    joinstore.store_hashes(client, j2, np.arange(7, dtype=np.uint64), expires=60)
    # When the first is loaded twice, Then Redis is read once
    assert len(joinstore.load_hashes(client, j1)) == 5 and len(joinstore.load_hashes(client, j1)) == 5
    assert client.gets == 1
    # When the second is loaded, and then the first again, Then each is a read: only the latest is kept
    assert len(joinstore.load_hashes(client, j2)) == 7
    assert len(joinstore.load_hashes(client, j1)) == 5
    assert client.gets == 3


def test_missing_or_corrupt_stored_hashes_fail_with_the_join_id():
    client = FakeRedis()
    with pytest.raises(ValueError, match="hashes of join gone are not in Redis"):
        joinstore.load_hashes(client, "gone")
    joinstore.store_hashes(client, "bad", np.arange(5, dtype=np.uint64), expires=60)
    client.data[next(iter(client.data))] = b"garbage"
    with pytest.raises(ValueError, match="stored hashes of join bad are corrupt"):
        joinstore.load_hashes(client, "bad")
    assert joinstore.join_exists(client, "bad")
    joinstore.forget_hashes(client, "bad")
    assert not joinstore.join_exists(client, "bad")

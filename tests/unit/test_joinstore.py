"""A join's hashes (and groups) in Redis: stored once, read once per worker process, clear errors when gone
or damaged."""

import uuid

import numpy as np
import pytest

from tasks.ids import join_groups_key
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

    def delete(self, *keys):  # redis-py's: any number of keys in one DEL
        for key in keys:
            self.data.pop(key, None)


def test_a_worker_process_reads_a_joins_hashes_once_and_keeps_only_the_latest_join():
    # Given two joins' hashes stored (ids of this test's own: the cache lives as long as the process)
    client, j1, j2 = FakeRedis(), f"j1-{uuid.uuid4().hex}", f"j2-{uuid.uuid4().hex}"
    joinstore.store_hashes(client, j1, np.arange(5, dtype=np.uint64), expires=60)
    joinstore.store_hashes(client, j2, np.arange(7, dtype=np.uint64), expires=60)
    # When the first is loaded twice, Then Redis is read once
    assert len(joinstore.load_join(client, j1)[0]) == 5 and len(joinstore.load_join(client, j1)[0]) == 5
    assert client.gets == 1
    # When the second is loaded, and then the first again, Then each is a read: only the latest is kept
    assert len(joinstore.load_join(client, j2)[0]) == 7
    assert len(joinstore.load_join(client, j1)[0]) == 5
    assert client.gets == 3


def test_a_join_with_groups_is_read_with_its_groups_once_per_process_and_forgotten_with_them():
    # Given a join's hashes stored with their groups
    client, join_id = FakeRedis(), f"g-{uuid.uuid4().hex}"
    joinstore.store_hashes(client, join_id, np.arange(4, dtype=np.uint64), expires=60,
                           groups=np.array([0, 0, 3, 1], np.int32))
    # When a part of it loads the join twice, Then both arrays come back from two reads of Redis
    for _ in range(2):
        hashes, groups = joinstore.load_join(client, join_id, grouped=True)
        assert hashes.tolist() == [0, 1, 2, 3] and groups.tolist() == [0, 0, 3, 1]
    assert client.gets == 2
    # When the join is forgotten, Then neither key is left
    joinstore.forget_hashes(client, join_id)
    assert not client.data


def test_a_join_whose_groups_are_gone_fails_instead_of_joining_without_them():
    client, join_id = FakeRedis(), f"g-{uuid.uuid4().hex}"
    joinstore.store_hashes(client, join_id, np.arange(4, dtype=np.uint64), expires=60,
                           groups=np.zeros(4, np.int32))
    client.delete(join_groups_key(join_id))
    with pytest.raises(ValueError, match=f"groups of join {join_id} are not in Redis"):
        joinstore.load_join(client, join_id, grouped=True)


def test_missing_or_corrupt_stored_hashes_fail_with_the_join_id():
    client = FakeRedis()
    with pytest.raises(ValueError, match="hashes of join gone are not in Redis"):
        joinstore.load_join(client, "gone")
    joinstore.store_hashes(client, "bad", np.arange(5, dtype=np.uint64), expires=60)
    client.data[next(iter(client.data))] = b"garbage"
    with pytest.raises(ValueError, match="stored hashes of join bad are corrupt"):
        joinstore.load_join(client, "bad")
    assert joinstore.join_exists(client, "bad")
    joinstore.forget_hashes(client, "bad")
    assert not joinstore.join_exists(client, "bad")

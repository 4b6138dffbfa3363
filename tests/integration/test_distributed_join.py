"""The near-duplicate join on real prefork workers: the same pairs as the local join (with groups too), or
one clear error."""

import time

import numpy as np
import pytest

from producer.app import producer_app
from producer.near import distjoin
from producer.near.distjoin import follow_join, join_on_cluster, publish_join, read_pairs, redis_client
from tasks.errors import JobFailed
from tasks.ids import JOIN_PART_TASK, join_data_ids, join_hashes_key, join_part_task_id, new_job_id
from tasks.nearjoin.join import join, join_parts
from tasks.nearjoin.store import store_hashes
from tasks.nearjoin.wire import HASHES_HEADER, part_to_wire
from tasks.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

#: Seconds a distributed join of the test hashes may take before the test fails (it takes a few).
JOIN_TIMEOUT = 120


def clustered_hashes(seed: int = 11) -> np.ndarray:
    """~20,000 hashes shaped like a real index: pictures and their edits (seeds with 1-6 bits flipped),
    byte-identical copies, a dense cluster of near-blank images near 0, and unrelated pictures."""
    rng = np.random.default_rng(seed)

    def flipped(base: np.ndarray, most: int) -> np.ndarray:
        out = base.copy()
        for _ in range(most):
            bit = np.uint64(1) << rng.integers(0, 64, len(base)).astype(np.uint64)
            out ^= np.where(rng.random(len(base)) < 0.7, bit, np.uint64(0))
        return out

    seeds = rng.integers(0, 2**64, 1500, dtype=np.uint64)
    edits = flipped(seeds[rng.integers(len(seeds), size=12_000)], 6)
    near_zero = flipped(np.zeros(1000, np.uint64), 4)
    unrelated = rng.integers(0, 2**64, 3000, dtype=np.uint64)
    distinct = np.concatenate([seeds, edits, near_zero, unrelated])
    copies = distinct[rng.integers(len(distinct), size=2500)]
    return rng.permutation(np.concatenate([distinct, copies]))


def clustered_groups(hashes: np.ndarray, seed: int = 11) -> np.ndarray:
    """A group per hash (as a video per frame): 70 % by value, so identical hashes share a group, the rest
    random, so identical hashes are also in different groups."""
    rng = np.random.default_rng(seed)
    by_value = (hashes >> np.uint64(56)).astype(np.int64) % 40
    return np.where(rng.random(len(hashes)) < 0.7, by_value, rng.integers(0, 40, len(hashes)))


#: Seconds a re-sent part may take to store its pairs again.
RESEND_TIMEOUT = 30


@pytest.fixture
def app(worker_env):
    app = producer_app(Settings.from_env(worker_env))
    yield app
    app.close()


@pytest.fixture
def shared_app(shared_env):
    """A producer app whose joins the session's shared worker runs."""
    app = producer_app(Settings.from_env(shared_env))
    yield app
    app.close()


def stored_bytes(app, key: str) -> bytes | None:
    return app.backend.client.get(app.backend.get_key_for_task(key))


def test_the_join_on_two_prefork_workers_gives_exactly_the_local_joins_pairs(app, start_workers):
    # Given two prefork workers and 20,000 clustered hashes, in groups or not
    start_workers(count=2, concurrency=1)
    hashes = clustered_hashes()
    groups = clustered_groups(hashes)
    for k, by in ((8, None), (10, None), (10, groups)):
        # When they are joined on the cluster
        got = join_on_cluster(app, hashes, k, groups=by, splits=2, timeout=JOIN_TIMEOUT)
        # Then the pairs are the local join's, in the same order and with the same dtypes
        expected = join(hashes, k, groups=by)
        assert len(expected[0]) > 50_000
        for column, want in zip(got, expected, strict=True):
            assert column.dtype == want.dtype
            assert np.array_equal(column, want)
    # And with groups, those are the pairs without them whose groups differ, fewer by a good share
    a, b, d = join(hashes, 10)
    apart = groups[a] != groups[b]
    assert 0.3 < apart.mean() < 0.9
    assert all(np.array_equal(x, y[apart]) for x, y in zip(got, (a, b, d), strict=True))
    # And the joins left nothing behind in Redis but task bookkeeping
    assert not app.backend.client.keys("hashfleet-join-*") and not app.backend.client.keys("*-part-*-data")


def test_a_join_whose_stored_hashes_are_corrupt_fails_with_one_clear_error(shared_app, monkeypatch):
    # Given a worker, and a producer whose stored hashes get damaged in Redis before any part reads them
    app = shared_app

    def store_then_damage(client, join_id, hashes, expires, groups=None):
        distjoin_store(client, join_id, hashes, expires, groups)
        client.setrange(join_hashes_key(join_id), HASHES_HEADER.size + 3, b"\xff\xfe")

    distjoin_store = distjoin.store_hashes
    monkeypatch.setattr(distjoin, "store_hashes", store_then_damage)
    # When the join runs, Then it ends promptly with one error naming the cause, instead of hanging
    started = time.monotonic()
    with pytest.raises(JobFailed, match="join .* failed: .*stored hashes of join .* are corrupt.*CRC-32") as raised:
        join_on_cluster(app, clustered_hashes()[:2000], 8, splits=2, timeout=JOIN_TIMEOUT)
    assert time.monotonic() - started < JOIN_TIMEOUT / 2
    assert "\n" not in str(raised.value)


def test_a_part_run_again_stores_the_same_pairs_under_the_same_id(shared_app):
    # Given a finished join of 5,000 hashes
    app = shared_app
    hashes = clustered_hashes()[:5000]
    join_id, parts = new_job_id(), join_parts(8, len(hashes), splits=2)
    store_hashes(redis_client(app), join_id, hashes, expires=600)
    publish_join(app, join_id, parts)
    counts = follow_join(app, join_id, timeout=JOIN_TIMEOUT)
    key = join_data_ids(join_id, len(parts))[0]
    before = stored_bytes(app, key)
    assert before is not None
    # When its first part is delivered again (its data deleted first, to see it written anew)
    app.backend.client.delete(app.backend.get_key_for_task(key))
    app.signature(JOIN_PART_TASK, args=(join_id, part_to_wire(parts[0]))).set(
        task_id=join_part_task_id(join_id, 0)).apply_async()
    deadline = time.monotonic() + RESEND_TIMEOUT
    while stored_bytes(app, key) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    # Then the same bytes are stored under the same id, and the join still reads back exactly
    assert stored_bytes(app, key) == before
    got = read_pairs(app, join_id, counts, len(hashes))
    assert all(np.array_equal(x, y) for x, y in zip(got, join(hashes, 8), strict=True))


def test_the_join_works_with_the_json_serializer_too(worker_env, start_workers):
    start_workers(count=1, concurrency=2, HASHFLEET_SERIALIZER="json")
    app = producer_app(Settings.from_env(dict(worker_env, HASHFLEET_SERIALIZER="json")))
    try:
        hashes = clustered_hashes()[:5000]
        got = join_on_cluster(app, hashes, 10, timeout=JOIN_TIMEOUT)
    finally:
        app.close()
    assert all(np.array_equal(x, y) for x, y in zip(got, join(hashes, 10), strict=True))

"""The exact near-duplicate join run on the cluster: one task per join part, a chord that counts the pairs,
then the parts' packed pairs streamed back and sorted here. Same answer as tasks.nearjoin.join.join.

Steps, each usable on its own: tasks.nearjoin.store.store_hashes (once per join, expiring like results),
:func:`publish_join` (the chord), :func:`follow_join` (wait for its end, bounded, with one clear error),
:func:`read_pairs` (stream the parts back into one sorted result) and :func:`forget_join` (delete what
the join stored).
"""

from __future__ import annotations

import time

import numpy as np
from celery import Celery, chord, states

from producer.follow import POLL_INTERVAL, FollowLoop
from tasks.errors import ConfigError, JobFailed
from tasks.ids import (
    JOIN_MERGE_TASK,
    JOIN_PART_TASK,
    join_data_ids,
    join_merge_task_id,
    join_part_task_id,
    new_job_id,
)
from tasks.nearjoin.groups import as_groups
from tasks.nearjoin.join import Part, join_parts
from tasks.nearjoin.pairarrays import PACKED_SORT_LIMIT, Pairs, unpack
from tasks.nearjoin.store import forget_hashes, join_exists, store_hashes
from tasks.nearjoin.wire import JOIN_WIRE_VERSION, part_to_wire, unpack_pairs
from tasks.settings import settings_of
from tasks.store import FETCH_TIMEOUT, forget_results, iter_stored_data

#: Value ranges each table of the join is cut into: parts = tables x splits (3 tables for 1,000,000 hashes
#: at K = 8..14), so 2 splits give every worker of a small cluster a share and a late part stays short.
DEFAULT_SPLITS = 2
#: Seconds between checks that Redis still holds the join's hashes (gone: the join cannot finish).
EXISTS_INTERVAL = 2.0


class JoinLost(JobFailed):
    """Redis no longer holds a running join's hashes (restarted without persistence, or expired)."""


def join_on_cluster(app: Celery, hashes: np.ndarray, max_distance: int, *, groups=None,
                    splits: int = DEFAULT_SPLITS, timeout: float | None = None) -> Pairs:
    """All pairs (a < b) of `hashes` (uint64, shape (n,)) within Hamming distance `max_distance`, as
    (a, b, distance) sorted by (a, b): exactly :func:`tasks.nearjoin.join.join`'s answer, dtypes included,
    computed by the workers of `app` (a producer app, producer/app.py, with a Redis result backend). With
    `groups` (one int per hash), the workers leave out the pairs of two hashes of one group, as join does.

    `splits` cuts each table of the join into that many parts; `timeout` bounds the wait in seconds (None:
    until the join ends). Raises JobFailed (one line: which part failed and why), JoinLost when Redis lost
    the join, BrokerUnavailable when the backend stays unreachable for the settings' reconnect timeout, and
    ValueError for hashes that are not 1-d uint64, 2**28 of them or more (pairs travel packed in an int64
    each), groups that are not one int per hash within 0..2**31 - 1, or a max_distance outside 0..64.
    """
    hashes = np.asarray(hashes)
    if hashes.dtype != np.uint64 or hashes.ndim != 1:
        raise ValueError(f"hashes must be a 1-d uint64 array (64-bit hashes only), got {hashes.dtype} {hashes.shape}")
    if len(hashes) >= PACKED_SORT_LIMIT:
        raise ValueError(f"the distributed join takes fewer than {PACKED_SORT_LIMIT} hashes, got {len(hashes)}")
    groups = as_groups(groups, len(hashes))
    join_id = new_job_id()
    parts = join_parts(max_distance, len(hashes), splits)
    store_hashes(redis_client(app), join_id, hashes, settings_of(app).result_expires, groups)
    publish_join(app, join_id, parts, grouped=groups is not None)
    counts = follow_join(app, join_id, timeout=timeout)
    pairs = read_pairs(app, join_id, counts, len(hashes))
    forget_join(app, join_id, len(parts))
    return pairs


def redis_client(app: Celery):
    """The redis client of the app's result backend, where the join's hashes and pairs are kept."""
    client = getattr(app.backend, "client", None)
    if client is None:
        raise ConfigError("the distributed join keeps its hashes in the result backend: it needs a Redis one "
                          "(HASHFLEET_RESULT_BACKEND=redis://...)")
    return client


def publish_join(app: Celery, join_id: str, parts: list[Part], grouped: bool = False):
    """Publish the chord of a join whose hashes are stored (tasks.nearjoin.store.store_hashes; `grouped`
    when its groups are too): a part task each, then the merge. Task ids derive from `join_id`, so a
    redelivered part overwrites its own pairs."""
    header = [
        app.signature(JOIN_PART_TASK, args=(join_id, part_to_wire(part, grouped))).set(
            task_id=join_part_task_id(join_id, i),
            argsrepr=f"(join {join_id}: table {part.table} of {part.blocks}, values {part.lo}..{part.hi - 1})")
        for i, part in enumerate(parts)
    ]
    body = app.signature(JOIN_MERGE_TASK, args=(join_id, len(parts))).set(
        task_id=join_merge_task_id(join_id), argsrepr=f"(join {join_id}: count {len(parts)} parts)")
    return chord(header, body).apply_async()


def follow_join(app: Celery, join_id: str, *, timeout: float | None = None,
                reconnect_timeout: float | None = None) -> list[int]:
    """Wait for the join's merge; return its pair count per part. Bounded: raises JobFailed when a part or
    the merge failed (the chord fails its merge once every part has reported) or after `timeout` seconds,
    JoinLost when Redis lost the hashes, BrokerUnavailable after `reconnect_timeout` seconds (default:
    the settings') without the backend."""
    reconnect_timeout = settings_of(app).reconnect_timeout if reconnect_timeout is None else reconnect_timeout
    return JoinFollower(app, join_id, timeout=timeout, reconnect_timeout=reconnect_timeout).run()


class JoinFollower(FollowLoop):
    """The join's merge polled every POLL_INTERVAL, its hashes checked every EXISTS_INTERVAL seconds, in the
    bounded loop of a job's follower (producer/follow.py)."""

    def __init__(self, app: Celery, join_id: str, *, timeout: float | None, reconnect_timeout: float):
        super().__init__(f"join {join_id}", timeout=timeout, reconnect_timeout=reconnect_timeout,
                         interval=POLL_INTERVAL, marker_interval=EXISTS_INTERVAL)
        self.app, self.join_id, self.merge_id = app, join_id, join_merge_task_id(join_id)

    def step(self) -> None:
        for _, meta in self.app.backend.get_many([self.merge_id], interval=0, max_iterations=1):
            self.result = _counts(self.join_id, meta)
            return
        self.check_marker()
        self.lost_since = None
        self.check_timeout()
        time.sleep(self.interval)

    def lost(self) -> JoinLost | None:
        if join_exists(redis_client(self.app), self.join_id):
            return None
        return JoinLost(f"Redis no longer holds the hashes of join {self.join_id} (restarted without "
                        "persistence, or expired): run the join again")


def _counts(join_id: str, meta: dict) -> list[int]:
    """The merge's pair counts, or JobFailed saying what failed."""
    if meta["status"] != states.SUCCESS:
        raise JobFailed(f"join {join_id} failed: {meta.get('result')}")
    result = meta["result"]
    if result.get("v") != JOIN_WIRE_VERSION:
        raise JobFailed(f"join {join_id}: merge result version {result.get('v')!r}, expected {JOIN_WIRE_VERSION}")
    return result["pairs"]


def read_pairs(app: Celery, join_id: str, counts: list[int], n: int) -> Pairs:
    """Stream the parts' packed pairs (one part in memory at a time) into one array, then sort and split it
    as tasks.nearjoin.join.join does. `counts` (pairs per part, from the merge) sizes the array up front."""
    packed = np.empty(sum(counts), np.int64)
    offset = 0
    keys = join_data_ids(join_id, len(counts))
    for key, count, payload in zip(keys, counts, iter_stored_data(app.backend, keys, batch=1,
                                                                  timeout=FETCH_TIMEOUT), strict=True):
        part = unpack_pairs(payload["packed"])
        if len(part) != count:
            raise JobFailed(f"join {join_id}: {key} holds {len(part)} pairs, its task counted {count}")
        packed[offset:offset + count] = part
        offset += count
    return unpack(packed, n)


def forget_join(app: Celery, join_id: str, parts: int) -> None:
    """Delete the join's hashes, its parts' pairs and its task results (they would otherwise stay until
    they expire)."""
    forget_hashes(redis_client(app), join_id)
    part_ids = [join_part_task_id(join_id, i) for i in range(parts)]
    forget_results(app.backend, [*part_ids, *join_data_ids(join_id, parts), join_merge_task_id(join_id)])

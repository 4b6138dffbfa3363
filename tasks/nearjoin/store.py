"""Where a distributed join keeps its hashes: one Redis key per join (and one for its groups, when it has
them), written once by the producer and read by every part task (cached per worker process, so a process
running several parts reads them once).

Every part must run on the same full array (its plan was cut for it), and the array is a few bytes a hash
(8 MB for 1,000,000, 4 MB more of groups): one key beside the results is cheaper than sending it with each
part, and it expires like the results do. One key caps a join at about 67 M hashes: Redis refuses a value
above proto-max-bulk-len (512 MB by default).
"""

from __future__ import annotations

import numpy as np

from tasks.ids import join_groups_key, join_hashes_key
from tasks.nearjoin.wire import pack_groups, pack_hashes, unpack_groups, unpack_hashes

#: Joins whose hashes a worker process keeps: the parts of one join usually run back to back, and one
#: array (8 MB a million hashes) is all a process should hold between tasks.
CACHED_JOINS = 1

# join id -> (hashes, groups or None), at most CACHED_JOINS entries. Per process state on purpose: the
# whole point is that the next part this process runs finds the arrays without a round trip; a join id
# names immutable arrays.
_cache: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}


def store_hashes(client, join_id: str, hashes: np.ndarray, expires: int, groups: np.ndarray | None = None) -> None:
    """Write the join's hashes (and its int32 groups, when given) under its keys (a redis client), expiring
    after `expires` seconds. The groups go first: the hashes key is the sign that the join exists."""
    if groups is not None:
        client.set(join_groups_key(join_id), pack_groups(groups), ex=expires)
    client.set(join_hashes_key(join_id), pack_hashes(hashes), ex=expires)


def load_join(client, join_id: str, grouped: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """The join's hashes and, when `grouped`, its groups (else None), from this process's cache or Redis;
    ValueError when missing or damaged."""
    cached = _cache.get(join_id)
    if cached is not None and (cached[1] is not None or not grouped):
        return cached
    hashes = _load(client, join_id, join_hashes_key, unpack_hashes, "hashes")
    groups = _load(client, join_id, join_groups_key, unpack_groups, "groups") if grouped else None
    if groups is not None and len(groups) != len(hashes):
        raise ValueError(f"join {join_id} stores {len(groups)} groups for {len(hashes)} hashes: run the join again")
    while len(_cache) >= CACHED_JOINS:
        _cache.pop(next(iter(_cache)))
    _cache[join_id] = hashes, groups
    return hashes, groups


def _load(client, join_id: str, key, unpack, what: str) -> np.ndarray:
    blob = client.get(key(join_id))
    if blob is None:
        raise ValueError(f"the {what} of join {join_id} are not in Redis (expired, deleted, or Redis restarted "
                         "without persistence): run the join again")
    try:
        return unpack(blob)
    except ValueError as exc:
        raise ValueError(f"the stored {what} of join {join_id} are corrupt: {exc}") from None


def join_exists(client, join_id: str) -> bool:
    """True while Redis still holds the join's hashes (their loss means the join cannot finish)."""
    return bool(client.exists(join_hashes_key(join_id)))


def forget_hashes(client, join_id: str) -> None:
    """Delete the join's hashes and groups once its pairs are read."""
    client.delete(join_hashes_key(join_id), join_groups_key(join_id))

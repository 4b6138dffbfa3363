"""Where a distributed join keeps its hashes: one Redis key per join, written once by the producer and read
by every part task (cached per worker process, so a process running several parts reads it once).

Every part must run on the same full array (its plan was cut for it), and the array is a few bytes a hash
(8 MB for 1,000,000): one key beside the results is cheaper than sending it with each part, and it
expires like the results do. One key caps a join at about 67 M hashes: Redis refuses a value above
proto-max-bulk-len (512 MB by default).
"""

from __future__ import annotations

import numpy as np

from tasks.ids import join_hashes_key
from tasks.nearjoin.wire import pack_hashes, unpack_hashes

#: Joins whose hashes a worker process keeps: the parts of one join usually run back to back, and one
#: array (8 MB a million hashes) is all a process should hold between tasks.
CACHED_JOINS = 1

# join id -> hashes, at most CACHED_JOINS entries. Per process state on purpose: the whole point is that
# the next part this process runs finds the array without a round trip; a join id names one immutable array.
_cache: dict[str, np.ndarray] = {}


def store_hashes(client, join_id: str, hashes: np.ndarray, expires: int) -> None:
    """Write the join's hashes under its key (a redis client), expiring after `expires` seconds."""
    client.set(join_hashes_key(join_id), pack_hashes(hashes), ex=expires)


def load_hashes(client, join_id: str) -> np.ndarray:
    """The join's hashes, from this process's cache or Redis; ValueError when missing or damaged."""
    if join_id in _cache:
        return _cache[join_id]
    blob = client.get(join_hashes_key(join_id))
    if blob is None:
        raise ValueError(f"the hashes of join {join_id} are not in Redis (expired, deleted, or Redis restarted "
                         "without persistence): run the join again")
    try:
        hashes = unpack_hashes(blob)
    except ValueError as exc:
        raise ValueError(f"the stored hashes of join {join_id} are corrupt: {exc}") from None
    while len(_cache) >= CACHED_JOINS:
        _cache.pop(next(iter(_cache)))
    _cache[join_id] = hashes
    return hashes


def join_exists(client, join_id: str) -> bool:
    """True while Redis still holds the join's hashes (their loss means the join cannot finish)."""
    return bool(client.exists(join_hashes_key(join_id)))


def forget_hashes(client, join_id: str) -> None:
    """Delete the join's hashes once its pairs are read."""
    client.delete(join_hashes_key(join_id))

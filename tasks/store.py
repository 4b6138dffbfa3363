"""What a job keeps in the result backend besides task results: its marker, and data blobs (a chunk's packed
arrays, a join part's pairs, the merge's group pages), read back in bounded batches.

A chord callback receives every header result at once, as Python objects. To keep that small at millions
of files, a chunk task stores its packed arrays under a derived id and returns only a summary; the merge
and the producer then stream the packed data a batch of chunks at a time. Ids are deterministic
(tasks/ids.py), so a redelivered chunk overwrites its own data instead of adding to it.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery import states

from tasks.ids import data_id, marker_id

#: Chunks fetched per round trip when streaming packed data back.
FETCH_BATCH = 64
#: Seconds to wait for a chunk's data that its summary says is stored (it always is, unless expired).
FETCH_TIMEOUT = 60.0


def store_task_data(backend, chunk_task_id: str, payload: dict) -> str:
    """Store the data a task made (a chunk's packed arrays, a join part's pairs) beside its small result,
    under :func:`tasks.ids.data_id`; returns that id."""
    return store_data(backend, data_id(chunk_task_id), payload)


def store_data(backend, key: str, payload: dict) -> str:
    """Store `payload` under `key` as a successful result (read back with :func:`iter_stored_data`).

    On key-value backends (Redis) this is one write: `store_result` would first read the key back to
    never overwrite a success, a round trip per chunk that buys nothing here, since a redelivered
    chunk's data is the same bytes under the same id.
    """
    if hasattr(backend, "set") and hasattr(backend, "get_key_for_task"):
        meta = {"status": states.SUCCESS, "result": payload, "traceback": None, "children": [],
                "date_done": None, "task_id": key}
        try:
            backend.set(backend.get_key_for_task(key), backend.encode(meta))
            return key
        except backend.connection_errors:
            pass  # Redis away for longer than set()'s quick retries (~20 s): store_result below keeps
            # retrying with back-off for minutes (result_backend_always_retry), so the chunk is not lost
    backend.store_result(key, payload, states.SUCCESS)
    return key


def iter_stored_data(backend, keys: list[str], batch: int = FETCH_BATCH,
                    timeout: float = FETCH_TIMEOUT) -> Iterator[dict]:
    """Yield the stored payloads of `keys`, in order, fetching `batch` at a time and waiting up to
    `timeout` seconds per batch for data not stored yet."""
    for start in range(0, len(keys), batch):
        wanted = keys[start:start + batch]
        got = {}
        for key, meta in backend.get_many(wanted, timeout=timeout, interval=0.05):
            got[key] = meta["result"]
        for key in wanted:
            yield got[key]


def stored(backend, keys: list[str], batch: int = FETCH_BATCH * 16) -> list[bool]:
    """Which of `keys` have data stored, without waiting (one MGET per batch on key-value backends)."""
    found: list[bool] = []
    for start in range(0, len(keys), batch):
        wanted = keys[start:start + batch]
        if hasattr(backend, "mget") and hasattr(backend, "get_key_for_task"):
            values = backend.mget([backend.get_key_for_task(k) for k in wanted])
            found += [v is not None for v in values]
        else:
            found += [backend.get_task_meta(k)["status"] == states.SUCCESS for k in wanted]
    return found


def forget_results(backend, task_ids: list[str]) -> None:
    """Delete the stored states of `task_ids` (one DEL on Redis), so tasks sent again start clean: a stale
    FAILURE (a chunk that could not report while Redis was away) must not fail their second run."""
    if not task_ids:
        return
    if hasattr(backend, "client") and hasattr(backend, "get_key_for_task"):
        backend.client.delete(*[backend.get_key_for_task(t) for t in task_ids])
    else:
        for task_id in task_ids:
            backend.forget(task_id)


def mark_job(backend, job_id: str, chunks: int) -> None:
    """Record that the job exists; its disappearance tells the producer the backend lost its data."""
    backend.store_result(marker_id(job_id), {"chunks": chunks}, states.SUCCESS)


def job_known(backend, job_id: str) -> bool:
    """True while the backend still holds the job's marker."""
    return backend.get_task_meta(marker_id(job_id))["status"] == states.SUCCESS

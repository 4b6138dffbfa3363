"""Results as they are stored: Redis pattern subscriptions per job instead of fast polling.

Celery's Redis result backend PUBLISHes every result it stores on a channel named like its key. A
producer that subscribes to its job's chunk channels is woken by each result (and gets it in
the message) instead of polling every pending id 50 times a second, which on a box whose cores all
hash took CPU from the workers and added up to a poll interval to every job's end. Chunk results are
watched only once few chunks are pending (producer/follow.py): while thousands are, one MGET every
0.25 s costs less than hundreds of messages a second (a 1,000,000-file job without decoding looked
~10 % slower when every chunk result came as a message, though within that machine's noise).

Pub/sub delivers at most once: what is published while the subscription's connection is down is lost.
The follow loop therefore still polls, rarely (producer/follow.py), and a feed that meets a connection
error just waits out its timeout and lets the poll find what it missed.
"""

from __future__ import annotations

import time

import redis
from celery import states

from tasks.ids import chunk_id_prefix, marker_id

#: Errors after which the follow loop just polls: Redis unreachable or restarting, or refusing pub/sub
#: (an ACL without PSUBSCRIBE, a proxy that does not relay it).
FEED_ERRORS = (redis.RedisError, OSError)
#: Seconds to wait for Redis to confirm the first subscription.
SUBSCRIBE_TIMEOUT = 5.0
#: Redis glob metacharacters, escaped in the literal part of a pattern.
_GLOB_SPECIAL = "\\*?[]"


def glob_escape(text: str) -> str:
    return "".join("\\" + c if c in _GLOB_SPECIAL else c for c in text)


class ResultFeed:
    """The chunk results of one job, once :meth:`watch_chunks` is called, pushed by Redis as the workers
    store them."""

    def __init__(self, backend, job_id: str):
        self._backend = backend
        self._prefix = backend.task_keyprefix  # bytes
        self._job_chunks = chunk_id_prefix(job_id)
        # Chunk results end in their index: "[0-9]" keeps the chunks' "...-data" keys (packed arrays,
        # the bulk of what workers write) off this connection.
        self._chunks = glob_escape(backend.get_key_for_task(chunk_id_prefix(job_id)).decode()) + "*[0-9]"
        self.watching_chunks = False
        self._pubsub = backend.client.pubsub(ignore_subscribe_messages=True)
        # The job's marker channel (written once, at the start) confirms pub/sub works before it is needed.
        self._pubsub.psubscribe(glob_escape(backend.get_key_for_task(marker_id(job_id)).decode()))
        # Read the confirmation: a refusal (NOPERM) arrives as its reply, not from psubscribe().
        self._pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT)

    def watch_chunks(self) -> bool:
        """Also deliver chunk results from now on (what was published before is not); False when Redis
        could not be reached or refused (the follow loop then keeps polling and tries again)."""
        try:
            self._pubsub.psubscribe(self._chunks)
        except FEED_ERRORS:
            return False
        self.watching_chunks = True
        return True

    def wait(self, timeout: float) -> list[tuple[str, dict]]:
        """(task id, result meta) of the final states published within `timeout` seconds; returns as soon
        as one arrives, with whatever else is already queued. Never raises for a lost connection."""
        deadline = time.monotonic() + timeout
        got: list[tuple[str, dict]] = []
        try:
            while True:
                remaining = deadline - time.monotonic()
                message = self._pubsub.get_message(timeout=0.0 if got else max(remaining, 0.0))
                if message is not None and message["type"] == "pmessage":
                    meta = self._backend.decode_result(message["data"])
                    # Only final states, as a poll (Celery's get_many) sees them: a chunk whose worker
                    # died is stored as RETRY, then re-run.
                    task_id = message["channel"][len(self._prefix):].decode()
                    if meta["status"] in states.READY_STATES and task_id.startswith(self._job_chunks):
                        got.append((task_id, meta))
                elif got or remaining <= 0:
                    return got
        except FEED_ERRORS:  # redis-py reconnects and re-subscribes on the next call
            time.sleep(max(deadline - time.monotonic(), 0.0))
            return got

    def close(self) -> None:
        try:
            self._pubsub.close()
        except FEED_ERRORS:
            pass


def open_feed(backend, job_id: str) -> ResultFeed | None:
    """A feed on Redis result backends (None elsewhere, or when Redis cannot be reached now: then the
    follow loop polls)."""
    if not (hasattr(backend, "client") and hasattr(backend, "get_key_for_task")
            and hasattr(backend.client, "pubsub")):
        return None
    try:
        return ResultFeed(backend, job_id)
    except FEED_ERRORS:
        return None

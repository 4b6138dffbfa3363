"""Producer-side Redis result backend: results are polled in bulk with MGET, never subscribed per task.

Celery's Redis backend SUBSCRIBEs to a channel for every task the app publishes (one round trip each
and a pending entry per task): with thousands of chunks that is slow and pointless for a producer that
polls all chunk results at once. Workers keep the stock backend.
"""

from __future__ import annotations

from celery.backends.redis import RedisBackend

from tasks.chord_backend import backend_setting


class PollingRedisBackend(RedisBackend):
    def on_task_call(self, producer, task_id) -> None:
        """Do not subscribe: results are fetched by :meth:`get_many`."""

    def on_result_fulfilled(self, result) -> None:
        """Nothing to unsubscribe (and Redis may already be gone when a result object is collected)."""


def polling_backend_url(url: str) -> str:
    """A result_backend setting that makes Celery use :class:`PollingRedisBackend` for `url`."""
    return backend_setting(url, PollingRedisBackend)

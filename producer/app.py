"""The producer's Celery app: the workers' app, with a Redis result backend that never subscribes per task.

Celery's Redis backend SUBSCRIBEs to a channel for every task the app publishes (one round trip each
and a pending entry per task): with thousands of chunks that is slow and pointless for a producer that
polls all chunk results at once (producer/follow.py). Workers use tasks/chord_backend.py instead.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import redis
from celery import Celery
from celery.backends.redis import RedisBackend
from kombu.exceptions import OperationalError

from tasks.app import create_app
from tasks.chord_backend import backend_setting
from tasks.settings import Settings

#: Errors that mean "the broker/backend is unreachable right now" (refused, reset, timed out, name not
#: resolved): a producer retries or reports them; any other exception is a bug and raises.
CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, OperationalError, ConnectionError, OSError)


class PollingRedisBackend(RedisBackend):
    def on_task_call(self, producer, task_id) -> None:
        """Do not subscribe: results are fetched by :meth:`get_many`."""

    def on_result_fulfilled(self, result) -> None:
        """Nothing to unsubscribe (and Redis may already be gone when a result object is collected)."""


def polling_backend_url(url: str) -> str:
    """A result_backend setting that makes Celery use :class:`PollingRedisBackend` for `url`."""
    return backend_setting(url, PollingRedisBackend)


def producer_app(settings: Settings) -> Celery:
    """The Celery app for a producer (a context manager: `with producer_app(settings) as app:` closes its
    connections). Results are polled in bulk, never subscribed per task."""
    app = create_app(settings)
    if urlsplit(settings.backend_url).scheme in ("redis", "rediss"):
        app.conf.result_backend = polling_backend_url(settings.backend_url)
    return app

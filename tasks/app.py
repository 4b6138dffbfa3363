"""Build the Celery app from Settings. No connection is made here: Celery connects lazily."""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from tasks.settings import Settings

#: Attempts a worker makes to store a result while the backend is unreachable (with backoff, ~minutes).
RESULT_STORE_RETRIES = 30
#: Chord callback join: how long the merge waits for all header results to be readable.
CHORD_JOIN_TIMEOUT = 120


def create_app(settings: Settings | None = None) -> Celery:
    """The hashfleet Celery app. Workers accept json/msgpack only: a pickle message is rejected unrun."""
    settings = settings or Settings.from_env()
    app = Celery("hashfleet", set_as_current=True)
    # Without a broker configured (embedded mode is started by `hashfleet run`), point at a
    # placeholder so importing the app never needs a server.
    broker = settings.broker_url or "redis://127.0.0.1:6379/0"
    app.conf.update(
        broker_url=broker,
        result_backend=settings.backend_url or broker,
        task_serializer=settings.serializer,
        result_serializer=settings.serializer,
        accept_content=["json", "msgpack"],
        result_accept_content=["json", "msgpack"],
        task_default_queue=settings.queue,
        task_queues=[Queue(settings.queue)],
        # Batch work: a chunk is acknowledged only after it is done, and a worker holds one chunk at a
        # time, so a dying worker loses nothing and idle workers are not starved by a greedy one.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.soft_time_limit,
        task_time_limit=settings.soft_time_limit + 60,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout},
        result_expires=settings.result_expires,
        result_chord_join_timeout=CHORD_JOIN_TIMEOUT,
        # A worker that finishes a chunk while Redis restarts keeps trying to store the result rather
        # than failing the chunk.
        result_backend_always_retry=True,
        result_backend_max_retries=RESULT_STORE_RETRIES,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=settings.connect_timeout,
        redis_socket_connect_timeout=settings.connect_timeout,
        # Flower follows tasks from the workers' events (received/started/succeeded); a "sent" event
        # from the producer would double the publishes per chunk for no extra information.
        worker_send_task_events=True,
        task_send_sent_event=False,
        task_track_started=True,
        worker_hijack_root_logger=False,
    )
    app.hashfleet_settings = settings
    return app

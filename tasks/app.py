"""Build the Celery app from Settings. No connection is made here: Celery connects lazily."""

from __future__ import annotations

import ssl
from urllib.parse import parse_qsl, urlencode, urlsplit

from celery import Celery
from kombu import Queue

from tasks.errors import ConfigError
from tasks.image.limits import prepare_decoders
from tasks.settings import Settings

#: Attempts a worker makes to store a result while the backend is unreachable (with backoff, ~minutes).
RESULT_STORE_RETRIES = 30
#: How a message that cannot be published is retried (Celery's task_publish_retry_policy): about a minute in
#: all, so a publish made while Redis restarts (the last chunk publishing the merge as the chord completes,
#: the producer publishing chunks) waits for it instead of failing; Celery's default gives up after ~0.6 s.
PUBLISH_RETRY_POLICY = {"max_retries": 30, "interval_start": 0, "interval_step": 0.5, "interval_max": 2}
#: Longest pause (s) between sweeps that restore a lost worker's unacknowledged chunks.
UNACKED_SWEEP_MAX = 10
#: Seconds the hard time limit leaves beyond the soft limit plus one file's timeout.
HARD_LIMIT_MARGIN = 30
#: Chord callback join: how long the merge waits for all header results to be readable.
CHORD_JOIN_TIMEOUT = 120
#: rediss:// URLs that do not say otherwise verify the server's certificate (against ssl_ca_certs, else the
#: system CAs). kombu alone would fall back to no verification, and Celery's Redis backend would refuse
#: the URL; ssl_cert_reqs=none in the URL turns checking off (not recommended).
DEFAULT_SSL_CERT_REQS = ssl.CERT_REQUIRED
#: Values of ssl_cert_reqs a rediss:// URL may carry: those both kombu and Celery's backend understand.
SSL_CERT_REQS = {"required": ssl.CERT_REQUIRED, "CERT_REQUIRED": ssl.CERT_REQUIRED,
                 "optional": ssl.CERT_OPTIONAL, "CERT_OPTIONAL": ssl.CERT_OPTIONAL,
                 "none": ssl.CERT_NONE, "CERT_NONE": ssl.CERT_NONE}
#: File parameters of a rediss:// URL: the CA bundle to trust, and a client certificate and key.
SSL_FILE_PARAMS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")


def redis_tls_options(url: str | None) -> dict | None:
    """The TLS options for a rediss:// `url` (None for any other URL), read from its query string.

    Both kombu (`broker_use_ssl`) and Celery's Redis backend (`redis_backend_use_ssl`) get this dict,
    so workers, producer and merge check the certificate the same way. Raises ConfigError for a bad
    ssl_cert_reqs or a TLS file that cannot be read.
    """
    if not url or urlsplit(url).scheme != "rediss":
        return None
    query = dict(parse_qsl(urlsplit(url).query))
    raw = query.get("ssl_cert_reqs")
    if raw is None:
        options = {"ssl_cert_reqs": DEFAULT_SSL_CERT_REQS}
    elif raw in SSL_CERT_REQS:
        options = {"ssl_cert_reqs": SSL_CERT_REQS[raw]}
    else:
        raise ConfigError(f"ssl_cert_reqs={raw!r} in a rediss:// URL must be required, optional or none")
    for name in SSL_FILE_PARAMS:
        if query.get(name):
            try:
                with open(query[name], "rb"):
                    pass
            except OSError as exc:
                raise ConfigError(f"{name}={query[name]} in a rediss:// URL cannot be read: "
                                  f"{exc.strerror}") from None
            options[name] = query[name]
    return options


def without_tls_params(url: str) -> str:
    """`url` minus its ssl_* query parameters. kombu lets a URL's ssl_* parameters replace
    `broker_use_ssl` wholesale (dropping the default ssl_cert_reqs), so the broker URL handed to kombu
    carries none: the options from :func:`redis_tls_options` are then the only ones."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("ssl_")]
    return parts._replace(query=urlencode(kept)).geturl()


def unacked_sweep_interval(visibility_timeout: int) -> int:
    """Seconds between a worker's sweeps that restore expired unacknowledged chunks: often enough that a
    lost worker's chunk comes back soon after the visibility timeout, at most UNACKED_SWEEP_MAX."""
    return max(1, min(UNACKED_SWEEP_MAX, visibility_timeout // 4))


def _result_backend(url: str) -> str:
    """Redis results go through :class:`tasks.chord_backend.ChordRetryingRedisBackend`."""
    if urlsplit(url).scheme in ("redis", "rediss"):
        from tasks.chord_backend import backend_setting

        return backend_setting(url)
    return url


def _broker_transport(url: str) -> str | None:
    """Redis brokers go through :class:`tasks.redis_transport.Transport` (a Redis crash must not end a
    worker's main process); other brokers keep kombu's transport for their scheme."""
    if urlsplit(url).scheme in ("redis", "rediss"):
        from tasks.redis_transport import TRANSPORT_PATH

        return TRANSPORT_PATH
    return None


def create_worker_app(settings: Settings | None = None) -> Celery:
    """The app `celery -A tasks worker` runs: decoder limits set first (before the task modules load cv2
    and numpy), the chunk and join tasks defined, and each pool process set up (tasks/pool.py)."""
    settings = settings or Settings.from_env()
    prepare_decoders(settings.max_pixels)
    from celery.signals import worker_process_init

    from tasks import chunk  # noqa: F401
    from tasks.nearjoin import task  # noqa: F401  (define the tasks; the producer never loads these)
    from tasks.pool import init_pool_process
    from tasks.video import task as video_task  # noqa: F401

    worker_process_init.connect(init_pool_process, weak=False)
    return create_app(settings)


def create_app(settings: Settings | None = None) -> Celery:
    """The hashfleet Celery app. Workers accept json/msgpack only: a pickle message is rejected unrun."""
    settings = settings or Settings.from_env()
    app = Celery("hashfleet", set_as_current=True)
    # Without a broker configured (embedded mode is started by `hashfleet run`), point at a
    # placeholder so importing the app never needs a server.
    broker = settings.broker_url or "redis://127.0.0.1:6379/0"
    app.conf.update(
        broker_url=broker,
        broker_transport=_broker_transport(broker),
        result_backend=_result_backend(settings.backend_url or broker),
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
        # A pool process whose peak RSS passed the limit is replaced after its chunk, so memory kept after
        # an outsized decode (or any leak) goes back to the system (docs/robustness.md).
        worker_max_memory_per_child=settings.worker_memory_limit * 1024,  # KiB
        task_soft_time_limit=settings.soft_time_limit,
        # The hard limit is a backstop only: the soft limit (checked between files) and the per-file
        # watchdog (tasks/watchdog.py) act first, and both keep the chunk's finished files.
        task_time_limit=settings.soft_time_limit + settings.file_timeout + HARD_LIMIT_MARGIN,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            # Sweep for expired unacked chunks often and really scan each time (kombu's default scans
            # on one sweep in ten: a lost host's chunk came back after ~100 s instead of the timeout).
            "unacked_restore_interval": unacked_sweep_interval(settings.visibility_timeout),
            "unacked_restore_throttle": 1,
        },
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout},
        result_expires=settings.result_expires,
        result_chord_join_timeout=CHORD_JOIN_TIMEOUT,
        # A worker that finishes a chunk while Redis restarts keeps trying to store the result rather
        # than failing the chunk.
        result_backend_always_retry=True,
        result_backend_max_retries=RESULT_STORE_RETRIES,
        task_publish_retry_policy=PUBLISH_RETRY_POLICY,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=settings.connect_timeout,
        redis_socket_connect_timeout=settings.connect_timeout,
        # Task events (received/started/succeeded: three publishes per chunk) are off until a monitor
        # asks: Flower broadcasts enable_events every 5 s, so it still shows the tasks (worker heartbeats
        # are sent either way).
        # No "sent" event from the producer, no STARTED state write per chunk (nothing reads it).
        worker_send_task_events=False,
        task_send_sent_event=False,
        task_track_started=False,
        worker_hijack_root_logger=False,
    )
    # TLS: only for rediss:// URLs; URL parameters (ssl_ca_certs=...) take part, the default verifies.
    broker_tls, backend_tls = redis_tls_options(broker), redis_tls_options(settings.backend_url)
    if broker_tls:
        app.conf.broker_url = without_tls_params(broker)
        app.conf.broker_use_ssl = broker_tls
    if backend_tls:
        app.conf.redis_backend_use_ssl = backend_tls
    app.hashfleet_settings = settings
    return app

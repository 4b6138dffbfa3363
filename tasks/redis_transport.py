"""kombu's Redis transport, changed in one place so that a worker's main process survives a Redis crash.

Why it exists: when Redis goes away, Celery's consumer collects the broken connection and then closes it
(celery/worker/consumer/consumer.py, `on_connection_error_after_connected`). Collecting closes the channels
one by one; a channel whose close fails on the dead socket (a connection error, ignored) is left open, and
collecting then clears the transport's back-reference to the connection (`transport.client = None`,
kombu/connection.py `_do_close_transport`). The close that follows closes the left-over channel again; it
restores its unacknowledged messages (`QoS.restore_unacked_once`), which needs a new connection pool, whose
parameters `Channel._connparams` reads from that cleared back-reference: `AttributeError: 'NoneType' object
has no attribute 'hostname'`. Celery ignores only connection errors there, so the worker's main process
logs "Unrecoverable error" and exits. Nothing is lost (the messages stay in Redis's unacked hash and come
back after the visibility timeout), but the worker is gone until something starts it again.

Here a channel whose connection is already closed raises a redis ConnectionError instead. kombu and Celery
expect that one while closing after a connection loss: the close goes on, the consumer reconnects, and the
chunks the channel held come back after the visibility timeout (docs/reliability.md).

Installed by tasks/app.py (`broker_transport`) for redis:// and rediss:// broker URLs; everything else,
TLS and the transport options included, is kombu's own.
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError

#: What a channel whose broker connection is already closed raises when it would need to connect again.
CONNECTION_CLOSED = "the broker connection of this channel is already closed"


class Channel(kombu_redis.Channel):
    """kombu's Redis channel; needing a connection after its connection was closed is a connection error."""

    def _connparams(self, asynchronous=False):
        transport = self.connection  # kombu_redis.Transport; None once the channel itself is closed
        if transport is None or transport.client is None:
            raise RedisConnectionError(CONNECTION_CLOSED)
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with :class:`Channel`."""

    Channel = Channel


#: The `broker_transport` setting that selects :class:`Transport` (kombu's "module:Class" form).
TRANSPORT_PATH = f"{__name__}:Transport"

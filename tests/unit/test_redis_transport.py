"""tasks/redis_transport.py: closing a broker connection after Redis went away never raises anything but a
connection error, so Celery's consumer reconnects instead of ending the worker's main process; and the app
uses that transport for redis:// and rediss:// brokers only (TLS options kept). No server: nothing listens
on the port, and the one PING a channel sends when it opens is answered here."""

from __future__ import annotations

import pytest
import redis
from kombu import Connection
from kombu.common import ignore_errors
from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tasks.app import create_app
from tasks.redis_transport import CONNECTION_CLOSED, Transport
from tasks.settings import Settings
from worker.redis_server import free_port


@pytest.fixture
def connection(monkeypatch):
    """A kombu connection to a port nothing listens on, whose channels open without a server."""
    monkeypatch.setattr(redis.Redis, "ping", lambda self: True)
    opened = []

    def connect(transport) -> Connection:
        conn = Connection(f"redis://127.0.0.1:{free_port()}/0", transport=transport)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        ignore_errors(conn, conn.release)


def lose_the_connection(conn: Connection, monkeypatch):
    """The state Celery's consumer finds a Redis connection in when Redis crashed mid-chunk: the consumer's
    channel holds an unacknowledged chunk and waits on BRPOP (whose reply can no longer be read), and another
    channel (the control channel) cannot be closed on the dead socket either. Returns the consumer's channel."""
    consumer = conn.default_channel
    other = conn.channel()
    consumer.qos._delivered["chunk-1"] = object()  # delivered, not acknowledged: closing restores it

    def brpop_reply_lost(**options):
        consumer._in_poll = None
        raise RedisConnectionError("Connection closed by server.")

    def close_fails(*args, **kwargs):
        raise RedisConnectionError("Connection closed by server.")

    consumer._in_poll = object()
    monkeypatch.setattr(consumer, "_brpop_read", brpop_reply_lost)
    monkeypatch.setattr(other, "close", close_fails)
    return consumer


def consumer_handles_the_loss(conn: Connection) -> None:
    """What celery.worker.consumer.Consumer.on_connection_error_after_connected does: collect the connection,
    then close it, ignoring connection errors (anything else ends the worker's main process)."""
    try:
        conn.collect(socket_timeout=0.1)
    except Exception:  # noqa: BLE001  (Celery ignores anything collect raises)
        pass
    ignore_errors(conn, conn.close)


def test_kombus_own_transport_fails_with_attribute_error_on_the_cleared_connection(connection, monkeypatch):
    # Given kombu's Redis transport in the state a Redis crash mid-chunk leaves it in
    conn = connection(kombu_redis.Transport)
    lose_the_connection(conn, monkeypatch)
    # When the consumer collects and closes the connection, Then the AttributeError that ends the worker
    # escapes (if this ever fails, kombu fixed it: tasks/redis_transport.py can go)
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'hostname'"):
        consumer_handles_the_loss(conn)


def test_closing_after_the_connection_was_cleared_mid_restore_raises_nothing_but_connection_errors(
        connection, monkeypatch):
    # Given hashfleet's Redis transport in the same state
    conn = connection(Transport)
    consumer = lose_the_connection(conn, monkeypatch)
    # When the consumer collects and closes the connection, Then nothing escapes
    consumer_handles_the_loss(conn)
    # And the consumer's channel is closed, its restore done with (the chunk stays in Redis's unacked hash
    # and comes back after the visibility timeout)
    assert consumer.closed
    assert consumer.qos._delivered.restored


def test_a_channel_whose_connection_is_gone_raises_a_connection_error_kombu_recovers_from(connection):
    # Given an open channel
    conn = connection(Transport)
    channel = conn.default_channel
    channel._disconnect_pools()  # as Channel.close does before it restores unacknowledged messages
    # When the transport's back-reference to the connection has been cleared (Connection.collect)
    conn.transport.client = None
    # Then asking for a client raises a redis ConnectionError, one of the errors kombu and Celery recover from
    with pytest.raises(RedisConnectionError, match=CONNECTION_CLOSED) as raised:
        with channel.conn_or_acquire():
            pass
    assert isinstance(raised.value, Transport.connection_errors)


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6390/0", "rediss://127.0.0.1:6390/0?ssl_cert_reqs=none"])
def test_the_app_uses_the_transport_for_redis_brokers_and_keeps_their_tls_and_transport_options(url):
    app = create_app(Settings.from_env({}, broker_url=url, visibility_timeout=77))
    conn = app.connection_for_write()
    assert isinstance(conn.transport, Transport)
    assert (conn.hostname, conn.port, conn.virtual_host) == ("127.0.0.1", 6390, "0")
    assert conn.transport_options["visibility_timeout"] == 77
    if url.startswith("rediss"):
        assert conn.ssl == {"ssl_cert_reqs": __import__("ssl").CERT_NONE}
    conn.release()


def test_the_app_leaves_other_brokers_to_kombu():
    app = create_app(Settings.from_env({"HASHFLEET_RESULT_BACKEND": "redis://127.0.0.1:6390/0"},
                                       broker_url="amqp://guest:guest@127.0.0.1:5672//"))
    conn = app.connection_for_write()
    assert not isinstance(conn.transport, kombu_redis.Transport)
    conn.release()

"""Check the broker and result backend answer before enqueuing, with a one-line reason when not."""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import redis
from kombu import Connection
from kombu.exceptions import OperationalError
from kombu.utils.url import maybe_sanitize_url

from tasks.app import redis_tls_options
from tasks.errors import BrokerUnavailable
from tasks.settings import Settings

_NEEDS_PASSWORD = "{role} {shown} needs a password: put it in the URL (redis://:PASSWORD@host:port/0)"
_UNTRUSTED = ("TLS certificate of {role} {shown} not trusted: {why} "
              "(give the CA that signed it as ssl_ca_certs=/path/ca.pem in the URL)")
_TLS_FAILED = "TLS handshake with {role} {shown} failed: {why} (is that port a TLS port?)"
_PLAIN_TO_TLS = "{role} {shown} closed the connection: {why} (if it only speaks TLS, use rediss://)"


def check_services(settings: Settings) -> None:
    """Raise BrokerUnavailable within about `connect_timeout` seconds if either service is unusable."""
    _check(settings.broker_url, "broker", settings.connect_timeout)
    if settings.backend_url != settings.broker_url:
        _check(settings.backend_url, "result backend", settings.connect_timeout)


def _check(url: str, role: str, timeout: float) -> None:
    shown = maybe_sanitize_url(url)
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss"):
        # The same TLS options the workers get (certificate checked unless the URL says otherwise); a bad
        # ssl_cert_reqs or an unreadable CA file is a ConfigError here, before anything is enqueued.
        tls = redis_tls_options(url) or {}
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout, **tls)
        try:
            client.ping()
        except redis.AuthenticationError:
            if not urlsplit(url).password:
                raise BrokerUnavailable(_NEEDS_PASSWORD.format(role=role, shown=shown)) from None
            raise BrokerUnavailable(
                f"{role} {shown} refused the credentials: check the password in the URL") from None
        except redis.ResponseError as exc:
            if "NOAUTH" in str(exc):
                raise BrokerUnavailable(_NEEDS_PASSWORD.format(role=role, shown=shown)) from None
            raise BrokerUnavailable(f"{role} {shown} answered with an error: {exc}") from None
        except redis.RedisError as exc:
            raise BrokerUnavailable(_connection_failure(exc, role, shown, scheme)) from None
        finally:
            client.close()
    elif scheme in ("amqp", "amqps", "pyamqp"):
        with Connection(url, connect_timeout=timeout) as conn:
            # kombu wraps what it may retry in OperationalError; the transport's own errors (an AMQP
            # ACCESS_REFUSED) and socket errors come as they are. Anything else is a bug and raises.
            unusable = (OperationalError, OSError, *conn.connection_errors, *conn.channel_errors)
            try:
                conn.ensure_connection(max_retries=1, timeout=timeout)
            except unusable as exc:
                text = str(exc)
                if "ACCESS_REFUSED" in text or "403" in text:
                    raise BrokerUnavailable(
                        f"{role} {shown} refused the credentials: check user/password") from None
                raise BrokerUnavailable(f"cannot reach {role} {shown}: {_reason(exc)}") from None


def _connection_failure(exc: Exception, role: str, shown: str, scheme: str) -> str:
    """One line for a Redis connection that failed, naming TLS trouble as such (redis-py wraps the
    ssl module's error, which is kept as the exception's context)."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        why = cause.verify_message or _reason(cause)
        return _UNTRUSTED.format(role=role, shown=shown, why=why)
    if isinstance(cause, ssl.SSLError):
        return _TLS_FAILED.format(role=role, shown=shown, why=cause.reason or _reason(cause))
    if scheme == "rediss" and isinstance(cause, TimeoutError) and "handshake" in str(cause):
        return _TLS_FAILED.format(role=role, shown=shown, why="no answer to the TLS handshake")
    if scheme == "redis" and isinstance(cause, ConnectionResetError):
        return _PLAIN_TO_TLS.format(role=role, shown=shown, why=cause.strerror or _reason(cause))
    return f"cannot reach {role} {shown}: {_reason(exc)}"


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text

"""Check the broker and result backend answer before enqueuing, with a one-line reason when not."""

from __future__ import annotations

from urllib.parse import urlsplit

import redis
from kombu import Connection
from kombu.utils.url import maybe_sanitize_url

from tasks.errors import BrokerUnavailable
from tasks.settings import Settings

_NEEDS_PASSWORD = "{role} {shown} needs a password: put it in the URL (redis://:PASSWORD@host:port/0)"


def check_services(settings: Settings) -> None:
    """Raise BrokerUnavailable within about `connect_timeout` seconds if either service is unusable."""
    _check(settings.broker_url, "broker", settings.connect_timeout)
    if settings.backend_url != settings.broker_url:
        _check(settings.backend_url, "result backend", settings.connect_timeout)


def _check(url: str, role: str, timeout: float) -> None:
    shown = maybe_sanitize_url(url)
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss"):
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
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
            raise BrokerUnavailable(f"cannot reach {role} {shown}: {_reason(exc)}") from None
        finally:
            client.close()
    elif scheme in ("amqp", "amqps", "pyamqp"):
        try:
            with Connection(url, connect_timeout=timeout) as conn:
                conn.ensure_connection(max_retries=1, timeout=timeout)
        except Exception as exc:  # kombu/amqp raise many types: all mean "unusable" here
            text = str(exc)
            if "ACCESS_REFUSED" in text or "403" in text:
                raise BrokerUnavailable(
                    f"{role} {shown} refused the credentials: check user/password") from None
            raise BrokerUnavailable(f"cannot reach {role} {shown}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text

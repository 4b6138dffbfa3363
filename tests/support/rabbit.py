"""RabbitMQ for integration tests: the server the CI runs (.ci/run starts it), with a vhost of its own per test
session, so tests never see other users' queues nor depend on the server being empty."""

from __future__ import annotations

import subprocess
import uuid

#: Where the CI's RabbitMQ listens, and the account every fresh install has (loopback only).
HOST, PORT, USER, PASSWORD = "127.0.0.1", 5672, "guest", "guest"
#: Seconds a ping (one connection attempt) may take before RabbitMQ counts as missing.
PING_TIMEOUT = 5.0
#: Seconds one rabbitmqctl command may take (it starts an Erlang node of its own: about 1 s here).
CTL_TIMEOUT = 60.0


class RabbitMissing(AssertionError):
    """RabbitMQ is not there or not usable: the test fails with what to do (never skips)."""


def amqp_url(vhost: str = "/", user: str = USER, password: str = PASSWORD, port: int = PORT) -> str:
    """The amqp:// URL of `vhost` ("/" is spelled %2F in a URL path)."""
    return f"amqp://{user}:{password}@{HOST}:{port}/{vhost.replace('/', '%2F')}"


def ping(url: str, timeout: float = PING_TIMEOUT) -> None:
    """Open and close one AMQP connection, or raise RabbitMissing saying why."""
    from kombu import Connection
    from kombu.utils.url import maybe_sanitize_url

    try:
        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # kombu and amqp raise many types: each means the tests cannot run
        raise RabbitMissing(f"RabbitMQ does not answer at {maybe_sanitize_url(url)} ({type(exc).__name__}: {exc}); "
                            f"the integration tests need it: .ci/run starts it (rabbitmq-server -detached)") from None


def rabbitmqctl(*args: str) -> str:
    """Run `rabbitmqctl ARGS` (needs root or the rabbitmq user) and return its output, or raise RabbitMissing."""
    try:
        done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=CTL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RabbitMissing(f"rabbitmqctl {' '.join(args)} failed: {exc}") from None
    if done.returncode != 0:
        raise RabbitMissing(f"rabbitmqctl {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


class RabbitVhost:
    """A vhost created for one test session (guest may do anything in it), deleted with its queues at the end."""

    def __init__(self) -> None:
        ping(amqp_url())
        self.name = f"hashfleet-test-{uuid.uuid4().hex[:10]}"
        rabbitmqctl("add_vhost", self.name)
        try:
            rabbitmqctl("set_permissions", "-p", self.name, USER, ".*", ".*", ".*")
            ping(self.url)
        except BaseException:
            self.delete()
            raise

    @property
    def url(self) -> str:
        return amqp_url(self.name)

    def queue_counts(self, queue: str) -> tuple[int, int]:
        """(ready, unacknowledged) messages of `queue` as RabbitMQ counts them; (0, 0) if it does not exist."""
        out = rabbitmqctl("list_queues", "-p", self.name, "--quiet", "--no-table-headers",
                          "name", "messages_ready", "messages_unacknowledged")
        for line in out.splitlines():
            fields = line.split("\t")
            if len(fields) == 3 and fields[0] == queue:
                return int(fields[1]), int(fields[2])
        return 0, 0

    def delete(self) -> None:
        rabbitmqctl("delete_vhost", self.name)

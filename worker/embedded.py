"""Embedded mode: a private redis-server and local prefork workers, torn down whatever happens."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import sys
import tempfile
import time

import redis

from tasks.errors import EmbeddedStartError
from tasks.settings import Settings
from worker.procs import become_subreaper, kill_group, spawn, stop_group

#: Seconds to wait for the private redis-server to answer PING.
REDIS_START_TIMEOUT = 10.0
INSTALL_HINT = (
    "redis-server not found on PATH; embedded mode needs it. Install it (Debian/Ubuntu: "
    "apt-get install redis-server; Fedora: dnf install redis; macOS: brew install redis) "
    "or point at a running broker with --broker / HASHFLEET_BROKER_URL"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_redis_server() -> str:
    """Path of redis-server, or EmbeddedStartError saying how to install it."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise EmbeddedStartError(INSTALL_HINT)
    return binary


def start_redis(workdir: str, timeout: float = REDIS_START_TIMEOUT, extra_args: tuple[str, ...] = ()):
    """Start redis-server on a free loopback port with a random password; return (process, url)."""
    binary = require_redis_server()
    password = secrets.token_hex(16)
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--requirepass", password,
            "--save", "", "--appendonly", "no", "--dir", workdir, "--daemonize", "no", *extra_args]
    proc = spawn(argv, dict(os.environ), os.path.join(workdir, "redis.log"))
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return proc, url
        except redis.RedisError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_group(proc)
                raise EmbeddedStartError(
                    f"redis-server did not start (see {workdir}/redis.log)") from None
            time.sleep(0.05)
        finally:
            client.close()


def worker_argv(settings: Settings, concurrency: int, name: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "tasks", "worker", "--pool", "prefork",
            "--concurrency", str(concurrency), "--queues", settings.queue, "--hostname", name,
            "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]


def worker_env(settings: Settings) -> dict[str, str]:
    """The worker's environment: ours plus every setting as HASHFLEET_* (flags included)."""
    env = dict(os.environ)
    env.update(settings.to_env())
    return env


@contextlib.contextmanager
def embedded_cluster(settings: Settings, workers: int):
    """Yield settings pointing at a private Redis with `workers` local prefork processes serving it.

    The yielded object also has `.alive()` to check the worker process. Everything is stopped on exit,
    including on KeyboardInterrupt and errors.
    """
    become_subreaper()
    with tempfile.TemporaryDirectory(prefix="hashfleet-") as workdir:
        redis_proc, url = start_redis(workdir)
        worker_proc = None
        try:
            local = settings.replace(broker_url=url, result_backend=url)
            name = f"embedded-{secrets.token_hex(3)}@%h"
            worker_proc = spawn(worker_argv(local, workers, name), worker_env(local),
                                os.path.join(workdir, "worker.log"))
            yield EmbeddedCluster(local, worker_proc, os.path.join(workdir, "worker.log"))
        finally:
            # Killed, not shut down: the outputs are written (or the job failed) by now, and the private
            # Redis with everything queued on it is discarded, so there is nothing for a warm shutdown
            # to finish; Celery's takes 1.2-2 s, redis-server's ~0.1 s.
            if worker_proc is not None:
                kill_group(worker_proc)
            kill_group(redis_proc)


class EmbeddedCluster:
    def __init__(self, settings: Settings, worker_proc, log_path: str):
        self.settings = settings
        self.worker_proc = worker_proc
        self.log_path = log_path

    def check_alive(self) -> None:
        """Raise EmbeddedStartError if the local worker exited (so the producer never waits forever)."""
        if self.worker_proc.poll() is not None:
            with open(self.log_path, errors="replace") as log:
                tail = log.read()[-2000:].strip().splitlines()[-1:] or ["(no output)"]
            raise EmbeddedStartError(f"local workers exited (code {self.worker_proc.returncode}): {tail[0]}")

"""Embedded mode: a private redis-server and local prefork workers, torn down whatever happens."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import tempfile

from tasks.errors import EmbeddedStartError
from tasks.settings import Settings
from worker.procs import become_subreaper, kill_group, spawn
from worker.redis_server import RedisServer


def worker_argv(settings: Settings, concurrency: int, name: str, loglevel: str = "WARNING") -> list[str]:
    """A prefork worker of the `tasks` app with `concurrency` processes on the settings' queue, started by
    worker/local.py (Celery's command line would cost ~0.2 s of CPU more). At `loglevel` INFO its log has a
    line per task received and finished."""
    return [sys.executable, "-m", "worker.local", "--concurrency", str(concurrency), "--queues", settings.queue,
            "--hostname", name, "--loglevel", loglevel]


def worker_env(settings: Settings) -> dict[str, str]:
    """The worker's environment: ours plus every setting as HASHFLEET_* (flags included)."""
    env = dict(os.environ)
    env.update(settings.to_env())
    return env


@contextlib.contextmanager
def embedded_cluster(settings: Settings, workers: int):
    """Yield settings pointing at a private Redis with `workers` local prefork processes serving it.

    The yielded :class:`EmbeddedCluster` has `check_alive()` to check the worker process. Everything is
    stopped on exit, including on KeyboardInterrupt and errors.
    """
    become_subreaper()
    with tempfile.TemporaryDirectory(prefix="hashfleet-") as workdir:
        server = RedisServer(workdir, password=secrets.token_hex(16))
        worker_proc = None
        try:
            local = settings.replace(broker_url=server.url, result_backend=server.url)
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
            server.kill()


class EmbeddedCluster:
    """The local cluster's settings (pointing at the private Redis) and its worker process."""

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

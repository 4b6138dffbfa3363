"""A warm prefork worker of the `tasks` app serving one broker URL: started the way embedded mode starts its
workers (worker/embedded.py, worker/local.py, worker/procs.py), pinged until it answers, started again as a
supervisor would, its pool processes listed, stopped on exit. Used by the soak harness (support/soak.py) and
the benchmarks.

The product's packages are imported when a worker is started, not with this module: the benchmarks first
put a snapshot of the code under test on sys.path (bench/snapshot.py), and the worker must be that code's.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time

from support.procstat import children

#: Seconds a worker gets to answer a Celery control ping after it is started.
WORKER_START_TIMEOUT = 60.0
#: Seconds one control ping waits for replies.
PING_TIMEOUT = 1.0
#: Pause between readiness polls.
POLL_INTERVAL = 0.1
#: Serializers the ping client accepts in replies (as hashfleet's own app does).
ACCEPT_CONTENT = ["json", "msgpack"]


class WarmWorker:
    """A running worker: its main process, log, and how to start it again."""

    def __init__(self, proc: subprocess.Popen, hostname: str, log_path: str, respawn):
        self.proc = proc
        self.hostname = hostname
        self.log_path = log_path
        self._respawn = respawn
        #: Times :meth:`revive` started the worker again.
        self.restarts = 0

    def revive(self) -> bool:
        """Start the worker again if its main process exited, as a supervisor (systemd's Restart=, a
        container's restart policy) would; True if it did."""
        if self.proc.poll() is None:
            return False
        self.proc = self._respawn()
        self.restarts += 1
        return True

    def pool_pids(self) -> list[int]:
        """PIDs of the prefork pool children (read from /proc)."""
        return sorted(children(self.proc.pid))


def _wait_ready(worker: WarmWorker, url: str) -> None:
    from celery import Celery

    app = Celery("hashfleet-ping", broker=url, set_as_current=False)
    app.conf.accept_content = ACCEPT_CONTENT  # the worker replies in msgpack (its task serializer)
    try:
        _ping_until_ready(worker, app)
    finally:
        app.close()


def _ping_until_ready(worker: WarmWorker, app) -> None:
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while not app.control.ping(destination=[worker.hostname], timeout=PING_TIMEOUT):
        if worker.proc.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.proc.returncode}; see {worker.log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"worker {worker.hostname} did not answer ping; see {worker.log_path}")
        time.sleep(POLL_INTERVAL)


@contextlib.contextmanager
def warm_worker(url: str, concurrency: int, workdir: str, cwd: str | None = None, loglevel: str = "WARNING",
                env: dict[str, str] | None = None, include: str | None = None):
    """Start a worker with `concurrency` pool processes serving broker `url` (in folder `cwd`: a benchmark's
    code snapshot), wait until it answers ping, stop it on exit. At `loglevel` INFO its log has a line per
    task. `env`: HASHFLEET_* settings for it (any HASHFLEET_* of ours is not passed on). `include`: a
    module of more tasks (importable from `cwd`)."""
    from tasks.settings import Settings
    from worker.embedded import worker_argv
    from worker.procs import spawn, stop_group

    settings = Settings.from_env(env or {}, broker_url=url)
    hostname = f"warm-c{concurrency}@{socket.gethostname()}"
    log_path = os.path.join(workdir, f"worker-c{concurrency}.log")
    argv = worker_argv(settings, concurrency, hostname, loglevel) + (["--include", include] if include else [])
    # Ours without any HASHFLEET_* (a developer's shell must not skew a run), plus every setting.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HASHFLEET_")} | settings.to_env()

    def start() -> subprocess.Popen:
        return spawn(argv, environment, log_path, cwd)

    worker = WarmWorker(start(), hostname, log_path, respawn=start)
    try:
        _wait_ready(worker, url)
        yield worker
    finally:
        stop_group(worker.proc)

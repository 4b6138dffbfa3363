"""The benchmark's own services: a private redis-server and warm `celery -A tasks worker` processes.

Never touches the system Redis: the private server listens on a free loopback port, keeps nothing on disk
(--save '' --appendonly no) and lives in a temporary folder. Every process started here runs in its own
process group, gets SIGKILL if the benchmark dies (PR_SET_PDEATHSIG) and is stopped by the context
managers on exit, errors and Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import redis
from celery import Celery

from bench.procstat import children

#: Seconds to wait for redis-server to answer PING.
REDIS_START_TIMEOUT = 10.0
#: Seconds to wait for a worker to answer a Celery control ping.
WORKER_START_TIMEOUT = 60.0
#: Seconds one control ping waits for replies.
PING_TIMEOUT = 1.0
#: Pause between readiness polls.
POLL_INTERVAL = 0.1
#: Seconds a child's process group gets after SIGTERM before SIGKILL.
TERM_GRACE = 5.0
_PR_SET_PDEATHSIG = 1
#: Serializers the ping client accepts in replies (as hashfleet's own app does).
ACCEPT_CONTENT = ["json", "msgpack"]
#: The queue hashfleet's producer sends to by default (tasks/settings.py DEFAULT_QUEUE).
QUEUE = "hashfleet"


# Process helpers (like worker/procs.py, re-done here so that this process never imports the live
# `worker` package: the code under test comes from a snapshot, see bench/snapshot.py).

def die_with_parent() -> None:
    """preexec_fn: the kernel SIGKILLs the child when the benchmark dies."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(argv: list[str], env: dict[str, str], log_path: str, cwd: str | None = None) -> subprocess.Popen:
    """Start `argv` in its own session (process group), output appended to `log_path`."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the child's process group, SIGKILL whatever is left after TERM_GRACE, reap the child."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=TERM_GRACE)


def clean_env(**extra: str) -> dict[str, str]:
    """Our environment without any HASHFLEET_* setting (so a user's shell cannot skew a run), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHFLEET_")}
    env.update(extra)
    return env


def run_timed(argv: list[str], log_path: str, env: dict[str, str], timeout: float, cwd: str | None = None):
    """Run `argv` to completion; return its wall time in seconds. Raises on a non-zero exit."""
    with open(log_path, "ab") as log:
        log.write(f"\n$ {' '.join(argv)}\n".encode())
        log.flush()
        started = time.perf_counter()
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                              cwd=cwd, timeout=timeout, preexec_fn=die_with_parent, check=False)
        elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with {proc.returncode}; see {log_path}")
    return elapsed


@contextlib.contextmanager
def private_redis(workdir: str):
    """Yield (port, pid) of a fresh redis-server (no password, loopback only) that is killed on exit.

    Not worker/redis_server.py: the benchmark runs against snapshots of any commit (bench/snapshot.py), so
    its own services use nothing from the code under test."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found on PATH")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", workdir, "--daemonize", "no"]
    proc = spawn(argv, clean_env(), os.path.join(workdir, "redis.log"))
    try:
        client = redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=1)
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start; see {workdir}/redis.log") from None
                time.sleep(POLL_INTERVAL)
            finally:
                client.close()
        yield port, proc.pid
    finally:
        stop_group(proc)


class WarmWorker:
    """A running `celery -A tasks worker -c N --pool prefork` on its own broker URL."""

    def __init__(self, proc: subprocess.Popen, url: str, concurrency: int, hostname: str, log_path: str,
                 respawn=None):
        self.proc = proc
        self.url = url
        self.concurrency = concurrency
        self.hostname = hostname
        self.log_path = log_path
        self._respawn = respawn
        #: Times :meth:`revive` started the worker again.
        self.restarts = 0

    def revive(self) -> bool:
        """Start the worker again if its main process exited, as a supervisor (systemd's Restart=, a
        container's restart policy) would; True if it did."""
        if self.proc.poll() is None or self._respawn is None:
            return False
        self.proc = self._respawn()
        self.restarts += 1
        return True

    def pool_pids(self) -> list[int]:
        """PIDs of the prefork pool children (read from /proc)."""
        return sorted(children(self.proc.pid))


def _wait_ready(proc: subprocess.Popen, url: str, hostname: str, log_path: str) -> None:
    app = Celery("hashfleet-bench-ping", broker=url, set_as_current=False)
    app.conf.accept_content = ACCEPT_CONTENT  # the worker replies in msgpack (its task serializer)
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited with {proc.returncode}; see {log_path}")
            if app.control.ping(destination=[hostname], timeout=PING_TIMEOUT):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {hostname} did not answer ping; see {log_path}")
            time.sleep(POLL_INTERVAL)
    finally:
        app.close()


@contextlib.contextmanager
def warm_worker(url: str, concurrency: int, workdir: str, cwd: str | None = None, loglevel: str = "WARNING",
                env: dict[str, str] | None = None):
    """Start `celery -A tasks worker -c N` serving `url` (in folder `cwd`, the code snapshot), wait until
    it answers ping, stop it on exit. At `loglevel` INFO its log has a line per finished task. `env`: more
    HASHFLEET_* settings for the worker."""
    hostname = f"bench-c{concurrency}@{socket.gethostname()}"
    log_path = os.path.join(workdir, f"worker-c{concurrency}.log")
    argv = [sys.executable, "-m", "celery", "-A", "tasks", "worker", "-c", str(concurrency),
            "--pool", "prefork", "-Q", QUEUE, "--without-gossip", "--without-mingle",
            "--hostname", hostname, "--loglevel", loglevel]
    def start() -> subprocess.Popen:
        return spawn(argv, clean_env(**(env or {}), HASHFLEET_BROKER_URL=url), log_path, cwd)

    worker = WarmWorker(start(), url, concurrency, hostname, log_path, respawn=start)
    try:
        _wait_ready(worker.proc, url, hostname, log_path)
        yield worker
    finally:
        stop_group(worker.proc)

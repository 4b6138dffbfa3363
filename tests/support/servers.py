"""Real servers for integration tests: a redis-server per test (or session, worker/redis_server.py) and
celery workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from worker.redis_server import RedisServer  # noqa: F401  (the tests' Redis: the one embedded mode runs)

#: Seconds any server gets to come up before the test fails.
START_TIMEOUT = 15.0
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class CeleryWorker:
    """`celery -A tasks worker` (prefork) as a real subprocess, logging task results to `log_path`. `app`:
    another worker app module (a test's, under tests/support)."""

    def __init__(self, env: dict[str, str], name: str, concurrency: int, log_path: str, queue: str,
                 app: str = "tasks"):
        self.name = name
        self.log_path = log_path
        self._terminated = False
        argv = [sys.executable, "-m", "celery", "-A", app, "worker", "--pool", "prefork",
                "--concurrency", str(concurrency), "--hostname", name, "--queues", queue,
                "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=REPO, start_new_session=True)

    def wait_ready(self, app, timeout: float = START_TIMEOUT) -> None:
        """Ping the worker by name until it answers (Celery's own integration tests do the same)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"worker {self.name} exited: {self.log_tail()}"
            if app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise AssertionError(f"worker {self.name} did not answer ping within {timeout} s: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        with open(self.log_path, errors="replace") as log:
            return log.read()[-chars:]

    def tasks_succeeded(self, at_least: int = 0, timeout: float = 10.0) -> int:
        """Chunk tasks this worker logged as succeeded, waiting (bounded) until there are `at_least`: the
        log line comes just after the result is stored, so a finished job may be a moment ahead of it."""
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, errors="replace") as log:
                count = sum(1 for line in log if "hashfleet.hash_chunk" in line and "succeeded" in line)
            if count >= at_least or time.monotonic() > deadline:
                return count
            time.sleep(0.05)

    def terminate(self) -> None:
        """SIGTERM (Celery's warm shutdown), once, without waiting: :func:`stop_workers` sends it to all first."""
        if self.proc.poll() is None and not self._terminated:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self._terminated = True

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)


def stop_workers(workers: list[CeleryWorker]) -> None:
    """Stop `workers` at the same time: a warm shutdown takes 0.7-0.9 s, and one after another that was a
    test's teardown."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.stop()


def processes_with_env(marker: str) -> list[str]:
    """Live processes whose environment holds `marker` (set by a test: inherited by all its children)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if marker.encode() not in handle.read():
                    continue
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{pid}: {cmdline}")
        except OSError:
            continue
    return found


def marked_env(**extra: str) -> tuple[dict[str, str], str]:
    """clean_env plus a unique marker variable, to find every process a command leaves behind."""
    marker = f"HASHFLEET_TEST_MARKER_{uuid.uuid4().hex}"
    return clean_env(**{marker: "1"}, **extra), marker


def hashfleet(args: list[str], env: dict[str, str] | None = None, timeout: float = 120,
              cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "producer", *args], env=env, cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout, errors="replace")


#: Job manifests written by the tests' producers go here, not into the user's ~/.cache.
TEST_JOBS_DIR = os.path.join(tempfile.gettempdir(), f"hashfleet-test-jobs-{os.getuid()}")


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without any HASHFLEET_* (so a developer's settings never leak in), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHFLEET_")}
    env["HASHFLEET_JOBS_DIR"] = TEST_JOBS_DIR
    env.update(extra)
    return env


def wait_until(check, timeout: float, what: str):
    """The first truthy value of `check()`, polled every 50 ms; fails saying `what` was not seen in time."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.05)
    return value

"""Measurement hygiene: CPU used by *other* processes during a timed run, and the code version under test.

The benchmark machine may be shared (other sessions running tests on the same 2 cores). For every timed
run we take the machine's busy CPU time from /proc/stat and subtract what the benchmark's own process tree
used (this process, its waited-for children, the warm workers with their pool children, our redis-server).
What is left is "foreign" CPU; a run where it exceeds CONTENDED_SHARE of the machine is flagged and retried,
and before every run we wait (bounded) for a quiet window.
The approximation errs towards "foreign" (e.g. a pool child killed before its parent reaped it), never
towards hiding contention.

The code under test is the editable install in the repository; if its sources change during a run (someone
editing tasks/), warm workers keep the old code while embedded runs import the new one, so the report
says so.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import resource
import subprocess
import time

#: Share of the machine's CPU (wall x cores) used by other processes above which a run is "contended".
CONTENDED_SHARE = 0.05
#: Before a run, wait until other processes used under CONTENDED_SHARE during one window of this many s ...
QUIET_WINDOW = 1.0
#: ... for at most this long (then run anyway; the run is measured and flagged as usual).
QUIET_MAX_WAIT = 300.0
#: /proc/stat cpu fields (after the label) that count as busy: user nice system irq softirq steal.
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)
_TICKS = os.sysconf("SC_CLK_TCK")
#: /proc/PID/stat fields (0-based, after splitting past the command) utime stime cutime cstime.
_PROC_CPU_FIELDS = slice(11, 15)
SOURCE_DIRS = ("tasks", "producer", "worker")


def system_busy() -> float:
    """Seconds of busy CPU (all cores) since boot."""
    with open("/proc/stat") as handle:
        fields = handle.readline().split()[1:]
    return sum(int(fields[i]) for i in _BUSY_FIELDS) / _TICKS


def process_cpu(pid: int) -> float:
    """utime + stime of `pid` and its reaped children, in seconds; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            rest = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in rest[_PROC_CPU_FIELDS]) / _TICKS


def _own_cpu() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


class CpuMeter:
    """`start()`, run, `stop()` -> (share of the machine other processes used meanwhile, CPU seconds
    our own process tree used meanwhile)."""

    def __init__(self, service_pids, max_wait: float = QUIET_MAX_WAIT) -> None:
        self._service_pids = service_pids  # callable -> list of long-running pids of ours
        self._cores = len(os.sched_getaffinity(0))
        self._max_wait = max_wait

    def start(self) -> None:
        self._pids = list(self._service_pids())
        self._t0 = time.perf_counter()
        self._busy0 = system_busy()
        self._own0 = _own_cpu() + sum(process_cpu(p) for p in self._pids)

    def stop(self) -> tuple[float, float]:
        pids = set(self._pids) | set(self._service_pids())
        own = _own_cpu() + sum(process_cpu(p) for p in pids) - self._own0
        busy = system_busy() - self._busy0
        wall = time.perf_counter() - self._t0
        return max(0.0, busy - own) / (wall * self._cores), own

    def wait_quiet(self) -> float:
        """Sleep until one QUIET_WINDOW passes with other processes under CONTENDED_SHARE (at most
        the meter's `max_wait`, QUIET_MAX_WAIT unless told). Returns the seconds waited."""
        started = time.perf_counter()
        while time.perf_counter() - started < self._max_wait:
            self.start()
            time.sleep(QUIET_WINDOW)
            if self.stop()[0] <= CONTENDED_SHARE:
                break
        return time.perf_counter() - started


def code_fingerprint(repo: str) -> str:
    """Digest of every .py file under the package folders (what workers import)."""
    digest = hashlib.sha256()
    for folder in SOURCE_DIRS:
        for root, dirs, files in os.walk(os.path.join(repo, folder)):
            dirs.sort()
            for name in sorted(f for f in files if f.endswith(".py")):
                with open(os.path.join(root, name), "rb") as handle:
                    digest.update(name.encode() + handle.read())
    return digest.hexdigest()[:16]


def git_state(repo: str) -> str:
    """`HEAD` commit and the list of modified files (the benchmark runs the working tree as it is)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True).stdout

    dirty = [line[3:] for line in git("status", "--porcelain").splitlines() if line.strip()]
    head = git("rev-parse", "--short", "HEAD").strip()
    return head + (f" + uncommitted: {', '.join(dirty)}" if dirty else "")


@contextlib.contextmanager
def exclusive(out_dir: str):
    """Hold a lock file in `out_dir` for the whole run: a second benchmark or profile started meanwhile
    waits here instead of timing against this one (and wiping its work folder)."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, ".lock"), "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            print(f"another benchmark holds {handle.name} ({handle.read().strip()}); waiting", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield

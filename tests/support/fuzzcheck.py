"""What a fuzz run must show, measured: every pool process's peak memory (VmHWM from /proc, sampled while the
job runs), the job's records against the files it was given, and what the worker log says happened.

Shared by `python -m bench.fuzz` and tests/integration/test_fuzzed_inputs.py.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter

from support.fuzzgen import FuzzFile
from support.procstat import children, peak_rss_kib

#: Seconds between /proc samples (a pool process lives at least one chunk, far longer).
SAMPLE_PERIOD = 0.02
#: Worker log lines that count what happened: the hang watchdog, a lost pool process, an `internal` record.
#: (billiard's own line for a process replaced over worker_max_memory_per_child does not reach the worker
#: log: PeakRss counts replaced processes instead.)
LOG_EVENTS = {"hung": "ending this worker process", "worker-lost": "WorkerLostError",
              "internal": "internal error hashing"}


class PeakRss:
    """Samples the peak RSS of every descendant of `root` (a Celery worker's pool processes, and the
    children isolation mode forks) until stopped; a context manager."""

    def __init__(self, root: int):
        self.root = root
        self.peaks: dict[int, int] = {}
        #: The pool processes among them (the worker's own children; the rest are isolation's forks).
        self.pool: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(SAMPLE_PERIOD)

    def sample(self) -> None:
        pending = children(self.root)
        self.pool.update(pending)
        while pending:
            pid = pending.pop()
            self.peaks[pid] = max(self.peaks.get(pid, 0), peak_rss_kib(pid))
            pending += children(pid)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def replaced(self, concurrency: int) -> int:
        """Pool processes started beyond the first `concurrency`: replaced after going over
        worker_max_memory_per_child, or lost."""
        return max(0, len(self.pool) - concurrency)

    @property
    def max_mib(self) -> float:
        return max(self.peaks.values(), default=0) / 1024


def memory_bound_mib(worker_memory_limit: int, max_pixels: int, largest_file: int) -> float:
    """The most a pool process may hold: it starts a chunk below `worker_memory_limit` (MiB; over it, it
    would have been replaced), then holds one file's bytes and one decode at a time, at most
    WORST_BYTES_PER_PIXEL per pixel of the pixel limit."""
    return worker_memory_limit + (WORST_BYTES_PER_PIXEL * max_pixels + largest_file) / 2**20


#: Peak bytes per pixel of the costliest decode and hash measured: a 16-bit RGBA PNG or TIFF on the
#: robust path (uint16 image, float32 copy, gray and alpha composite), 40.1 (docs/robustness.md).
WORST_BYTES_PER_PIXEL = 41


@dataclasses.dataclass
class Tally:
    """The records of a run against its files: counts per reason and per source format and reason."""

    reasons: Counter
    by_format: dict[str, Counter]
    missing: list[str]
    unexpected: list[str]
    duplicates: list[str]


def tally(rows, files: list[FuzzFile]) -> Tally:
    """Compare output rows (dicts with `path` and `error`) with the files the job was given."""
    fmt_of = {f.path: f.fmt for f in files}
    seen: Counter = Counter()
    reasons: Counter = Counter()
    by_format: dict[str, Counter] = {}
    for row in rows:
        path, reason = row["path"], row["error"] or "hashed"
        seen[path] += 1
        reasons[reason] += 1
        by_format.setdefault(fmt_of.get(path, "?"), Counter())[reason] += 1
    return Tally(reasons, by_format, sorted(set(fmt_of) - set(seen)), sorted(set(seen) - set(fmt_of)),
                 sorted(p for p, n in seen.items() if n > 1))


def log_events(log_path: str) -> Counter:
    """How often each of LOG_EVENTS shows in a worker log."""
    counts: Counter = Counter()
    with open(log_path, errors="replace") as handle:
        for line in handle:
            for event, needle in LOG_EVENTS.items():
                if needle in line:
                    counts[event] += 1
    return counts

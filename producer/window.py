"""How many chunks a job keeps queued ahead of the fleet, and which chunk goes out next.

A job's chunks are published a window at a time: at most `size` are in flight (sent, not yet drained,
producer/drained.py), and each finished chunk makes room for the next. The broker then holds a number of
messages set by the fleet, not by the job. Workers take one message per pool process beyond the one they
run (`worker_prefetch_multiplier=1`), so WINDOW_PER_PROCESS chunks per process keep every process busy with
two to spare for the producer's reaction time.

Chunks are sent in chunk order, and the highest number sent so far is kept in `<job>.sent` beside the
job's drained results: a `wait` in another process takes the unfinished chunks below it as in flight and
sends only the rest.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator

#: Chunks in flight per worker pool process.
WINDOW_PER_PROCESS = 4
#: Fewest chunks in flight, whatever the fleet (a window this small costs the broker nothing).
WINDOW_MIN = 64
#: Chunks in flight when the fleet's size is unknown (no answer to the probe, no HASHFLEET_FLEET_PROCESSES).
WINDOW_UNKNOWN_FLEET = 1024
#: Seconds between two writes of a job's sent mark (one write per top-up would be hundreds a second).
SENT_MARK_INTERVAL = 1.0


def window_size(setting: int | None, processes: int | Callable[[], int | None] | None, chunks: int) -> int:
    """HASHFLEET_WINDOW if set, else from the fleet's pool `processes` (a number, or a function that asks
    the workers, called only when the job has more chunks than WINDOW_MIN)."""
    if setting:
        return setting
    if chunks <= WINDOW_MIN:
        return WINDOW_MIN
    if callable(processes):
        processes = processes()
    if not processes:
        return WINDOW_UNKNOWN_FLEET
    return max(WINDOW_MIN, WINDOW_PER_PROCESS * processes)


class SentMark:
    """The number of chunks sent so far in chunk order (chunks below it were published), kept in a file at
    most every SENT_MARK_INTERVAL seconds: a mark that lags only makes a `wait` send a few chunks twice
    (harmless), one ahead would make it wait for chunks never sent, so it is never written ahead."""

    def __init__(self, path: str | None):
        self.path = path
        self.value = self._written = 0
        self._written_at = 0.0
        if path is not None and os.path.exists(path):
            with open(path, encoding="ascii") as handle:
                self.value = self._written = int(handle.read().strip() or 0)

    def advance(self, value: int) -> None:
        if value <= self.value:
            return
        self.value = value
        if time.monotonic() - self._written_at >= SENT_MARK_INTERVAL:
            self.flush()

    def flush(self) -> None:
        """Write the mark now (if it moved)."""
        if self.path is None or self.value == self._written:
            return
        with open(self.path + ".tmp", "w", encoding="ascii") as handle:
            handle.write(f"{self.value}\n")
        os.replace(self.path + ".tmp", self.path)
        self._written, self._written_at = self.value, time.monotonic()


class ChunkWindow:
    """The chunks of a job still to hash: `todo` (chunk numbers, ascending, a lazy iterator) sent at most
    `size` at a time; `adopted` are taken as already sent (a `wait` picking up another process's job)."""

    def __init__(self, todo: Iterable[int] | None, size: int, mark: SentMark | None = None,
                 adopted: Iterable[int] = ()):
        self.size = size
        self.mark = mark or SentMark(None)
        self._todo: Iterator[int] = iter(todo or ())
        self.in_flight: set[int] = set(adopted)
        self.exhausted = todo is None  # None: nothing to send but the adopted chunks

    def take(self) -> list[int]:
        """Chunks to send now to fill the window (recorded as sent once the caller has sent them)."""
        room = self.size - len(self.in_flight)
        if room <= 0 or self.exhausted:
            return []
        batch = list(itertools.islice(self._todo, room))
        if len(batch) < room:
            self.exhausted = True
        self.in_flight.update(batch)
        return batch

    def sent(self, batch: list[int]) -> None:
        """`batch` (from :meth:`take`) is published."""
        if batch:
            self.mark.advance(max(batch) + 1)

    def done(self, chunk: int) -> None:
        self.in_flight.discard(chunk)

    @property
    def finished(self) -> bool:
        """Every chunk sent and done."""
        return self.exhausted and not self.in_flight

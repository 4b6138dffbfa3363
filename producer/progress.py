"""Progress: a live bar on a terminal (rich), plain periodic lines otherwise (logs, CI, pipes)."""

from __future__ import annotations

import sys
import time


class JobProgress:
    """Counts images done and errors; shows images/s and ETA."""

    def __init__(self, total: int, interval: float, stream=None, interactive: bool | None = None):
        self.interval = interval
        self.total = total
        self.done = 0
        self.errors = 0
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.started = time.monotonic()
        self._last_line = self.started
        self._bar = None

    def __enter__(self) -> JobProgress:
        if self.interactive:  # rich is loaded only for a terminal
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("hashing"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:>8.1f} img/s"), TextColumn("{task.fields[errors]} errors"),
                TextColumn("ETA"), TimeRemainingColumn(),
                console=Console(file=self.stream), transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("hash", total=self.total, rate=0.0, errors=0)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, files: int, errors: int) -> None:
        self.done += files
        self.errors += errors
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, rate=self.rate, errors=self.errors)
        elif time.monotonic() - self._last_line >= self.interval or self.done == self.total:
            self._last_line = time.monotonic()
            eta = (self.total - self.done) / self.rate if self.rate else float("inf")
            print(f"hashed {self.done}/{self.total} images, {self.rate:.1f} img/s, {self.errors} errors, "
                  f"ETA {eta:.0f} s", file=self.stream, flush=True)

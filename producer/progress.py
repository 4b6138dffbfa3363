"""Progress: a live bar on a terminal (rich), plain periodic lines otherwise (logs, CI, pipes)."""

from __future__ import annotations

import sys
import time

#: What a rate is shown in, per unit counted.
RATE_UNITS = {"images": "img/s", "videos": "videos/s", "files": "files/s"}


def progress_unit(images: int, videos: int) -> str:
    """What a job's progress counts: "images", "videos", or "files" when it holds both."""
    if videos and images:
        return "files"
    return "videos" if videos else "images"


class JobProgress:
    """Counts files done (images, videos or both: `unit`) and errors; shows the rate and ETA."""

    def __init__(self, total: int, interval: float, stream=None, interactive: bool | None = None,
                 unit: str = "images"):
        self.interval = interval
        self.total = total
        self.unit = unit
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
                TextColumn(f"{{task.fields[rate]:>8.1f}} {RATE_UNITS[self.unit]}"),
                TextColumn("{task.fields[errors]} errors"),
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
            print(f"hashed {self.done}/{self.total} {self.unit}, {self.rate:.1f} {RATE_UNITS[self.unit]}, "
                  f"{self.errors} errors, ETA {eta:.0f} s", file=self.stream, flush=True)

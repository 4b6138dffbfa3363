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
    """Counts files done (images, videos or both: `unit`) and errors; shows the rate and ETA. With `tasks`
    (a job with videos: a video counts as done only when its last segment is) it counts the tasks too, one
    per :meth:`advance`, and the bar and the ETA follow them: one long film is many tasks and one video."""

    def __init__(self, total: int, interval: float, stream=None, interactive: bool | None = None,
                 unit: str = "images", tasks: int = 0):
        self.interval = interval
        self.total = total
        self.unit = unit
        self.tasks = tasks
        self.tasks_done = 0
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

            counts = (TextColumn(f"{{task.fields[done]}}/{self.total} {self.unit},"), MofNCompleteColumn(),
                      TextColumn("tasks")) if self.tasks else (MofNCompleteColumn(),)
            self._bar = Progress(
                TextColumn("hashing"), BarColumn(), *counts,
                TextColumn(f"{{task.fields[rate]:>8.1f}} {RATE_UNITS[self.unit]}"),
                TextColumn("{task.fields[errors]} errors"),
                TextColumn("ETA"), TimeRemainingColumn(),
                console=Console(file=self.stream), transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("hash", total=self.tasks or self.total, rate=0.0, errors=0, done=0)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, files: int, errors: int) -> None:
        """One task finished, holding `files` finished files and `errors` of them."""
        self.done += files
        self.errors += errors
        self.tasks_done += 1
        if self._bar is not None:
            self._bar.update(self._task, completed=self.tasks_done if self.tasks else self.done, rate=self.rate,
                             errors=self.errors, done=self.done)
        elif time.monotonic() - self._last_line >= self.interval or self.done == self.total:
            self._last_line = time.monotonic()
            print(f"hashed {self.done}/{self.total} {self.unit}"
                  + (f" ({self.tasks_done}/{self.tasks} tasks)" if self.tasks else "")
                  + f", {self.rate:.1f} {RATE_UNITS[self.unit]}, {self.errors} errors, ETA {self._eta():.0f} s",
                  file=self.stream, flush=True)

    def _eta(self) -> float:
        done, total = (self.tasks_done, self.tasks) if self.tasks else (self.done, self.total)
        elapsed = time.monotonic() - self.started
        return (total - done) * elapsed / done if done else float("inf")

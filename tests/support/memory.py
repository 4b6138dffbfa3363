"""Peak Python memory of a piece of work, for tests that a job's memory does not grow with its size."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def traced_peak(work: Callable[[], T]) -> tuple[T, int]:
    """(what `work()` returns, the peak of memory Python allocated while it ran, in bytes)."""
    tracemalloc.start()
    try:
        return work(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

"""Set-up of each prefork pool process; the worker app connects :func:`init_pool_process` to Celery's
`worker_process_init` signal (tasks/app.py)."""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (no-op off Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def init_pool_process(**_kwargs) -> None:
    """Pin OpenCV to one thread in this pool process, and make it die with its worker.

    Celery already runs one process per core; OpenCV's own thread pool would start another N threads in
    each of them, oversubscribing the cores (N x N threads fighting over N cores), thrashing caches and
    making per-image time erratic. Parallelism belongs to the pool, not to each decode. A pool process
    whose worker died is useless and would hold its chunk's files open.
    """
    import cv2

    cv2.setNumThreads(1)
    die_with_parent()

"""Per-process worker set-up. Imported by `tasks` before anything imports cv2.

OpenCV reads OPENCV_IO_MAX_IMAGE_PIXELS once, when the library loads, so the pixel limit from
HASHFLEET_MAX_PIXELS must be in the environment before the first `import cv2`.
"""

from __future__ import annotations

import os

from celery.signals import worker_process_init

from tasks.errors import ConfigError
from tasks.settings import DEFAULT_MAX_PIXELS, Settings
from worker.procs import die_with_parent


def _max_pixels() -> int:
    try:
        return Settings.from_env().max_pixels
    except ConfigError:  # reported when the app is built; never at import
        return DEFAULT_MAX_PIXELS


os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(_max_pixels()))
# The robust hash's area average is a small matrix product: one BLAS thread per process, for the same
# reason as one OpenCV thread (see below). Must be set before numpy is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


@worker_process_init.connect
def one_opencv_thread_per_process(**_kwargs) -> None:
    """Pin OpenCV to one thread in each prefork child.

    Celery already runs one process per core; OpenCV's own thread pool would start another N threads in
    each of them, oversubscribing the cores (N x N threads fighting over N cores), thrashing caches and
    making per-image time erratic. Parallelism belongs to the pool, not to each decode.
    """
    import cv2

    cv2.setNumThreads(1)
    # A pool child whose worker died is useless and would hold the chunk's files open: die with it.
    die_with_parent()

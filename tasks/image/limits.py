"""What must hold before the decoders load: OpenCV's pixel limit and one BLAS thread per process.

OpenCV reads OPENCV_IO_MAX_IMAGE_PIXELS once, when the library loads, and OpenBLAS/OpenMP read their thread
counts when numpy loads, so both are environment variables that must be set before the first `import cv2`
or `import numpy`. The worker app (:func:`tasks.app.create_worker_app`) and the commands that decode here
(`search`, `report`: producer/cli/near.py) set them from Settings before they import a decoder;
tasks/image/decode.py calls :func:`prepare_decoders` before its own imports, so a library user (a test, a
benchmark) gets the same defaults. No numpy and no OpenCV here.
"""

from __future__ import annotations

import os

from tasks.settings import DEFAULT_MAX_PIXELS

#: OpenCV's own limit on width x height for a full decode (it refuses bigger images before allocating).
PIXEL_LIMIT_VAR = "OPENCV_IO_MAX_IMAGE_PIXELS"
#: One BLAS/OpenMP thread per process: the robust hash's area average is a small matrix product, and
#: Celery already runs one process per core; a thread pool in each would oversubscribe the cores.
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def prepare_decoders(max_pixels: int | None = None) -> int:
    """Set the pixel limit (`max_pixels`, else whatever valid limit the environment already holds, else
    HASHFLEET_MAX_PIXELS's default) and one BLAS thread; return the pixel limit in force.

    Takes effect only if cv2 and numpy are not loaded yet in this process."""
    if max_pixels is None:
        current = os.environ.get(PIXEL_LIMIT_VAR, "")
        max_pixels = int(current) if current.isdigit() and int(current) > 0 else DEFAULT_MAX_PIXELS
    os.environ[PIXEL_LIMIT_VAR] = str(max_pixels)
    for var in THREAD_VARS:
        os.environ.setdefault(var, "1")
    return max_pixels

"""Index a video segment in a forked child, killed after a time limit: what a task does once its worker
process has died on it twice (a decoder that crashes or spins; tasks/watchdog.py explains the scheme for
images). The child hands its record back through a pipe as packed bytes (tasks/video/wire.py)."""

from __future__ import annotations

import os
import select
import signal
import time

from tasks.errors import FileError
from tasks.video.segment import SegmentResult, index_segment
from tasks.video.wire import segment_bytes, segment_from_bytes

#: Bytes read from the child per read call.
READ_SIZE = 1 << 16


def index_segment_isolated(path: str, start: float, end: float | None, fps: float, allowed_roots: tuple[str, ...],
                           max_pixels: int, limit: float) -> SegmentResult:
    """:func:`tasks.video.segment.index_segment` in a child: `timeout` when it takes over `limit` seconds,
    `worker-crashed` when it dies without an answer."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: index, report, exit without running the parent's cleanup
        try:
            os.close(read_end)
            data = segment_bytes(index_segment(path, start, end, fps, allowed_roots, max_pixels))
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
        finally:
            os._exit(0)
    os.close(write_end)
    chunks, deadline, finished = [], time.monotonic() + limit, False
    try:
        while True:
            ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            data = os.read(read_end, READ_SIZE)
            if not data:
                finished = True
                break
            chunks.append(data)
    finally:
        os.close(read_end)
        if not finished:
            _kill(pid)
        os.waitpid(pid, 0)
    if not finished:
        return SegmentResult(FileError.TIMEOUT)
    try:
        return segment_from_bytes(b"".join(chunks))
    except ValueError:  # died part-way through its answer
        return SegmentResult(FileError.WORKER_CRASHED)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

"""Protection against files that hang or crash the decoder, which no Python exception can catch.

Normal mode costs nothing per file: a watchdog thread in each pool process checks how long the current
file has been decoding, and ends the process when it exceeds HASHFLEET_FILE_TIMEOUT. Celery then sees a
lost worker and re-sends the chunk (`retry_on_worker_lost`, with a retry count); before it ends the
process, the watchdog calls `on_hang`, where the chunk task records that its next attempt is isolated. A
chunk whose attempts keep dying without progress (tasks/chunk.py) is hashed in isolation too: every file in
a forked child with the same time limit, so the one bad file becomes an error record (timeout /
worker-crashed) and the rest are hashed; its progress is kept (tasks/checkpoint.py), so a chunk killed
from outside resumes instead of restarting.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import threading
import time

from tasks.batch import Outcome, hash_one
from tasks.errors import FileError
from tasks.image.algos import parse_algos, row_bytes
from tasks.wire import MAX_WIRE_SIZE, ChunkResult, empty_result

#: Exit status of a pool process ended by the watchdog (shows in the worker log).
EXIT_HUNG = 70
#: Watchdog polling period, seconds (a hung file is noticed within this of its limit).
WATCH_PERIOD = 0.25


class Watchdog:
    """Ends this process when one file takes longer than `limit` seconds. One per pool process."""

    def __init__(self, limit: float):
        self.limit = limit
        self._started: float | None = None
        self._path: str | None = None
        thread = threading.Thread(target=self._watch, name="hashfleet-watchdog", daemon=True)
        thread.start()

    #: Called (from the watchdog's thread) just before it ends the process: the chunk task records there
    #: that its next attempt must be isolated.
    on_hang = None

    def __call__(self, path: str | None) -> None:
        """Mark the start of `path` (None: between files)."""
        self._path = path
        self._started = time.monotonic() if path is not None else None

    def _watch(self) -> None:
        while True:
            time.sleep(WATCH_PERIOD)
            started = self._started
            if started is not None and time.monotonic() - started > self.limit:
                os.write(2, f"hashfleet: {self._path!r} took over {self.limit:g} s; ending this worker "
                            f"process so the chunk is retried in isolation\n".encode(errors="replace"))
                on_hang = self.on_hang
                if on_hang is not None:
                    try:
                        on_hang()
                    except Exception:  # noqa: BLE001 (the process must end either way; the retry copes)
                        pass
                os._exit(EXIT_HUNG)


_watchdog: Watchdog | None = None


def watchdog(limit: float) -> Watchdog:
    """This process's watchdog, started on first use."""
    global _watchdog
    if _watchdog is None or _watchdog.limit != limit:
        _watchdog = Watchdog(limit)
    return _watchdog


_RECORD = struct.Struct("<BIIBII")  # code, size, mtime, quality, width, height; followed by the hash bytes


def hash_files_isolated(paths: list[str], algo: str, hash_size: int, allowed_roots: tuple[str, ...],
                        limit: float, result: ChunkResult | None = None, start: int = 0,
                        on_file=None) -> ChunkResult:
    """Hash each file from `start` on in its own forked child, killed after `limit` seconds, into `result`
    (default: a new one); `on_file(done)` is called after each file."""
    algos = parse_algos(algo)
    result = empty_result(len(paths), row_bytes(algos, hash_size)) if result is None else result
    for index in range(start, len(paths)):
        result.put(index, *_hash_in_child(paths[index], algos, hash_size, allowed_roots, limit))
        if on_file is not None:
            on_file(index + 1)
    return result


def _hash_in_child(path, algos, hash_size, allowed_roots, limit) -> Outcome:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: hash, report, exit without running the parent's cleanup
        try:
            os.close(read_end)
            got = hash_one(path, algos, hash_size, allowed_roots)
            record = _RECORD.pack(int(got.code), min(got.size, MAX_WIRE_SIZE), min(max(got.mtime, 0), MAX_WIRE_SIZE),
                                  got.quality, min(got.width, MAX_WIRE_SIZE), min(got.height, MAX_WIRE_SIZE))
            os.write(write_end, record + (got.packed or b""))
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], limit)
        data = os.read(read_end, 1 << 16) if ready else b""
    finally:
        os.close(read_end)
        if not data:
            _kill(pid)
        os.waitpid(pid, 0)
    if not ready:
        return Outcome(None, FileError.TIMEOUT, 0, 0)
    if len(data) < _RECORD.size:
        return Outcome(None, FileError.WORKER_CRASHED, 0, 0)
    code, size, mtime, quality, width, height = _RECORD.unpack_from(data)
    return Outcome(data[_RECORD.size:] or None, FileError(code), size, mtime, quality, width, height)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

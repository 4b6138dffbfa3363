"""Chunk results drained out of the result backend into a local file, so Redis holds only the window's.

A finished chunk's packed data (tasks/store.py) is read by the producer that follows the job, appended here
and then deleted from Redis: what the broker holds is bounded by the window of chunks in flight
(producer/window.py), not by the job. The file is `<job>.results` beside the job's chunk spool (in
HASHFLEET_JOBS_DIR for a cluster job), one line per chunk, `<chunk number> <base64 msgpack payload>`, in
the order chunks finished (`<chunk number>v ...` for an image chunk holding files that are videos by their
content, so they are found without unpacking every chunk: producer/video/bycontent.py); `wait` and `resume`
in another process open it and go on. A line is written (and flushed) before its Redis keys are deleted, so
a producer killed in between leaves the chunk in both places, never in neither; a line cut short by a kill
is dropped when the file is opened again.

Memory: one offset (8 bytes) per chunk of the job, about 31 kB per million files at 256 files per chunk.
"""

from __future__ import annotations

import base64
import os
from array import array

import msgpack

from tasks.ids import checkpoint_id, chunk_task_id, data_id
from tasks.store import forget_results, iter_stored_data

#: Offset of a chunk that has no line yet.
MISSING = -1


class DrainedResults:
    """The drained chunks of one job of `chunks` chunks: :meth:`add` while following, :meth:`payload` after."""

    def __init__(self, path: str, chunks: int, *, temporary: bool = False):
        self.path, self.temporary = path, temporary
        self._offsets = array("q", [MISSING]) * chunks
        self.count = 0
        #: Chunks whose payload counts files that are videos by their content (tasks/chunk.py).
        self.video_chunks: set[int] = set()
        #: Lines of chunk numbers past `chunks` (an earlier process grew the job: :meth:`grow`): number ->
        #: (offset, marked as holding videos). Empty but for a job whose videos were found by content.
        self._beyond: dict[int, tuple[int, bool]] = {}
        end = self._scan() if os.path.exists(path) else 0
        self._writer = open(path, "ab")  # noqa: SIM115 (appended to while the job is followed; see close)
        self._writer.truncate(end)  # a line cut short by a killed producer
        self._end = end
        self._reader = None

    def _scan(self) -> int:
        """Index the lines already in the file; returns where the last complete line ends."""
        end = 0
        with open(self.path, "rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break
                head = line[:line.index(b" ")]
                chunk = int(head.rstrip(b"v"))
                if 0 <= chunk < len(self._offsets):
                    self._index(chunk, end, head.endswith(b"v"))
                elif chunk >= 0:
                    self._beyond[chunk] = end, head.endswith(b"v")
                end += len(line)
        return end

    def _index(self, chunk: int, offset: int, videos: bool) -> None:
        if self._offsets[chunk] == MISSING:
            self.count += 1
        self._offsets[chunk] = offset
        if videos:
            self.video_chunks.add(chunk)

    def grow(self, chunks: int) -> None:
        """Make room for a job grown to `chunks` tasks (videos found by content: producer/video/bycontent.py);
        lines already in the file for the new numbers (an earlier process drained them) count."""
        if chunks <= len(self._offsets):
            return
        self._offsets.extend(array("q", [MISSING]) * (chunks - len(self._offsets)))
        for chunk in [c for c in self._beyond if c < chunks]:
            self._index(chunk, *self._beyond.pop(chunk))

    def __contains__(self, chunk: int) -> bool:
        return self._offsets[chunk] != MISSING

    def __len__(self) -> int:
        return len(self._offsets)

    def add(self, chunk: int, payload: dict) -> None:
        """Append chunk `chunk`'s payload (call :meth:`flush` before deleting it from the backend)."""
        if chunk in self:
            return  # a chunk that ran twice: the same data
        mark = b"v" if payload.get("videos") else b""
        line = b"%d%s " % (chunk, mark) + base64.b64encode(msgpack.packb(payload)) + b"\n"
        self._writer.write(line)
        self._index(chunk, self._end, bool(mark))
        self._end += len(line)

    def flush(self) -> None:
        """Hand what :meth:`add` wrote to the OS: it survives the producer being killed from now on."""
        self._writer.flush()

    def payload(self, chunk: int) -> dict:
        """The payload drained for `chunk` (KeyError if it has none)."""
        start = self._offsets[chunk]
        if start == MISSING:
            raise KeyError(chunk)
        self.flush()
        if self._reader is None:
            self._reader = open(self.path, "rb")  # noqa: SIM115 (kept for the next read; see close)
        self._reader.seek(start)
        line = self._reader.readline()
        return msgpack.unpackb(base64.b64decode(line[line.index(b" ") + 1:-1]))

    def close(self) -> None:
        """Close the file (and remove it, if `temporary`)."""
        for handle in (self._writer, self._reader):
            if handle is not None:
                handle.close()
        self._writer = self._reader = None
        if self.temporary and os.path.exists(self.path):
            os.remove(self.path)


#: Seconds to wait for a finished chunk's data. A worker stores it before the chunk's result, so it is
#: there unless the backend lost it (Redis restarted without persistence between the poll and the drain) or
#: is restarting: then celery.exceptions.TimeoutError, and the follow loop ends the job as lost when its marker
#: is gone too, else drains again on its next round (adding a chunk twice adds it once).
DRAIN_TIMEOUT = 5.0


def drain_chunks(backend, job_id: str, results: DrainedResults, chunks: list[int]) -> None:
    """Move finished `chunks`' data from the backend into `results`: read a batch at a time, append, flush,
    then delete their keys (task result, data, isolation progress) in one DEL."""
    task_ids = [chunk_task_id(job_id, i) for i in chunks]
    data_ids = [data_id(t) for t in task_ids]
    for chunk, payload in zip(chunks, iter_stored_data(backend, data_ids, timeout=DRAIN_TIMEOUT), strict=True):
        results.add(chunk, payload)
    results.flush()
    forget_results(backend, task_ids + data_ids + [checkpoint_id(t) for t in task_ids])

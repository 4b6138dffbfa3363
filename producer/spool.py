"""A job's chunk blobs kept in a file, one line each, so the producer holds only their offsets.

The blobs (tasks/pathblob.py: base64, no newline inside) are what a job sends and re-sends; at millions of
files they outgrow the rest of the producer. They are appended while the walk runs, read back one by one
to publish, and in order to write the outputs. The same file is the job's chunk list in its manifest.
Chunks an incremental run reuses from an index are spooled the same way (:class:`ReusedChunks`).
"""

from __future__ import annotations

import base64
from array import array
from collections.abc import Iterator, Mapping, Sequence

import msgpack

#: The key a video task's payload is stored under (an image chunk's payload never has it).
VIDEO_TASK = "video_task"


class ChunkSpool(Sequence):
    """Blobs appended with :meth:`append`, read like a list of str."""

    def __init__(self, path: str, offsets: array):
        self.path = path
        self._offsets = offsets  # start of each line, and the end of the last
        self._writer = None
        self._reader = None

    @classmethod
    def create(cls, path: str) -> ChunkSpool:
        """A new, empty spool at `path` (which must not exist)."""
        spool = cls(path, array("q", [0]))
        spool._writer = open(path, "xb")  # noqa: SIM115 (held open while the walk appends)
        return spool

    @classmethod
    def open(cls, path: str) -> ChunkSpool:
        """The spool a finished walk wrote at `path`."""
        offsets = array("q", [0])
        with open(path, "rb") as handle:
            for line in handle:
                offsets.append(offsets[-1] + len(line))
        return cls(path, offsets)

    @classmethod
    def write(cls, path: str, blobs) -> None:
        """A complete spool of `blobs` at `path`."""
        spool = cls.create(path)
        for blob in blobs:
            spool.append(blob)
        spool.close()

    def append(self, blob: str) -> None:
        """Add a blob at the end (a closed spool is opened again for it: :meth:`close` it once more)."""
        if self._writer is None:
            self._writer = open(self.path, "ab")  # noqa: SIM115 (held open while blobs are appended)
        line = blob.encode("ascii") + b"\n"
        self._writer.write(line)
        self._offsets.append(self._offsets[-1] + len(line))

    def close(self) -> None:
        """Stop appending (the file is complete) and release the reader."""
        for handle in (self._writer, self._reader):
            if handle is not None:
                handle.close()
        self._writer = self._reader = None

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index: int) -> str:
        if not isinstance(index, int):
            raise TypeError("chunk spools are indexed by chunk number")
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        start, end = self._offsets[index], self._offsets[index + 1]
        self._read_handle().seek(start)
        return self._reader.read(end - start - 1).decode("ascii")

    def __iter__(self) -> Iterator[str]:
        if self._writer is not None:
            self._writer.flush()
        with open(self.path, "rb") as handle:
            for _ in range(len(self)):
                yield handle.readline()[:-1].decode("ascii")

    def _read_handle(self):
        if self._writer is not None:
            self._writer.flush()
        if self._reader is None:
            self._reader = open(self.path, "rb")  # noqa: SIM115 (kept for the next read; see close)
        return self._reader


class ReusedChunks(Mapping):
    """Chunks reused from an index (chunk number -> its ChunkResult, or for a video task the payload dict a
    worker would have stored: tasks/video/wire.py), kept in a spool file as base64 msgpack lines: an
    incremental run over millions of unchanged files holds only their numbers."""

    def __init__(self, spool: ChunkSpool, chunks: list[int], width: int):
        self.spool, self.width = spool, width
        self._line = {chunk: line for line, chunk in enumerate(chunks)}

    @classmethod
    def create(cls, path: str, width: int) -> ReusedChunks:
        return cls(ChunkSpool.create(path), [], width)

    @classmethod
    def open(cls, path: str, chunks: list[int], width: int) -> ReusedChunks:
        return cls(ChunkSpool.open(path), chunks, width)

    @classmethod
    def write(cls, path: str, results, width: int) -> None:
        """A complete spool at `path` of `results`, (chunk number, ChunkResult) pairs."""
        spool = cls.create(path, width)
        for chunk, result in results:
            spool[chunk] = result
        spool.close()

    @property
    def path(self) -> str:
        return self.spool.path

    def close(self) -> None:
        self.spool.close()

    def __setitem__(self, chunk: int, result) -> None:
        payload = {VIDEO_TASK: result} if isinstance(result, dict) else result.to_wire()
        self.spool.append(base64.b64encode(msgpack.packb(payload)).decode("ascii"))
        self._line[chunk] = len(self._line)

    def __getitem__(self, chunk: int):
        from tasks.wire import ChunkResult  # numpy: only for jobs with chunks reused from an index

        payload = msgpack.unpackb(base64.b64decode(self.spool[self._line[chunk]]))
        return payload[VIDEO_TASK] if VIDEO_TASK in payload else ChunkResult.from_wire(payload, self.width)

    def __iter__(self) -> Iterator[int]:
        return iter(self._line)

    def __len__(self) -> int:
        return len(self._line)

    def __contains__(self, chunk) -> bool:
        return chunk in self._line

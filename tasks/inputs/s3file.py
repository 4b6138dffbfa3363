"""One S3 object as a seekable, read-only file (what av.open takes for a video in an object store): its bytes
are fetched with ranged GETs as they are read, so a reader that seeks reads only the parts it needs.

Memory: one block, at most :data:`S3_MAX_BLOCK` bytes, whatever the object's size. Blocks grow like a
kernel's readahead: after a seek (or at the start) a read fetches :data:`S3_FIRST_BLOCK`; each read that goes
on where the previous block ended fetches twice as much, up to S3_MAX_BLOCK. A container's header, a seek
to a keyframe and the index at the end of an MP4 cost small GETs; a long run of packets costs few large ones.
"""

from __future__ import annotations

import io
import re

from tasks.errors import FileError, FileUnreadable
from tasks.inputs.read_s3 import read_s3_range

#: Bytes of the first GET after an open or a seek: what FFmpeg's fast probe reads of a header
#: (producer/video/probe.py FAST_PROBE), so a probe, or a seek that needs only the bytes near its target (an
#: index entry, a box header), costs one small GET; reads that go on from there grow.
S3_FIRST_BLOCK = 64 * 1024
#: Most bytes one GET fetches, and so the most this file holds: AWS's performance guidelines give 8 MB or
#: 16 MB as the usual size of byte-range requests, enough that a GET's round trip is small beside its
#: transfer.
S3_MAX_BLOCK = 8 * 1024 * 1024
#: What a ranged GET's Content-Range says: `bytes first-last/total`.
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


class S3ObjectFile(io.RawIOBase):
    """The object `url` read through `client` by ranged GETs (see the module docstring). `name` is the URL
    (FFmpeg guesses a container from its extension, as from a local file's name).

    A GET that fails ends the file where it was: `failure` keeps its per-file code and every read from then
    on gives no bytes, as at the end of a file, with no further request. The caller checks `failure` once
    FFmpeg is done. Raising instead would not reach it: PyAV keeps an exception raised in a read callback in
    process-wide state, to re-raise from a later call, which may be another container's, or drops it when a
    second one comes first."""

    def __init__(self, url: str, client, size: int, mtime: int, etag: str | None = None):
        super().__init__()
        self.name = url
        self.size, self.mtime, self.etag = size, mtime, etag
        self.failure: FileError | None = None
        self._client = client
        self._pos = 0
        self._start = 0  # where `_block` starts in the object
        self._block = b""
        self._next = S3_FIRST_BLOCK  # bytes the next GET fetches if it goes on where `_block` ends

    @classmethod
    def open(cls, url: str, client) -> S3ObjectFile:
        """The object at `url` with its first block read: size, LastModified (as mtime, whole seconds) and ETag
        from that first GET. FileUnreadable when it cannot be read (`empty-file` for an empty object)."""
        response, data = read_s3_range(url, 0, S3_FIRST_BLOCK, client)
        first, total = _span(response, len(data))
        if total == 0:
            raise FileUnreadable(FileError.EMPTY_FILE)
        if first != 0:
            raise FileUnreadable(FileError.READ_ERROR)
        opened = cls(url, client, total, int(response["LastModified"].timestamp()), response.get("ETag"))
        opened._take(0, data, S3_FIRST_BLOCK)
        return opened

    def reopened(self) -> S3ObjectFile:
        """A new file over the same version of the object, at its start, holding this one's first block when
        this one still holds it (the second pass of a segment reads the header again)."""
        again = S3ObjectFile(self.name, self._client, self.size, self.mtime, self.etag)
        if self._start == 0 and self._block:
            again._take(0, self._block, S3_FIRST_BLOCK)
        return again

    def close(self) -> None:
        self._block = b""
        super().close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer) -> int:
        """Copy the next bytes into `buffer` from the block holding the position, fetching that block first
        when it is not held; 0 at or past the end."""
        if self._pos >= self.size or self.failure is not None:
            return 0
        if not self._start <= self._pos < self._start + len(self._block) and not self._fetch(self._pos):
            return 0
        offset = self._pos - self._start
        count = min(len(buffer), len(self._block) - offset)
        buffer[:count] = self._block[offset : offset + count]
        self._pos += count
        return count

    def _fetch(self, at: int) -> bool:
        """Hold the block at `at`; False, with `failure` set, when its GET fails."""
        length = self._next if at == self._start + len(self._block) else S3_FIRST_BLOCK
        self._block = b""  # dropped before the next one comes: one block held at a time
        try:
            response, data = read_s3_range(self.name, at, min(length, self.size - at), self._client, self.etag)
            first, _ = _span(response, len(data))
            if first != at or not data:  # a store that ignored the Range, or an object cut short since
                raise FileUnreadable(FileError.READ_ERROR)
        except FileUnreadable as exc:
            self.failure = exc.code
            return False
        self._take(at, data, length)
        return True

    def _take(self, at: int, data: bytes, asked: int) -> None:
        """Hold `data`, the block at `at` a GET of `asked` bytes gave; a read going on after it asks twice as
        much."""
        self._start, self._block = at, data
        self._next = min(2 * asked, S3_MAX_BLOCK)


def _span(response: dict, received: int) -> tuple[int, int]:
    """(first byte, object size) a GET answered: from its Content-Range, or for a whole-object answer (a
    store that ignored the Range) from its Content-Length."""
    match = _CONTENT_RANGE.fullmatch(response.get("ContentRange") or "")
    if match:
        return int(match.group(1)), int(match.group(3))
    return 0, int(response.get("ContentLength", received))

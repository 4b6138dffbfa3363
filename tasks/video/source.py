"""Where a video's bytes come from: a local file, which FFmpeg opens by its path, or an object in an S3-compatible
store, read by ranged GETs (tasks/inputs/s3file.py). Both are checked before anything is decoded: allowed roots
first (an object outside them is never requested), then a regular, non-empty file or a readable object.
Light on purpose, as tasks/video/probe.py: the producer's probe children load it (boto3 only on an s3:// path)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.errors import FileError, FileUnreadable
from tasks.inputs.s3url import is_s3_url, within_s3_roots
from tasks.video.probe import checked_file

if TYPE_CHECKING:
    from tasks.inputs.s3file import S3ObjectFile

#: Bytes at the start of a file that say whether it looks like a video (tasks/video/segment.py).
HEAD_SIZE = 16


class VideoSource:
    """A checked video: its path (resolved, for a local file) or URL, size and mtime, and what av.open takes
    for it. An object is a new file at each :meth:`open` (a pass over it seeks its own way), all over the
    version first read; the file before is closed then (PyAV leaves a file object open), so one block is held
    at a time. `failure` is the code of the first GET that failed in any of them."""

    def __init__(self, path: str, size: int, mtime: int, remote: S3ObjectFile | None = None):
        self.path, self.size, self.mtime = path, size, mtime
        self._remote = remote
        self._current: S3ObjectFile | None = None
        self._failure: FileError | None = None

    def open(self) -> str | S3ObjectFile:
        """The path, or a seekable file over the object at its start."""
        if self._remote is None:
            return self.path
        media = self._remote if self._current is None else self._remote.reopened()
        if self._current is not None:
            self._failure = self.failure
            self._current.close()
        self._current = media
        return media

    def head(self) -> bytes:
        """The first HEAD_SIZE bytes, or FileUnreadable."""
        if self._remote is None:
            with open(self.path, "rb") as handle:
                return handle.read(HEAD_SIZE)
        with self._remote.reopened() as media:
            head = media.read(HEAD_SIZE)
        if media.failure is not None:
            raise FileUnreadable(media.failure)
        return head

    @property
    def failure(self) -> FileError | None:
        if self._failure is not None or self._current is None:
            return self._failure
        return self._current.failure


def checked_source(path: str, allowed_roots: tuple[str, ...] = (), client=None) -> VideoSource:
    """The VideoSource of a local file (tasks/video/probe.py checked_file) or of the object at an `s3://` URL
    inside the `s3://` entries of `allowed_roots` (its first block read with `client`, default this process's),
    or FileUnreadable with the code to record."""
    if not is_s3_url(path):
        return VideoSource(*checked_file(path, allowed_roots))
    if allowed_roots and not within_s3_roots(path, allowed_roots):
        raise FileUnreadable(FileError.OUTSIDE_ALLOWED_ROOTS)
    from tasks.inputs.s3file import S3ObjectFile

    remote = S3ObjectFile.open(path, client)
    return VideoSource(path, remote.size, remote.mtime, remote)

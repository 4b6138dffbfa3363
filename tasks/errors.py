"""Errors: an exception tree for the user-facing failures, and per-file error codes carried as data.

A batch must go on when one file is bad, so per-file problems never raise out of a task: they become a
one-byte code aligned with the chunk, translated to a short reason only when outputs are written.
"""

from __future__ import annotations

import enum


class HashfleetError(Exception):
    """Base of every error hashfleet reports to the user as one line."""


class ConfigError(HashfleetError):
    """A setting or option is invalid; the message says which and what is allowed."""


class BrokerUnavailable(HashfleetError):
    """The broker or result backend cannot be reached or refused us."""


class EmbeddedStartError(HashfleetError):
    """The embedded redis-server or the local workers could not be started."""


class JobFailed(HashfleetError):
    """The job did not complete (a chunk failed for a reason other than a bad file, or a timeout)."""


class FileError(enum.IntEnum):
    """Per-file outcome codes, one byte on the wire. 0 means hashed."""

    OK = 0
    NOT_FOUND = 1
    PERMISSION_DENIED = 2
    NOT_A_FILE = 3
    EMPTY_FILE = 4
    NOT_AN_IMAGE = 5
    CORRUPT = 6
    TOO_MANY_PIXELS = 7
    OUTSIDE_ALLOWED_ROOTS = 8
    READ_ERROR = 9
    SYMLINK_LOOP = 10
    TIMEOUT = 11
    WORKER_CRASHED = 12
    INTERNAL = 13
    UNREADABLE_DIRECTORY = 14
    NAME_TOO_LONG = 15
    NOT_A_VIDEO = 16
    NO_VIDEO_STREAM = 17
    DAMAGED_VIDEO = 18
    TRUNCATED_VIDEO = 19
    VIDEO_CONTENT = 20

    @property
    def reason(self) -> str:
        """Short slug written in the `error` column ('' when hashed)."""
        return "" if self is FileError.OK else self.name.lower().replace("_", "-")

    @property
    def description(self) -> str:
        return _DESCRIPTIONS.get(self, self.reason)


class FileUnreadable(Exception):
    """One file could not be read or decoded; `code` is the FileError recorded for it. Raised by the readers
    (tasks/inputs) and the image core (tasks/image), turned into a record per file by the batch loop."""

    def __init__(self, code: FileError):
        super().__init__(code.reason)
        self.code = code


_DESCRIPTIONS = {
    FileError.NOT_FOUND: "no such file (deleted, or a broken symlink)",
    FileError.PERMISSION_DENIED: "permission denied",
    FileError.NOT_A_FILE: "not a regular file (directory, FIFO, device)",
    FileError.EMPTY_FILE: "zero-byte file",
    FileError.NOT_AN_IMAGE: "not an image format the decoder knows",
    FileError.CORRUPT: "image data is truncated or corrupt",
    FileError.TOO_MANY_PIXELS: "declared size exceeds the pixel limit (HASHFLEET_MAX_PIXELS)",
    FileError.OUTSIDE_ALLOWED_ROOTS: "outside HASHFLEET_ALLOWED_ROOTS; never opened",
    FileError.READ_ERROR: "I/O error while reading",
    FileError.SYMLINK_LOOP: "symlink loop",
    FileError.TIMEOUT: "not hashed in time: the file took over HASHFLEET_FILE_TIMEOUT, or its chunk reached "
                       "HASHFLEET_SOFT_TIME_LIMIT before it",
    FileError.WORKER_CRASHED: "the process hashing this file died (a decoder crash, or every attempt ended at this "
                              "file)",
    FileError.INTERNAL: "unexpected error in the decoder",
    FileError.UNREADABLE_DIRECTORY: "directory could not be listed",
    FileError.NAME_TOO_LONG: "path longer than the system allows (PATH_MAX): cannot be opened or listed",
    FileError.NOT_A_VIDEO: "named like a video, but no container format FFmpeg knows, or no decoder for its video",
    FileError.NO_VIDEO_STREAM: "a media file without a video stream (audio only)",
    FileError.DAMAGED_VIDEO: "some packets or frames could not be decoded; the frames that did are indexed",
    FileError.TRUNCATED_VIDEO: "the video stops before the end its container declares; the frames before are indexed",
    FileError.VIDEO_CONTENT: "named like an image, but a video by its content: indexed as a video, unless "
                             "videos are off (--no-videos)",
}

"""What a video file holds, read from its container header (no frame decoded), and whether it is a file
that may be opened at all. Light on purpose (no numpy, no OpenCV): the producer's probe children load it."""

from __future__ import annotations

import dataclasses
import os
import stat

import av

from tasks.errors import FileError, FileUnreadable
from tasks.inputs.readfile import _ERRNO_CODES, is_within


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """A video's first video stream: duration in seconds (0.0 when the container does not say), frame
    size as stored (before any rotation in the metadata) and its average frame rate (0.0 when unknown)."""

    duration: float
    width: int
    height: int
    fps: float


def probe_container(container: av.container.InputContainer) -> VideoInfo:
    """The VideoInfo of an open container; ValueError when it has no video stream, or no decoder for it."""
    if not container.streams.video:
        raise ValueError("no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None:  # a codec id FFmpeg has no decoder for (or a mangled header)
        raise ValueError("no decoder for the video stream")
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    else:
        duration = 0.0
    rate = stream.average_rate or stream.guessed_rate
    return VideoInfo(duration, stream.codec_context.width, stream.codec_context.height,
                     float(rate) if rate else 0.0)


def probe(path: str) -> VideoInfo:
    """The VideoInfo of the file at `path`; av.FFmpegError or ValueError when it is not a video."""
    with av.open(path) as container:
        return probe_container(container)


def checked_file(path: str, allowed_roots: tuple[str, ...] = ()) -> tuple[str, int, int]:
    """(path to open, size, mtime) of a regular, non-empty file inside `allowed_roots`, or FileUnreadable."""
    if allowed_roots:
        path = os.path.realpath(path)
        if not is_within(path, allowed_roots):
            raise FileUnreadable(FileError.OUTSIDE_ALLOWED_ROOTS)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise FileUnreadable(FileError.NOT_A_FILE)
        if not os.access(path, os.R_OK):
            raise FileUnreadable(FileError.PERMISSION_DENIED)
    except OSError as exc:
        raise FileUnreadable(_ERRNO_CODES.get(exc.errno, FileError.READ_ERROR)) from None
    if info.st_size == 0:
        raise FileUnreadable(FileError.EMPTY_FILE)
    return path, info.st_size, int(info.st_mtime)

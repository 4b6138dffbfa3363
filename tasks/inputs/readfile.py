"""Read one file's bytes safely: allowed roots checked before opening, never blocking on FIFOs/devices."""

from __future__ import annotations

import errno
import os
import stat

from tasks.errors import FileError, FileUnreadable
from tasks.inputs.s3url import is_s3_url, within_s3_roots

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)

_ERRNO_CODES = {
    errno.ENOENT: FileError.NOT_FOUND,
    errno.ENOTDIR: FileError.NOT_FOUND,
    errno.EACCES: FileError.PERMISSION_DENIED,
    errno.EPERM: FileError.PERMISSION_DENIED,
    errno.ELOOP: FileError.SYMLINK_LOOP,
    errno.EISDIR: FileError.NOT_A_FILE,
    errno.ENXIO: FileError.NOT_A_FILE,
    errno.ENAMETOOLONG: FileError.NAME_TOO_LONG,
}


#: A file named like an image but bigger than this is first asked whether it is a video (tasks/video/sniff.py:
#: FFmpeg reads its header only), so a film named `.jpg` is not read whole into a worker's memory.
VIDEO_SNIFF_BYTES = 64 * 2**20


def is_within(path: str, roots: tuple[str, ...]) -> bool:
    """True when `path` (already resolved) lies inside one of the resolved `roots`."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def read_image_bytes(path: str, allowed_roots: tuple[str, ...] = ()) -> bytes:
    """The whole file, or :class:`FileUnreadable` (see :func:`read_image_file`)."""
    return read_image_file(path, allowed_roots)[0]


def read_image_file(path: str, allowed_roots: tuple[str, ...] = ()) -> tuple[bytes, int]:
    """(the whole file, its mtime in whole seconds), or :class:`FileUnreadable` with the code to record.

    With `allowed_roots`, the path is resolved (symlinks and `..`) first and a path outside them is
    refused without being opened. Anything but a regular file (FIFO, device, socket, folder) is refused
    from its `stat`, before it is opened: opening some devices has effects (a tape rewinds, a watchdog
    arms). Opening with O_NONBLOCK and checking S_ISREG again on the open descriptor means one swapped
    in after the check is still refused instead of hanging the worker. A path of PATH_MAX bytes or more
    is refused by the kernel (`name-too-long`).

    An `s3://bucket/key` path is read from the object store (tasks/inputs/read_s3.py) after the same check
    against the `s3://` entries of `allowed_roots`: an object outside them is never requested.
    """
    if is_s3_url(path):
        if allowed_roots and not within_s3_roots(path, allowed_roots):
            raise FileUnreadable(FileError.OUTSIDE_ALLOWED_ROOTS)
        from tasks.inputs.read_s3 import read_s3_object  # boto3 is loaded only by workers that meet an s3:// path

        return read_s3_object(path)
    if allowed_roots:
        resolved = os.path.realpath(path)
        if not is_within(resolved, allowed_roots):
            raise FileUnreadable(FileError.OUTSIDE_ALLOWED_ROOTS)
        path = resolved
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise FileUnreadable(FileError.NOT_A_FILE)
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise FileUnreadable(_ERRNO_CODES.get(exc.errno, FileError.READ_ERROR)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileUnreadable(FileError.NOT_A_FILE)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            if info.st_size > VIDEO_SNIFF_BYTES and _is_video(handle):
                raise FileUnreadable(FileError.VIDEO_CONTENT)
            data = handle.read()
    except OSError as exc:
        raise FileUnreadable(_ERRNO_CODES.get(exc.errno, FileError.READ_ERROR)) from None
    finally:
        os.close(fd)
    if not data:
        raise FileUnreadable(FileError.EMPTY_FILE)
    return data, int(info.st_mtime)


def _is_video(handle) -> bool:
    """Whether the open file is a video by its content (its header only is read); the handle is put back at
    the start."""
    from tasks.video.sniff import is_video_content

    try:
        return is_video_content(handle)
    finally:
        handle.seek(0)

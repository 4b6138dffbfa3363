"""Hash a list of files into a ChunkResult: read -> decode -> hash, one file's failure never the batch's."""

from __future__ import annotations

import logging
from typing import NamedTuple

from tasks.errors import FileError, FileUnreadable
from tasks.image.algos import parse_algos, row_bytes
from tasks.image.multihash import hash_data
from tasks.inputs.readfile import read_image_file
from tasks.wire import NO_QUALITY, ChunkResult, empty_result

log = logging.getLogger(__name__)


class Outcome(NamedTuple):
    """One file's record, in the order ChunkResult.put takes it."""

    packed: bytes | None  # every hash of the job side by side, None when not hashed
    code: FileError
    size: int
    mtime: int
    quality: int = NO_QUALITY
    width: int = 0
    height: int = 0


def _video_or(code: FileError, data: bytes) -> FileError:
    """`video-content` for a file no image decoder knows that FFmpeg opens as a video (a video named like an
    image: the producer sends it to the video tasks), else `code`."""
    if code != FileError.NOT_AN_IMAGE or not data:
        return code
    from tasks.video.sniff import is_video_content

    return FileError.VIDEO_CONTENT if is_video_content(data) else code


def hash_one(path: str, algos: str | tuple[str, ...], hash_size: int, allowed_roots: tuple[str, ...] = (),
             interrupts: tuple[type[BaseException], ...] = ()) -> Outcome:
    """The outcome of one path. Never raises for a bad file: an exception no decoder step expects (a
    library bug, an input nobody foresaw) becomes an `internal` record, logged with its class, so one
    file never fails its chunk and the job. `interrupts` are the exceptions that stop the batch instead
    (the chunk task's soft time limit)."""
    algos = parse_algos(algos) if isinstance(algos, str) else algos  # hash_files passes them parsed
    size = mtime = 0
    data = b""
    try:
        data, mtime = read_image_file(path, allowed_roots)
        size = len(data)
        hashed = hash_data(data, algos, hash_size)
        quality = NO_QUALITY if hashed.quality is None else hashed.quality
        return Outcome(hashed.packed, FileError.OK, size, mtime, quality, hashed.width, hashed.height)
    except FileUnreadable as exc:
        return Outcome(None, _video_or(exc.code, data), size, mtime)
    except MemoryError:
        return Outcome(None, FileError.TOO_MANY_PIXELS, size, mtime)
    except Exception as exc:  # noqa: BLE001  (errors as data: the batch goes on)
        if isinstance(exc, interrupts):
            raise
        log.warning("internal error hashing %r: %s: %s", path, type(exc).__name__, exc)
        return Outcome(None, FileError.INTERNAL, size, mtime)


def hash_files(
    paths: list[str], algos: str | tuple[str, ...], hash_size: int, allowed_roots: tuple[str, ...] = (),
    result: ChunkResult | None = None, watch=None, interrupts: tuple[type[BaseException], ...] = (),
    start: int = 0, on_file=None,
) -> ChunkResult:
    """Fill `result` (or a new one) in path order, from file `start` on. Filling in place lets a caller that
    is interrupted (soft time limit, one of `interrupts`) keep the files already done. `watch(path)` is told
    when each file starts and `watch(None)` when the batch ends (the worker's hang watchdog); `on_file(done)`
    after each file (the chunk task's checkpoints)."""
    algos = parse_algos(algos)
    result = result if result is not None else empty_result(len(paths), row_bytes(algos, hash_size))
    for index in range(start, len(paths)):
        if watch is not None:
            watch(paths[index])
        result.put(index, *hash_one(paths[index], algos, hash_size, allowed_roots, interrupts))
        if on_file is not None:
            on_file(index + 1)
    if watch is not None:
        watch(None)
    return result

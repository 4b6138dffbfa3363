"""Hash a list of files into a ChunkResult: read -> decode -> hash, one file's failure never the batch's."""

from __future__ import annotations

import logging

from tasks.algos import ALGORITHMS
from tasks.decode import DecodeError, decode_classic, decode_robust_reduced
from tasks.dhash import dhash_bits_reduced, dhash_classic_bits, pack_bits
from tasks.errors import FileError
from tasks.readfile import ReadError, read_image_file
from tasks.wire import ChunkResult, empty_result

log = logging.getLogger(__name__)

#: A reduced JPEG decode keeps at least this many pixels per hash-grid column on its short side
#: (1/8 scale from a 576 px short side at hash size 8). Measured on the 1,008 camera JPEGs of bench/:
#: at 8, 86.1 % of hashes equal the full-decode hash and 97.0 % are within 1 bit, at 1.05x the time of
#: the bare 1/8 decode; at 16 (1/4 scale for most of them) about 89 % / 98 % (a third of the files) at
#: 2.3x the time. Two full-size decodes with libjpeg's fast and accurate IDCTs already disagree on 6.6 %
#: of these files: the flips sit on near-ties between adjacent cells.
MIN_PIXELS_PER_CELL = 8


def robust_bits(data: bytes, hash_size: int):
    reduced = decode_robust_reduced(data, MIN_PIXELS_PER_CELL * (hash_size + 1))
    return dhash_bits_reduced(reduced.image, reduced.scale, reduced.height, reduced.width, hash_size)


def classic_bits(data: bytes, hash_size: int):
    """Bit-exact with the original: full cv2.imread-style decode, bilinear resize."""
    return dhash_classic_bits(decode_classic(data), hash_size)


#: --algo name (tasks/algos.py ALGORITHMS) -> bytes-to-bits function.
HASHERS = {"dhash": robust_bits, "dhash-classic": classic_bits}
assert tuple(HASHERS) == ALGORITHMS


def hash_one(path: str, algo: str, hash_size: int, allowed_roots: tuple[str, ...] = (),
             interrupts: tuple[type[BaseException], ...] = ()):
    """(packed hash bytes or None, FileError, file size, mtime) for one path. Never raises for a bad file:
    an exception no decoder step expects (a library bug, an input nobody foresaw) becomes an `internal`
    record, logged with its class, so one file never fails its chunk and the job. `interrupts` are the
    exceptions that stop the batch instead (the chunk task's soft time limit)."""
    size = mtime = 0
    try:
        data, mtime = read_image_file(path, allowed_roots)
        size = len(data)
        return pack_bits(HASHERS[algo](data, hash_size)), FileError.OK, size, mtime
    except (ReadError, DecodeError) as exc:
        return None, exc.code, size, mtime
    except MemoryError:
        return None, FileError.TOO_MANY_PIXELS, size, mtime
    except Exception as exc:  # noqa: BLE001  (errors as data: the batch goes on)
        if isinstance(exc, interrupts):
            raise
        log.warning("internal error hashing %r: %s: %s", path, type(exc).__name__, exc)
        return None, FileError.INTERNAL, size, mtime


def hash_files(
    paths: list[str], algo: str, hash_size: int, allowed_roots: tuple[str, ...] = (),
    result: ChunkResult | None = None, watch=None, interrupts: tuple[type[BaseException], ...] = (),
) -> ChunkResult:
    """Fill `result` (or a new one) in path order. Filling in place lets a caller that is interrupted
    (soft time limit, one of `interrupts`) keep the files already done. `watch(path)` is told when each
    file starts and `watch(None)` when the batch ends (the worker's hang watchdog)."""
    if algo not in HASHERS:
        raise ValueError(f"unknown algorithm {algo!r}; choose from {', '.join(HASHERS)}")
    result = result if result is not None else empty_result(len(paths), hash_size)
    for index, path in enumerate(paths):
        if watch is not None:
            watch(path)
        result.put(index, *hash_one(path, algo, hash_size, allowed_roots, interrupts))
    if watch is not None:
        watch(None)
    return result

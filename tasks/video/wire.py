"""What a video task sends back: its segments' records and sampled frames as packed arrays (no pickle).

One zlib stream holds a fixed-size row per segment (SEGMENT_DTYPE) followed by every sampled frame of the
task's segments in order (FRAME_DTYPE): 45 bytes per frame, one hour at 1 fps is 162 kB before zlib.
"""

from __future__ import annotations

import zlib

import numpy as np

from tasks.errors import FileError
from tasks.video.frames import VideoFrames
from tasks.video.segment import SegmentResult

#: Version tag of a video task's packed result (checked on reading).
VIDEO_WIRE_VERSION = 3
#: zlib level, as for image chunks (tasks/wire.py).
COMPRESSION = 1
#: One row per segment: its record and how many frames follow for it.
SEGMENT_DTYPE = np.dtype([("code", "u1"), ("size", "<u8"), ("mtime", "<u4"), ("duration", "<f8"),
                          ("width", "<u4"), ("height", "<u4"), ("fps", "<f8"), ("lost", "<u4"),
                          ("barred", "<u4"), ("frames", "<u4")])
#: One row per sampled frame.
FRAME_DTYPE = np.dtype([("time", "<f8"), ("dhash", "<u8"), ("phash", "<u8"), ("centre", "<u8"),
                        ("quality", "u1"), ("band", "<u8")])
#: The frame rows of each version still read: version 2 (workers before the band hash) has no band, read
#: as 0 (none: those frames are matched without it), so a fleet can be upgraded while a job runs.
FRAME_DTYPES = {2: np.dtype(FRAME_DTYPE.descr[:-1]), VIDEO_WIRE_VERSION: FRAME_DTYPE}


def pack_segments(results: list[SegmentResult]) -> dict:
    """The payload a video task stores for its segments, in task order."""
    rows = np.zeros(len(results), SEGMENT_DTYPE)
    frames = np.zeros(sum(len(r.frames) for r in results), FRAME_DTYPE)
    at = 0
    for i, r in enumerate(results):
        rows[i] = (int(r.code), min(max(r.size, 0), 2**64 - 1), min(max(r.mtime, 0), 2**32 - 1), r.duration,
                   min(r.width, 2**32 - 1), min(r.height, 2**32 - 1), r.fps, min(r.lost, 2**32 - 1),
                   min(r.barred, 2**32 - 1), len(r.frames))
        f, n = r.frames, len(r.frames)
        for name, values in (("time", f.times), ("dhash", f.dhash), ("phash", f.phash), ("centre", f.centre),
                             ("quality", f.quality), ("band", f.band)):
            frames[name][at:at + n] = values
        at += n
    raw = rows.tobytes() + frames.tobytes()
    return {"v": VIDEO_WIRE_VERSION, "n": len(results), "packed": zlib.compress(raw, COMPRESSION)}


def unpack_segments(payload: dict) -> list[SegmentResult]:
    """The SegmentResults :func:`pack_segments` packed; ValueError when the payload is not one."""
    frame_dtype = FRAME_DTYPES.get(payload.get("v"))
    if frame_dtype is None:
        raise ValueError(f"video result version {payload.get('v')!r}, expected one of {sorted(FRAME_DTYPES)}")
    raw = zlib.decompress(payload["packed"])
    head = payload["n"] * SEGMENT_DTYPE.itemsize
    if len(raw) < head or (len(raw) - head) % frame_dtype.itemsize:
        raise ValueError(f"video result of {len(raw)} bytes does not hold {payload['n']} segments")
    rows = np.frombuffer(raw[:head], SEGMENT_DTYPE)
    frames = np.frombuffer(raw[head:], frame_dtype)
    if int(rows["frames"].sum()) != len(frames):
        raise ValueError(f"video result holds {len(frames)} frames, its segments say {int(rows['frames'].sum())}")
    results, at = [], 0
    for row in rows:
        n = int(row["frames"])
        part = frames[at:at + n]
        at += n
        code = int(row["code"])
        results.append(SegmentResult(
            FileError(code) if code in FileError._value2member_map_ else FileError.INTERNAL, int(row["size"]),
            int(row["mtime"]), float(row["duration"]), int(row["width"]), int(row["height"]), float(row["fps"]),
            VideoFrames(part["time"].copy(), part["dhash"].copy(), part["phash"].copy(), part["centre"].copy(),
                        part["quality"].copy(), part["band"].copy() if "band" in frame_dtype.names
                        else np.zeros(n, np.uint64)), int(row["lost"]), int(row["barred"])))
    return results


def segment_bytes(result: SegmentResult) -> bytes:
    """One segment as bytes (for a forked child to hand back; tasks/video/isolate.py)."""
    return zlib.decompress(pack_segments([result])["packed"])


def segment_from_bytes(raw: bytes) -> SegmentResult:
    return unpack_segments({"v": VIDEO_WIRE_VERSION, "n": 1, "packed": zlib.compress(raw, 0)})[0]

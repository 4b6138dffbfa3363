"""A strip of small JPEG frames of a video for the report: one frame at each time asked for, decoded with
PyAV (the first frame shown at or after the time), fitted in a box as image thumbnails are.

A video that cannot be read yields its strip's frames without pictures (`error` set): one bad file never
stops a report.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import cv2
import numpy as np

from producer.near.thumbnails import JPEG_QUALITY, Thumbnail
from tasks.errors import FileError

#: Longest side of a frame of a strip, in pixels: four side by side fit a member card of the report.
FRAME_BOX = 96
#: Frames in a strip, spread evenly over the shared footage (its first and last second included).
STRIP_FRAMES = 4


def strip_times(start: float, end: float, frames: int = STRIP_FRAMES) -> list[float]:
    """`frames` times spread evenly over [start, end), the first at `start`, the last half a second before
    `end` (the last frame of the shared footage, not the next one)."""
    last = max(start, end - 0.5)
    if frames == 1 or last == start:
        return [start] * min(frames, 1)
    return [start + (last - start) * i / (frames - 1) for i in range(frames)]


def _jpeg(rgb: np.ndarray, box: int) -> Thumbnail:
    height, width = rgb.shape[:2]
    scale = min(box / width, box / height, 1.0)
    small = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        return Thumbnail(None, FileError.INTERNAL.reason)
    return Thumbnail("data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii"))


def video_strip(path: str, times: Sequence[float], box: int = FRAME_BOX) -> list[Thumbnail]:
    """One thumbnail per time (ascending), from the video at `path`."""
    import av

    out: list[Thumbnail] = []
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            for time in times:
                container.seek(int(max(0.0, time) / stream.time_base), stream=stream, backward=True)
                frame = next((f for f in container.decode(stream) if f.time is not None and f.time >= time - 0.02),
                             None)
                out.append(_jpeg(frame.to_ndarray(format="rgb24"), box) if frame is not None
                           else Thumbnail(None, FileError.CORRUPT.reason))
    except (OSError, ValueError, IndexError, av.error.FFmpegError):
        out += [Thumbnail(None, FileError.CORRUPT.reason)] * (len(times) - len(out))
    return out

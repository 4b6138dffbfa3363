"""Sample a video's frames at a fixed rate: the first frame shown at or after each sampling time."""

from __future__ import annotations

import math
from collections.abc import Iterator

import av
import numpy as np

#: Frames per second sampled by default.
DEFAULT_FPS = 1.0


def sample_gray(path: str, fps: float = DEFAULT_FPS, start: float = 0.0,
                end: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """(time in seconds, uint8 gray frame) for the sampling times k/fps in [start, end) (to the end of the
    video when `end` is None): one grid for the whole video, so segments sampled apart join up. Decodes
    every frame in order (the reference way); a frame whose time is unknown is skipped."""
    step = 1.0 / fps
    next_time = math.ceil(start * fps - 1e-9) * step
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if start > 0:
            container.seek(int(start / stream.time_base), stream=stream, backward=True)
        for frame in container.decode(stream):
            if frame.time is None or frame.time < next_time - 1e-6:
                continue
            if end is not None and frame.time >= end:
                break
            yield float(frame.time), frame.to_ndarray(format="gray")
            while next_time <= frame.time + 1e-6:
                next_time += step

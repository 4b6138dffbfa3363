"""What the producer's plan (producer/videoplan.py) knows of one video: its cost, read from the container's
header in this process. The producer calls it in child processes under a time limit (producer/probepool.py):
FFmpeg runs here, and a hostile file could make it spin or crash."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class VideoCost:
    """What the plan needs of one video: duration in seconds (0.0 unknown) and pixels to decode, or for a
    video reused from an index, `reused`: the frames it holds."""

    duration: float
    pixels: float
    reused: int | None = None


#: The cost of a video whose header could not be read: it becomes one task, whole, and the worker that
#: indexes it records what is wrong with it.
UNKNOWN = VideoCost(0.0, 0.0)


def probe_cost(path: str, allowed_roots: tuple[str, ...] = ()) -> VideoCost:
    """A video's cost from its container header, or UNKNOWN when it cannot be read here (not a regular
    file, empty, outside the allowed roots, not a video: the worker records why, under its time limit and
    isolation). No frame is sampled; FFmpeg's probe decodes about one to learn the stream's format."""
    import av

    from tasks.errors import FileUnreadable
    from tasks.video.probe import checked_file, probe_container

    try:
        path, _, _ = checked_file(path, allowed_roots)  # never open a FIFO or device: it could block
        with av.open(path, metadata_errors="ignore") as container:
            info = probe_container(container)
            frames = container.streams.video[0].frames
    except (FileUnreadable, av.error.FFmpegError, ValueError, OSError):
        return UNKNOWN
    except Exception:  # noqa: BLE001  (a header no one foresaw must not stop the walk: the worker records it)
        return UNKNOWN
    frames = frames or info.duration * info.fps
    return VideoCost(info.duration, frames * info.width * info.height)

"""What the producer's plan (producer/video/plan.py) knows of one video: its cost, read from the container's
header in this process. The producer calls it in child processes under a time limit (producer/video/probepool.py):
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


#: av.open options of the fast probe: FFmpeg's stream probe (avformat_find_stream_info) decodes a frame to
#: learn the stream's format unless told to skip every frame, and then reads up to its probe size (5 MB by
#: default) instead: capped at 64 KiB, it gave the same cost as the default probe for every file measured
#: (the quality benchmark's 325 clips and variants, 24 codec and container pairs, 1080p and 4K H.264, VP9)
#: at a fifth of the CPU (0.5 ms instead of 3.4 for those clips) and about as many bytes read.
FAST_PROBE = {"options": {"skip_frame": "all"}, "container_options": {"probesize": str(64 * 1024)}}
#: The cost of a video whose header could not be read: it becomes one task, whole, and the worker that
#: indexes it records what is wrong with it.
UNKNOWN = VideoCost(0.0, 0.0)


def probe_cost(path: str, allowed_roots: tuple[str, ...] = ()) -> VideoCost:
    """A video's cost from its container header, or UNKNOWN when it cannot be read here (not a regular
    file, empty, outside the allowed roots, not a video: the worker records why, under its time limit and
    isolation). An `s3://` object's header is read by ranged GETs (tasks/video/source.py), never the whole
    object. No frame is decoded by the fast probe (FAST_PROBE); when it learns too little, FFmpeg's own
    probe, which decodes about one frame, tries again."""
    from tasks.errors import FileUnreadable
    from tasks.video.source import checked_source

    try:
        source = checked_source(path, allowed_roots)  # never open a FIFO or device: it could block
    except FileUnreadable:
        return UNKNOWN
    return _header_cost(source.open(), FAST_PROBE) or _header_cost(source.open(), {}) or UNKNOWN


def _header_cost(media, how: dict) -> VideoCost | None:
    """The cost av.open(media, **how) finds (media: a path or a file), None when it finds no duration or no
    pixels."""
    import av

    from tasks.video.probe import probe_container

    try:
        with av.open(media, metadata_errors="ignore", **how) as container:
            info = probe_container(container)
            frames = container.streams.video[0].frames
    except Exception:  # noqa: BLE001  (FFmpeg's errors, a failed read, a header no one foresaw: the worker records it)
        return None
    frames = frames or info.duration * info.fps
    cost = VideoCost(info.duration, frames * info.width * info.height)
    return cost if cost.duration > 0 and cost.pixels > 0 else None

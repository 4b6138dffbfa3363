"""A query video of `search`, sampled here exactly as a worker samples an indexed video (tasks/video), and its
head at every frame too (producer/near/queryphases.py)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from producer.near.queryphases import EVERY_FRAME_FPS, QueryVideo, head_seconds, query_video
from tasks.errors import ConfigError
from tasks.video.frames import IndexedVideo
from tasks.video.letterbox import video_letterboxed
from tasks.video.sample import DEFAULT_FPS
from tasks.video.segment import index_segment


def sample_video(path: str, fps: float = DEFAULT_FPS) -> IndexedVideo:
    """The video at `path` with its frames sampled at `fps`; ConfigError when nothing of it decodes."""
    result = index_segment(path, 0.0, None, fps)
    if not len(result.frames):
        raise ConfigError(f"cannot sample {path}: {result.code.description}")
    return IndexedVideo(path, result.duration, result.width, result.height, result.fps, result.frames,
                        result.code.reason, video_letterboxed(result.barred, len(result.frames)), fps)


def sample_query(path: str, fps: float = DEFAULT_FPS) -> QueryVideo:
    """The query video at `path`: its samples at `fps` and every frame of its head (up to its first cut, at
    most HEAD_SECONDS); ConfigError when nothing of it decodes."""
    grid = sample_video(path, fps)
    head_end = head_seconds(grid, 1.0 / fps)
    head = index_segment(path, 0.0, head_end, EVERY_FRAME_FPS).frames
    return query_video(grid, head, head_end, 1.0 / fps)


def index_rate(videos: Sequence[IndexedVideo]) -> float:
    """The sampling rate of most of an index's videos (`sample_fps`; the default where none says): a query
    is sampled at it, on the grid its videos' samples lie on."""
    rates = [v.sample_fps for v in videos if v.sample_fps > 0]
    return statistics.mode(rates) if rates else DEFAULT_FPS

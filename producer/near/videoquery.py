"""A query video of `search`, sampled here exactly as a worker samples an indexed video (tasks/video)."""

from __future__ import annotations

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
                        result.code.reason, video_letterboxed(result.barred, len(result.frames)))

"""Videos named like images: the workers find them by their content (tasks/video/sniff.py) while hashing the
image chunks and record them `video-content`; once those chunks are in, the producer sends these files to
video tasks of their own, numbered after the job's other tasks (the job grows by them). Their records are
then the video's, not the image chunk's (producer/outputs/results.py skips the `video-content` ones).

The files are found from the drained results' marks (producer/drained.py), so only the chunks that hold one
are unpacked. `wait` or `resume` after a producer died finds them again, in the same order, so the tasks get
the same numbers and what was drained for them before counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from producer.video.plan import VideoPlan, plan_videos
from tasks.errors import FileError
from tasks.image.algos import row_bytes
from tasks.pathblob import decode_paths

if TYPE_CHECKING:
    from producer.drained import DrainedResults
    from producer.job import Job
    from tasks.settings import Settings


def content_videos(job: Job, drained: DrainedResults) -> Iterator[str]:
    """Paths of the job's image-chunk files that workers found to be videos, in walk order."""
    from tasks.wire import ChunkResult

    width = row_bytes(job.algos, job.hash_size)
    for chunk in sorted(c for c in drained.video_chunks if c < len(job.blobs)):
        codes = ChunkResult.from_wire(drained.payload(chunk), width).codes
        yield from (path for path, code in zip(decode_paths(job.blobs[chunk]), codes.tolist(), strict=True)
                    if code == FileError.VIDEO_CONTENT)


def add_content_videos(job: Job, drained: DrainedResults, settings: Settings) -> int:
    """Plan video tasks for the files workers found to be videos (none when videos are off) onto the end of
    `job`, and make room for them in `drained`; returns how many videos were added."""
    if not settings.videos or job.content_videos:
        return 0
    paths = list(content_videos(job, drained))
    if not paths:
        return 0
    plan = plan_videos(paths, settings.video_fps, settings.video_segment, settings.allowed_roots,
                       probe_timeout=settings.probe_timeout)
    videos = job.videos if job.videos is not None else VideoPlan(plan.fps)
    first = len(videos.paths)
    videos.paths.extend(plan.paths)
    videos.tasks.extend([(first + video, start, end) for video, start, end in task] for task in plan.tasks)
    job.videos, job.content_videos = videos, len(paths)
    drained.grow(job.task_count)
    return len(paths)

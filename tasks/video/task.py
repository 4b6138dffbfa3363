"""The video task: index a few segments of videos (a long video's time slice, or several short videos
whole) into one stored packed result. Thin: the work is tasks/video/segment.py's."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from tasks.errors import FileError
from tasks.ids import VIDEO_TASK
from tasks.settings import settings_of
from tasks.store import store_task_data
from tasks.watchdog import watchdog
from tasks.wire import WIRE_VERSION

if TYPE_CHECKING:
    from tasks.video.checkpoint import VideoCheckpoint

#: A task whose attempts died this many times without progress indexes each segment left in a forked child.
ISOLATE_AFTER = 2
#: Seconds before a task whose worker died is re-sent.
RETRY_DELAY = 1
#: Seconds of work between two stores of a retried task's progress (as image chunks: tasks/chunk.py).
CHECKPOINT_INTERVAL = 0.25

log = logging.getLogger(__name__)


# No limit on worker losses: a retried task goes on from its stored progress (tasks/video/checkpoint.py) and
# passes over a segment at which attempts keep dying, so every loss brings it closer to its end.
@shared_task(name=VIDEO_TASK, bind=True, retry_on_worker_lost=True, max_retries=None,
             default_retry_delay=RETRY_DELAY)
def index_videos(self, segments: list, fps: float) -> dict:
    """Index every [path, start, end] of `segments` (end None: to the end of the video) at `fps` frames
    per second. Bad files become records. Once the task lost its process (a retry), it stores its progress
    every CHECKPOINT_INTERVAL and the next attempt skips the segments and frames already done. A hung or
    crashing decoder ends this process (the watchdog); after ISOLATE_AFTER attempts that died without
    progress, or a hang, each segment left runs from its start in a child with the per-file time limit.
    Returns the summary the producer counts like an image chunk's (producer/follow.py): "n" is the videos
    whose last segment is here, as Job.task_files counts them."""
    # Imported on a process's first video task: they load PyAV (~0.1 s of CPU), which a worker that only
    # hashes images (and an embedded run waiting for its workers to start) never needs.
    from tasks.video import checkpoint
    from tasks.video.checkpoint import VideoCheckpoint
    from tasks.video.isolate import index_segment_isolated
    from tasks.video.segment import SegmentResult, index_segment
    from tasks.video.wire import pack_segments

    settings = settings_of(self.app)
    retried = bool(self.request.retries)
    progress = checkpoint.begin(self.backend, self.request.id, len(segments)) if retried else VideoCheckpoint()
    isolated = progress.attempts >= ISOLATE_AFTER
    if progress.done or progress.partial is not None:
        at = "its start" if isolated or progress.partial is None else f"{progress.resume_at:g} s"
        log.info("video task %s: %d of %d segments done, going on with the next at %s%s", self.request.id,
                 len(progress.done), len(segments), at, " in isolation" if isolated else "")
    watch = watchdog(settings.file_timeout)
    task_id = self.request.id  # the request is thread-local: the watchdog's thread has none
    watch.on_hang = lambda: _isolate_next(self.backend, task_id, progress)
    on_progress = _tracker(self, progress, fps) if retried else None
    try:
        for path, start, end in segments[len(progress.done):]:
            if isolated:
                progress.finish(index_segment_isolated(path, start, end, fps, settings.allowed_roots,
                                                       settings.max_pixels, settings.file_timeout))
                checkpoint.save(self.backend, self.request.id, progress)
                continue
            watch(path)
            before, at = progress.partial, progress.resume_at
            rest = index_segment(path, start if at is None else at, end, fps, settings.allowed_roots,
                                 settings.max_pixels, interrupts=(SoftTimeLimitExceeded,), on_progress=on_progress,
                                 grid_from=0.0 if at is None else at)
            progress.finish(checkpoint.joined(before, rest))
            if retried:
                progress.attempts = 0
                checkpoint.save(self.backend, self.request.id, progress)
    except SoftTimeLimitExceeded:
        progress.done += [SegmentResult(FileError.TIMEOUT)] * (len(segments) - len(progress.done))
    finally:
        watch(None)
        watch.on_hang = None
    store_task_data(self.backend, self.request.id, pack_segments(progress.done))
    return {"v": WIRE_VERSION, "n": sum(1 for _, _, end in segments if end is None),
            "errors": sum(1 for r in progress.done if r.code != FileError.OK)}


def _tracker(task, progress: VideoCheckpoint, fps: float):
    """An `on_progress(so_far)` for index_segment that stores the frames sampled so far at most every
    CHECKPOINT_INTERVAL seconds."""
    from tasks.video import checkpoint

    last = [time.monotonic()]

    def on_progress(so_far) -> None:
        if time.monotonic() - last[0] >= CHECKPOINT_INTERVAL:
            last[0] = time.monotonic()
            progress.keep_partial(so_far(), fps)
            progress.attempts = 0
            checkpoint.save(task.backend, task.request.id, progress)

    return on_progress


def _isolate_next(backend, task_id: str, progress: VideoCheckpoint) -> None:
    """Store the progress so that the next attempt (counted by checkpoint.begin) isolates at the hung segment."""
    from tasks.video import checkpoint

    progress.attempts = ISOLATE_AFTER - 1
    checkpoint.save(backend, task_id, progress)

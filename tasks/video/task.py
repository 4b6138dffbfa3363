"""The video task: index a few segments of videos (a long video's time slice, or several short videos
whole) into one stored packed result. Thin: the work is tasks/video/segment.py's."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from tasks.errors import FileError
from tasks.ids import VIDEO_TASK
from tasks.settings import settings_of
from tasks.store import store_task_data
from tasks.watchdog import watchdog
from tasks.wire import WIRE_VERSION

#: A task whose worker process died this many times indexes each segment in a forked child.
ISOLATE_AFTER = 2
#: Seconds before a task whose worker died is re-sent.
RETRY_DELAY = 1


@shared_task(name=VIDEO_TASK, bind=True, retry_on_worker_lost=True, max_retries=None,
             default_retry_delay=RETRY_DELAY)
def index_videos(self, segments: list, fps: float) -> dict:
    """Index every [path, start, end] of `segments` (end None: to the end of the video) at `fps` frames
    per second. Bad files become records; a hung or crashing decoder ends this process (the watchdog) and,
    after ISOLATE_AFTER losses, each segment runs in a child with the per-file time limit. Returns the
    summary the producer counts like an image chunk's (producer/follow.py): "n" is the videos whose last
    segment is here, as Job.task_files counts them."""
    # Imported on a process's first video task: they load PyAV (~0.1 s of CPU), which a worker that only
    # hashes images (and an embedded run waiting for its workers to start) never needs.
    from tasks.video.isolate import index_segment_isolated
    from tasks.video.segment import SegmentResult, index_segment
    from tasks.video.wire import pack_segments

    settings = settings_of(self.app)
    results: list[SegmentResult] = []
    isolated = self.request.retries >= ISOLATE_AFTER
    watch = watchdog(settings.file_timeout)
    try:
        for path, start, end in segments:
            if isolated:
                results.append(index_segment_isolated(path, start, end, fps, settings.allowed_roots,
                                                      settings.max_pixels, settings.file_timeout))
                continue
            watch(path)
            results.append(index_segment(path, start, end, fps, settings.allowed_roots, settings.max_pixels,
                                         interrupts=(SoftTimeLimitExceeded,)))
    except SoftTimeLimitExceeded:
        results += [SegmentResult(FileError.TIMEOUT)] * (len(segments) - len(results))
    finally:
        watch(None)
    store_task_data(self.backend, self.request.id, pack_segments(results))
    return {"v": WIRE_VERSION, "n": sum(1 for _, _, end in segments if end is None),
            "errors": sum(1 for r in results if r.code != FileError.OK)}

"""Videos an incremental run reuses from an index: found before the job's videos are planned (so they are
not probed), planned into tasks of their own (producer/video/plan.py), and each such task's result made here
from the index, as a worker would have stored it (tasks/video/wire.py), into the job's reused chunks. Those
tasks are never sent; the outputs are written from them like from any other video task."""

from __future__ import annotations

from typing import TYPE_CHECKING

from producer.video.plan import plan_videos
from tasks.errors import FileError

if TYPE_CHECKING:  # PyAV and numpy load only when videos are reused (tasks/video/segment.py, wire.py)
    from producer.job import Job
    from producer.outputs.incremental import Index, OldVideo
    from tasks.settings import Settings
    from tasks.video.frames import IndexedVideo
    from tasks.video.segment import SegmentResult


def plan_job_videos(job: Job, paths: list[str], settings: Settings, index: Index | None) -> None:
    """Plan the job's videos (`paths`, in walk order) into `job.videos`, the tasks numbered after its image
    chunks; with an `index`, the tasks of the videos reused from it go into `job.reused`."""
    found = _unchanged(paths, index) if index is not None else {}
    job.videos = plan_videos(paths, settings.video_fps, settings.video_segment, settings.allowed_roots,
                             {i: old.frames for i, old in found.items()}, settings.probe_timeout)
    if not found:
        return
    from tasks.video.wire import pack_segments

    first = len(job.blobs)
    for number, task in enumerate(job.videos.tasks):
        if task[0][0] in found:  # a task holds reused videos only (producer/video/plan.py plan_tasks)
            job.reused[first + number] = pack_segments([as_segment(index.old_video(paths[video]), found[video])
                                                        for video, _, _ in task])
    if hasattr(job.reused, "close"):  # spooled: the file is complete again
        job.reused.close()


def _unchanged(paths: list[str], index: Index) -> dict[int, OldVideo]:
    """Position in `paths` -> what the index holds, for each video it can give."""
    found = {}
    for position, path in enumerate(paths):
        old = index.unchanged_video(path)
        if old is not None:
            found[position] = old
    return found


def as_segment(video: IndexedVideo, old: OldVideo) -> SegmentResult:
    """The whole-file result a worker sampling `video` would have stored: its record's size and mtime, its
    frames, nothing lost. The index keeps only whether the video is letterboxed, not how many frames had bars:
    `barred` is all its frames or none, which gives the same flag (tasks/video/letterbox.video_letterboxed)."""
    from tasks.video.segment import SegmentResult

    barred = len(video.frames) if video.letterboxed else 0
    return SegmentResult(FileError.OK, old.size, old.mtime, video.duration, video.width, video.height, video.fps,
                         video.frames, 0, barred)

"""A job's videos put back together from its video tasks' results, drained from the backend into the job's
results file (producer/drained.py) like image chunks' (or, for videos an incremental run reuses, made from
the old index: producer/video/reuse.py): each video's segments, in order, into one IndexedVideo (its frames
in time order) and one record for the index.

A video's segments are consecutive in the plan (producer/video/plan.py), so the results are read task by
task and only one video's frames are held at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from producer.drained import DrainedResults
from producer.job import Job
from tasks.errors import FileError
from tasks.video.frames import IndexedVideo, VideoFrames
from tasks.video.letterbox import video_letterboxed
from tasks.video.segment import SegmentResult
from tasks.video.wire import unpack_segments


def job_videos(job: Job, drained: DrainedResults) -> Iterator[tuple[IndexedVideo, SegmentResult]]:
    """(the video, its whole-file record: code, size, mtime, lost) per video of `job`, in walk order, from
    the `drained` results of its video tasks (chunk numbers from len(job.blobs) on)."""
    if not job.videos:
        return
    plan, first = job.videos, len(job.blobs)
    parts: list[SegmentResult] = []
    for number, task in enumerate(plan.tasks):
        held = first + number in job.reused  # reused from an index (producer/video/reuse.py)
        results = unpack_segments(job.reused[first + number] if held else drained.payload(first + number))
        if len(results) != len(task):
            raise ValueError(f"video task of {len(task)} segments stored {len(results)}")
        for (video, _start, end), result in zip(task, results, strict=True):
            parts.append(result)
            if end is None:
                yield joined(plan.paths[video], parts, plan.fps)
                parts = []


def joined(path: str, parts: list[SegmentResult], fps: float = 0.0) -> tuple[IndexedVideo, SegmentResult]:
    """One video from its segments' results in time order, sampled at `fps`: the file's facts from the first
    segment that opened it, the first error met, every frame (each segment's lie in its own time range)."""
    opened = next((p for p in parts if p.code not in (FileError.TIMEOUT, FileError.WORKER_CRASHED)), parts[0])
    code = next((p.code for p in parts if p.code != FileError.OK), FileError.OK)
    frames = VideoFrames.concatenated([p.frames for p in parts])
    keep = np.ones(len(frames), bool)
    keep[1:] = np.diff(frames.times) > 0  # a frame two segments both took (never expected) is kept once
    whole = frames.take(keep)
    barred = sum(p.barred for p in parts)
    record = SegmentResult(code, opened.size, opened.mtime, opened.duration, opened.width, opened.height,
                           opened.fps, whole, sum(p.lost for p in parts), barred)
    return IndexedVideo(path, opened.duration, opened.width, opened.height, opened.fps, whole, code.reason,
                        video_letterboxed(barred, len(whole)), fps), record

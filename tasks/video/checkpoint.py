"""Progress of a video task retried after its process died, kept in the result backend: the next attempt
skips the segments already indexed and goes on inside a segment from the frame after the last one stored,
as image chunks do (tasks/checkpoint.py).

A segment is about two minutes of 1080p video: 5 to 20 s of one core on the benchmark machine (19 s for a
5 Mbit/s H.264 test pattern, 53 s of wall time on the loaded machine; docs/video.md). A process killed from
outside more often than that (the soak's SIGKILL every 3 s) would start the same segment over for ever;
with the frames stored every CHECKPOINT_INTERVAL (tasks/video/task.py), each attempt gets further. A
resumed segment starts one sampling step after the last frame stored, on the grid through it
(tasks/video/sample.py): the frames are those the attempt that died would have sampled next, unless a cut
falls within that step (the dead attempt would have started the grid again there).
"""

from __future__ import annotations

import dataclasses

from celery import states

from tasks.checkpoint import STUCK_LIMIT, save
from tasks.errors import FileError
from tasks.ids import checkpoint_id
from tasks.video.frames import VideoFrames
from tasks.video.segment import SegmentResult
from tasks.video.wire import pack_segments, unpack_segments

__all__ = ["VideoCheckpoint", "begin", "joined", "next_grid_time", "save"]

#: Codes a segment keeps going after: its frames so far stand, the rest of the segment may add to them.
SAMPLED = frozenset({FileError.OK, FileError.DAMAGED_VIDEO, FileError.TRUNCATED_VIDEO})


@dataclasses.dataclass
class VideoCheckpoint:
    """Segments [0, len(done)) of the task are in `done`; `partial` holds the frames of the next segment
    sampled before `resume_at` (None: the segment starts from its own start); `attempts` started here."""

    done: list[SegmentResult] = dataclasses.field(default_factory=list)
    partial: SegmentResult | None = None
    resume_at: float | None = None
    attempts: int = 0

    def to_wire(self) -> dict:
        kept = self.done + ([self.partial] if self.partial is not None else [])
        return {"done": len(self.done), "at": self.resume_at, "attempts": self.attempts,
                "segments": pack_segments(kept)}

    @classmethod
    def from_wire(cls, doc: dict) -> VideoCheckpoint:
        segments = unpack_segments(doc["segments"])
        done = int(doc["done"])
        partial = segments[done] if len(segments) > done else None
        return cls(segments[:done], partial, doc["at"] if partial is not None else None, int(doc["attempts"]))

    def keep_partial(self, so_far: SegmentResult, fps: float) -> None:
        """The frames of the current segment sampled so far: a next attempt goes on after the last."""
        if len(so_far.frames):
            self.partial = so_far
            self.resume_at = next_grid_time(float(so_far.frames.times[-1]), fps)

    def finish(self, result: SegmentResult) -> None:
        """The current segment is indexed: the next one starts from its own start."""
        self.done.append(result)
        self.partial, self.resume_at = None, None


def next_grid_time(time: float, fps: float) -> float:
    """The sampling time after one at `time` (where the sampler goes on: its grid runs through `time`, which
    a cut may have moved off k/fps)."""
    return time + 1.0 / fps


def joined(before: SegmentResult | None, after: SegmentResult) -> SegmentResult:
    """A segment from the frames an earlier attempt sampled (`before`) and those of the rest of it (`after`):
    the frames end to end, what was lost and the frames with bars added up, the file's record from the later
    attempt. A rest that could not be read at all keeps the earlier frames with its error."""
    if before is None:
        return after
    frames = VideoFrames.concatenated([before.frames, after.frames])
    lost = before.lost + after.lost
    code = after.code
    if code in SAMPLED and lost:
        code = FileError.DAMAGED_VIDEO
    record = after if after.code in SAMPLED else before
    return dataclasses.replace(record, code=code, size=after.size or before.size, mtime=after.mtime or before.mtime,
                               frames=frames, lost=lost, barred=before.barred + after.barred)


def begin(backend, task_id: str, segments: int) -> VideoCheckpoint:
    """The task's progress so far with this attempt counted (and the segment where STUCK_LIMIT attempts
    died recorded as worker-crashed, with the frames stored before, and passed over); stored before indexing
    starts."""
    meta = backend.get_task_meta(checkpoint_id(task_id))
    found = meta["result"] if meta.get("status") == states.SUCCESS else None
    progress = VideoCheckpoint() if found is None else VideoCheckpoint.from_wire(found)
    progress.attempts += 1
    if progress.attempts > STUCK_LIMIT and len(progress.done) < segments:
        progress.finish(joined(progress.partial, SegmentResult(FileError.WORKER_CRASHED)))
        progress.attempts = 1
    save(backend, task_id, progress)
    return progress

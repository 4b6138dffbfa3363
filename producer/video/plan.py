"""Cut a job's videos into tasks: a long video into time segments (each its own task, so one film keeps many
workers busy), short videos several to a task. The policy is a pure function of what each container's
header says, as :func:`producer.video.probe.probe_cost` reads it (in child processes: producer/video/probepool.py).

A video's decoding cost is counted in pixels decoded: frames x width x height. A task gets about
HASHFLEET_VIDEO_SEGMENT seconds of REFERENCE_RATE video (1080p at 30 fps): a 4K 60 fps video is cut into
segments 8x shorter, a 360p one into segments 9x longer, and a still shown for ten hours (one frame) is one
task. Segments start on the sampling grid's own times (tasks/video/sample.py), so the frames of the
segments put end to end are those of the whole video sampled at once.

Videos an incremental run reuses from an index (their frames held already: producer/video/reuse.py) are not
probed; they go into tasks of their own, in walk order between the others, which the producer never sends.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable, Iterator

from producer.video.probe import VideoCost
from producer.video.probepool import probe_costs
from tasks.settings import DEFAULT_PROBE_TIMEOUT

#: Pixels per second of the video a task's duration budget is counted in: 1920 x 1080 at 30 fps.
REFERENCE_RATE = 1920 * 1080 * 30
#: Shortest segment, seconds: below this a seek and a decoder start cost more than the segment.
MIN_SEGMENT_S = 1.0
#: Most videos batched into one task (a folder of short clips).
VIDEOS_PER_TASK = 64
#: Most frames in a task of videos reused from an index: the producer holds a task's frames packed while
#: it stores them (45 bytes a frame: 100,000 frames, 28 hours at 1 fps, are 4.5 MB).
REUSED_FRAMES_PER_TASK = 100_000


@dataclasses.dataclass
class VideoPlan:
    """A job's videos (paths, in walk order), its sampling rate, and its tasks: each a list of
    (video index, start, end) segments, end None for a video's last segment (it runs to the end)."""

    fps: float
    paths: list[str] = dataclasses.field(default_factory=list)
    tasks: list[list[tuple[int, float, float | None]]] = dataclasses.field(default_factory=list)

    def segments(self, task: int) -> list[list]:
        """The task's [path, start, end] segments, as the video task takes them."""
        return [[self.paths[video], start, end] for video, start, end in self.tasks[task]]

    def finished_in(self, task: int) -> int:
        """Videos whose last segment is in this task (what the task counts towards progress)."""
        return sum(1 for _, _, end in self.tasks[task] if end is None)

    def describe(self, task: int) -> str:
        """A task's argsrepr for Flower: which video(s) and which seconds."""
        segments = self.tasks[task]
        video, start, end = segments[0]
        name = os.path.basename(self.paths[video])
        if len(segments) == 1:
            span = f"{start:g} s to the end" if end is None else f"{start:g}-{end:g} s"
            return f"(video {name!r}: {span}, {self.fps:g} fps)"
        return f"({len(segments)} videos from {name!r}, whole, {self.fps:g} fps)"

    def to_doc(self) -> dict:
        return {"fps": self.fps, "paths": self.paths, "tasks": self.tasks}

    @classmethod
    def from_doc(cls, doc: dict) -> VideoPlan:
        return cls(doc["fps"], doc["paths"], [[tuple(s) for s in task] for task in doc["tasks"]])


def plan_tasks(costs: Iterable[VideoCost], fps: float, segment_s: float) -> list[list[tuple[int, float, float | None]]]:
    """The tasks for videos of these costs (see the module docstring): a video worth more than 1.5 tasks is
    cut into equal segments starting on the k/fps grid, each a task; the others are batched in order up to
    one task's budget or VIDEOS_PER_TASK. Reused videos are batched apart, whole, up to VIDEOS_PER_TASK or
    REUSED_FRAMES_PER_TASK frames. Videos keep their order across the tasks."""
    budget = segment_s * REFERENCE_RATE
    tasks: list[list[tuple[int, float, float | None]]] = []
    batch: list[tuple[int, float, float | None]] = []
    spent = 0.0
    reusing = False  # whether `batch` holds reused videos
    for index, cost in enumerate(costs):
        reused = cost.reused is not None
        if not reused:
            parts = min(math.ceil(cost.pixels / budget), math.floor(cost.duration / MIN_SEGMENT_S)) if budget else 1
            if parts >= 2 and cost.pixels > 1.5 * budget:
                if batch:  # tasks stay in walk order: the index lists videos so
                    tasks.append(batch)
                    batch, spent = [], 0.0
                tasks.extend([segment] for segment in split(index, cost.duration, parts, fps))
                continue
        weight, limit = (cost.reused, REUSED_FRAMES_PER_TASK) if reused else (cost.pixels, budget)
        if batch and (reusing != reused or spent + weight > limit or len(batch) >= VIDEOS_PER_TASK):
            tasks.append(batch)
            batch, spent = [], 0.0
        reusing = reused
        batch.append((index, 0.0, None))
        spent += weight
    if batch:
        tasks.append(batch)
    return tasks


def split(index: int, duration: float, parts: int, fps: float) -> list[tuple[int, float, float | None]]:
    """`parts` segments of about equal length covering [0, end of video), cut at grid times k/fps."""
    cuts = sorted({math.ceil(duration * i / parts * fps - 1e-9) / fps for i in range(1, parts)})
    starts = [0.0, *cuts]
    ends: list[float | None] = [*cuts, None]
    return [(index, start, end) for start, end in zip(starts, ends, strict=True)]


def divert_videos(paths: Iterable[str], videos: list[str] | None,
                  known: Callable[[str], bool] | None = None) -> Iterator[str]:
    """The walk's paths that are not videos, streamed; video paths (local files and `s3://` objects alike) go
    into `videos` (None: dropped, for --no-videos): those named like videos, and those `known` to be (an
    incremental run's index holds them as videos: found by their content before, producer/video/bycontent.py)."""
    from producer.walk import is_video_name

    for path in paths:
        if not (is_video_name(path) or (known is not None and known(path))):
            yield path
        elif videos is not None:
            videos.append(path)


def plan_videos(paths: list[str], fps: float, segment_s: float, allowed_roots: tuple[str, ...] = (),
                reused: dict[int, int] | None = None, probe_timeout: float = DEFAULT_PROBE_TIMEOUT) -> VideoPlan:
    """Probe each video (its container header, in child processes: :func:`probe_costs`) and plan its tasks.
    `reused`: the position in `paths` of each video reused from an index -> its frames (not probed)."""
    reused = reused or {}
    probed = probe_costs([path for i, path in enumerate(paths) if i not in reused], allowed_roots, probe_timeout)
    costs = (VideoCost(0.0, 0.0, reused[i]) if i in reused else next(probed) for i in range(len(paths)))
    return VideoPlan(fps, paths, plan_tasks(costs, fps, segment_s))

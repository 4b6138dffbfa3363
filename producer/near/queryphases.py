"""A query video for `search`: its head sampled at every frame, and the grids of times through the head that the
search tries (phases), so that an excerpt of fast footage meets its source's samples frame for frame.

An indexed video's samples lie on a grid that starts again at each cut (tasks/video/sample.py, cuts.py). An
excerpt is a copy trimmed wherever its maker chose: until the first cut both see, its own grid falls up to half
a step off its source's, and in fast footage frames half a second apart are different pictures (bikes.mp4's are
10-28 bits apart one frame from the next). The query alone pays for it: its head, up to its first cut and at
most :data:`HEAD_SECONDS`, is sampled at every frame, and for each frame of the head's first step a grid
through that frame is tried (its phase: the frames shown at phase + k * step, with the query's first frame and
its grid samples from the head's end on). One phase is within a frame of the source's grid; per video found,
:func:`closeness` picks the phase whose frames meet the video's closest. The index itself keeps one frame a
step: nothing of this costs the join of `dupes`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from producer.near.videoruns import frame_distances
from tasks.settings import VIDEO_FPS_LIMIT
from tasks.video.frames import IndexedVideo, VideoFrames
from tasks.video.sample import EPSILON

#: Seconds of a query's head (before its first cut) sampled at every frame.
HEAD_SECONDS = 10.0
#: Sampling rate that takes every frame of a video (each frame once): the highest `--video-fps`.
EVERY_FRAME_FPS = float(VIDEO_FPS_LIMIT)
#: Bits a frame costs :func:`closeness` when its nearest frame in time differs more (unrelated pictures: 32).
MISS_BITS = 32


@dataclasses.dataclass(frozen=True)
class QueryVideo:
    """A query video: its frames (the head's every frame, then its grid samples from the head's end), the
    frame indices of each phase, and its sampling step (seconds)."""

    video: IndexedVideo
    phases: list[np.ndarray]
    step: float


def first_cut(times: np.ndarray, step: float) -> float | None:
    """The first sample time off the grid k * step from 0: where the grid started again at a cut."""
    off = np.flatnonzero(np.abs(times - np.round(times / step) * step) > EPSILON)
    return float(times[off[0]]) if len(off) else None


def phase_indices(head: np.ndarray, step: float, head_end: float, rest: int) -> list[np.ndarray]:
    """Per phase (each time of the `head` frames, every frame of the first `head_end` seconds, within the
    first step), the indices of its frames among the head's frames followed by `rest` more: the first frame,
    the frame shown at each phase + k * step before `head_end`, then the `rest`."""
    after = np.arange(len(head), len(head) + rest)
    phases = []
    for phase in head[head < step - EPSILON]:
        grid = np.arange(phase, head_end - EPSILON, step)
        shown = np.searchsorted(head, grid + EPSILON, side="right") - 1
        phases.append(np.r_[0, np.unique(shown[shown > 0]), after].astype(np.intp))
    return phases or [np.arange(len(head) + rest)]


def query_video(grid: IndexedVideo, head: VideoFrames, head_end: float, step: float) -> QueryVideo:
    """The query from its grid samples (as a worker samples it) and every frame of its first `head_end`
    seconds (`head`; none: the grid alone, one phase)."""
    if not len(head):
        return QueryVideo(grid, [np.arange(len(grid.frames))], step)
    rest = grid.frames.take(grid.frames.times >= head_end - EPSILON)
    return QueryVideo(dataclasses.replace(grid, frames=VideoFrames.concatenated([head, rest])),
                      phase_indices(head.times, step, head_end, len(rest)), step)


def head_seconds(grid: IndexedVideo, step: float) -> float:
    """How much of the query's start to sample at every frame: up to its first cut, at most HEAD_SECONDS."""
    cut = first_cut(grid.frames.times, step)
    return min(HEAD_SECONDS, cut if cut is not None else HEAD_SECONDS)


def closeness(query: VideoFrames, video: VideoFrames, a_start: float, a_end: float, b_start: float, b_end: float,
              crops: bool) -> float:
    """Mean bits between each query frame in [a_start, a_end) and the video's frame nearest its time mapped
    onto [b_start, b_end) (at most MISS_BITS each; producer/near/videoruns.frame_distances)."""
    inside = np.flatnonzero((query.times >= a_start - EPSILON) & (query.times < a_end))
    if not len(inside) or not len(video) or a_end <= a_start:
        return float(MISS_BITS)
    mapped = b_start + (query.times[inside] - a_start) * (b_end - b_start) / (a_end - a_start)
    after = np.clip(np.searchsorted(video.times, mapped), 0, len(video) - 1)
    before = np.maximum(after - 1, 0)
    nearest = np.where(np.abs(video.times[before] - mapped) <= np.abs(video.times[after] - mapped), before, after)
    # the query's frames, then the video's nearest ones, measured as the frame join measures frames
    both = VideoFrames.concatenated([query.take(inside), video.take(nearest)])
    n = len(inside)
    bits = frame_distances(np.arange(n), np.arange(n, 2 * n), both.phash, both.centre, crops)
    return float(np.minimum(bits, MISS_BITS).mean())

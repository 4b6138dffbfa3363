"""The aligned footage of a pair of videos, extended at its ends: by a close frame just past each end, and over
the low-information frames there.

An alignment (producer/near/videoalign.py) ends one step past its last matched frame (a sampled frame stands
for the step it opens), so one unmatched frame at an end costs a step. Fast footage changes a lot within the
half step by which two copies' sampling grids can fall apart: the last frame of a clip can miss every frame
of its film by more than the frame distance while the frames before it matched. So the first frame of A
past each end (the first whose step lies mostly past it) is tried against the frames of B sampled on
either side of its time on the line (and the first frame of B past it against A's): within
:data:`END_FRAME_DISTANCE` bits of one, the end moves on by that frame. One frame per end, never a walk: a
loose distance applied frame after frame could run on into footage the two do not share.

Low-information frames (black, flat, a fade: quality under tasks.image.phash.LOW_QUALITY) never take part in
the frame join, so they never make a pair, and an alignment starts and ends at frames that show a picture. A
film that opens on a second of black and its copy share that black too: it is part of their shared
footage. So each end of the segment is then walked outward along the alignment's line, one frame of A at a
time, for as long as that frame and the frame of B sampled nearest its time on the line are both
low-information and within the frame distance of each other.

The pair itself is judged before either (producer/near/videopairs.is_match sees the alignment as the matched
frames with a picture made it): the frames added here only move the ends of a pair already made.

Pure numpy: two videos' sampled frames and an :class:`Alignment` in, an :class:`Alignment` out.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from producer.near.videoalign import Alignment, segment_ends, segment_starts
from tasks.image.phash import LOW_QUALITY
from tasks.video.frames import VideoFrames

#: B's frame nearest a time on the line stands for it when it is at most this many of B's sampling steps away
#: (the sampled frames of two copies fall up to half a step apart; past B's first or last frame the ends are
#: narrowed to where B's own footage starts or stops).
NEAREST_STEPS = 1.0
#: Times closer than this (seconds) are the same time.
EPSILON = 1e-6
#: A frame just past an end of the shared footage extends it when it is within this many bits (or the frame
#: distance, the larger) of a frame of the other video sampled next to its time on the line. Unrelated
#: 64-bit hashes differ by 32 +- 4 bits; Megamind's 8 s clip's last frame (fast action, 0.18 s off the film's
#: grid) is 14 bits from the film's frames on either side (bench/video_quality.py, bench/RESULTS.md).
END_FRAME_DISTANCE = 16


def _distance(a: VideoFrames, i: int, b: VideoFrames, j: int, crops: bool) -> int:
    """Frame i of A to frame j of B as the frame join measures them (producer/near/videoruns.frame_distances,
    without the band: a flat frame has none): phash, and with `crops` the least of phash against phash and
    against the other's centre-crop hash (the phash of a flat frame is mostly noise; the centre crop's
    often not)."""
    pairs = [(a.phash[i], b.phash[j])] + ([(a.phash[i], b.centre[j]), (a.centre[i], b.phash[j])] if crops else [])
    return min(int(x ^ y).bit_count() for x, y in pairs)


def _walk(order: np.ndarray, a: VideoFrames, b: VideoFrames, slope: float, offset: float, b_step: float,
          max_distance: int, crops: bool, inside: Callable[[float], bool]) -> tuple[int, int] | None:
    """The last (frame of A, frame of B) in `order` (A's frames, walking outward) before the first frame of A
    whose partner in B (B's frame nearest its time on the line) is missing, not low-information, or too far;
    None when the first one already is. A frame whose partner is `inside` B's segment is passed over."""
    low_a, low_b = a.quality < LOW_QUALITY, b.quality < LOW_QUALITY
    reached = None
    for i in order.tolist():
        target = slope * float(a.times[i]) + offset
        j = int(np.argmin(np.abs(b.times - target))) if len(b.times) else -1
        if j < 0 or abs(float(b.times[j]) - target) > NEAREST_STEPS * b_step:
            break
        if inside(float(b.times[j])):
            continue  # A's frame is just outside the segment, B's nearest still in it (their grids differ)
        if not (low_a[i] and low_b[j]) or _distance(a, i, b, j, crops) > max_distance:
            break
        reached = (i, j)
    return reached


def extend_over_low_information(alignment: Alignment, a: VideoFrames, b: VideoFrames, max_distance: int, *,
                                a_step: float, b_step: float, a_duration: float = math.inf,
                                b_duration: float = math.inf, crops: bool = True) -> Alignment:
    """`alignment` of A and B, its start moved back and its end moved on over the low-information frames that
    A and B share at the aligned times (within `max_distance`, with `crops` as the frame join measures),
    narrowed as producer/near/videoalign.py narrows (its segment_starts and segment_ends)."""
    slope = 1.0 / alignment.speed
    offset = alignment.b_start - slope * alignment.a_start
    a_start, a_end, b_start, b_end = alignment.a_start, alignment.a_end, alignment.b_start, alignment.b_end
    before = np.flatnonzero(a.times < a_start - EPSILON)[::-1]
    head = _walk(before, a, b, slope, offset, b_step, max_distance, crops, lambda t: t > b_start - b_step / 2)
    if head is not None:
        head_a, head_b = segment_starts(float(a.times[head[0]]), float(b.times[head[1]]), slope, offset)
        a_start, b_start = min(a_start, head_a), min(b_start, head_b)
    after = np.flatnonzero(a.times >= a_end - EPSILON)
    tail = _walk(after, a, b, slope, offset, b_step, max_distance, crops, lambda t: t < b_end - b_step / 2)
    if tail is not None:
        tail_a, tail_b = segment_ends(float(a.times[tail[0]]), float(b.times[tail[1]]), slope, offset, a_step, b_step,
                                      a_duration, b_duration)
        a_end, b_end = max(a_end, tail_a), max(b_end, tail_b)
    return dataclasses.replace(alignment, a_start=a_start, a_end=a_end, b_start=b_start, b_end=b_end)


def _next_to(times: np.ndarray, target: float, step: float) -> list[int]:
    """The frames sampled next to `target` (the last at or before it, the first after it), each within
    :data:`NEAREST_STEPS` steps of it."""
    after = int(np.searchsorted(times, target, side="right"))
    return [j for j in (after - 1, after)
            if 0 <= j < len(times) and abs(float(times[j]) - target) <= NEAREST_STEPS * step]


def _close_partner(x: VideoFrames, i: int, y: VideoFrames, target: float, y_step: float, limit: int, crops: bool,
                   outside: Callable[[float], bool]) -> int | None:
    """The frame of y next to `target` (x's frame i's time on the line), `outside` y's segment, that it and
    x's frame i both show a picture and are within `limit` bits of each other (of two, the closer); else None."""
    if x.quality[i] < LOW_QUALITY:
        return None
    near = [(_distance(x, i, y, j, crops), j) for j in _next_to(y.times, target, y_step)
            if outside(float(y.times[j])) and y.quality[j] >= LOW_QUALITY]
    near = [(d, j) for d, j in near if d <= limit]
    return min(near)[1] if near else None


def _close_past(x: VideoFrames, y: VideoFrames, x_edge: float, y_edge: float, x_step: float, y_step: float,
                to_y: Callable[[float], float], limit: int, crops: bool, head: bool) -> tuple[int, int] | None:
    """(x's first frame past its `x_edge` of the footage, before it for a `head` else after it: the first whose
    step lies mostly past it; the frame of y outside `y_edge` it is close to, :func:`_close_partner`), or None."""
    if head:
        past, outside = np.flatnonzero(x.times <= x_edge - x_step / 2)[-1:], (lambda t: t <= y_edge - y_step / 2)
    else:
        past, outside = np.flatnonzero(x.times >= x_edge - x_step / 2)[:1], (lambda t: t >= y_edge - y_step / 2)
    if not len(past):
        return None
    i = int(past[0])
    j = _close_partner(x, i, y, to_y(float(x.times[i])), y_step, limit, crops, outside)
    return None if j is None else (i, j)


def extend_by_close_frames(alignment: Alignment, a: VideoFrames, b: VideoFrames, max_distance: int, *, a_step: float,
                           b_step: float, a_duration: float = math.inf, b_duration: float = math.inf,
                           crops: bool = True) -> Alignment:
    """`alignment` of A and B, each end moved on by the first frame past it (the first whose step lies mostly
    past it; of A, tried against the frames of B next to its time on the line, and of B against A's) that is
    within :data:`END_FRAME_DISTANCE` bits (or `max_distance`, the larger) of one of them, both showing a
    picture; narrowed as producer/near/videoalign.py narrows (its segment_starts and segment_ends)."""
    slope = 1.0 / alignment.speed
    offset = alignment.b_start - slope * alignment.a_start
    limit = max(max_distance, END_FRAME_DISTANCE)
    a_start, a_end, b_start, b_end = alignment.a_start, alignment.a_end, alignment.b_start, alignment.b_end

    def ends_moved(head: bool) -> list[tuple[int, int]]:
        """(frame of A, frame of B) for each close frame past that end: one of A's, one of B's."""
        a_edge, b_edge = (a_start, b_start) if head else (a_end, b_end)
        of_a = _close_past(a, b, a_edge, b_edge, a_step, b_step, lambda t: slope * t + offset, limit, crops, head)
        of_b = _close_past(b, a, b_edge, a_edge, b_step, a_step, lambda t: (t - offset) / slope, limit, crops, head)
        return ([] if of_a is None else [of_a]) + ([] if of_b is None else [of_b[::-1]])

    heads, tails = ends_moved(head=True), ends_moved(head=False)
    for i, j in heads:
        head_a, head_b = segment_starts(float(a.times[i]), float(b.times[j]), slope, offset)
        a_start, b_start = min(a_start, head_a), min(b_start, head_b)
    for i, j in tails:
        tail_a, tail_b = segment_ends(float(a.times[i]), float(b.times[j]), slope, offset, a_step, b_step,
                                      a_duration, b_duration)
        a_end, b_end = max(a_end, tail_a), max(b_end, tail_b)
    return dataclasses.replace(alignment, a_start=a_start, a_end=a_end, b_start=b_start, b_end=b_end)


def extend_ends(alignment: Alignment, a: VideoFrames, b: VideoFrames, max_distance: int, *, a_step: float,
                b_step: float, a_duration: float = math.inf, b_duration: float = math.inf,
                crops: bool = True) -> Alignment:
    """The ends of a pair's footage as `dupes` and `search` report them: moved on by a close frame just past
    each (:func:`extend_by_close_frames`), then over the low-information frames both videos share there
    (:func:`extend_over_low_information`)."""
    steps = {"a_step": a_step, "b_step": b_step, "a_duration": a_duration, "b_duration": b_duration, "crops": crops}
    return extend_over_low_information(extend_by_close_frames(alignment, a, b, max_distance, **steps), a, b,
                                       max_distance, **steps)

"""The aligned footage of a pair of videos, extended over the low-information frames at its ends.

Low-information frames (black, flat, a fade: quality under tasks.image.phash.LOW_QUALITY) never take part in
the frame join, so they never make a pair, and an alignment (producer/near/videoalign.py) starts and ends at
frames that show a picture. A film that opens on a second of black and its copy share that black too: it is
part of their shared footage. So, once a pair is made, each end of its segment is walked outward along the
alignment's line, one frame of A at a time, for as long as that frame and the frame of B sampled nearest
its time on the line are both low-information and within the frame distance of each other.

The pair itself is judged before this (producer/near/videopairs.is_match sees the alignment as the frames
with a picture made it): the frames walked over only move the ends of a pair already made.

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

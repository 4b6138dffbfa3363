"""`search` over videos: where a query image appears in the indexed videos, and where a query video's footage
does. Pure numpy over the videos' sampled frames (a linear scan per query frame, as for image queries).

An image matches a video at every frame within the distance; the match is the run of such frames around the
nearest one (a shot holds a picture for a while), so `start`/`end` say when the picture is on screen. A
video query matches when its aligned footage is a pair by the rule of `dupes` (producer/near/videopairs.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from producer.near.defaults import CENTRE_HASH, DEFAULT_HASH
from producer.near.queryphases import closeness
from producer.near.videoalign import Alignment, align
from producer.near.videoends import extend_ends
from producer.near.videopairs import BAND_HASH, BAND_MAX_DISTANCE, duration_of, frames_index, is_match, sampling_step
from tasks.image.phash import LOW_QUALITY
from tasks.nearjoin.join import neighbours
from tasks.video.frames import IndexedVideo, VideoFrames

#: Frames of an image match closer than this (seconds) count as one time on screen.
RUN_GAP_STEPS = 1.5


@dataclasses.dataclass(frozen=True)
class VideoMatch:
    """A query found in video `video` (index into the list searched) at [start, end) seconds, at hash
    `distance`; for a video query also where in the query the footage is, [query_start, query_end)."""

    video: int
    distance: int
    start: float
    end: float
    query_start: float | None = None
    query_end: float | None = None


def _frame_distances(index, hashes: dict[str, int], crops: bool) -> np.ndarray:
    full = index.hashes[DEFAULT_HASH]
    distance = np.bitwise_count(full ^ np.uint64(hashes[DEFAULT_HASH]))
    if crops and CENTRE_HASH in hashes:
        distance = np.minimum(distance, np.bitwise_count(index.hashes[CENTRE_HASH] ^ np.uint64(hashes[DEFAULT_HASH])))
        distance = np.minimum(distance, np.bitwise_count(full ^ np.uint64(hashes[CENTRE_HASH])))
    return distance


def image_in_videos(videos: Sequence[IndexedVideo], hashes: dict[str, int], max_distance: int, *,
                    crops: bool = True) -> list[VideoMatch]:
    """The videos showing the image whose hashes are `hashes` ({algorithm: 64-bit int}), nearest first; per
    video the run of matching frames around its nearest frame. Low-information frames never match."""
    index, owner = frames_index(videos)
    times = np.concatenate([v.frames.times for v in videos]) if videos else np.zeros(0)
    distance = _frame_distances(index, hashes, crops)
    near = np.flatnonzero((distance <= max_distance) & (index.quality >= LOW_QUALITY))
    matches = []
    for v in np.unique(owner[near]).tolist():
        mine = near[owner[near] == v]
        step = sampling_step(videos[v].frames.times)
        best = mine[np.argmin(distance[mine])]
        runs = np.split(mine, np.flatnonzero(np.diff(times[mine]) > RUN_GAP_STEPS * step) + 1)
        run = next(r for r in runs if best in r)
        end = min(float(times[run[-1]]) + step, duration_of(videos[v]))
        matches.append(VideoMatch(v, int(distance[best]), float(times[run[0]]), end))
    matches.sort(key=lambda m: (m.distance, m.video))
    return matches


def _widest(ta: np.ndarray, tb: np.ndarray, steps: dict) -> Alignment:
    """The widest footage an alignment of frames at times `ta` and `tb` can give (align's segment runs from a
    matched frame to one step past another)."""
    a_end, b_end = float(ta.max()) + steps["a_step"], float(tb.max()) + steps["b_step"]
    return Alignment(float(ta.min()), a_end, float(tb.min()), b_end, 1.0, len(ta), 0)


def clip_in_videos(videos: Sequence[IndexedVideo], query: VideoFrames, query_duration: float, max_distance: int, *,
                   crops: bool = True, phases: Sequence[np.ndarray] | None = None,
                   step: float | None = None) -> list[VideoMatch]:
    """The videos holding the query video's footage (aligned as `dupes` aligns a pair, ends extended over the
    low-information frames both share), nearest first. `phases`: the query's frames of each grid to try
    (producer/near/queryphases.py; None: all its frames, one grid), sampled every `step` seconds (None: the
    median gap between its frames); per video the phase of the longest footage, then of the closest frames."""
    index, owner = frames_index(videos)
    times = np.concatenate([v.frames.times for v in videos]) if videos else np.zeros(0)
    usable = np.flatnonzero(query.quality >= LOW_QUALITY)
    qa, fb, d = [], [], []
    hashes = [(query.phash, index.hashes[DEFAULT_HASH])]
    if crops:
        hashes += [(query.phash, index.hashes[CENTRE_HASH]), (query.centre, index.hashes[DEFAULT_HASH])]
    band = index.hashes[BAND_HASH]
    hashes.append((query.band, band))  # band against band, as dupes joins them
    for queries, frames in hashes:
        bound = min(max_distance, BAND_MAX_DISTANCE) if frames is band else max_distance
        # each distinct hash scanned once: a query's head, sampled at every frame, repeats many
        distinct, which = np.unique(queries[usable].astype(np.uint64), return_inverse=True)
        found = neighbours(frames, distinct, bound)
        for q, (ids, dist) in zip(usable.tolist(), (found[i] for i in which.tolist()), strict=True):
            keep = index.quality[ids] >= LOW_QUALITY
            if frames is band:  # a frame indexed without a band hash (0) matches none
                keep &= (band[ids] != 0) & (query.band[q] != 0)
            qa.append(np.full(int(keep.sum()), q))
            fb.append(ids[keep])
            d.append(dist[keep])
    if not qa:
        return []
    qa, fb, d = np.concatenate(qa), np.concatenate(fb).astype(np.int64), np.concatenate(d)
    order = np.lexsort((d, fb, qa))  # per (query frame, frame), the least distance of the hash pairings
    qa, fb, d = qa[order], fb[order], d[order]
    first = np.r_[True, (qa[1:] != qa[:-1]) | (fb[1:] != fb[:-1])] if len(qa) else np.zeros(0, bool)
    qa, fb, d = qa[first], fb[first], d[first]
    step = sampling_step(query.times) if step is None else step
    grids = [(np.arange(len(query)), query)] if phases is None else [(p, query.take(p)) for p in phases]
    matches = []
    for v in np.unique(owner[fb]).tolist():
        mine = owner[fb] == v
        steps = {"a_step": step, "b_step": sampling_step(videos[v].frames.times), "a_duration": query_duration,
                 "b_duration": duration_of(videos[v])}
        if not is_match(_widest(query.times[qa[mine]], times[fb[mine]], steps), query_duration, steps["b_duration"]):
            continue  # no alignment of these frames can be a match: each phase's lies within theirs
        best = None
        for rows, frames in grids:
            kept = mine & np.isin(qa, rows)
            found = align(query.times[qa[kept]], times[fb[kept]], d[kept], **steps) if kept.any() else None
            if found is None or not is_match(found, query_duration, steps["b_duration"]):
                continue
            found = extend_ends(found, frames, videos[v].frames, max_distance, crops=crops, **steps)
            rank = (-round(found.a_end - found.a_start, 1), closeness(frames, videos[v].frames, found.a_start,
                                                                      found.a_end, found.b_start, found.b_end, crops))
            if best is None or rank < best[0]:
                best = (rank, found)
        if best is not None:
            found = best[1]
            matches.append(VideoMatch(v, found.distance, found.b_start, found.b_end, found.a_start, found.a_end))
    matches.sort(key=lambda m: (m.distance, m.video))
    return matches

"""Video pairs of `dupes`: the sampled frames of every video in one exact Hamming join, then, per pair of
videos with matching frames, their aligned footage (producer/near/videoalign.py) and the rule that makes
it a pair.

The frames join exactly as images do (producer/near/find.near_pairs: phash, and with `crops` the centre-crop
hashes; frames under the low-information quality never take part), so the join's `--broker` form serves
videos too. The frames' band hashes (tasks/video/band.py: the middle half of the height, which a logo in a
corner leaves alone) join in a second self-join of their own, band against band only, within the frame
distance or BAND_MAX_DISTANCE, the lesser. Frames of one video never pair with each other: both joins take
the video of every row and drop such pairs inside (tasks/nearjoin/groups.py), on the workers too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from producer.near.defaults import CENTRE_HASH, DEFAULT_FRAME_DISTANCE, DEFAULT_HASH
from producer.near.find import near_pairs
from producer.near.hashindex import MISSING, HashIndex
from producer.near.videoalign import Alignment, align
from producer.near.videoends import extend_ends
from producer.near.videoruns import RUN_RADIUS, expand, frame_distances, frame_runs
from tasks.image.phash import LOW_QUALITY
from tasks.nearjoin.join import join
from tasks.video.frames import IndexedVideo

#: A pair needs aligned footage of at least this share of the shorter video (a clip inside a long video:
#: 100 % of the clip; a 3 s intro shared by two 30 s videos: 10 %).
MIN_SHARE = 0.5
#: ... and of at least this many seconds, or 90 % of the shorter video when it is shorter than that: a
#: shared title card or logo sting of a few seconds never makes a pair on its own.
MIN_ALIGNED_SECONDS = 5.0
SHORT_VIDEO_SHARE = 0.9
#: The HashIndex name of the frames' band hashes (tasks/video/band.py).
BAND_HASH = "phash-band"
#: Band hashes pair within at most this many bits (and the frame distance). On the quality set's copies
#: (bench/video_quality.py) 99 % of a CRF 40 copy's frames and every logo-boxed, half-size or letterboxed
#: copy's frame have their original's band within 6 bits; band pairs within 4, 6 or 10 bits find the same
#: video pairs there. A self-join's cost grows fast with its distance: at 300 hours (bench/video_scale.py)
#: the band join within 6 bits adds a quarter to the frame join, within 10 as much again as the join itself.
BAND_MAX_DISTANCE = 6
#: Sampling step assumed for a video with fewer than two frames (seconds).
FALLBACK_STEP = 1.0


@dataclasses.dataclass(frozen=True)
class VideoPair:
    """Videos `a` < `b` (indices into the list given) and their aligned footage."""

    a: int
    b: int
    alignment: Alignment


def sampling_step(times: np.ndarray) -> float:
    """A video's sampling step in seconds: the median gap between its sampled frames."""
    return float(np.median(np.diff(times))) if len(times) > 1 else FALLBACK_STEP


def duration_of(video: IndexedVideo) -> float:
    """The video's duration, or its last sampled frame plus one step when the container gave none or one
    that ends before that frame (a bare MPEG-1 stream's header can say 0.04 s of a 3 s video)."""
    times = video.frames.times
    if not len(times):
        return video.duration
    return video.duration if video.duration > times[-1] else float(times[-1]) + sampling_step(times)


def is_match(alignment: Alignment, a_duration: float, b_duration: float) -> bool:
    """True when the aligned footage is a pair: at least :data:`MIN_SHARE` of the shorter video and at least
    :data:`MIN_ALIGNED_SECONDS` (or :data:`SHORT_VIDEO_SHARE` of a shorter video), counted in the shorter
    video's seconds, as its matched frames cover them."""
    a_shorter = a_duration <= b_duration
    shorter = a_duration if a_shorter else b_duration
    span = alignment.a_end - alignment.a_start if a_shorter else alignment.b_end - alignment.b_start
    if shorter <= 0:
        return False
    return span >= MIN_SHARE * shorter and span >= min(MIN_ALIGNED_SECONDS, SHORT_VIDEO_SHARE * shorter)


def _hash_index(phash: np.ndarray, centre: np.ndarray, quality: np.ndarray,
                band: np.ndarray | None = None) -> HashIndex:
    missing = np.full(len(phash), MISSING, np.int64)
    hashes = {DEFAULT_HASH: phash, CENTRE_HASH: centre} | ({} if band is None else {BAND_HASH: band})
    return HashIndex([], hashes, quality.astype(np.int16), missing, missing, missing, missing,
                     (DEFAULT_HASH, CENTRE_HASH), 8)


def frames_index(videos: Sequence[IndexedVideo]) -> tuple[HashIndex, np.ndarray]:
    """Every sampled frame as one entry of a HashIndex (phash, centre-crop phash, quality, and the band hash
    as :data:`BAND_HASH`), and the video each belongs to."""
    frames = [v.frames for v in videos]
    owner = np.repeat(np.arange(len(videos)), [len(f) for f in frames])

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(f, name) for f in frames]) if frames else np.zeros(0, np.uint64)

    return _hash_index(cat("phash").astype(np.uint64), cat("centre").astype(np.uint64), cat("quality"),
                       cat("band").astype(np.uint64)), owner


def band_pairs(band: np.ndarray, low: np.ndarray, max_distance: int, joiner=join,
               groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a < b, sorted) of entries whose band hashes are within `max_distance`, among those that have
    one (not 0: frames indexed before frames had it) and are not `low`-information; with `groups` (one int
    per entry), only pairs of entries of different groups."""
    rows = np.flatnonzero((band != 0) & ~low)
    if len(rows) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a, b, _ = joiner(band[rows], max_distance, groups=None if groups is None else groups[rows])
    return rows[a], rows[b]


def frame_matches(videos: Sequence[IndexedVideo], max_distance: int, *, crops: bool = True, joiner=join,
                  radius: int = RUN_RADIUS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of frames (indices into the concatenated frames of `videos`, first of the lower video, sorted)
    of different videos within `max_distance`, with their distance. The join runs over runs of frames
    within `radius` bits of their first (producer/near/videoruns.py; a radius below 0: every frame alone)."""
    index, owner = frames_index(videos)
    phash, centre, band = (index.hashes[name] for name in (DEFAULT_HASH, CENTRE_HASH, BAND_HASH))
    low = index.quality < LOW_QUALITY
    runs = frame_runs(phash, centre, low, owner, radius, band)
    heads = runs.first
    video = owner[heads]  # the joins drop pairs of runs of one video
    ra, rb, _ = near_pairs(_hash_index(phash[heads], centre[heads], index.quality[heads]), max_distance,
                           crops=crops, joiner=joiner, groups=video)
    band_distance = min(max_distance, BAND_MAX_DISTANCE)
    ba, bb = band_pairs(band[heads], low[heads], band_distance, joiner, video)
    ra, rb = _union(np.r_[ra, ba], np.r_[rb, bb], len(heads))
    a, b = expand(ra, rb, runs)
    d = frame_distances(a, b, phash, centre, crops, band, band_distance)
    close = d <= max_distance
    a, b, d = a[close], b[close], d[close]
    swap = owner[a] > owner[b]
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    order = np.lexsort((b, a))
    return a[order], b[order], d[order]


def _union(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each pair (a < b) of entries among `n` once."""
    keys = np.unique(a.astype(np.int64) * n + b.astype(np.int64))
    return keys // n, keys % n


def video_pairs(videos: Sequence[IndexedVideo], *, max_distance: int = DEFAULT_FRAME_DISTANCE, crops: bool = True,
                joiner=join, radius: int = RUN_RADIUS) -> list[VideoPair]:
    """Every pair of videos whose aligned footage :func:`is_match`, in order of (a, b); a pair's footage then
    extended over the low-information frames the two share at its ends (producer/near/videoends.py)."""
    fa, fb, d = frame_matches(videos, max_distance, crops=crops, joiner=joiner, radius=radius)
    owner = np.repeat(np.arange(len(videos)), [len(v.frames) for v in videos])
    times = np.concatenate([v.frames.times for v in videos]) if videos else np.zeros(0)
    va, vb = owner[fa], owner[fb]
    order = np.lexsort((vb, va))
    fa, fb, d, va, vb = fa[order], fb[order], d[order], va[order], vb[order]
    cuts = np.flatnonzero((np.diff(va) != 0) | (np.diff(vb) != 0)) + 1
    pairs = []
    for lo, hi in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(fa)].tolist(), strict=True):
        if lo == hi:
            continue
        a, b = videos[int(va[lo])], videos[int(vb[lo])]
        a_duration, b_duration = duration_of(a), duration_of(b)
        steps = {"a_step": sampling_step(a.frames.times), "b_step": sampling_step(b.frames.times),
                 "a_duration": a_duration, "b_duration": b_duration}
        found = align(times[fa[lo:hi]], times[fb[lo:hi]], d[lo:hi], **steps)
        if found is not None and is_match(found, a_duration, b_duration):
            found = extend_ends(found, a.frames, b.frames, max_distance, crops=crops, **steps)
            pairs.append(VideoPair(int(va[lo]), int(vb[lo]), found))
    return pairs

"""Aligned footage of two videos, from the pairs of their frames whose hashes match.

A copy of footage keeps its frames in time order: the matching frames of video A at times ta and of video B
at times tb lie on one line tb = slope * ta + offset (slope 1 for a re-encode, a resize, another frame rate or
a trim; 0.8 for a copy played 1.25 times as fast). Two videos that only look alike (similar shots, one
shared title card) give matches that lie on no such line, or on a short one. So:

1. Vote (Hough-style) for the line: every matching frame pair votes, for each slope of a log-spaced grid,
   for the offset bin it implies; a line's votes are the distinct frames of A and of B voting for it (the
   lesser), so a still shot matching a still shot many times over counts once per frame. Among lines with
   as many votes, the one whose frames match closest (least summed hash distance) wins: a still shot or a
   fixed camera matches itself at many offsets, as many frames at each, but at the true one most nearly.
2. The frame pairs near the winning line, reduced to the longest chain increasing in both times (of the
   longest, the one of least summed distance, then nearest the line).
3. The chain is cut where it skips more than :data:`MAX_GAP_SECONDS` of footage; the longest piece is the
   aligned segment: its first and last frames give the start and end in each video.

Pure numpy: the times in, an :class:`Alignment` out. Which pairs count is the rule in :func:`is_match`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from producer.near.videochain import longest_chain, longest_piece

#: Fastest speed change voted for (either way): a copy played up to twice as fast, or half as fast, aligns.
MAX_SPEED = 2.0
#: Ratio between neighbouring slopes of the vote: over 60 s of footage a slope off by half a step drifts 0.45 s,
#: inside one offset bin.
SLOPE_STEP = 1.015
#: A frame pair lies on the line when its B time is this many sampling steps from the line's (the sampled
#: frames of two copies fall up to half a step apart, a trim or a frame rate shifts the grid).
LINE_TOLERANCE_STEPS = 1.0
#: A chain that skips more than this much footage (seconds, in either video) is cut there: footage shared
#: at both ends of two different videos (an intro and an outro) stays two separate pieces.
MAX_GAP_SECONDS = 5.0
#: Speeds within this of 1 are reported as 1 (the fitted slope of a plain copy wobbles by about a percent).
SPEED_TOLERANCE = 0.03
#: A slope other than 1 needs this many times the votes of the best unchanged-speed line, and this many
#: votes more: a real speed change puts every frame on its line, chance puts one or two (chosen with
#: bench/video_quality.py: 1.25x copies found at 1.23-1.24, no false speed on trims and 8 s clips; at 1.0 and
#: 1 vote, 8 s clips got speeds of 1.3).
SPEED_VOTE_MARGIN = 1.1
SPEED_MIN_EXTRA_VOTES = 2
#: Grid of the offsets :func:`fitted_offset` weighs, in sampling steps of B (1/50: 0.02 s at 1 frame/s).
OFFSET_RESOLUTION_STEPS = 0.02
#: Of the longest chains of matching frames on the line, the one of least summed hash distance is taken, and
#: among those the one nearest the line, its distance from it counted in this many levels (a tie-break only).
CHAIN_LINE_LEVELS = 16
#: Bits of a frame hash: the largest distance two frames can have.
HASH_BITS = 64
#: What a frame of A costs :func:`fitted_offset` when the frame of B it meets at an offset did not match it
#: (a different picture: two unrelated 64-bit hashes differ by 32 bits on average).
MISS_BITS = 32
#: The chain's median offset stands unless another offset meets the frames at least this many bits closer
#: in total: half a frame of a different picture. Re-encoded copies of slow footage differ by a bit or two
#: from one offset to the next (bench/video_quality.py); a second off across a change of picture costs a miss.
OFFSET_EVIDENCE_BITS = 16


@dataclasses.dataclass(frozen=True)
class Alignment:
    """The aligned footage of A and B: [a_start, a_end) in A matches [b_start, b_end) in B (seconds); `speed`
    how many times faster B plays the footage than A (1.0 when unchanged); `frames` matched frames on it and
    `distance` their median hash distance."""

    a_start: float
    a_end: float
    b_start: float
    b_end: float
    speed: float
    frames: int
    distance: int

    @property
    def seconds(self) -> float:
        """Aligned footage in seconds of the video that plays it longer."""
        return max(self.a_end - self.a_start, self.b_end - self.b_start)


def slopes(max_speed: float = MAX_SPEED, step: float = SLOPE_STEP) -> np.ndarray:
    """The slopes voted for, log-spaced from 1/max_speed to max_speed, 1.0 among them, nearest 1 first."""
    half = int(math.floor(math.log(max_speed) / math.log(step)))
    exponents = np.array(sorted(range(-half, half + 1), key=abs), float)
    return step ** exponents


def _best_line(ta: np.ndarray, tb: np.ndarray, distance: np.ndarray, bin_width: float,
               grid: np.ndarray) -> tuple[float, float, int]:
    """(slope, offset, votes) of the line most distinct frames vote for. Slope 1 wins unless another slope has
    :data:`SPEED_VOTE_MARGIN` times its votes and :data:`SPEED_MIN_EXTRA_VOTES` more (a still shot or a slow
    zoom matches its neighbours too, so a slightly tilted line often collects a frame or two more by
    chance). Among lines with as many votes, the one whose frames match closest wins (the least sum, over
    its distinct frames of A and of B, of each frame's least distance on it): a still shot matches itself a
    second earlier or later, in every frame, but at the true offset the frames are nearest. Then ties go to
    the slope nearest 1 (the grid's order), then to the smaller offset."""
    ia, ib = _inverse(ta)[1], _inverse(tb)[1]
    shape = (len(grid), len(ta))
    slope_of = np.broadcast_to(np.arange(len(grid))[:, None], shape).ravel()
    tiled = np.tile(np.minimum(distance, HASH_BITS).astype(np.uint8), len(grid))
    best, unchanged = (1.0, 0.0, -1, 0.0), (1.0, 0.0, -1, 0.0)
    for shift in (0.0, 0.5):  # two bin grids half a bin apart: a line near a bin edge is still whole in one
        bins = np.floor((tb[None, :] - grid[:, None] * ta[None, :]) / bin_width + shift).astype(np.int64).ravel()
        span = int(bins.max() - bins.min()) + 1
        lines, line = _inverse(slope_of * span + (bins - bins.min()))
        count_a, least_a = _distinct_least(line, np.tile(ia, len(grid)), tiled, len(lines))
        count_b, least_b = _distinct_least(line, np.tile(ib, len(grid)), tiled, len(lines))
        votes, cost = np.minimum(count_a, count_b), least_a + least_b
        for pick, keep in ((np.arange(len(lines)), "best"), (np.flatnonzero(lines < span), "unchanged")):
            top = int(votes[pick].max())
            tied = pick[votes[pick] == top]
            chosen = int(tied[np.argmin(cost[tied])])  # the first of the least: the grid's order
            current = best if keep == "best" else unchanged
            if (top, -cost[chosen]) > (current[2], -current[3]):
                s, b = divmod(int(lines[chosen]), span)
                found = (float(grid[s]), float((b + bins.min() - shift + 0.5) * bin_width), top, float(cost[chosen]))
                best, unchanged = (found, unchanged) if keep == "best" else (best, found)
    if best[2] >= max(SPEED_VOTE_MARGIN * unchanged[2], unchanged[2] + SPEED_MIN_EXTRA_VOTES):
        return best[:3]
    return unchanged[:3]


def _sorted_distinct(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting (several times faster than numpy's hashing unique on int64 keys)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values, sorted, and each value's index among them."""
    distinct = _sorted_distinct(values)
    return distinct, np.searchsorted(distinct, values)


def _distinct_least(line: np.ndarray, frame: np.ndarray, distance: np.ndarray,
                    lines: int) -> tuple[np.ndarray, np.ndarray]:
    """Per line, how many distinct frames vote for it, and the sum of each such frame's least distance."""
    frame_bits, distance_bits = int(frame.max()).bit_length(), HASH_BITS.bit_length()
    # one sort of (line, frame, distance) packed into the bits of an int64 (built in place, shifts rather
    # than divisions: these arrays hold a pair per slope): each frame's first entry on a line is its least
    packed = line.astype(np.int64)
    packed <<= frame_bits
    packed |= frame
    packed <<= distance_bits
    packed |= distance
    packed.sort()
    key = packed >> distance_bits
    first = np.empty(len(key), bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    of = key[first] >> frame_bits
    least = (packed[first] & ((1 << distance_bits) - 1)).astype(np.float64)
    return np.bincount(of, minlength=lines), np.bincount(of, weights=least, minlength=lines)


def fitted_offset(ta: np.ndarray, tb: np.ndarray, distance: np.ndarray, slope: float, b_step: float,
                  rough: float) -> float:
    """The line's offset, finer than a sampling step: the offset at which the frames of A (those of the pairs
    given) meet the frames of B sampled nearest their times on the line at the least total distance (a frame
    of B that does not match one of A counts :data:`MISS_BITS`), searched within a step of `rough` (the
    chain's median offset) on a grid of :data:`OFFSET_RESOLUTION_STEPS`: `rough` itself unless it costs
    more than :data:`OFFSET_EVIDENCE_BITS` over the least, else the middle of the stretch of least totals
    nearest it. Slow footage (a zoom, a still) matches the frames a second before and after about as well,
    so the median offset of a chain can be a step off; where the picture changes, a step off pairs frames
    of different pictures."""
    a_times, ia = _inverse(ta)
    b_times, ib = _inverse(tb)
    pair = ia.astype(np.int64) * len(b_times) + ib
    order = np.argsort(pair, kind="stable")
    pair, ordered = pair[order], distance[order]
    firsts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    keys, least = pair[firsts], np.minimum.reduceat(ordered, firsts)  # each pair of frames once, its least
    grid = rough + np.linspace(-b_step, b_step, int(round(2 / OFFSET_RESOLUTION_STEPS)) + 1)
    target = slope * a_times[:, None] + grid[None, :]
    after = np.clip(np.searchsorted(b_times, target), 0, len(b_times) - 1)
    before = np.maximum(after - 1, 0)
    gap_before, gap_after = np.abs(target - b_times[before]), np.abs(b_times[after] - target)

    def cost_of(j: np.ndarray) -> np.ndarray:
        wanted = np.arange(len(a_times))[:, None].astype(np.int64) * len(b_times) + j
        at = np.clip(np.searchsorted(keys, wanted), 0, len(keys) - 1)
        return np.where(keys[at] == wanted, least[at], float(MISS_BITS))

    # B's frame nearest the time; halfway between two, the worse of them (no side favoured)
    cb, ca = cost_of(before), cost_of(after)
    tie = np.abs(gap_before - gap_after) < 1e-9
    cost = np.where(tie, np.maximum(cb, ca), np.where(gap_before < gap_after, cb, ca)).sum(axis=0)
    if cost[np.argmin(np.abs(grid - rough))] <= cost.min() + OFFSET_EVIDENCE_BITS:
        return rough
    top = np.flatnonzero(cost <= cost.min() + 1e-9)
    pieces = np.split(top, np.flatnonzero(np.diff(top) > 1) + 1)
    spans = [(float(grid[p[0]]), float(grid[p[-1]])) for p in pieces]
    lo, hi = min(spans, key=lambda s: min(abs(rough - s[0]), abs(rough - s[1])))
    return (lo + hi) / 2


def align(ta: np.ndarray, tb: np.ndarray, distance: np.ndarray, *, a_step: float, b_step: float,
          a_duration: float = math.inf, b_duration: float = math.inf) -> Alignment | None:
    """The aligned footage of two videos from their matching frame pairs (A's frame time, B's frame time,
    hash distance), sampled every `a_step` and `b_step` seconds; None without any match. In each video the
    segment runs from the first matched frame to one step past the last (a sampled frame stands for the
    step it opens), narrowed to the other video's segment mapped through the line, within the durations."""
    ta, tb, distance = (np.asarray(x, float) for x in (ta, tb, distance))
    if not len(ta):
        return None
    step = max(a_step, b_step)
    slope, offset, _ = _best_line(ta, tb, distance, step, slopes())
    near = np.flatnonzero(np.abs(tb - (slope * ta + offset)) <= step * (LINE_TOLERANCE_STEPS + 0.5))
    if not len(near):
        return None
    chain = _chain(ta, tb, distance, near, slope, offset, step)
    ca, cb = ta[chain], tb[chain]
    speed = 1.0
    if slope != 1.0 and len(chain) >= 3 and np.ptp(ca) > 0:
        fitted = float(np.polyfit(ca, cb, 1)[0])
        if fitted > 0 and abs(1 / fitted - 1) > SPEED_TOLERANCE:
            slope, speed = fitted, round(1 / fitted, 2)
    # Each video's matched frames span their own stretch; the footage really shared is where the two
    # stretches overlap once mapped through the line (a still frame past a trim point may match the copy's
    # last frame too: the copy's own end says where the footage ends).
    offset = fitted_offset(ta[near], tb[near], distance[near], slope, b_step, float(np.median(cb - slope * ca)))
    # its ends from the chain nearest the fitted line: a frame of slow footage at an end may match two frames
    # of B as closely, the one off the line would cut a step off the segment
    chain = _chain(ta, tb, distance, near, slope, offset, step)
    ca, cb = ta[chain], tb[chain]
    a_start, b_start = segment_starts(ca[0], cb[0], slope, offset)
    a_end, b_end = segment_ends(ca[-1], cb[-1], slope, offset, a_step, b_step, a_duration, b_duration)
    return Alignment(float(a_start), float(a_end), float(b_start), float(b_end), speed,
                     len(chain), int(np.median(distance[chain])))


def _chain(ta: np.ndarray, tb: np.ndarray, distance: np.ndarray, near: np.ndarray, slope: float, offset: float,
           step: float) -> np.ndarray:
    """The pairs (indices) of the aligned piece among `near`: a still shot matches itself a step earlier and
    later too, so of the longest chains increasing in both times, the one of the nearest frames, then of the
    frames nearest the line b = slope * a + offset; cut where it skips more than MAX_GAP_SECONDS."""
    off_line = np.abs(tb[near] - (slope * ta[near] + offset)) / (step * (LINE_TOLERANCE_STEPS + 0.5))
    cost = distance[near].astype(np.int64) * CHAIN_LINE_LEVELS + np.minimum(
        (off_line * CHAIN_LINE_LEVELS).astype(np.int64), CHAIN_LINE_LEVELS - 1)
    chain = near[longest_chain(ta[near], tb[near], cost)]
    return chain[longest_piece(ta[chain], tb[chain], MAX_GAP_SECONDS)]


def segment_starts(first_a: float, first_b: float, slope: float, offset: float) -> tuple[float, float]:
    """Where the footage shared on the line b = slope * a + offset starts in A and in B, given each video's
    first matched frame: the later of its own and the other's mapped through the line, not before 0."""
    return max(first_a, (first_b - offset) / slope, 0.0), max(first_b, slope * first_a + offset, 0.0)


def segment_ends(last_a: float, last_b: float, slope: float, offset: float, a_step: float, b_step: float,
                 a_duration: float, b_duration: float) -> tuple[float, float]:
    """Where it ends, given each video's last matched frame: one step past it (a sampled frame stands for the
    step it opens) within the video's duration, then the earlier of its own and the other's mapped."""
    a_last, b_last = min(last_a + a_step, a_duration), min(last_b + b_step, b_duration)
    return min(a_last, (b_last - offset) / slope), min(b_last, slope * a_last + offset)

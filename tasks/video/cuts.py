"""Hard cuts between shots, seen in the frames the sampler decodes (tasks/video/sample.py starts its grid of
times again at each cut), so that two copies of edited footage sample the same moments of every shot they
share, however their own grids fall: a copy trimmed at 2.5 s samples a shot that starts at 3.04 s at 3.04,
4.04... as the film does, not half a second off it.

A frame's signature is the mean luma of an 8 x 8 grid of blocks, over a strided subsample of the decoder's luma
plane (about 64 x 32 points, read in place: tens of microseconds for a 1080p frame, against milliseconds to
decode it). Between two frames decoded one after the other the signature moves by `d` gray levels (the mean over
the blocks). A frame starts a new shot when its move is at least :data:`CUT_LEVEL` and :data:`CUT_RATIO` times
the moves just before and just after it, each scaled to the time its own move spans (where B-frames are left
undecoded, consecutive decoded frames lie one to four frames apart): motion within a shot (a pan, a zoom, a
cross-fade) moves the signature over several frames, a cut all at once; bars, a logo box or a grey copy scale
all three moves alike. The decision comes one frame late. A cut within :data:`MIN_SHOT_STEPS` sampling steps of
the previous one is not taken (flashes, strobes), so cuts add at most one sampled frame per half step. The
thresholds come from `python -m bench.video_cuts` (bench/RESULTS.md): the cuts of the real clips found again in
their copies, few cuts where a copy has none.

Frames in, decisions out, nothing else kept; one :class:`CutFinder` per pass over a stream.
"""

from __future__ import annotations

import numpy as np

#: Blocks of the signature, per side.
BLOCKS = 8
#: Points of the strided subsample per block, per side (rows x columns: 4 x 8 per block).
POINTS_DOWN, POINTS_ACROSS = 4, 8
#: A cut moves the signature by at least this many gray levels (mean over the blocks) ...
CUT_LEVEL = 16.0
#: ... and by this many times the moves into the frames before and after it.
CUT_RATIO = 2.0
#: A frame whose blocks' means spread less than this (standard deviation, gray levels) is flat: never a cut.
FLAT_LEVEL = 4.0
#: A cut closer than this many sampling steps to the previous cut is not one.
MIN_SHOT_STEPS = 0.5
#: Pixel formats whose first plane is 8-bit luma, read in place; others are converted to gray first.
LUMA_FORMATS = ("yuv", "nv12", "nv21", "gray")


def signature(frame) -> np.ndarray:
    """The frame's :data:`BLOCKS` x :data:`BLOCKS` block means of luma (float32), from the points of a strided
    grid (its 8-bit luma plane read in place; a frame in another format converted to gray first)."""
    rows, columns = BLOCKS * POINTS_DOWN, BLOCKS * POINTS_ACROSS
    down, across = max(1, frame.height // rows), max(1, frame.width // columns)
    name = frame.format.name
    if name.startswith(LUMA_FORMATS) and not name.endswith(("le", "be")):
        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
    else:
        luma = frame.to_ndarray(format="gray")
    points = luma[:rows * down:down, :columns * across:across]
    if points.shape != (rows, columns):  # a frame smaller than the grid: its points repeated
        points = np.resize(points, (rows, columns)) if points.size else np.zeros((rows, columns), np.uint8)
    return points.astype(np.float32).reshape(BLOCKS, POINTS_DOWN, BLOCKS, POINTS_ACROSS).mean(axis=(1, 3))


def _flat(blocks: np.ndarray) -> bool:
    """True for a frame with no picture to speak of (black, a flat colour): a fade from black starts its shot
    at the first frame with a picture, whatever black frames come before it."""
    return float(blocks.std()) < FLAT_LEVEL


def _rate(span: float, other: float) -> float:
    """How many times `other` seconds `span` seconds make (1 when either is no time: equal timestamps)."""
    return span / other if span > 0 and other > 0 else 1.0


def move(before: np.ndarray, after: np.ndarray) -> float:
    """How far the signature moved: the mean absolute difference of the blocks, in gray levels."""
    return float(np.abs(after - before).mean())


class CutFinder:
    """Feed it every frame decoded and not corrupt, in order (:meth:`saw`); it says, one frame late, which
    started a new shot. `step`: the sampling step (seconds), for :data:`MIN_SHOT_STEPS`. :meth:`forget`
    after a seek: the next frame is compared with nothing."""

    def __init__(self, step: float):
        self.min_gap = MIN_SHOT_STEPS * step
        self.last_cut: float | None = None
        self.forget()

    def forget(self) -> None:
        self.previous: np.ndarray | None = None
        self.previous_time = 0.0
        self.moves: list[float] = []  # the last three moves, the last into the frame seen last
        self.gaps: list[float] = []  # the seconds each of them spans
        self.flat: list[bool] = []  # whether the last three frames seen are flat

    def saw(self, time: float, frame) -> float | None:
        """The time of the frame seen before this one when it was the first of a shot, else None: it is not
        flat and moved the signature by at least :data:`CUT_LEVEL` and :data:`CUT_RATIO` times more than the
        move after it (this frame's) and the move before it, both scaled to the time its move spans (no move
        before for the second frame seen, or after a flat frame: a film that opens on black, or cuts to black
        and then to its next shot)."""
        current = signature(frame)
        previous, previous_time = self.previous, self.previous_time
        self.previous, self.previous_time = current, time
        self.flat = (self.flat + [_flat(current)])[-3:]
        if previous is None:
            return None
        moves = self.moves = (self.moves + [move(previous, current)])[-3:]
        gaps = self.gaps = (self.gaps + [time - previous_time])[-3:]
        if len(moves) < 2:
            return None
        at, after = moves[-2:]
        # the moves around it as far as the picture moves in the time the candidate's spans: where frames are
        # left undecoded (skip_frame), moves span one to four frames of motion
        after *= _rate(gaps[-2], gaps[-1])
        before = moves[0] * _rate(gaps[-2], gaps[0]) if len(moves) == 3 and not self.flat[0] else 0.0
        if at < CUT_LEVEL or at < CUT_RATIO * max(before, after) or self.flat[-2]:
            return None
        if self.last_cut is not None and previous_time - self.last_cut < self.min_gap:
            return None
        self.last_cut = previous_time
        return previous_time

"""Runs of consecutive near-identical frames of one video, collapsed to their first frame before the frame join
and expanded back to frames after it.

A static shot sampled at 1 frame/s gives the same picture second after second; in the join each of its frames
pairs with every other (pairs within one video, dropped afterwards) and with every frame of a copy. Collapsed,
the shot is one row of the join, and a matched row stands for its run's frames, first..last: after the join
each pair of matched runs becomes the pairs of their frames, each with its own distance, kept when within
the distance asked. The alignment (producer/near/videoalign.py) then sees every frame time of the runs, so
the shared footage starts and ends where it did without the collapse.

What the collapse can lose: a frame pair within the distance whose runs' first frames are not (at most
2 x :data:`RUN_RADIUS` bits further apart than the frames). With the default radius that is a pair on the
edge of the distance, one frame among the run's; bench/RESULTS.md measures that the video pairs and their
times come out the same.

Pure numpy: hashes in, index arrays out.
"""

from __future__ import annotations

import dataclasses

import numpy as np

#: A frame joins the run of the frames before it when its phash, centre-crop phash and band hash are each
#: within this many bits of the run's first frame (and it is on the same side of the low-information mark). Frames of
#: a still picture re-encoded at 1 frame/s differ by 0-2 bits; a camera move changes a few bits a second, so
#: footage that moves is left as it is (chosen with bench/video_scale.py: bench/RESULTS.md).
RUN_RADIUS = 2


@dataclasses.dataclass(frozen=True)
class Runs:
    """Runs of consecutive frames, in frame order: run r holds the frames first[r] .. last[r] (indices into
    the frames given)."""

    first: np.ndarray
    last: np.ndarray

    def __len__(self) -> int:
        return len(self.first)

    @property
    def sizes(self) -> np.ndarray:
        """Frames per run."""
        return self.last - self.first + 1


def frame_runs(phash: np.ndarray, centre: np.ndarray, low: np.ndarray, owner: np.ndarray,
               radius: int = RUN_RADIUS, band: np.ndarray | None = None) -> Runs:
    """The runs of consecutive frames of one owner (video) whose hashes (phash, centre, and the band hashes
    when given) stay within `radius` bits of the run's first frame's, with the same `low` (low-information)
    flag. Frames must be grouped by owner, in time order within it. A radius below 0 leaves every frame its
    own run."""
    n = len(phash)
    if radius < 0 or n == 0:
        every = np.arange(n, dtype=np.int64)
        return Runs(every, every.copy())
    starts = np.zeros(n, bool)
    starts[0] = True
    # A frame that differs from the frame before it by more than twice the radius cannot be within the radius
    # of any run's first frame that the frame before belonged to: it starts a run. Only the frames left are
    # walked one by one.
    band = np.zeros_like(phash) if band is None else band
    step = np.maximum.reduce([np.bitwise_count(h[1:] ^ h[:-1]) for h in (phash, centre, band)])
    starts[1:] = (owner[1:] != owner[:-1]) | (low[1:] != low[:-1]) | (step > 2 * radius)
    p, c, b, forced = phash.tolist(), centre.tolist(), band.tolist(), starts.tolist()
    head = 0
    for i in range(1, n):
        if forced[i] or (p[i] ^ p[head]).bit_count() > radius or (c[i] ^ c[head]).bit_count() > radius \
                or (b[i] ^ b[head]).bit_count() > radius:
            starts[i] = True
            head = i
    first = np.flatnonzero(starts)
    return Runs(first, np.r_[first[1:] - 1, n - 1].astype(np.int64))


def expand(ra: np.ndarray, rb: np.ndarray, runs: Runs) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of frames (i of run ra[k], j of run rb[k]) for each matched pair of runs k."""
    na, nb = runs.sizes[ra], runs.sizes[rb]
    count = na * nb
    pair = np.repeat(np.arange(len(ra)), count)
    within = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    return runs.first[ra][pair] + within // nb[pair], runs.first[rb][pair] + within % nb[pair]


def frame_distances(i: np.ndarray, j: np.ndarray, phash: np.ndarray, centre: np.ndarray,
                    crops: bool, band: np.ndarray | None = None, band_distance: int = 64) -> np.ndarray:
    """The join's distance of frames i and j: phash, and with `crops` the least of phash-phash, phash-centre
    and centre-phash (producer/near/find.near_pairs); with `band`, also band-band where both frames have
    one (not 0) and it is within `band_distance` (the band join's own bound)."""
    d = np.bitwise_count(phash[i] ^ phash[j])
    if crops:
        d = np.minimum(d, np.minimum(np.bitwise_count(phash[i] ^ centre[j]), np.bitwise_count(centre[i] ^ phash[j])))
    d = d.astype(np.int64)
    if band is not None:
        bd = np.bitwise_count(band[i] ^ band[j]).astype(np.int64)
        d = np.where((band[i] != 0) & (band[j] != 0) & (bd <= band_distance), np.minimum(d, bd), d)
    return d

"""All pairs among the frames of many hours of video: the exact frame join and the alignment `dupes` runs.

    python -m bench.video_scale [--hours 1000] [--k 10] [--crops] [--copies 0.02] [--stills 0] [--radius 2]
                                [--seed 0]

Synthetic frame hashes at 1 frame/s, made to look like real footage: videos of 10 to 60 minutes cut into
shots (lengths exponential, mean SHOT_MEAN_S); a shot starts at a random 64-bit hash and walks WALK_BITS
random bit flips a second (a camera move or zoom changes a few phash bits a second); a share `--copies`
of the videos are re-encoded copies of another (each frame 0..3 bits off, as the quality set measures a
CRF 40 copy). With `--stills S`, a share S of the shots are still (a tripod shot, a slide): each second
the same picture with 0-1 bit of noise. Quality is 100 for all frames (no low-information filter helps).

`dupes` collapses runs of consecutive frames within `--radius` bits of their first before the join
(producer/near/videoruns.py; `--radius -1`: no collapse). Each frame's band hash is its phash with fixed bits
flipped (BAND_MASK), so the band self-join (within producer/near/videopairs.BAND_MAX_DISTANCE) costs what a
second set of such hashes costs and finds no pair the phash join does not. The joins take the video of each
run and drop pairs of runs of one video inside (tasks/nearjoin/groups.py). Prints the frames and runs, the
pairs the join yields (and how many are within one video: none), the frame pairs of different videos after
expanding the runs, the video pairs found, wall and CPU seconds of each step and the peak RSS.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from producer.near import videopairs, videoruns  # noqa: E402
from tasks.video.frames import IndexedVideo, VideoFrames  # noqa: E402

#: Mean shot length in seconds (feature films and TV average 3-10 s a shot; documentaries longer).
SHOT_MEAN_S = 6.0
#: Bits of the phash a shot's frame changes each second.
WALK_BITS = 2
#: Video lengths, minutes.
MINUTES = (10, 60)
#: The band hashes are the phashes with these bits flipped: a second set of hashes as far apart as the
#: phashes are (a copy's band as close to its original's as its phash), joined band against band.
BAND_MASK = np.uint64(0x5A5A_C3C3_0F0F_9669)


def walk(seconds: int, rng: np.random.Generator, stills: float = 0.0) -> np.ndarray:
    """Frame hashes of `seconds` of footage: shots of random walks, a share `stills` of them still."""
    out = np.empty(seconds, np.uint64)
    at = 0
    while at < seconds:
        shot = min(seconds - at, max(1, int(rng.exponential(SHOT_MEAN_S))))
        if stills and rng.random() < stills:
            still = np.repeat(rng.integers(0, 2**64, 1, dtype=np.uint64), shot)
            out[at:at + shot] = noise(still, rng, most=1)
        else:
            flips = np.zeros(shot, np.uint64)
            for _ in range(WALK_BITS):
                flips[1:] |= np.uint64(1) << rng.integers(0, 64, shot - 1).astype(np.uint64)
            first = rng.integers(0, 2**64, 1, dtype=np.uint64)
            out[at:at + shot] = np.bitwise_xor.accumulate(np.r_[first, flips[1:]])
        at += shot
    return out


def noise(hashes: np.ndarray, rng: np.random.Generator, most: int = 3) -> np.ndarray:
    out = hashes.copy()
    for _ in range(most):
        hit = rng.random(len(out)) < 0.5
        out[hit] ^= np.uint64(1) << rng.integers(0, 64, int(hit.sum())).astype(np.uint64)
    return out


def synthesize(hours: float, copies: float, seed: int, stills: float = 0.0) -> list[IndexedVideo]:
    rng = np.random.default_rng(seed)
    total, videos = int(hours * 3600), []
    while sum(len(v.frames) for v in videos) < total:
        left = total - sum(len(v.frames) for v in videos)
        seconds = min(left, int(rng.integers(MINUTES[0], MINUTES[1] + 1)) * 60)
        if videos and rng.random() < copies:
            source = videos[int(rng.integers(len(videos)))].frames.phash
            hashes = noise(source[:seconds], rng)
        else:
            hashes = walk(seconds, rng, stills)
        n = len(hashes)
        frames = VideoFrames(np.arange(n, dtype=float), hashes, hashes, hashes, np.full(n, 100, np.uint8),
                             hashes ^ BAND_MASK)
        videos.append(IndexedVideo(f"v{len(videos)}.mp4", float(n), 1280, 720, 25.0, frames))
    return videos


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=1000)
    parser.add_argument("--k", type=int, default=videopairs.DEFAULT_FRAME_DISTANCE)
    parser.add_argument("--crops", action="store_true", help="also join the centre-crop hashes (dupes' default)")
    parser.add_argument("--copies", type=float, default=0.02)
    parser.add_argument("--stills", type=float, default=0.0, help="share of the shots that are still")
    parser.add_argument("--radius", type=int, default=videoruns.RUN_RADIUS,
                        help="run radius in bits (-1: every frame joins alone)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    videos = synthesize(args.hours, args.copies, args.seed, args.stills)
    n = sum(len(v.frames) for v in videos)
    print(f"{len(videos)} videos, {n:,} frames ({args.hours:g} h at 1 frame/s, {args.stills:.0%} of shots still) "
          f"made in {time.monotonic() - t0:.0f} s")
    c0, t1 = time.process_time(), time.monotonic()
    index, owner = videopairs.frames_index(videos)
    phash, centre = index.hashes[videopairs.DEFAULT_HASH], index.hashes[videopairs.CENTRE_HASH]
    band = index.hashes[videopairs.BAND_HASH]
    low = index.quality < videopairs.LOW_QUALITY
    runs = videoruns.frame_runs(phash, centre, low, owner, args.radius, band)
    c1, t2 = time.process_time(), time.monotonic()
    print(f"runs within {args.radius} bits: {len(runs):,} ({len(runs) / max(n, 1):.0%} of the frames) in "
          f"{t2 - t1:.0f} s wall, {c1 - c0:.0f} s CPU")
    heads = runs.first
    from producer.near.find import near_pairs

    a, b, _ = near_pairs(videopairs._hash_index(phash[heads], centre[heads], index.quality[heads]), args.k,
                         crops=args.crops, groups=owner[heads])
    ba, bb = videopairs.band_pairs(band[heads], low[heads], min(args.k, videopairs.BAND_MAX_DISTANCE),
                                   groups=owner[heads])
    a, b = videopairs._union(np.r_[a, ba], np.r_[b, bb], len(heads))
    c2, t3 = time.process_time(), time.monotonic()
    inside = owner[heads[a]] == owner[heads[b]]
    print(f"join K={args.k}{' + centre crops' if args.crops else ''} + band: {len(a):,} pairs of runs "
          f"({int(np.count_nonzero(inside)):,} within one video) in {t3 - t2:.0f} s wall, {c2 - c1:.0f} s CPU")
    fa, fb = videoruns.expand(a[~inside], b[~inside], runs)
    close = videoruns.frame_distances(fa, fb, phash, centre, args.crops, band,
                                      min(args.k, videopairs.BAND_MAX_DISTANCE)) <= args.k
    c3, t4 = time.process_time(), time.monotonic()
    print(f"expanded: {int(np.count_nonzero(close)):,} frame pairs of different videos within K (of "
          f"{len(fa):,}) in {t4 - t3:.0f} s wall, {c3 - c2:.0f} s CPU")
    del a, b, fa, fb, close
    pairs = videopairs.video_pairs(videos, max_distance=args.k, crops=args.crops, radius=args.radius)
    c4, t5 = time.process_time(), time.monotonic()
    print(f"dupes over the videos (runs, join, expansion again + alignment): {len(pairs)} video pairs in "
          f"{t5 - t4:.0f} s wall, {c4 - c3:.0f} s CPU; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()

"""Frames of the video quality set, sampled in-process with the workers' code (tasks/video/segment.py, as
`search` samples a query video) and hashed two ways: hashfleet's default hashes, and PDQ of full-size frames
(the `pdqhash` package, as Meta's vPDQ takes it: one frame a second). Cached per file (npz), keyed by the
file's size and mtime."""

from __future__ import annotations

import os

import numpy as np

from producer.near.videoquery import sample_video
from tasks.video.frames import IndexedVideo, VideoFrames
from tasks.video.probe import probe
from tasks.video.sample import sample_gray

#: Sampling of both methods (vPDQ's is one frame a second).
FPS = 1.0
#: Bump when the frames' hashes change, so cached hashes are remade (2: black bars cut before hashing; 3: the
#: narrower bar cut from both sides; 4: the band hash; 5-11: the frame shown at each time, on a grid started again
#: at each cut, the nearer decoded frame where B-frames are skipped; 12: cuts told by moves over equal spans; 13:
#: MPEG-1, MPEG-2 and MPEG-4 Part 2 decoded in full).
HASH_VERSION = 13


def _pdq(gray: np.ndarray) -> np.ndarray:
    import pdqhash

    bits, _ = pdqhash.compute(np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2)))
    return np.packbits(bits.astype(np.uint8))


def sample(path: str, cache_dir: str, fps: float = FPS) -> tuple[IndexedVideo, np.ndarray]:
    """(the video as an index holds it, its frames' PDQ hashes (n, 32) uint8)."""
    stat = os.stat(path)
    key = f"{os.path.basename(path)}-{stat.st_size}-{int(stat.st_mtime)}-{fps}-v{HASH_VERSION}.npz"
    cached = os.path.join(cache_dir, key)
    info = probe(path)
    if os.path.exists(cached):
        data = np.load(cached)
        frames = VideoFrames(data["times"], data["dhash"], data["phash"], data["centre"], data["quality"], data["band"])
        return IndexedVideo(path, info.duration, info.width, info.height, info.fps, frames), data["pdq"]
    video = sample_video(path, fps)
    frames = video.frames
    pdq = np.array([_pdq(g) for _, g in sample_gray(path, fps)], np.uint8).reshape(-1, 32)
    os.makedirs(cache_dir, exist_ok=True)
    np.savez(cached + ".tmp.npz", times=frames.times, dhash=frames.dhash, phash=frames.phash, centre=frames.centre,
             quality=frames.quality, band=frames.band, pdq=pdq)
    os.replace(cached + ".tmp.npz", cached)
    return IndexedVideo(path, info.duration, info.width, info.height, info.fps, frames), pdq


def vpdq_match(a: np.ndarray, b: np.ndarray, frame_distance: int = 31, share: float = 0.8) -> tuple[float, float]:
    """vPDQ's comparison: the share of A's frames with a frame of B within `frame_distance` bits, and of B's in A."""
    if not len(a) or not len(b):
        return 0.0, 0.0
    bits = np.unpackbits(a, axis=1)[:, None, :] != np.unpackbits(b, axis=1)[None, :, :]
    close = bits.sum(axis=2) <= frame_distance
    return float(close.any(axis=1).mean()), float(close.any(axis=0).mean())

"""The default hashes of sampled video frames, computed by the image core from each frame's gray pixels."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

import numpy as np

from tasks.image.decode import Reduced
from tasks.image.multihash import hashes_of_reduced
from tasks.video.band import band_phash
from tasks.video.letterbox import inside_bars


@dataclasses.dataclass
class VideoFrames:
    """One video's sampled frames in time order: time in seconds, dhash, phash and centre-crop phash as
    unsigned 64-bit integers (first grid bit most significant, like the image index), quality 0-100 and the
    band hash (tasks/video/band.py; 0 for frames indexed without one: a phash always has bits set)."""

    times: np.ndarray
    dhash: np.ndarray
    phash: np.ndarray
    centre: np.ndarray
    quality: np.ndarray
    band: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.band is None:
            self.band = np.zeros(len(self.times), np.uint64)

    def __len__(self) -> int:
        return len(self.times)

    def take(self, rows: np.ndarray) -> VideoFrames:
        """The frames at `rows` (indices or a mask)."""
        return VideoFrames(*(getattr(self, f.name)[rows] for f in dataclasses.fields(self)))

    @staticmethod
    def concatenated(parts: list[VideoFrames]) -> VideoFrames:
        """The frames of `parts`, end to end."""
        return VideoFrames(*(np.concatenate([getattr(p, f.name) for p in parts])
                             for f in dataclasses.fields(VideoFrames)))


def _as_u64(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big")


def hash_frames(samples: Iterable[tuple[float, np.ndarray]],
                on_frame: Callable[[list[tuple]], None] | None = None) -> VideoFrames:
    """Hash (time, gray uint8 frame) samples with the default 64-bit hashes, each of the picture inside its
    black bars when it has some (tasks/video/letterbox.inside_bars: a letterboxed copy hashes like its
    original). `on_frame(rows)` is called after each frame with the rows hashed so far (:func:`hash_row`)."""
    rows: list[tuple] = []
    for time, frame in samples:
        rows.append(hash_row(time, frame))
        if on_frame is not None:
            on_frame(rows)
    return frames_of(rows)


def hash_row(time: float, frame: np.ndarray) -> tuple:
    """(time, dhash, phash, centre, quality, barred, band) of one sampled frame: `barred` when black bars
    were cut away before hashing."""
    gray = inside_bars(frame)
    hashes = hashes_of_reduced(Reduced(gray, 1, *gray.shape[:2]), 8)
    return (time, _as_u64(hashes.dhash), _as_u64(hashes.phash), _as_u64(hashes.centre_phash), hashes.quality,
            gray.shape != frame.shape, band_phash(gray))


def barred_frames(rows: list[tuple]) -> int:
    """How many of the :func:`hash_row` rows had black bars cut."""
    return sum(1 for row in rows if row[5])


def frames_of(rows: list[tuple]) -> VideoFrames:
    """VideoFrames of :func:`hash_row` rows (time, dhash, phash, centre, quality, barred, band)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * 7
    return VideoFrames(np.array(columns[0], np.float64), *(np.array(c, np.uint64) for c in columns[1:4]),
                       np.array(columns[4], np.uint8), np.array(columns[6], np.uint64))


@dataclasses.dataclass
class IndexedVideo:
    """A video as an index holds it: path, duration in seconds, displayed frame size, average frame rate
    (0.0 when unknown), its sampled frames in time order, `error` ('' when it was sampled to its end,
    else the reason slug of tasks.errors.FileError, with the frames that decoded before it) and
    `letterboxed`: most of its sampled frames had black bars (tasks/video/letterbox.py: :func:`is_letterboxed`
    over the counts), and `sample_fps`: the rate its frames were sampled at (`--video-fps`; 0.0 when the
    index does not say: written before it was kept)."""

    path: str
    duration: float
    width: int
    height: int
    fps: float
    frames: VideoFrames
    error: str = ""
    letterboxed: bool = False
    sample_fps: float = 0.0


def no_frames() -> VideoFrames:
    """An empty VideoFrames (a video that could not be sampled)."""
    return hash_frames(())

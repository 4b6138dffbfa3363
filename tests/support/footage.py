"""Videos whose every second shows a different picture (smooth random blobs), encoded with PyAV, for the
video matching tests: a copy made of seconds `offset`.. of the same seeded footage is a trimmed copy."""

from __future__ import annotations

import functools

import av
import cv2
import numpy as np


def picture(second: int, size=(320, 180), seed: int = 0) -> np.ndarray:
    """The RGB picture shown during `second` of footage `seed`: a different picture every second."""
    rng = np.random.default_rng(seed * 1000 + second)
    small = rng.integers(0, 256, (5, 8, 3), dtype=np.uint8)
    return cv2.resize(small, size, interpolation=cv2.INTER_CUBIC)


#: The opaque white box of a `logo` copy, as shares of the width and height (x0, y0, x1, y1): top right.
LOGO_BOX = (0.60, 0.04, 0.95, 0.24)


def write_footage(path, seconds: float, rate: int, size=(320, 180), offset: float = 0.0, seed: int = 0,
                  bars: int = 0, logo: bool = False, mirror: bool = False) -> str:
    """A video showing picture(int(offset + t)) at time t, `rate` frames a second; `bars`: rows of black
    above and below the picture (a letterboxed copy); `logo`: an opaque white box over LOGO_BOX (a channel
    logo); `mirror`: flipped left to right. Returns the path."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for index in range(int(seconds * rate)):
            if bars:
                rgb = np.zeros((size[1], size[0], 3), np.uint8)
                rgb[bars:size[1] - bars] = picture(int(offset + index / rate + 1e-9), (size[0], size[1] - 2 * bars),
                                                   seed)
            else:
                rgb = picture(int(offset + index / rate + 1e-9), size, seed)
            if logo:
                x0, y0, x1, y1 = LOGO_BOX
                rgb[int(y0 * size[1]):int(y1 * size[1]), int(x0 * size[0]):int(x1 * size[0])] = 255
            if mirror:
                rgb = np.ascontiguousarray(rgb[:, ::-1])
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


@functools.cache
def texture(seed: int, width: int = 1024, height: int = 144) -> np.ndarray:
    """A smooth random gray texture (uint8, height x width)."""
    field = cv2.GaussianBlur(np.random.default_rng(seed).random((height, width)).astype(np.float32), (0, 0), 12)
    return ((field - field.min()) / (field.max() - field.min()) * 255).astype(np.uint8)


def write_pan(path, seconds: float, rate: int = 25, first: int = 0, speed: int = 6, seed: int = 0,
              size=(256, 144)) -> str:
    """Fast footage, one shot: frame i shows texture `seed` from x = speed * (first + i), sliding sideways
    `speed` pixels a frame (its phash moves a few bits a frame, half its bits in half a second). `first`: the
    footage from that frame on (a copy trimmed mid-shot). Returns the path."""
    frames = int(seconds * rate)
    strip = texture(seed, 4096, size[1])
    assert size[0] + speed * (first + frames) <= strip.shape[1], "footage longer than its texture"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = size[0], size[1], "yuv420p", 4_000_000
        for index in range(first, first + frames):
            gray = np.ascontiguousarray(strip[:, speed * index:speed * index + size[0]])
            for packet in stream.encode(av.VideoFrame.from_ndarray(gray, format="gray")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def write_index(out: str, paths) -> str:
    """An index at `out` (as `hashfleet run` writes one) of the videos at `paths`, sampled with the workers'
    code. Returns `out`."""
    from producer.near.videoquery import sample_video
    from producer.outputs.formats import Record, write_records

    videos = [sample_video(p) for p in paths]
    records = [Record(v.path, "", "", 1, 1, ("", ""), None, v.width, v.height, "video") for v in videos]
    write_records(out, records, {"job": "j", "algo": "dhash,phash,phash-centre", "hash_size": "8"}, videos)
    return out


def footage_index(folder, fmt: str = "sqlite") -> tuple[str, dict[str, str]]:
    """An index (as `hashfleet run` writes one) of four videos sampled with the workers' code: `original`
    (30 s), `letterboxed` (the same with black bars), `clip` (seconds 8.5 to 20.5 of it at half size and
    8 fps) and `other` (30 s of other footage). Returns (index path, {name: video path})."""
    paths = {"original": write_footage(folder / "original.mp4", 30, 10),
             "letterboxed": write_footage(folder / "letterboxed.mp4", 30, 10, bars=24),
             "clip": write_footage(folder / "clip.mp4", 12, 8, (160, 90), offset=8.5),
             "other": write_footage(folder / "other.mp4", 30, 10, seed=1)}
    return write_index(str(folder / f"index.{fmt}"), paths.values()), paths

"""Small real videos for tests, encoded with PyAV (no ffmpeg binary needed): a picture that changes every
second, so every sampled second hashes differently, and the hostile variants docs/video.md lists."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np


def picture(second: int, width: int, height: int) -> np.ndarray:
    """RGB frame shown during `second`: a gradient with a bright square that moves each second (not
    symmetric, so a rotated copy hashes differently)."""
    ramp = np.tile(np.linspace(0, 200, width, dtype=np.uint8), (height, 1))
    rgb = np.stack([ramp, ramp[::-1, ::-1], np.full_like(ramp, 60)], axis=2)
    x = (second * 23) % max(1, width - width // 5)
    y = (second * 13) % max(1, height - height // 3)
    rgb[y:y + height // 3, x:x + width // 5] = 255
    return rgb


def write_video(path, seconds: float = 6, rate: int = 10, size=(160, 96), codec: str = "mpeg4",
                rotation: int | None = None, gop: int | None = None, frame=picture, bit_rate: int | None = None,
                shift: float = 0.0) -> str:
    """Encode `seconds` of video at `rate` fps; `rotation`: display rotation in the metadata (degrees);
    `frame(second, width, height)` draws each frame (a new picture `shift` seconds before each whole second:
    cuts off the k/fps grid); `bit_rate` (bits/s) sets the file's size for a frame that is hard to compress.
    Returns the path."""
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = gop
        if bit_rate is not None:
            stream.bit_rate = bit_rate
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for index in range(round(seconds * rate)):
            image = av.VideoFrame.from_ndarray(frame(int(index / rate + shift + 1e-9), width, height), format="rgb24")
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def write_pictures(path, pictures, rate: int = 10, size=(160, 96), gop: int | None = None) -> str:
    """MPEG-4 Part 2 at `rate` fps of `pictures`: (RGB array, frames shown, the first a keyframe) for each
    picture in turn. Returns the path."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = gop
        for rgb, frames, key in pictures:
            for n in range(frames):
                image = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                if key and n == 0:
                    image.pict_type = av.video.frame.PictureType.I
                for packet in stream.encode(image):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def write_still(path, hours: float = 10, size=(64, 48)) -> str:
    """One frame shown for `hours`: a 1/36000 fps stream whose only frame lasts the whole file."""
    width, height = size
    ticks = round(hours * 3600)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=Fraction(1, ticks))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        image = av.VideoFrame.from_ndarray(picture(0, width, height), format="rgb24")
        for packet in stream.encode(image):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def write_audio_only(path, seconds: float = 2) -> str:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        samples = np.zeros((1, 1024), np.float32)
        for _ in range(round(seconds * 16000 / 1024)):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 16000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def write_variable_rate(path, size=(160, 96), times_ms=(0, 100, 500, 1700, 2000, 3300, 3400, 4900, 5000, 5900),
                        each_its_own: bool = False) -> str:
    """Frames at uneven times (by default 0, 0.1, 0.5, 1.7, 2.0, 3.3 ... s): a variable frame rate video (mkv
    keeps the timestamps as given), showing the picture of each frame's whole second, or with
    `each_its_own` a different picture for each frame."""
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=1000)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for index, ms in enumerate(times_ms):
            which = index if each_its_own else ms // 1000
            image = av.VideoFrame.from_ndarray(picture(which, width, height), format="rgb24")
            image.pts, image.time_base = ms, Fraction(1, 1000)
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def random_frames(n: int, seed: int, step: float = 1.0):
    """`n` sampled frames `step` seconds apart with random hashes and qualities (a band hash never 0): for
    index and output tests that need frames, not pictures."""
    from tasks.video.frames import VideoFrames

    rng = np.random.default_rng(seed)
    return VideoFrames(np.arange(n) * step, *(rng.integers(0, 2**64, n, dtype=np.uint64) for _ in range(3)),
                       rng.integers(0, 101, n).astype(np.uint8), rng.integers(1, 2**64, n, dtype=np.uint64))

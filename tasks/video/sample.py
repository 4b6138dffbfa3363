"""Sample a video's frames on a fixed grid of times k/fps: the first frame shown at or after each time.

Two ways, same grid: :func:`sample_gray` decodes and converts every frame at full size (the reference the
tests and bench/video_speed.py compare with); :func:`sample_frames` is what workers run, cheaper in three
ways, each measured in bench/RESULTS.md:

- only sampled frames are converted, straight from the decoder's YUV to a small gray picture by swscale
  (area average): the short side goes to :data:`SAMPLE_SIDE`, so a 4K frame costs no more memory than a
  small one once decoded, and the hashes (area-averaged to 32 x 32 at most) barely move;
- frames no other frame needs are not decoded at all (`skip_frame = "NONREF"`; every B-frame for H.264,
  tasks/video/segment.py says when): a time then takes the next decoded frame, a few hundredths of a
  second later;
- when the next time lies more than one keyframe interval ahead (low sampling rates), the demuxer seeks
  to it instead of decoding the frames between.

Times are seconds from the video stream's first timestamp, so a .ts file starting at 1.4 s and its .mp4
re-encode share a grid.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import av
import numpy as np

from tasks.settings import DEFAULT_VIDEO_FPS as DEFAULT_FPS

#: Short side, in pixels, a sampled frame is scaled to before hashing: 8 pixels per cell of phash's 32 x 32
#: area grid (the image core's MIN_PIXELS_PER_CELL rule for reduced JPEG decodes).
SAMPLE_SIDE = 256
#: Seconds before a seek's target the demuxer is sent back to when it landed after it, and how much that
#: grows at each try (until the start of the file).
SEEK_BACKOFF_S = 1.0
SEEK_BACKOFF_GROWTH = 4
#: Slack (seconds) when comparing frame times with grid times (timestamps are rationals, times floats).
EPSILON = 1e-6


@dataclasses.dataclass
class SampleStats:
    """What a sampling pass met: decoded frames, packets the decoder refused and frames it flagged as
    corrupt (both left out; a demuxer that gives up counts as one bad packet), seeks made, the time of the
    last decoded frame (-1.0: none), where the last packet read ends (seconds) and the display rotation
    (degrees counter-clockwise) of the frames."""

    decoded: int = 0
    bad_packets: int = 0
    corrupt_frames: int = 0
    seeks: int = 0
    last_time: float = -1.0
    packet_end: float = 0.0
    rotation: int = 0
    #: Longest time between two frames decoded one after the other (seeks excepted) inside the segment.
    widest_gap: float = 0.0

    @property
    def lost(self) -> int:
        return self.bad_packets + self.corrupt_frames


def first_grid_time(start: float, fps: float) -> float:
    """The first sampling time k/fps at or after `start`."""
    return math.ceil(start * fps - 1e-9) / fps


def stream_origin(stream) -> float:
    """Seconds of the stream's first timestamp (0.0 when unknown): sample times are counted from it."""
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def upright_gray(frame: av.VideoFrame, side: int | None) -> np.ndarray:
    """The frame as uint8 gray, scaled (area average) so its short side is at most `side` (None: full
    size), turned upright by its display rotation (players show it so)."""
    if side is not None and min(frame.width, frame.height) > side:
        scale = side / min(frame.width, frame.height)
        width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
        gray = frame.reformat(width=width, height=height, format="gray", interpolation="AREA").to_ndarray()
    else:
        gray = frame.to_ndarray(format="gray")
    turns = round((frame.rotation or 0) / 90) % 4  # counter-clockwise quarter turns that make it upright
    return np.ascontiguousarray(np.rot90(gray, turns)) if turns else gray


def sample_frames(container: av.container.InputContainer, fps: float, start: float = 0.0, end: float | None = None,
                  side: int | None = SAMPLE_SIDE, skip: str = "NONREF", seek: bool = True,
                  stats: SampleStats | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """(time, gray frame) for the grid times in [start, end) (`end` None: to the end) of the container's
    first video stream; see the module docstring. `skip`: the frames the decoder leaves out (FFmpeg's
    skip_frame: "NONREF", "BIDIR" for every B-frame, "DEFAULT" for none). A packet the decoder refuses and
    a frame it flags as corrupt are counted in `stats` and passed over: the frames around them are still
    sampled."""
    stats = stats if stats is not None else SampleStats()
    stream = container.streams.video[0]
    stream.codec_context.skip_frame = skip
    origin, step = stream_origin(stream), 1.0 / fps
    target = first_grid_time(start, fps)
    keys = _Keyframes()
    previous: float | None = None
    seek_to = start if start > 0 else None
    sought, backoff = None, SEEK_BACKOFF_S
    while True:
        if seek_to is not None:
            container.seek(max(0, int((max(0.0, seek_to) + origin) / stream.time_base)), stream=stream,
                           backward=True)
            stats.seeks += 1
            sought, seek_to, previous = max(0.0, seek_to), None, None
        for packet in _packets(container, stream, origin, stats):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:  # a damaged packet: the decoder goes on from the next one
                stats.bad_packets += 1
                continue
            for frame in frames:
                if frame.time is None:
                    continue
                time = frame.time - origin
                if previous is None and sought is not None and sought > 0 and time > target + EPSILON:
                    # The demuxer landed after the time asked for (MPEG-PS and -TS seek by guessed byte
                    # offsets): seek further back, so that no frame at or after the target is passed over, and
                    # read on from there instead of seeking ahead again.
                    seek_to, backoff, seek = sought - backoff, backoff * SEEK_BACKOFF_GROWTH, False
                    break
                stats.decoded += 1
                stats.rotation = frame.rotation or 0
                stats.last_time = max(stats.last_time, time)
                if previous is not None:
                    stats.widest_gap = max(stats.widest_gap, time - previous)
                previous = time
                if frame.key_frame:
                    keys.saw(time)
                if time < target - EPSILON:
                    continue
                if end is not None and time >= end - EPSILON:
                    return
                if frame.is_corrupt:
                    stats.corrupt_frames += 1
                    continue
                yield time, upright_gray(frame, side)
                while target <= time + EPSILON:
                    target += step
                if seek and keys.worth_seeking(time, target):
                    seek_to = target
                    break
            if seek_to is not None:
                break
        else:
            return


def _packets(container, stream, origin: float, stats: SampleStats) -> Iterator[av.Packet]:
    """The stream's packets (the flushing empty one last), noting where they end; a demuxer that gives up
    part-way ends the stream there."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except (av.error.FFmpegError, IndexError):  # IndexError: PyAV meeting a stream born mid-file (a mangled
            stats.bad_packets += 1                 # MPEG-TS): the demuxer cannot go on
            return
        if packet.pts is not None and packet.time_base is not None:
            stats.packet_end = max(stats.packet_end,
                                   float((packet.pts + (packet.duration or 0)) * packet.time_base) - origin)
        yield packet


class _Keyframes:
    """The longest interval between keyframes seen so far, to decide when a seek saves decoding."""

    def __init__(self):
        self.last: float | None = None
        self.longest = 0.0

    def saw(self, time: float) -> None:
        if self.last is not None and time > self.last:
            self.longest = max(self.longest, time - self.last)
        self.last = time if self.last is None else max(self.last, time)

    def worth_seeking(self, now: float, target: float) -> bool:
        """True when the next time lies more than 1.5 keyframe intervals past the current frame: the
        keyframe before it is then past the current position, so no frame is decoded twice."""
        return self.longest > 0 and target - now > 1.5 * self.longest


def sample_gray(path: str, fps: float = DEFAULT_FPS, start: float = 0.0,
                end: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """The reference: (time, full-size upright gray frame) on the same grid, every frame decoded in order
    and none skipped."""
    with av.open(path) as container:
        container.streams.video[0].thread_type = "AUTO"
        yield from sample_frames(container, fps, start, end, side=None, skip="DEFAULT", seek=False)

"""Sample a video's frames on a grid of times: the frame shown at each time (the last one that starts at or
before it), each frame once (a still shown for an hour is one sample, at the first time it is shown).

The grid is k/fps from the start, started again at each cut the decoded frames show (tasks/video/cuts.py):
the first frame of a shot is sampled at its own time, the next times follow it a step apart. Two copies of
edited footage (one trimmed by 2.5 s, one put inside a longer video, one at another frame rate) so sample the
same moments of every shot they share, wherever their own grids began; footage without cuts keeps the grid
it started with. The time stored is the grid time: a copy made at a constant frame rate, which shows a frame
of an uneven film at the film's times, stores the film's times.

Two ways, same grid: :func:`sample_gray` decodes and converts every frame at full size (the reference the
tests and bench/video_speed.py compare with); :func:`sample_frames` is what workers run, cheaper in three
ways, each measured in bench/RESULTS.md:

- only sampled frames are converted, straight from the decoder's YUV to a small gray picture by swscale
  (area average): the short side goes to :data:`SAMPLE_SIDE`, so a 4K frame costs no more memory than a
  small one once decoded, and the hashes (area-averaged to 32 x 32 at most) barely move; the cuts are told
  from a few hundred luma values each frame, read in place;
- frames no other frame needs are not decoded at all (`skip_frame = "NONREF"`; every B-frame for H.264, none
  for MPEG-1, MPEG-2 and MPEG-4 Part 2, whose decoders are fast: tasks/video/segment.py says when): a time
  whose frame was left out takes the nearer of the decoded frames around it, a few hundredths of a second off,
  and a cut is seen at the first frame decoded after it;
- when the next time lies more than 1.5 keyframe intervals ahead (video whose keyframes come more often
  than every two thirds of a step: intra-only codecs, short GOPs, low sampling rates), the demuxer seeks
  to it instead of decoding the frames between; no cut is seen in the frames passed over. A seek that lands
  after its target is redone further back, and the pass then reads on.

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
from tasks.video.cuts import CutFinder

#: Short side, in pixels, a sampled frame is scaled to before hashing: 8 pixels per cell of phash's 32 x 32
#: area grid (the image core's MIN_PIXELS_PER_CELL rule for reduced JPEG decodes).
SAMPLE_SIDE = 256
#: Seconds before a seek's target the demuxer is sent back to when it landed after it, and how much that
#: grows at each try (until the start of the file).
SEEK_BACKOFF_S = 1.0
SEEK_BACKOFF_GROWTH = 4
#: The sampler seeks over the frames between two times only once it has seen this many keyframe intervals.
SEEK_AFTER_INTERVALS = 3
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


def _next_on_grid(target: float, step: float, time: float) -> float:
    """The first time target + k * step (k >= 0) at or after `time`."""
    return target + max(0, math.ceil((time - target) / step - 1e-9)) * step


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
                  stats: SampleStats | None = None, grid_from: float = 0.0,
                  cuts: bool = True) -> Iterator[tuple[float, np.ndarray]]:
    """(time, gray frame) for the sampling times in [start, end) (`end` None: to the end) of the container's
    first video stream: the frame shown at each time, each frame once; see the module docstring. The grid
    runs through `grid_from` and, with `cuts`, starts again at each cut the frames decoded show
    (tasks/video/cuts.py) at or after `start`. `skip`: the frames the decoder leaves out (FFmpeg's skip_frame:
    "NONREF", "BIDIR" for every B-frame, "DEFAULT" for none). A packet the decoder refuses and a frame it
    flags as corrupt are counted in `stats` and passed over: the frames around them are still sampled."""
    stats = stats if stats is not None else SampleStats()
    stream = container.streams.video[0]
    stream.codec_context.skip_frame = skip
    origin, step = stream_origin(stream), 1.0 / fps
    target = _next_on_grid(grid_from, step, start)
    keys, finder = _Keyframes(), CutFinder(step) if cuts else None
    # frames a codec with B-frames shows may be left out (skip_frame): a time between two decoded frames may
    # show neither
    skipping = skip != "DEFAULT" and bool(stream.codec_context.has_b_frames)
    # the last frame decoded since the start or a seek, and whether it is still to be sampled: it is the
    # frame shown at `target` once a frame after that time comes (or the stream ends)
    held, fresh, previous = None, False, None
    seek_to = start if start > 0 else None
    sought, backoff = None, SEEK_BACKOFF_S
    while True:
        if seek_to is not None:
            container.seek(max(0, int((max(0.0, seek_to) + origin) / stream.time_base)), stream=stream,
                           backward=True)
            stats.seeks += 1
            sought, seek_to, held, fresh, previous = max(0.0, seek_to), None, None, False, None
            if finder is not None:
                finder.forget()
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
                cut = finder.saw(time, frame) if finder is not None and not frame.is_corrupt else None
                if cut is not None and cut >= start - EPSILON and held is not None:
                    # the frame before this one (the held one: corrupt frames are not shown to the finder)
                    # began a shot: the grid starts again at it
                    target = cut if fresh else _next_on_grid(cut, step, time)
                if held is not None and time > target + EPSILON:
                    if fresh:  # the frame before this one is the one shown at the target time
                        if end is not None and target >= end - EPSILON:
                            return
                        if skipping and not frame.is_corrupt and time - target < target - float(held.time - origin):
                            # the frame shown then was left out: of the two decoded around it, the nearer
                            held = frame
                        yield target, upright_gray(held, side)
                        fresh = False
                    # past this frame too when it was the one taken
                    target = _next_on_grid(target, step, time + (2 * EPSILON if held is frame else 0.0))
                    if seek and keys.worth_seeking(time, target):
                        seek_to = target
                        break
                if held is frame:  # this frame was taken for the time before it: nothing more to do with it
                    continue
                if end is not None and time >= end - EPSILON:
                    return
                if frame.is_corrupt:  # passed over: what is shown from here on is not known until the next frame
                    if time >= target - EPSILON:
                        stats.corrupt_frames += 1
                    held, fresh = None, False
                    continue
                if time < target - EPSILON:
                    held, fresh = frame, True
                    continue
                # on the target time, or past it with no frame before it decoded (a stream's or a segment's
                # first frame): this frame stands for the time
                yield (target if time <= target + EPSILON else time), upright_gray(frame, side)
                held, fresh = frame, False
                target = _next_on_grid(target, step, time + 2 * EPSILON)
                if seek and keys.worth_seeking(time, target):
                    seek_to = target
                    break
            if seek_to is not None:
                break
        else:
            if held is not None and fresh and target < stats.packet_end - EPSILON and (end is None or
                                                                                      target < end - EPSILON):
                yield target, upright_gray(held, side)  # the last frame, shown until the stream ends
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
        self.intervals = 0

    def saw(self, time: float) -> None:
        if self.last is not None and time > self.last:
            self.longest = max(self.longest, time - self.last)
            self.intervals += 1
        self.last = time if self.last is None else max(self.last, time)

    def worth_seeking(self, now: float, target: float) -> bool:
        """True when :data:`SEEK_AFTER_INTERVALS` keyframe intervals have been seen and the next time lies
        more than 1.5 of the longest past the current frame: the keyframe before it is then past the current
        position, so no frame is decoded twice. (Encoders put keyframes at cuts too: a film opening with a
        cut 0.08 s in is not all keyframes.)"""
        return self.intervals >= SEEK_AFTER_INTERVALS and target - now > 1.5 * self.longest


def sample_gray(path: str, fps: float = DEFAULT_FPS, start: float = 0.0,
                end: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """The reference: (time, full-size upright gray frame) on the same grid, every frame decoded in order
    and none skipped."""
    with av.open(path) as container:
        container.streams.video[0].thread_type = "AUTO"
        yield from sample_frames(container, fps, start, end, side=None, skip="DEFAULT", seek=False)

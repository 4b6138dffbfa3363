"""Index one time segment of one video file: check the file, open it, sample and hash its frames. Errors are
data: whatever the file holds, the result is a record (tasks/errors.py codes), never an exception.

Memory: one decoder, one thread, holding the codec's reference frames at the stream's size (H.264 keeps at
most 16; 4K 4:2:0 is 12 MB a frame), the last decoded frame (tasks/video/sample.py keeps it until the next
frame says whether it is the one shown at a sampling time), one small gray sampled frame (SAMPLE_SIDE)
and 33 bytes per sampled frame's time, hashes and quality. Frames past HASHFLEET_MAX_PIXELS are refused before decoding.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import av

from tasks.errors import FileError, FileUnreadable
from tasks.settings import DEFAULT_MAX_PIXELS
from tasks.video.frames import VideoFrames, barred_frames, frames_of, hash_row, no_frames
from tasks.video.probe import probe_container
from tasks.video.sample import SampleStats, sample_frames
from tasks.video.source import VideoSource, checked_source

log = logging.getLogger(__name__)

#: A last segment whose packets end this many seconds (and this share of the duration) before the end the
#: container declares is `truncated-video`: what a copy cut off mid-file looks like when its index survives.
TRUNCATION_SLACK_S = 2.0
TRUNCATION_SHARE = 0.05
#: Codecs sampled skipping every B-frame (`skip_frame = "BIDIR"`), not only those no frame references
#: ("NONREF", the other codecs): x264, the common H.264 encoder, lets only B-frames reference B-frames, so
#: no P-frame misses its reference, and it decodes 1.6x faster than NONREF on x264 clips (bench/RESULTS.md).
#: A segment where skipping may have cost a sample (two decoded frames further apart than a sampling
#: interval: a rate above the density of the frames decoded, an encoder whose P-frames reference
#: B-frames or one made of B-frames; or, skipping every B-frame, any decoder error) is sampled again with
#: every frame decoded.
SKIP_B_CODECS = frozenset({"h264"})
#: Codecs decoded in full (no frame skipped): their decoders are fast enough that every frame costs no more
#: than H.264 with its B-frames skipped (720p, video-seconds per core-second: MPEG-2 72 in full, 132 skipping;
#: MPEG-4 Part 2 54 and 110; H.264 52 skipping; bench/RESULTS.md), and with B-frames skipped a cut is seen at
#: the next I- or P-frame, up to 0.16 s late: a copy trimmed mid-shot of fast footage then samples other
#: moments than its film.
FULL_DECODE_CODECS = frozenset({"mpeg1video", "mpeg2video", "mpeg4"})
#: What the H.264 decoder logs, skipping every B-frame, when the B-frames it left out were references of
#: other B-frames (x264's default B-pyramid): it is told to drop a reference it never decoded. No frame
#: that is decoded is harmed, so these count as nothing lost (a clean x264 file logs them in every segment).
SKIPPED_B_MESSAGES = frozenset({"mmco: unref short failure"})
#: First bytes of containers FFmpeg should recognise: a file that starts so but will not open is `corrupt`,
#: anything else `not-a-video`. (offset, bytes): ISO BMFF (mp4, mov, 3gp), Matroska/WebM, RIFF (AVI),
#: ASF (wmv), FLV, MPEG program stream and transport stream.
VIDEO_SIGNATURES = ((4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (0, b"\x1a\x45\xdf\xa3"), (0, b"RIFF"),
                    (0, b"\x30\x26\xb2\x75"), (0, b"FLV"), (0, b"\x00\x00\x01\xba"), (0, b"\x47"))


@dataclasses.dataclass
class SegmentResult:
    """One segment's outcome: the file's size and mtime, the video's duration, displayed size (rotation
    applied) and frame rate, its sampled frames in [start, end), `lost`: packets the decoder refused,
    frames it flagged corrupt and errors it logged (what was lost: the frames around them are kept), and
    `barred`: how many of its frames had black bars cut before hashing."""

    code: FileError
    size: int = 0
    mtime: int = 0
    duration: float = 0.0
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frames: VideoFrames = dataclasses.field(default_factory=no_frames)
    lost: int = 0
    barred: int = 0


def starts_like_video(head: bytes) -> bool:
    """True when a file's first bytes (16 suffice) are those of a container of VIDEO_SIGNATURES."""
    return any(head[at:at + len(sig)] == sig for at, sig in VIDEO_SIGNATURES)


def index_segment(path: str, start: float, end: float | None, fps: float, allowed_roots: tuple[str, ...] = (),
                  max_pixels: int = DEFAULT_MAX_PIXELS, interrupts: tuple[type[BaseException], ...] = (),
                  on_progress: Callable[[Callable[[], SegmentResult]], None] | None = None,
                  grid_from: float = 0.0) -> SegmentResult:
    """Sample and hash the frames of `path` (a local file, or an `s3://` object read by ranged GETs:
    tasks/video/source.py) at `grid_from` + k/`fps` seconds in [start, end) (`end` None: to the end), the grid
    started again at each cut (tasks/video/sample.py).
    `interrupts` are the exceptions that stop the task instead (its soft time limit). `on_progress(so_far)` is
    called after each sampled frame; `so_far()` makes the result of the frames sampled until then (size and
    mtime left 0; a pass sampled again with every frame decoded starts over)."""
    result = SegmentResult(FileError.OK)
    try:
        source = checked_source(path, allowed_roots)
        result.size, result.mtime = source.size, source.mtime
        with _open(source) as container:
            skip = frames_skipped(container, fps)
            result, widest_gap = _sample(container, start, end, fps, max_pixels, skip, on_progress, grid_from)
        # skipped frames a sampling time needed
        if skip != "DEFAULT" and (widest_gap > 1.0 / fps or (skip == "BIDIR" and result.lost)):
            with _open(source) as container:
                result, _ = _sample(container, start, end, fps, max_pixels, "DEFAULT", on_progress, grid_from)
        result.size, result.mtime = source.size, source.mtime
        if source.failure is not None:  # a failed read, which FFmpeg took for the end of the file
            result.code = source.failure
    except FileUnreadable as exc:
        result.code = exc.code
    except MemoryError:
        result.code = FileError.TOO_MANY_PIXELS
    except Exception as exc:  # noqa: BLE001  (errors as data: the other segments go on)
        if isinstance(exc, interrupts):
            raise
        log.warning("internal error sampling %r: %s: %s", path, type(exc).__name__, exc)
        result.code = FileError.INTERNAL
    return result


def frames_skipped(container, fps: float = 0.0) -> str:
    """The frames a first pass over the container's video leaves undecoded (FFmpeg's skip_frame): none when
    sampling at `fps` takes every frame (a rate at or above the stream's: `search`'s query heads) or for
    FULL_DECODE_CODECS, every B-frame for SKIP_B_CODECS, else those no frame references."""
    streams = container.streams.video
    if not streams or streams[0].codec_context is None:
        return "NONREF"
    rate = streams[0].average_rate or streams[0].guessed_rate
    if rate and fps >= float(rate):
        return "DEFAULT"
    codec = streams[0].codec_context.name
    return "BIDIR" if codec in SKIP_B_CODECS else "DEFAULT" if codec in FULL_DECODE_CODECS else "NONREF"


def _open(source: VideoSource):
    """The open container, or FileUnreadable: the code of a failed read, else `corrupt` when the file starts
    like a video, else `not-a-video`."""
    try:
        with av.logging.Capture():  # "moov atom not found" and the like: the record says it
            return av.open(source.open(), metadata_errors="ignore")
    except av.error.FFmpegError:
        if source.failure is not None:
            raise FileUnreadable(source.failure) from None
        raise FileUnreadable(FileError.CORRUPT if starts_like_video(source.head()) else FileError.NOT_A_VIDEO) from None


def _sample(container, start: float, end: float | None, fps: float, max_pixels: int, skip: str,
            on_progress=None, grid_from: float = 0.0) -> tuple[SegmentResult, float]:
    """The segment's result (size and mtime left 0) and the widest gap between decoded frames."""
    result = SegmentResult(FileError.OK)
    if not container.streams.video:
        return dataclasses.replace(result, code=FileError.NO_VIDEO_STREAM), 0.0
    try:
        info = probe_container(container)
    except ValueError:  # no decoder for the stream: nothing here can be shown as a video
        return dataclasses.replace(result, code=FileError.NOT_A_VIDEO), 0.0
    result.duration, result.width, result.height, result.fps = info.duration, info.width, info.height, info.fps
    if info.width * info.height > max_pixels:
        return dataclasses.replace(result, code=FileError.TOO_MANY_PIXELS), 0.0
    context = container.streams.video[0].codec_context
    context.thread_count = 1  # one worker process per core already: threads would only oversubscribe
    stats = SampleStats()
    # FFmpeg conceals most damage (a mangled Matroska cluster is skipped, a broken macroblock patched) and
    # only says so in its log: errors logged while this segment decodes count as lost too. The level is
    # global; set here so that a library user gets the same records as a worker. PyAV drops a message that
    # repeats the process's previous one: off, or a segment's record would depend on the segment before.
    av.logging.set_level(av.logging.ERROR)
    av.logging.set_skip_repeated(False)
    ignored = SKIPPED_B_MESSAGES if skip == "BIDIR" else frozenset()
    rows: list[tuple] = []
    with av.logging.Capture() as logged:
        for time, frame in sample_frames(container, fps, start, end, skip=skip, stats=stats, grid_from=grid_from):
            rows.append(hash_row(time, frame))
            if on_progress is not None:
                on_progress(lambda: _sampled(dataclasses.replace(result), rows, stats, logged, ignored))
    result = _sampled(result, rows, stats, logged, ignored)
    if not result.lost and end is None and _ends_early(stats.packet_end, info.duration):
        result.code = FileError.TRUNCATED_VIDEO
    if end is None and _ends_early(info.duration, stats.packet_end):
        result.duration = stats.packet_end  # the header undercounts: a bare MPEG-1 stream's can say 0.0005 s
    return result, stats.widest_gap


def _sampled(result: SegmentResult, rows: list[tuple], stats: SampleStats, logged: list,
             ignored: frozenset[str] = frozenset()) -> SegmentResult:
    """`result` with its sampled frames (tasks/video/frames.hash_row rows) and what was lost: frames the
    sampler passed over and errors FFmpeg logged (but the `ignored` messages); width and height as
    displayed."""
    result.frames, result.barred = frames_of(rows), barred_frames(rows)
    result.lost = stats.lost + sum(1 for level, _, message in logged
                                   if level <= av.logging.ERROR and message.strip() not in ignored)
    if stats.rotation % 180 == 90:
        result.width, result.height = result.height, result.width
    if result.lost:
        result.code = FileError.DAMAGED_VIDEO
    return result


def _ends_early(end: float, expected: float) -> bool:
    """True when `end` falls short of `expected` by more than the slack (the packets of what the header
    declares, or the header of what the packets hold)."""
    return expected > 0 and expected - end > max(TRUNCATION_SLACK_S, TRUNCATION_SHARE * expected)

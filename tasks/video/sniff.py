"""Whether a file no image decoder took is a video by its content (a video named like an image): FFmpeg
opens it with a demuxer of moving pictures and finds a video stream that is more than one still.

Asked of files that failed to decode as images (tasks/batch.py) and of image-named files too big to be read
whole before it is asked (tasks/inputs/readfile.py), so PyAV is loaded then, not before.
"""

from __future__ import annotations

import io
from typing import BinaryIO

#: FFmpeg's demuxers of still pictures (besides the `*_pipe` image readers): a file they open is an image
#: that OpenCV could not decode, not a video. An animated GIF or PNG is walked as an image too.
STILL_DEMUXERS = frozenset({"image2", "gif", "apng", "webp", "ico", "jpegxl_anim"})


def is_video_content(data: bytes | BinaryIO) -> bool:
    """True when `data` (bytes, or a file open for reading, of which FFmpeg reads only what it needs) opens in
    FFmpeg as a video: a container whose first video stream (cover art left aside) runs for a duration or
    holds more than one frame. A still in an ISO BMFF file (AVIF, HEIF) or an image FFmpeg reads is not;
    neither is anything FFmpeg cannot open."""
    import av

    try:
        with av.open(io.BytesIO(data) if isinstance(data, bytes) else data) as container:
            if container.format.name.endswith("_pipe") or container.format.name in STILL_DEMUXERS:
                return False
            streams = [s for s in container.streams.video
                       if not s.disposition & av.stream.Disposition.attached_pic]
            if not streams:
                return False
            stream = streams[0]
            return stream.frames > 1 or bool(stream.duration) or bool(container.duration)
    except (av.FFmpegError, ValueError, OSError):
        return False

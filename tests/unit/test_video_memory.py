"""A worker process's memory while it samples a video stays bounded by the decoder's reference frames, not
by the video's length or the number of frames sampled (tasks/video/segment.py states the bound)."""

from __future__ import annotations

import json
import subprocess
import sys

import av
import numpy as np
import pytest

from support.videos import write_video

#: Frames the bound allows at the stream's size (H.264 keeps at most 16 references, plus the one being
#: decoded and the one converted), and MiB of slack for allocator and library buffers.
BOUND_FRAMES = 18
SLACK_MIB = 32

PROBE = """
import json, resource, sys
from tasks.video.segment import index_segment
index_segment(sys.argv[1], 0, None, 1.0)  # libraries loaded and warmed on a tiny video
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
got = index_segment(sys.argv[2], 0, None, float(sys.argv[3]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"code": int(got.code), "frames": len(got.frames), "growth_kib": peak - base}))
"""


def write_h264(path, seconds: int, size=(1920, 1080), rate: int = 30) -> str:
    """H.264 with B-frames and four references: a bright bar sweeping over a gradient."""
    width, height = size
    ramp = np.linspace(0, 200, width, dtype=np.uint8)
    noise = np.ascontiguousarray(np.broadcast_to(ramp[None, :, None], (height, width, 3)))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate, options={"preset": "ultrafast", "bframes": "3",
                                                                      "ref": "4"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(seconds * rate):
            rgb = noise.copy()
            x = (index * 37) % (width - 100)
            rgb[:, x:x + 100] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def test_sampling_every_frame_of_a_long_1080p_video_grows_a_process_by_a_few_frames_only(tmp_path):
    # Given five seconds of 1080p H.264 (150 frames: 450 MB were they all kept as decoded, 300 MB as gray)
    tiny = write_video(tmp_path / "tiny.mp4", seconds=1)
    big = write_h264(tmp_path / "big.mp4", seconds=5)
    # When a fresh process samples every one of its frames
    done = subprocess.run([sys.executable, "-c", PROBE, tiny, big, "30"], capture_output=True, text=True,
                          timeout=120, check=True)
    got = json.loads(done.stdout)
    # Then all were sampled, and the process grew by less than the bound
    assert got["code"] == 0 and got["frames"] == 150
    frame_mib = 1920 * 1080 * 1.5 / 2**20
    assert got["growth_kib"] / 1024 < BOUND_FRAMES * frame_mib + SLACK_MIB, got


@pytest.mark.parametrize("side", [255, 256, 2000])
def test_a_sampled_frame_is_handed_to_the_hashes_at_most_256_pixels_on_its_short_side(tmp_path, side):
    from tasks.video.sample import SAMPLE_SIDE, sample_frames

    path = write_video(tmp_path / f"s{side}.mp4", seconds=1, rate=2, size=(side * 2 - side % 2, side))
    with av.open(path) as container:
        shapes = {gray.shape for _, gray in sample_frames(container, 1.0)}
    assert all(min(shape) == min(side, SAMPLE_SIDE) for shape in shapes), shapes

"""Bytes a video object's probe and segments read from an S3-compatible store, against the object's size.

    PYTHONPATH=.:tests python -m bench.s3_video_reads [--seconds 120] [--parts 1 4 12]

A video of SECONDS at 320 x 192, 10 fps, of random pictures at 3 Mbit/s (so that it is tens of MB: many of
the reader's blocks), written as Matroska and as MP4, is put in a moto S3 server (HTTP on loopback, in this
process; tests/support/s3.py logs the bytes of each GET). The producer's probe (producer/video/probe.py)
reads its header; then the video is cut into PARTS segments as the plan cuts it (producer/video/plan.py
split) and each is sampled at 1 fps by the workers' code (tasks/video/segment.py index_segment). Bytes and
GETs are counted by the server, not timed: the machine's load does not change them.
"""

from __future__ import annotations

import argparse
import os
import tempfile

#: The test video's frame size, rate and bitrate.
SIZE, RATE, BIT_RATE = (320, 192), 10, 3_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--parts", type=int, nargs="+", default=[1, 4, 12])
    args = parser.parse_args()
    import numpy as np

    from producer.video.plan import split
    from producer.video.probe import probe_cost
    from support.s3 import S3Server
    from support.videos import write_video
    from tasks.video.segment import index_segment

    def noise(_second, width, height):
        return np.random.default_rng().integers(0, 256, (height, width, 3), dtype=np.uint8)

    server = S3Server()
    os.environ.update(server.env())
    try:
        with tempfile.TemporaryDirectory() as folder:
            for name in ("video.mkv", "video.mp4"):
                path = write_video(os.path.join(folder, name), args.seconds, RATE, SIZE, frame=noise,
                                   bit_rate=BIT_RATE)
                data = open(path, "rb").read()
                url = f"s3://{server.new_bucket({name: data})}/{name}"
                before = len(server.reads)
                probe_cost(url)
                probe = server.reads[before:]
                print(f"{name}: {len(data) / 1e6:.1f} MB; probe: {len(probe)} GETs, "
                      f"{sum(sent for *_, sent in probe) / 1e3:.0f} kB")
                for parts in args.parts:
                    per = []
                    for _, start, end in split(0, float(args.seconds), parts, 1.0):
                        before = len(server.reads)
                        assert index_segment(url, start, end, 1.0).code == 0
                        per.append(server.reads[before:])
                    sizes = [sum(sent for *_, sent in got) / 1e6 for got in per]
                    print(f"  {parts} segments (share {len(data) / parts / 1e6:.1f} MB): read "
                          f"{min(sizes):.1f}-{max(sizes):.1f} MB, {min(map(len, per))}-{max(map(len, per))} GETs "
                          f"each; {sum(sizes) * 1e6 / len(data):.2f}x the object in all")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

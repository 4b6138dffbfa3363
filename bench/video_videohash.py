"""videohash (PyPI `videohash`: one 64-bit hash of a 1 frame/s collage per video) of the video quality set, for
bench/video_quality.py. Runs under the interpreter that has videohash installed (it pulls yt-dlp and older
Pillow, so it lives in its own virtualenv: `python -m venv VENV && VENV/bin/pip install videohash`); reads paths
on stdin, writes `path<TAB>hash` lines, `-` for a video it fails on.

    ls ~/.cache/hashfleet-bench/video-quality/{films/film*.mp4,variants/*.{mp4,webm},clips/*} \
      | VENV/bin/python -m bench.video_videohash > videohash.tsv
"""

from __future__ import annotations

import sys


def main() -> None:
    from PIL import Image

    if not hasattr(Image, "ANTIALIAS"):  # videohash 3.0.1 names Pillow's LANCZOS filter by its pre-10 alias
        Image.ANTIALIAS = Image.LANCZOS
    from videohash import VideoHash

    # Every path is read before the first video: the FFmpeg processes videohash starts inherit stdin and
    # would swallow the paths still waiting there.
    paths = [line.strip() for line in sys.stdin if line.strip()]
    for path in paths:
        try:
            value = VideoHash(path=path).hash_hex
        except Exception as exc:  # noqa: BLE001  (a reference tool: one failure is a row, not the end)
            print(f"videohash failed on {path}: {exc}", file=sys.stderr)
            value = "-"
        print(f"{path}\t{value}", flush=True)


if __name__ == "__main__":
    main()

"""Mutated videos through the real pipeline: N damaged copies of small videos (made with PyAV in several
containers and codecs) indexed by `hashfleet run` with embedded workers. The run must exit 0 with one
record per file, no `internal` record and every video's frames readable back.

    python -m bench.video_fuzz --files 200 [--seed 1] [--workers 2] [--keep DIR]

Mutations (seeded): bit flips, a run of bytes overwritten, cut at a random length, a block of bytes
duplicated, the first bytes of another container spliced in. Sources: tests/support/videos.py videos in
mp4 (MPEG-4 part 2 and H.264), mkv, avi, mpeg-ts and webm (VP8), one with a display rotation.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from producer.outputs.reader import read_records
from producer.outputs.videoframes import read_videos
from support.videos import write_video

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: (file name, write_video options) of the sources.
SOURCES = (("mpeg4.mp4", {}), ("h264.mp4", {"codec": "libx264"}), ("mpeg4.mkv", {"gop": 10}),
           ("mpeg4.avi", {}), ("mpeg4.ts", {}), ("vp8.webm", {"codec": "libvpx"}),
           ("rotated.mp4", {"rotation": 90}))
#: Seconds one `hashfleet run` may take.
RUN_TIMEOUT = 1800


def mutate(data: bytes, rng: random.Random, others: list[bytes]) -> tuple[bytes, str]:
    kind = rng.choice(("bitflip", "overwrite", "truncate", "duplicate", "splice"))
    out = bytearray(data)
    if kind == "bitflip":
        for _ in range(rng.randint(1, 20)):
            at = rng.randrange(len(out))
            out[at] ^= 1 << rng.randrange(8)
    elif kind == "overwrite":
        at, length = rng.randrange(len(out)), rng.randint(1, 4096)
        out[at:at + length] = bytes(rng.randrange(256) for _ in range(min(length, len(out) - at)))
    elif kind == "truncate":
        out = out[:rng.randrange(len(out))]
    elif kind == "duplicate":
        at, length = rng.randrange(len(out)), rng.randint(16, 8192)
        out[at:at] = out[at:at + length]
    else:
        head = rng.choice(others)[:rng.randint(16, 512)]
        out[:len(head)] = head
    return bytes(out), kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.video_fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", default=None, help="folder to keep the mutated files and the index in")
    args = parser.parse_args(argv)
    work = args.keep or tempfile.mkdtemp(prefix="hashfleet-video-fuzz-")
    sources_dir, folder = os.path.join(work, "sources"), os.path.join(work, "files")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(sources_dir, exist_ok=True)
    os.makedirs(folder)
    sources = {name: open(write_video(os.path.join(sources_dir, name), seconds=4, **options), "rb").read()
               for name, options in SOURCES}
    rng = random.Random(args.seed)
    kinds = collections.Counter()
    for i in range(args.files):
        name = rng.choice(sorted(sources))
        data, kind = mutate(sources[name], rng, list(sources.values()))
        kinds[kind] += 1
        with open(os.path.join(folder, f"{i:05d}-{kind}-{name}"), "wb") as handle:
            handle.write(data)
    out = os.path.join(work, "index.sqlite")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "producer", "run", folder, "-o", out, "--workers",
                           str(args.workers), "--timeout", str(RUN_TIMEOUT)], env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT + 60)
    elapsed = time.monotonic() - started
    problems = [] if done.returncode == 0 else [f"exit {done.returncode}: {done.stderr[-2000:]}"]
    records = list(read_records(out)) if done.returncode == 0 else []
    videos = list(read_videos(out)) if done.returncode == 0 else []
    errors = collections.Counter(r.error or "ok" for r in records)
    if len(records) != args.files:
        problems.append(f"{len(records)} records for {args.files} files")
    if len(videos) != args.files:
        problems.append(f"{len(videos)} videos read back for {args.files} files")
    if errors["internal"]:
        problems.append(f"{errors['internal']} internal records")
    print(f"{args.files} mutated videos ({dict(sorted(kinds.items()))}) in {elapsed:.1f} s with "
          f"{args.workers} workers; records by error: {dict(sorted(errors.items()))}; "
          f"frames sampled: {sum(len(v.frames) for v in videos)}")
    print("PASS" if not problems else "FAIL: " + "; ".join(problems))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())

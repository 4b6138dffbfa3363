"""Peak memory of the worker processes and the producer while an hour of 4K video is indexed, through the
real pipeline (a private redis-server, a warm prefork worker, `hashfleet run --broker`).

    python -m bench.video_memory [--minutes 60] [--concurrency 2]

The film is a 20 s clip of FFmpeg's `testsrc2` pattern at 3840 x 2160, 30 fps, encoded once by the
`ffmpeg` binary with libx264's default preset (B-frames that reference each other), then repeated with
`-c copy` to `--minutes` (an hour: 10 GB, 108,000 frames, in a few seconds): a real hour-long H.264 file
with one sample table of every frame, not a short clip whose length is only claimed. Files are cached in
~/.cache/hashfleet-bench/video-memory. Reported: each pool process's peak resident set (VmHWM, sampled
every 0.5 s, so a process replaced meanwhile is counted too) and its resident set when idle before the
job, the producer's peak (getrusage of the waited child), wall time, and the index's frame count.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import tempfile
import threading
import time

from bench.services import clean_env, private_redis
from support.procstat import children, peak_rss_kib
from support.warm_worker import warm_worker

CACHE = os.path.expanduser("~/.cache/hashfleet-bench/video-memory")
CLIP_SECONDS = 20
#: Seconds between two reads of the pool processes' peaks.
POLL = 0.5


def clip() -> str:
    """The 20 s 4K clip, made once."""
    out = os.path.join(CACHE, f"testsrc2-4k-{CLIP_SECONDS}s.mp4")
    if not os.path.exists(out):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size=3840x2160:rate=30:duration={CLIP_SECONDS}", "-c:v", "libx264",
                        "-pix_fmt", "yuv420p", out + ".part.mp4"], check=True)
        os.replace(out + ".part.mp4", out)
    return out


def film(minutes: int) -> str:
    """A folder holding only the `minutes`-long film (the clip repeated, packets copied), made once."""
    folder = os.path.join(CACHE, f"{minutes}min")
    out = os.path.join(folder, f"testsrc2-4k-{minutes}min.mp4")
    if not os.path.exists(out):
        os.makedirs(folder, exist_ok=True)
        source = clip()
        listing = os.path.join(CACHE, "concat.txt")
        with open(listing, "w") as handle:
            handle.writelines(f"file '{source}'\n" for _ in range(minutes * 60 // CLIP_SECONDS))
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", listing, "-c", "copy",
                        out + ".part.mp4"], check=True)
        os.replace(out + ".part.mp4", out)
    return folder


class PeakWatch:
    """Polls the peak resident set of every child of `parent` (the pool processes) until stopped."""

    def __init__(self, parent: int):
        self.parent, self.peaks, self._stop = parent, {}, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(POLL):
            for pid in children(self.parent):
                self.peaks[pid] = max(self.peaks.get(pid, 0), peak_rss_kib(pid))


def resident_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args(argv)
    folder = film(args.minutes)
    size = sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder))
    with tempfile.TemporaryDirectory(prefix="hashfleet-video-memory-") as work:
        with private_redis(work) as (port, _), warm_worker(f"redis://127.0.0.1:{port}/0", args.concurrency,
                                                           work) as worker:
            idle = {pid: resident_kib(pid) for pid in worker.pool_pids()}
            index = os.path.join(work, "index.sqlite")
            started = time.monotonic()
            with PeakWatch(worker.proc.pid) as watch:
                producer = subprocess.Popen(["hashfleet", "run", folder, "--broker", f"redis://127.0.0.1:{port}/0",
                                             "-o", index], env=clean_env(), stdout=subprocess.DEVNULL)
                _, status, usage = os.wait4(producer.pid, 0)  # this child's own peak, not the worker's
                producer.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - started
            if producer.returncode:
                raise SystemExit(f"hashfleet run exited with {producer.returncode}")
        with sqlite3.connect(index) as db:
            frames = db.execute("select count(*) from frames").fetchone()[0]
            (error,) = db.execute("select error from videos").fetchone()
    print(f"## Memory while indexing {args.minutes} min of 4K H.264 ({size / 1e9:.1f} GB), "
          f"{args.concurrency} worker processes\n")
    print(f"Command: `python -m bench.video_memory --minutes {args.minutes} --concurrency {args.concurrency}`; "
          f"wall {wall:.0f} s; {frames} frames sampled; video error: {error or 'none'}.\n")
    print("| process | idle before the job (MiB) | peak during the job (MiB) |\n|---|---:|---:|")
    for pid, peak in sorted(watch.peaks.items()):
        before = f"{idle[pid] / 1024:.0f}" if pid in idle else "(started during the job)"
        print(f"| pool process {pid} | {before} | {peak / 1024:.0f} |")
    print(f"| producer (`hashfleet run`) | - | {usage.ru_maxrss / 1024:.0f} |")


if __name__ == "__main__":
    main()

"""Video sampling speed, side by side on the same files in one run, in video-seconds per core-second, and
how far the default sampling's hashes lie from the every-frame reference.

    python -m bench.video_speed [--seconds 20] [--fps 1] [--only h264-720p,...] [--repeats 1]

Contenders, each in this process, CPU time (user + system of every thread) of one pass over one file:
- **hashfleet**: what a worker runs per segment (tasks/video/segment.index_segment): one decoder thread,
  every B-frame of H.264 skipped (non-reference frames of other codecs), only sampled frames converted,
  at a 256-pixel short side;
- **hashfleet-nonref** / **hashfleet-fullsize** / **hashfleet-allframes**: the sampler with one of the
  savings turned off (only non-reference frames skipped, not every H.264 B-frame / sampled frames
  converted at full size / every frame decoded), to show what each saving buys;
- **reference**: every frame decoded by PyAV and converted to gray at full size, the 1 fps grid hashed
  (tasks/video/sample.sample_gray: the seed way; the hashes the distances are measured against);
- **opencv**: `cv2.VideoCapture` reading every frame and converting each to gray (the product's seed
  way), the grid's frames hashed;
- **vpdq-rule**: Meta vPDQ's method: every frame decoded (PyAV), PDQ (`pdqhash`) of one frame per second
  (`pip install vpdq` does not build here: no FFmpeg headers).
Clips are made once with the ffmpeg binary in ~/.cache/hashfleet-bench/video-speed: photo slideshows
from ~/corpus/photos with a slow zoom (H.264 720p and 1080p with libx264's default B-frames, VP9 720p,
MPEG-2 720p in MPEG-TS with a GOP of 12 and two B-frames, as broadcast and DVD video, MPEG-4 Part 2 720p
with two B-frames in AVI, as Xvid/DivX) and an lavfi `testsrc2` 1080p H.264 clip (motion in every frame).
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import time

import numpy as np

CACHE = os.path.expanduser("~/.cache/hashfleet-bench/video-speed")
PHOTOS = os.path.expanduser("~/corpus/photos")
#: name -> (ffmpeg input and filter arguments, output encoding arguments, extension).
ZOOM = "scale=2400:1350:force_original_aspect_ratio=increase,crop=2400:1350,zoompan=z='min(zoom+0.002,1.4)':d=125"
CLIPS = {
    "h264-720p": (f"{ZOOM}:s=1280x720:fps=25", ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23"], "mp4"),
    "h264-1080p": (f"{ZOOM}:s=1920x1080:fps=25", ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23"], "mp4"),
    "vp9-720p": (f"{ZOOM}:s=1280x720:fps=25",
                 ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1500k"], "webm"),
    "testsrc-1080p": (None, ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23"], "mp4"),
    "mpeg2-720p": (f"{ZOOM}:s=1280x720:fps=25", ["-c:v", "mpeg2video", "-g", "12", "-bf", "2", "-b:v", "6M"], "ts"),
    "mpeg4-720p": (f"{ZOOM}:s=1280x720:fps=25", ["-c:v", "mpeg4", "-bf", "2", "-q:v", "4"], "avi"),
}
CONTENDERS = ("hashfleet", "hashfleet-nonref", "hashfleet-fullsize", "hashfleet-allframes", "reference", "opencv",
              "vpdq-rule")


def make_clip(name: str, seconds: int) -> str:
    """The clip `name` of `seconds`, made once (ffmpeg) and cached."""
    vf, codec, ext = CLIPS[name]
    os.makedirs(CACHE, exist_ok=True)
    out = os.path.join(CACHE, f"{name}-{seconds}s.{ext}")
    if os.path.exists(out):
        return out
    base = ["ffmpeg", "-v", "error", "-y", "-threads", "2"]
    if vf is None:
        size = "1920x1080" if "1080" in name else "1280x720"
        args = [*base, "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={seconds}"]
    else:
        photos = sorted(glob.glob(os.path.join(PHOTOS, "mate-backgrounds", "*", "*.jpg")))[:max(1, seconds // 5)]
        listing = os.path.join(CACHE, f"{name}.txt")
        with open(listing, "w") as handle:
            for photo in photos:
                handle.write(f"file '{photo}'\nduration 5\n")
            handle.write(f"file '{photos[-1]}'\n")
        args = [*base, "-f", "concat", "-safe", "0", "-i", listing, "-vf", vf, "-t", str(seconds)]
    subprocess.run([*args, *codec, "-pix_fmt", "yuv420p", out + f".tmp.{ext}"], check=True)
    os.replace(out + f".tmp.{ext}", out)
    return out


def run_hashfleet(path: str, fps: float, **options):
    """What a worker runs (tasks/video/segment.index_segment); with `options`, the sampler alone with one of
    its savings turned off."""
    import av

    from tasks.video.frames import hash_frames
    from tasks.video.sample import sample_frames
    from tasks.video.segment import index_segment

    if not options:
        return index_segment(path, 0.0, None, fps).frames
    with av.open(path) as container:
        container.streams.video[0].codec_context.thread_count = 1
        return hash_frames(sample_frames(container, fps, **options))


def run_reference(path: str, fps: float):
    import av

    from tasks.video.frames import hash_frames
    from tasks.video.sample import sample_frames

    with av.open(path) as container:
        container.streams.video[0].codec_context.thread_count = 1
        return hash_frames(sample_frames(container, fps, side=None, skip="DEFAULT", seek=False))


def run_opencv(path: str, fps: float):
    import cv2

    from tasks.video.frames import hash_frames

    cv2.setNumThreads(1)
    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    samples, target = [], 0.0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            time_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)  # every frame converted, as the seed did
            if time_s >= target - 1e-6:
                samples.append((time_s, gray))
                while target <= time_s + 1e-6:
                    target += 1.0 / fps
    finally:
        capture.release()
    return hash_frames(samples)


def run_vpdq_rule(path: str, fps: float):
    import av
    import pdqhash

    hashes, target = [], 0.0
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= target - 1e-6:
                hashes.append(pdqhash.compute(frame.to_ndarray(format="rgb24"))[0])
                while target <= frame.time + 1e-6:
                    target += 1.0 / fps
    return hashes


def measure(name: str, path: str, fps: float):
    runs = {
        "hashfleet": lambda: run_hashfleet(path, fps),
        "hashfleet-nonref": lambda: run_hashfleet(path, fps, skip="NONREF"),
        "hashfleet-fullsize": lambda: run_hashfleet(path, fps, side=None, skip="NONREF"),
        "hashfleet-allframes": lambda: run_hashfleet(path, fps, skip="DEFAULT"),
        "reference": lambda: run_reference(path, fps),
        "opencv": lambda: run_opencv(path, fps),
        "vpdq-rule": lambda: run_vpdq_rule(path, fps),
    }
    cpu0 = time.process_time()
    result = runs[name]()
    return time.process_time() - cpu0, result


def distances(got, ref) -> dict:
    """Bits apart per grid slot (the i-th sample of each), phash and dhash, and the time offsets."""
    n = min(len(got), len(ref))
    out = {"slots": n, "missing": abs(len(got) - len(ref))}
    for name in ("phash", "dhash", "centre"):
        x = np.bitwise_xor(getattr(got, name)[:n], getattr(ref, name)[:n])
        bits = np.unpackbits(x.view(np.uint8)).reshape(n, 64).sum(axis=1) if n else np.zeros(0)
        out[name] = (float(bits.mean()) if n else 0.0, float(np.percentile(bits, 95)) if n else 0.0,
                     int(bits.max()) if n else 0)
    offsets = np.abs(got.times[:n] - ref.times[:n])
    out["offset"] = (float(offsets.mean()) if n else 0.0, float(offsets.max()) if n else 0.0)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--only", default=",".join(CLIPS))
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--repeats", type=int, default=1, help="passes per contender and clip (the fastest kept)")
    args = parser.parse_args(argv)
    import av

    clips = {name: make_clip(name, args.seconds) for name in args.only.split(",")}
    names = args.contenders.split(",")
    print(f"| clip | duration s | {' | '.join(names)} |")
    print("| --- | --- |" + " --- |" * len(names))
    totals = dict.fromkeys(names, 0.0)
    video_seconds = 0.0
    quality = {}
    for clip, path in clips.items():
        with av.open(path) as container:
            stream = container.streams.video[0]
            duration = float(stream.duration * stream.time_base) if stream.duration else container.duration / 1e6
        video_seconds += duration
        cells, results = [], {}
        for name in names:
            runs = [measure(name, path, args.fps) for _ in range(args.repeats)]
            cpu = min(r[0] for r in runs)
            results[name] = runs[-1][1]
            totals[name] += cpu
            cells.append(f"{duration / cpu:.1f}")
        print(f"| {clip} | {duration:.1f} | {' | '.join(cells)} |")
        if results.get("hashfleet") is not None and results.get("reference") is not None:
            quality[clip] = distances(results["hashfleet"], results["reference"])
    print(f"| **all** | {video_seconds:.1f} | " + " | ".join(f"**{video_seconds / totals[n]:.1f}**" for n in names)
          + " |")
    if "hashfleet" in names and "opencv" in names:
        print(f"\nhashfleet / opencv: {totals['opencv'] / totals['hashfleet']:.2f}x")
    if quality:
        print("\n| clip | slots | phash mean / p95 / max bits | dhash mean / p95 / max | phash-centre mean / p95 / "
              "max | time offset mean / max s |")
        print("| --- | --- | --- | --- | --- | --- |")
        for clip, q in quality.items():
            fmt = " | ".join(f"{a:.2f} / {b:.0f} / {c}" for a, b, c in (q["phash"], q["dhash"], q["centre"]))
            print(f"| {clip} | {q['slots']} (missing {q['missing']}) | {fmt} | {q['offset'][0]:.3f} / "
                  f"{q['offset'][1]:.3f} |")


if __name__ == "__main__":
    main()

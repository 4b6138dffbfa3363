"""Where does hashfleet's time go? Three views on one set (default camera), written to bench/out/.

1. stages: every file's bytes in memory, one OpenCV thread, each step of the full-resolution `dhash` path
   and of the worker's current hasher timed separately (the same calls tasks.image.decode / tasks.image.dhash make),
   next to the decode floor and alternatives (reduced-size JPEG decoding + INTER_AREA) with their hash
   difference from the full-resolution hash.
2. cProfile of `tasks.batch.hash_files` (read + decode + hash, as a worker chunk does) in this process.
3. py-spy (if installed): a warm `celery -A tasks worker -c 1` sampled with --subprocesses while
   `hashfleet run SET --broker ...` hashes the set, and the producer CLI sampled on its own
   (bench/pyspy.py).

This process runs with one BLAS and one OpenCV thread, like a worker. Before each view it waits for other
processes to leave the CPU alone and reports how much they used meanwhile (bench/hygiene.py).

    python -m bench.profiling [--set camera] [--limit N] [--no-pyspy] [--code HEAD|<ref>|worktree]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.contenders import JPEG_MAGIC  # noqa: E402
from bench.hygiene import CONTENDED_SHARE, CpuMeter, exclusive  # noqa: E402
from bench.pyspy import profile_worker  # noqa: E402
from bench.sets import ensure_set  # noqa: E402
from bench.snapshot import add_common_options, use_snapshot  # noqa: E402

HASH_SIZE = 8
#: Rows of the cProfile table shown.
TOP = 15
MS = 1000.0


#: Items per timed batch; a batch during which other processes used the CPU is redone (bench/hygiene.py).
BATCH = 128
MAX_ATTEMPTS = 4
#: Keys of a stage Counter that are counts, not seconds.
COUNT_PREFIX = "#"
_METER = CpuMeter(lambda: [])
#: Batches redone / kept although disturbed (after MAX_ATTEMPTS), for the report.
_DISTURBED: Counter[str] = Counter()


def _batched(items: list, step) -> dict[str, float]:
    """ms per item of each stage that `step(item, spent)` adds to the Counter `spent`, measured batch by
    batch; a batch disturbed by other processes is redone once the machine is quiet again."""
    total: Counter[str] = Counter()
    for start in range(0, len(items), BATCH):
        for attempt in range(MAX_ATTEMPTS):
            spent: Counter[str] = Counter()
            _METER.start()
            for item in items[start:start + BATCH]:
                step(item, spent)
            if _METER.stop()[0] <= CONTENDED_SHARE:
                break
            if attempt == MAX_ATTEMPTS - 1:
                _DISTURBED["kept"] += 1
                break
            _DISTURBED["redone"] += 1
            _METER.wait_quiet()
        total.update(spent)
    return {k: v if k.startswith(COUNT_PREFIX) else v * MS / len(items) for k, v in total.items()}


def _per_image(fn, items: list) -> float:
    """ms per item of `fn`, results discarded as they come (steady-state memory reuse, as in a worker)."""
    def step(item, spent: Counter) -> None:
        started = time.perf_counter()
        fn(item)
        spent["t"] += time.perf_counter() - started

    return _batched(items, step)["t"]


def _area(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (HASH_SIZE + 1, HASH_SIZE), interpolation=cv2.INTER_AREA)


def _reference_stages(datas: list[bytes]) -> dict[str, float]:
    """The full-resolution dhash path (decode_robust + dhash_bits; the worker's path before reduced JPEG
    decoding, and the quality reference), each step timed (intermediates dropped after each image, as in a
    worker). JPEG takes decode_robust's JPEG branch split in two."""
    from tasks.image.decode import _imdecode, _to_unit_float, decode_robust, sniff_format
    from tasks.image.dhash import dhash_bits, pack_bits

    def step(data: bytes, spent: Counter) -> None:
        t0 = time.perf_counter()
        if sniff_format(data) == "jpeg":
            gray = _imdecode(data, cv2.IMREAD_GRAYSCALE)
            t1 = time.perf_counter()
            unit = _to_unit_float(gray)
        else:
            unit = decode_robust(data)
            t1 = time.perf_counter()
        t2 = time.perf_counter()
        pack_bits(dhash_bits(unit, HASH_SIZE))
        t3 = time.perf_counter()
        spent["full-res: imdecode IMREAD_GRAYSCALE full size (non-JPEG: whole decode_robust)"] += t1 - t0
        spent["full-res: _to_unit_float uint8 -> float32 x 1/255"] += t2 - t1
        spent["full-res: dhash_bits (area average to 9x8, as implemented in this snapshot) + pack"] += t3 - t2

    stages = _batched(datas, step)
    stages["full-res TOTAL: pack_bits(dhash_bits(decode_robust(bytes)))"] = _per_image(
        lambda d: pack_bits(dhash_bits(decode_robust(d), HASH_SIZE)), datas)
    return stages


def _current_stages(datas: list[bytes]) -> dict[str, float]:
    """The worker's current `dhash` hasher (tasks.batch.HASHERS, whatever it does today) in total, and
    split when it is the reduced-JPEG pipeline (decode_robust_reduced + dhash_bits_reduced)."""
    from tasks import decode, dhash, hashing

    stages: dict[str, float] = {}
    reduce = getattr(decode, "decode_robust_reduced", None)
    weigh = getattr(dhash, "dhash_bits_reduced", None)
    cell = getattr(hashing, "MIN_PIXELS_PER_CELL", None)
    if reduce and weigh and cell:
        def step(data: bytes, spent: Counter) -> None:
            t0 = time.perf_counter()
            reduced = reduce(data, cell * (HASH_SIZE + 1))
            t1 = time.perf_counter()
            dhash.pack_bits(weigh(reduced.image, reduced.scale, reduced.height, reduced.width, HASH_SIZE))
            t2 = time.perf_counter()
            spent["current: decode_robust_reduced (header + reduced imdecode + float)"] += t1 - t0
            spent["current: dhash_bits_reduced (area weights, matmul) + pack"] += t2 - t1
            spent[f"{COUNT_PREFIX}{reduced.scale}"] += 1

        measured = _batched(datas, step)
        scales = {int(k[1:]): int(v) for k, v in measured.items() if k.startswith(COUNT_PREFIX)}
        stages = {k: v for k, v in measured.items() if not k.startswith(COUNT_PREFIX)}
        stages[f"current: JPEG decode scales used {dict(sorted(scales.items()))}"] = float("nan")
    hasher = getattr(hashing, "HASHERS", {}).get("dhash")
    if hasher:
        stages["current TOTAL: tasks.batch.HASHERS['dhash'](bytes) + pack"] = _per_image(
            lambda d: dhash.pack_bits(hasher(d, HASH_SIZE)), datas)
    return stages


def stages(files: list[str]) -> str:
    """Per-stage ms/image of the worker's dhash path and of alternatives, with hash differences."""
    from tasks.image.decode import _to_unit_float, decode_robust
    from tasks.image.dhash import dhash_bits, pack_bits

    cv2.setNumThreads(1)
    datas = []
    for path in files:
        with open(path, "rb") as handle:
            datas.append(handle.read())
    blobs = [np.frombuffer(d, np.uint8) for d in datas]
    jpeg = all(d.startswith(JPEG_MAGIC) for d in datas)
    gray_flag = cv2.IMREAD_GRAYSCALE
    rows = {"read file bytes (page cache warm)": _per_image(lambda p: open(p, "rb").read(), files)}
    rows.update(_reference_stages(datas))
    rows.update(_current_stages(datas))
    rows["--- floor, parts and alternatives ---"] = float("nan")
    rows["FLOOR: imdecode REDUCED_GRAYSCALE_8 (JPEG) / GRAYSCALE (other)"] = _per_image(
        lambda b: cv2.imdecode(b, cv2.IMREAD_REDUCED_GRAYSCALE_8 if b[:3].tobytes() == JPEG_MAGIC
                               else gray_flag), blobs)
    rows["imdecode GRAYSCALE full size only"] = _per_image(lambda b: cv2.imdecode(b, gray_flag), blobs)
    rows["imdecode GRAYSCALE + astype float32 x 1/255 (no resize)"] = _per_image(
        lambda b: _to_unit_float(cv2.imdecode(b, gray_flag)), blobs)
    rows["imdecode GRAYSCALE + float32 + cv2.resize INTER_AREA (the first dhash_bits, 8790ca9)"] = _per_image(
        lambda b: _area(_to_unit_float(cv2.imdecode(b, gray_flag))), blobs)
    rows["imdecode GRAYSCALE + INTER_LINEAR on uint8 (classic resize)"] = _per_image(
        lambda b: cv2.resize(cv2.imdecode(b, gray_flag), (HASH_SIZE + 1, HASH_SIZE)), blobs)
    rows["imdecode COLOR (what the original script decodes)"] = _per_image(
        lambda b: cv2.imdecode(b, cv2.IMREAD_COLOR), blobs)
    lines = ["| stage | ms/image |", "|---|---:|"] + [
        f"| {label} | {'' if value != value else f'{value:.2f}'} |" for label, value in rows.items()]
    if jpeg:
        lines += ["", "Naive reduced-size JPEG decode + cv2.resize INTER_AREA on the reduced image (no exact "
                  "cell geometry), for comparison; bits differing from the full-resolution hash:", "",
                  "| decode | ms/image total | files differing | bits histogram |", "|---|---:|---:|---|"]
        full = [pack_bits(dhash_bits(decode_robust(d), HASH_SIZE)) for d in datas]
        for scale, flag in ((2, cv2.IMREAD_REDUCED_GRAYSCALE_2), (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
                            (8, cv2.IMREAD_REDUCED_GRAYSCALE_8)):
            def reduced(b, f=flag):
                return pack_bits(dhash_bits(_to_unit_float(cv2.imdecode(b, f)), HASH_SIZE))

            per_image = _per_image(reduced, blobs)
            bits = Counter((int.from_bytes(a, "big") ^ int.from_bytes(reduced(b), "big")).bit_count()
                           for a, b in zip(full, blobs, strict=True))
            lines.append(f"| 1/{scale} | {per_image:.2f} | {len(files) - bits.get(0, 0)} / {len(files)} | "
                         f"{dict(sorted(bits.items()))} |")
    lines += ["", f"Timed in batches of {BATCH}: {_DISTURBED['redone']} batch(es) redone because other processes "
              f"used > {CONTENDED_SHARE:.0%} of the CPU, {_DISTURBED['kept']} kept although disturbed."]
    return "\n".join(lines) + "\n"


def cprofile(files: list[str]) -> str:
    from tasks.batch import hash_files

    cv2.setNumThreads(1)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(hash_files, files, "dhash", HASH_SIZE)
    elapsed = time.perf_counter() - started
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(TOP)
    body = "\n".join(line for line in text.getvalue().splitlines() if line.strip())
    return (f"hash_files on {len(files)} files: {elapsed:.2f} s under cProfile "
            f"({elapsed * MS / len(files):.2f} ms/image)\n\n```\n{body}\n```\n")


def _measured(meter: CpuMeter, view, files: list[str]) -> str:
    """Run one in-process view once the machine is quiet; note how much other processes used meanwhile."""
    meter.wait_quiet()
    meter.start()
    body = view(files)
    foreign, _ = meter.stop()
    return body + f"\n(other processes used {foreign:.1%} of the CPU during this view)\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="camera")
    parser.add_argument("--limit", type=int, default=None, help="profile only the first N files")
    parser.add_argument("--no-pyspy", action="store_true")
    add_common_options(parser)
    args = parser.parse_args(argv)
    with exclusive(args.out_dir):
        profile(args)


def profile(args: argparse.Namespace) -> None:
    fileset = ensure_set(args.set, args.cache_dir, args.corpus)
    files = fileset.files[: args.limit] if args.limit else fileset.files
    workdir = os.path.join(args.out_dir, "profile-work")
    os.makedirs(workdir, exist_ok=True)
    code_dir = os.path.join(workdir, "code")
    code = use_snapshot(code_dir, args.code)
    meter = _METER
    parts = [f"## Profile: {args.set} set, {len(files)} files\n", f"Code under test: {code}.\n",
             "### Stages (in-process, 1 OpenCV thread, 1 BLAS thread)\n", stages(files),
             "### cProfile of tasks.batch.hash_files\n", _measured(meter, cprofile, files)]
    if not args.no_pyspy and shutil.which("py-spy"):
        meter.wait_quiet()
        parts += ["### py-spy, warm worker -c 1\n", profile_worker(fileset, workdir, code_dir)]
    report = "\n".join(parts)
    print(report)
    path = os.path.join(args.out_dir, f"profile-{args.set}-{time.strftime('%Y%m%d-%H%M%S')}.md")
    with open(path, "w") as handle:
        handle.write(report)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""The contenders timed side by side. Each one hashes (or, for the floor, decodes) one file set and returns
an :class:`Outcome`: wall seconds, files it was given, files it hashed/decoded, and its output file.

* floor: every file's bytes read into memory first (untimed), then timed `cv2.imdecode` in this process
  with one OpenCV thread: IMREAD_REDUCED_GRAYSCALE_8 for JPEG (the decoder's 1/8 DCT scaling),
  IMREAD_GRAYSCALE for everything else: the cheapest way to get pixels a dhash could be computed from.
* original-pN: the PyImageSearch extract.py as a subprocess (interpreter start, listing, Pool, pickles).
  It lists only .jpg/.jpeg/.png/.bmp/.tif/.tiff, so on a set with WebP/PNM it hashes fewer files.
* hashfleet-warm-N: `hashfleet run SET --broker URL -o out.csv` against an already running worker -c N.
* hashfleet-embedded-N: `hashfleet run SET -o out.csv --workers N` (starts redis-server + workers itself).
* hashfleet-warm-N-dhash: hashfleet-warm-N with `--algo dhash` (the same warm worker; the others compute
  the default algorithms).
* imagehash: `imagehash.dhash(Image.open(path))` in this process.

Subprocess times include interpreter start-up and imports; in-process times do not.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import pickle
import shutil
import sys
import time
from collections.abc import Callable

import cv2
import numpy as np

from bench.services import clean_env, run_timed
from bench.sets import FileSet

#: JPEG files start with SOI + a marker (see tasks.image.decode._MAGIC).
JPEG_MAGIC = b"\xff\xd8\xff"
#: Wall-clock limit for one subprocess run (s); a hung run fails the benchmark instead of stalling it.
RUN_TIMEOUT = 1800.0
#: Name suffix of the contenders that run `--algo dhash` instead of the default algorithms.
DHASH_SUFFIX = "-dhash"
DEFAULT_ORIGINAL = "/work/shared/reference/pyimagesearch_multiprocessing/extract.py"


@dataclasses.dataclass
class Outcome:
    seconds: float
    given: int
    hashed: int
    output: str | None = None
    #: Share of the machine used by other processes during the run (bench.hygiene), CPU seconds used by
    #: the benchmark's own process tree (this process, children, warm workers, redis), attempts made.
    foreign: float = 0.0
    cpu: float = 0.0
    attempts: int = 1


@dataclasses.dataclass
class Contender:
    """`run(fileset, workdir)` -> Outcome. `kind` groups contenders for ratios."""

    name: str
    kind: str
    workers: int
    run: Callable[[FileSet, str], Outcome]


def decode_floor(fileset: FileSet, _workdir: str) -> Outcome:
    blobs = []
    for path in fileset.files:
        with open(path, "rb") as handle:
            blobs.append(np.frombuffer(handle.read(), np.uint8))
    cv2.setNumThreads(1)
    decoded = 0
    started = time.perf_counter()
    for blob in blobs:
        flags = cv2.IMREAD_REDUCED_GRAYSCALE_8 if blob[:3].tobytes() == JPEG_MAGIC else cv2.IMREAD_GRAYSCALE
        if cv2.imdecode(blob, flags) is not None:
            decoded += 1
    elapsed = time.perf_counter() - started
    return Outcome(elapsed, len(blobs), decoded)


def imagehash_pil(fileset: FileSet, _workdir: str) -> Outcome:
    import imagehash
    from PIL import Image

    hashed = 0
    started = time.perf_counter()
    for path in fileset.files:
        try:
            with Image.open(path) as image:
                imagehash.dhash(image)
            hashed += 1
        except (OSError, ValueError):
            pass
    return Outcome(time.perf_counter() - started, len(fileset.files), hashed)


def hashfleet_executable() -> str:
    """The `hashfleet` console script of this interpreter (not a pyenv shim, which adds start-up time)."""
    local = os.path.join(os.path.dirname(sys.executable), "hashfleet")
    return local if os.path.exists(local) else shutil.which("hashfleet") or "hashfleet"


def count_csv(path: str) -> int:
    """Rows of a hashfleet CSV that have a hash."""
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
        return sum(1 for row in csv.DictReader(handle) if row["hash"])


def hashfleet_run(name: str, extra: list[str], chunk_size: int | None,
                  code_dir: str | None) -> Callable[[FileSet, str], Outcome]:
    """A runner for `hashfleet run SET -o OUT.csv EXTRA...`, started in `code_dir` (the code snapshot)."""

    def run(fileset: FileSet, workdir: str) -> Outcome:
        out = os.path.join(workdir, f"{fileset.name}-{name}.csv")
        argv = [hashfleet_executable(), "run", fileset.root, "-o", out, *extra]
        if chunk_size:
            argv += ["--chunk-size", str(chunk_size)]
        log = os.path.join(workdir, f"{name}.log")
        seconds = run_timed(argv, log, clean_env(), RUN_TIMEOUT, cwd=code_dir)
        return Outcome(seconds, len(fileset.files), count_csv(out), out)

    return run


def original_run(procs: int, script: str) -> Callable[[FileSet, str], Outcome]:
    """A runner for the original `extract.py --procs N` (fresh output folder every time)."""

    def run(fileset: FileSet, workdir: str) -> Outcome:
        tmp = os.path.join(workdir, f"original-p{procs}-parts")
        shutil.rmtree(tmp, ignore_errors=True)
        out = os.path.join(workdir, f"{fileset.name}-original-p{procs}.pickle")
        argv = [sys.executable, script, "--images", fileset.root, "--output", tmp, "--hashes", out,
                "--procs", str(procs)]
        seconds = run_timed(argv, os.path.join(workdir, f"original-p{procs}.log"), clean_env(), RUN_TIMEOUT,
                            cwd=os.path.dirname(script))
        with open(out, "rb") as handle:
            hashed = sum(len(paths) for paths in pickle.load(handle).values())
        return Outcome(seconds, len(fileset.original_files), hashed, out)

    return run


def build_contenders(worker_counts: list[int], warm_urls: dict[int, str], chunk_size: int | None,
                     original_script: str = DEFAULT_ORIGINAL, code_dir: str | None = None) -> list[Contender]:
    """The round-robin line-up, in order."""
    line_up = [Contender("floor", "floor", 1, decode_floor)]
    line_up += [Contender(f"original-p{n}", "original", n, original_run(n, original_script))
                for n in worker_counts]
    for kind, extra in (("warm", lambda n: ["--broker", warm_urls[n]]),
                        ("embedded", lambda n: ["--workers", str(n)])):
        line_up += [Contender(f"hashfleet-{kind}-{n}", kind, n,
                              hashfleet_run(f"hashfleet-{kind}-{n}", extra(n), chunk_size, code_dir))
                    for n in worker_counts]
    for n in worker_counts:
        name = f"hashfleet-warm-{n}{DHASH_SUFFIX}"
        extra = ["--broker", warm_urls[n], "--algo", "dhash"]
        line_up.append(Contender(name, "warm", n, hashfleet_run(name, extra, chunk_size, code_dir)))
    line_up.append(Contender("imagehash", "imagehash", 1, imagehash_pil))
    return line_up

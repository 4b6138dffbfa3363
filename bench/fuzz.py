"""Fuzzed inputs through the real pipeline: N damaged files (tests/support/fuzzgen.py) hashed by `hashfleet run` against
warm prefork workers on a private redis-server, once with the default algorithms and once with dhash-classic.

Sources: --pictures photos and cut-outs of the corpus (~/corpus, `bash ../shared/data/build_corpus.sh ~/corpus`),
drawn with the seed, re-encoded by OpenCV in every recipe of tests/support/fuzzgen.RECIPES (every format hashfleet
decodes), plus --natives corpus files as their own encoders wrote them. Each run must give exactly one record
per file, exit 0, no `internal` record, and no pool process over the memory bound of tests/support/fuzzcheck.py.

    python -m bench.fuzz --files 10000 [--seed 1] [--concurrency 2] [--max-pixels N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import cv2

from bench.services import clean_env, private_redis
from producer.outputs.reader import output_rows
from support import fuzzgen
from support.fuzzcheck import PeakRss, log_events, memory_bound_mib, tally
from support.warm_worker import warm_worker
from tasks.settings import DEFAULT_MAX_PIXELS, Settings

#: The two algorithm settings every fuzz run covers: the default list and the bit-exact classic dhash.
ALGO_SETTINGS = ("dhash,phash,phash-centre", "dhash-classic")
#: Corpus files larger than this are not taken as native sources (their decodes dominate the run).
NATIVE_MAX_PIXELS = 4_000_000
#: Seconds one `hashfleet run` may take.
RUN_TIMEOUT = 3600
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", default=os.path.expanduser("~/corpus"))
    parser.add_argument("--pictures", type=int, default=40, help="corpus pictures re-encoded in every recipe")
    parser.add_argument("--natives", type=int, default=200, help="corpus files taken as they are")
    parser.add_argument("--max-side", type=int, default=768, help="re-encoded pictures are scaled to this")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="HASHFLEET_MAX_PIXELS")
    parser.add_argument("--keep", default=None, help="write the files and outputs here and keep them")
    return parser.parse_args(argv)


def corpus_sources(corpus: str, pictures: int, natives: int, max_side: int, seed: int) -> list[fuzzgen.Source]:
    """Re-encoded pictures and native files drawn from the corpus MANIFEST.csv with `seed`."""
    with open(os.path.join(corpus, "MANIFEST.csv"), newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: r["path"])
    rng = random.Random(seed)
    drawn = rng.sample(rows, min(pictures, len(rows)))
    images = {r["path"].replace("/", "_"): cv2.imread(os.path.join(corpus, r["path"]), cv2.IMREAD_COLOR)
              for r in drawn}
    small = [r for r in rows if int(r["width"]) * int(r["height"]) <= NATIVE_MAX_PIXELS]
    native = rng.sample(small, min(natives, len(small)))
    return (fuzzgen.encode_sources({k: v for k, v in images.items() if v is not None}, max_side)
            + fuzzgen.file_sources(os.path.join(corpus, r["path"]) for r in native))


def run_once(files, folder: str, algo: str, args, workdir: str) -> dict:
    """One `hashfleet run` over `folder` with fresh warm workers; the figures and the checks."""
    settings = Settings(max_pixels=args.max_pixels)
    env = {"HASHFLEET_MAX_PIXELS": str(args.max_pixels)}
    out = os.path.join(workdir, "out.jsonl")
    with private_redis(workdir) as (port, _pid):
        url = f"redis://127.0.0.1:{port}/0"
        with warm_worker(url, args.concurrency, workdir, cwd=REPO, loglevel="INFO", env=env) as worker:
            argv = [sys.executable, "-m", "producer", "run", folder, "-o", out, "--broker", url, "--algo", algo]
            with PeakRss(worker.proc.pid) as peaks:
                started = time.perf_counter()
                proc = subprocess.run(argv, env=clean_env(), cwd=REPO, capture_output=True, text=True,
                                      timeout=RUN_TIMEOUT)
                elapsed = time.perf_counter() - started
        events = log_events(worker.log_path)
    counted = tally(output_rows(out), files) if proc.returncode == 0 else None
    bound = memory_bound_mib(settings.worker_memory_limit, args.max_pixels, max(os.path.getsize(f.path)
                                                                                for f in files))
    return {"algo": algo, "exit": proc.returncode, "stderr": proc.stderr[-2000:], "seconds": elapsed,
            "tally": counted, "events": events, "peaks": sorted(peaks.peaks.values()), "bound": bound,
            "limit": settings.worker_memory_limit, "replaced": peaks.replaced(args.concurrency)}


def verdict(result: dict, count: int) -> list[str]:
    """What went wrong in one run (empty: all checks passed)."""
    problems = []
    if result["exit"] != 0:
        problems.append(f"exit {result['exit']}: {result['stderr']}")
        return problems
    counted = result["tally"]
    if counted.missing or counted.unexpected or counted.duplicates or sum(counted.reasons.values()) != count:
        problems.append(f"records: {len(counted.missing)} missing, {len(counted.unexpected)} unexpected, "
                        f"{len(counted.duplicates)} duplicated")
    if counted.reasons.get("internal") or result["events"].get("internal"):
        problems.append(f"{counted.reasons.get('internal', 0)} internal records")
    if result["events"].get("hung"):
        problems.append(f"{result['events']['hung']} files hung a pool process")
    if max(result["peaks"], default=0) / 1024 > result["bound"]:
        problems.append(f"peak RSS {max(result['peaks']) / 1024:.0f} MiB over the bound {result['bound']:.0f} MiB")
    return problems


def report(result: dict, count: int) -> str:
    counted = result["tally"]
    peaks = [p / 1024 for p in result["peaks"]]
    lines = [f"### --algo {result['algo']}", "",
             f"exit {result['exit']}, {result['seconds']:.1f} s ({count / result['seconds']:.0f} files/s); "
             f"pool processes replaced {result['replaced']}, peak RSS max {max(peaks, default=0):.0f} MiB, median "
             f"{statistics.median(peaks) if peaks else 0:.0f} MiB; worker_max_memory_per_child "
             f"{result['limit']} MiB, bound {result['bound']:.0f} MiB; worker log: "
             f"{dict(result['events']) or 'no hangs, lost workers or internal errors'}", ""]
    if counted is None:
        return "\n".join(lines + [result["stderr"]])
    reasons = sorted(counted.reasons, key=lambda r: (r != "hashed", r))
    lines += ["| source format | files | " + " | ".join(reasons) + " |",
              "| --- | ---: | " + " | ".join("---:" for _ in reasons) + " |"]
    for fmt, counts in sorted(counted.by_format.items()):
        lines.append(f"| {fmt} | {sum(counts.values())} | " + " | ".join(str(counts[r]) for r in reasons) + " |")
    lines.append(f"| **all** | {sum(counted.reasons.values())} | "
                 + " | ".join(str(counted.reasons[r]) for r in reasons) + " |")
    problems = verdict(result, count)
    return "\n".join(lines + ["", "checks: " + ("; ".join(problems) if problems else "all passed"), ""])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.keep or tempfile.mkdtemp(prefix="hashfleet-fuzz-")
    try:
        started = time.perf_counter()
        sources = corpus_sources(args.corpus, args.pictures, args.natives, args.max_side, args.seed)
        folder = os.path.join(workdir, "files")
        shutil.rmtree(folder, ignore_errors=True)
        files = fuzzgen.write_corpus(sources, folder, args.files, args.seed)
        print(f"## Fuzzed inputs: {len(files)} files from {len(sources)} sources (seed {args.seed}, "
              f"HASHFLEET_MAX_PIXELS {args.max_pixels}, concurrency {args.concurrency}; made in "
              f"{time.perf_counter() - started:.0f} s)\n", flush=True)
        failed = False
        for index, algo in enumerate(ALGO_SETTINGS):
            run_dir = os.path.join(workdir, f"run{index}")
            os.makedirs(run_dir, exist_ok=True)
            result = run_once(files, folder, algo, args, run_dir)
            print(report(result, len(files)), flush=True)
            failed |= bool(verdict(result, len(files)))
        return 1 if failed else 0
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

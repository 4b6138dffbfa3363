"""Side-by-side benchmark: decode floor, the original script, hashfleet (warm worker and embedded; the default
algorithms, and `--algo dhash` on the warm workers) and imagehash on the camera / large / small sets,
alternating round-robin, medians reported; the issue's ratios for both algorithm settings side by side.

    python -m bench.run [--sets camera,large,small] [--repeats 3] [--workers 1,2] [--quick]
                        [--chunk-size N] [--only floor,hashfleet-warm-1,...] [--no-quality]
                        [--code HEAD|<git ref>|worktree]

The code under test is a snapshot (bench/snapshot.py; default: git HEAD) so edits made during the run do
not mix versions. One private redis-server (free port, no persistence) serves the warm workers, one Redis
DB per worker (`python -m worker.local --concurrency N`: the worker of `celery -A tasks worker -c N`, started
once, pinged until ready, warmed with a one-file job). Within a set, every repeat runs each contender once;
the starting contender rotates between repeats. All files are read once before timing so every contender
sees a warm page cache. Before each run the benchmark waits for other processes to leave the CPU alone, and
redoes a run they disturbed (bench/hygiene.py); wall time is the headline, the CPU seconds of our own process
tree are reported too. Results: a markdown report on stdout and in bench/out/ (results-<time>.md/.json,
latest.md); outputs and logs of the last run in bench/out/work/.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from bench import quality as hq
from bench.contenders import DEFAULT_ORIGINAL, DHASH_SUFFIX, build_contenders, hashfleet_executable
from bench.hygiene import CONTENDED_SHARE, QUIET_MAX_WAIT, CpuMeter, exclusive
from bench.report import set_markdown, summarize, targets_markdown
from bench.services import clean_env, private_redis, run_timed
from bench.sets import SET_NAMES, describe, ensure_set
from bench.snapshot import REPO, add_common_options, use_snapshot
from support.warm_worker import warm_worker

DEFAULT_REPEATS = 3
QUICK_REPEATS = 1
DEFAULT_WORKERS = "1,2"
#: Read buffer for the page-cache warm-up pass.
READ_BLOCK = 1 << 20
#: A run during which other processes used more than CONTENDED_SHARE of the machine is redone, at most
#: this many times in all; the last attempt is kept either way (and reported with its share).
MAX_ATTEMPTS = 3
#: Waits for a quiet machine longer than this (s) are logged.
QUIET_NOTE = 5.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SET_NAMES), help="comma-separated: camera,large,small")
    parser.add_argument("--repeats", type=int, default=None,
                        help=f"round-robin repeats (default {DEFAULT_REPEATS}, {QUICK_REPEATS} with --quick)")
    parser.add_argument("--workers", default=DEFAULT_WORKERS, help="worker/process counts to compare")
    parser.add_argument("--quick", action="store_true", help="smoke run: small subsets, one repeat")
    parser.add_argument("--chunk-size", type=int, default=None, help="passed to hashfleet (default: its own)")
    parser.add_argument("--only", default=None, help="comma-separated contender names to run")
    parser.add_argument("--no-quality", action="store_true", help="skip the hash-quality check")
    parser.add_argument("--original", default=DEFAULT_ORIGINAL, help="path of the original extract.py")
    parser.add_argument("--quiet-wait", type=float, default=QUIET_MAX_WAIT,
                        help=f"most seconds to wait for a quiet machine before each run (default {QUIET_MAX_WAIT:.0f})")
    parser.add_argument("--attempts", type=int, default=MAX_ATTEMPTS,
                        help=f"runs of a contender while other processes disturb it (default {MAX_ATTEMPTS}; 1 on a "
                             "machine that is never quiet: its load then hits every contender alike)")
    add_common_options(parser)
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (QUICK_REPEATS if args.quick else DEFAULT_REPEATS)
    args.workers = [int(n) for n in args.workers.split(",")]
    return args


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except (ImportError, AttributeError):
        return "not installed"


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        models = (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
        model = next(models, model)
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
    return {
        "nproc": str(len(os.sched_getaffinity(0))), "cpu": model, "kernel": platform.release(),
        "python": platform.python_version(), "opencv": _version("cv2"), "celery": _version("celery"),
        "pillow": _version("PIL"), "imagehash": _version("imagehash"), "numpy": _version("numpy"),
        "redis-server": redis_version.stdout.strip(),
        "load average at start (1, 5, 15 min)": ", ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


def warm_page_cache(files: list[str]) -> None:
    for path in files:
        with open(path, "rb") as handle:
            while handle.read(READ_BLOCK):
                pass


def warm_up(url: str, sample: str, workdir: str, code_dir: str) -> None:
    """One untimed single-file job, so the timed runs meet a worker that has already served a task."""
    out = os.path.join(workdir, "warm-up.csv")
    run_timed([hashfleet_executable(), "run", sample, "--broker", url, "-o", out],
              os.path.join(workdir, "warm-up.log"), clean_env(), timeout=120, cwd=code_dir)


def timed(contender, fileset, workdir: str, meter: CpuMeter, attempts: int = MAX_ATTEMPTS):
    """Run once; redo (up to `attempts` in all) while other processes took > CONTENDED_SHARE of the CPU."""
    for attempt in range(1, attempts + 1):
        waited = meter.wait_quiet()
        if waited > QUIET_NOTE:
            print(f"    waited {waited:.0f} s for other processes to quiet down", file=sys.stderr, flush=True)
        meter.start()
        outcome = contender.run(fileset, workdir)
        (outcome.foreign, outcome.cpu), outcome.attempts = meter.stop(), attempt
        if outcome.foreign <= CONTENDED_SHARE:
            break
        print(f"    {contender.name}: other processes used {outcome.foreign:.0%} of the CPU "
              f"(attempt {attempt}/{attempts})", file=sys.stderr, flush=True)
    return outcome


def bench_set(fileset, contenders, repeats: int, workdir: str, meter: CpuMeter,
              attempts: int = MAX_ATTEMPTS) -> dict[str, list]:
    """Round-robin: every repeat runs each contender once, starting one further along each time."""
    warm_page_cache(fileset.files)
    outcomes: dict[str, list] = {c.name: [] for c in contenders}
    for repeat in range(repeats):
        shift = repeat % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            outcome = timed(contender, fileset, workdir, meter, attempts)
            outcomes[contender.name].append(outcome)
            print(f"[{fileset.name} {repeat + 1}/{repeats}] {contender.name}: {outcome.seconds:.2f} s, "
                  f"{outcome.cpu:.2f} CPU-s, {outcome.hashed}/{outcome.given} files, "
                  f"other CPU {outcome.foreign:.1%}",
                  file=sys.stderr, flush=True)
    return outcomes


def check_quality(fileset, outcomes: dict[str, list]) -> dict[str, hq.Quality]:
    outputs = {name: runs[-1].output for name, runs in outcomes.items()
               if name.startswith("hashfleet-") and runs and runs[-1].output}
    if not outputs:
        return {}
    reference = hq.reference_hashes(fileset, len(os.sched_getaffinity(0)))
    return {name: hq.compare(reference, path) for name, path in outputs.items()}


def header_markdown(args: argparse.Namespace, info: dict[str, str], started: str, code: str) -> str:
    command = "python -m bench.run " + " ".join(sys.argv[1:]) if sys.argv[1:] else "python -m bench.run"
    lines = [f"## hashfleet benchmark, {started}", "", f"Command (from {REPO}): `{command}`", "",
             f"Code under test: {code}.", "",
             "| machine | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in info.items()]
    lines += ["", f"Repeats: {args.repeats}; workers compared: {args.workers}; chunk size: "
              f"{args.chunk_size or 'hashfleet default'}; quick: {args.quick}.", ""]
    return "\n".join(lines)


def _exit_on_signal(signum, _frame) -> None:
    raise SystemExit(128 + signum)  # unwinds the context managers: workers and redis are stopped


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)  # also when started in the background (SIGINT ignored)
    args = parse_args(argv)
    with exclusive(args.out_dir):
        run(args)


def run(args: argparse.Namespace) -> None:
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    names = args.sets.split(",")
    filesets = {name: ensure_set(name, args.cache_dir, args.corpus, args.quick) for name in names}
    descs = {name: describe(fs) for name, fs in filesets.items()}
    workdir = os.path.join(args.out_dir, "work")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    code_dir = os.path.join(workdir, "code")
    code = use_snapshot(code_dir, args.code)
    print(f"code under test: {code}", file=sys.stderr, flush=True)
    parts = [header_markdown(args, machine(), started, code)]
    all_rows, all_quality, raw = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="hashfleet-bench-") as tmp, contextlib.ExitStack() as stack:
        port, redis_pid = stack.enter_context(private_redis(tmp))
        wanted = set(args.only.split(",")) if args.only else None
        need_warm = [n for n in args.workers if wanted is None
                     or {f"hashfleet-warm-{n}", f"hashfleet-warm-{n}{DHASH_SUFFIX}"} & wanted]
        urls = {n: f"redis://127.0.0.1:{port}/{n}" for n in args.workers}
        workers = []
        for n in need_warm:
            workers.append(stack.enter_context(warm_worker(urls[n], n, workdir, code_dir)))
            warm_up(urls[n], next(iter(filesets.values())).files[0], workdir, code_dir)
        meter = CpuMeter(lambda: [redis_pid] + [p for w in workers for p in [w.proc.pid, *w.pool_pids()]],
                         args.quiet_wait)
        line_up = build_contenders(args.workers, urls, args.chunk_size, args.original, code_dir)
        contenders = [c for c in line_up if wanted is None or c.name in wanted]
        for name, fileset in filesets.items():
            outcomes = bench_set(fileset, contenders, args.repeats, workdir, meter, args.attempts)
            rows = summarize(outcomes)
            quality = {} if args.no_quality else check_quality(fileset, outcomes)
            all_rows[name], all_quality[name] = rows, quality
            raw[name] = {"description": descs[name], "runs": {
                k: [dataclasses.asdict(o) for o in v] for k, v in outcomes.items()},
                "quality": {k: dataclasses.asdict(q) for k, q in quality.items()}}
            part = set_markdown(name, descs[name], rows, quality, args.repeats)
            print(part, flush=True)
            parts.append(part)
    parts += ["### Issue targets", "", targets_markdown(all_rows, all_quality)]
    print(parts[-1])
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report = "\n".join(parts)
    for path in (os.path.join(args.out_dir, f"results-{stamp}.md"), os.path.join(args.out_dir, "latest.md")):
        with open(path, "w") as handle:
            handle.write(report)
    with open(os.path.join(args.out_dir, f"results-{stamp}.json"), "w") as handle:
        json.dump({"args": vars(args), "raw": raw}, handle, indent=1)
    print(f"wrote {args.out_dir}/results-{stamp}.md (and latest.md, .json)", file=sys.stderr)


if __name__ == "__main__":
    main()

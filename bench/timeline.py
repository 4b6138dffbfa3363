"""Where a warm-worker run's wall time goes: producer start-up, hashing, the end. For N = 1, 2 workers.

A warm worker of N processes (worker/local.py) logs every finished task ("succeeded in X s"); with the wall clock
of `hashfleet run SET --broker ...` around it, each run splits into: time to the first chunk starting
(interpreter, imports, walk, publish), the pool processes' busy time, idle gaps, and the tail (last task
end to the producer's exit: merge result, output files). The producer's own CPU time is read from
getrusage. "Worker scaling" compares the hashing span alone (first chunk start to last task end) of N
workers with one: the scaling the fixed start-up and tail leave out.

    python -m bench.timeline [--set camera] [--workers 1,2] [--repeats 5] [--code HEAD|<ref>|worktree]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import re
import resource
import statistics
import subprocess
import sys
import time

from bench.contenders import hashfleet_executable
from bench.hygiene import exclusive
from bench.services import clean_env, private_redis
from bench.sets import ensure_set
from bench.snapshot import add_common_options, use_snapshot
from support.warm_worker import warm_worker

#: A finished task in a worker's INFO log: timestamp, pool process, runtime.
TASK_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): INFO/(\S+?)\] Task \S+ succeeded in ([\d.e-]+)s")
RUN_TIMEOUT = 600


def task_spans(log_lines: list[str]) -> dict[str, list[tuple[float, float]]]:
    """Pool process -> [(start, end)] epoch seconds of the tasks it finished (worker clock = local time)."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for line in log_lines:
        match = TASK_LINE.match(line)
        if match:
            end = datetime.datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            spans.setdefault(match[2], []).append((end - float(match[3]), end))
    return spans


def one_run(argv: list[str], log_path: str, code_dir: str) -> dict[str, float]:
    from tasks.pool import die_with_parent  # the snapshot's (bench/snapshot.py)

    offset = os.path.getsize(log_path)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env=clean_env(), cwd=code_dir, timeout=RUN_TIMEOUT, preexec_fn=die_with_parent)
    ended = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(0.2)  # the log line of the last task (the merge) is written as it returns
    with open(log_path, "rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode(errors="replace").splitlines()
    spans = task_spans(lines)
    every = [s for process in spans.values() for s in process]
    first, last = min(s for s, _ in every), max(e for _, e in every)
    busy = sum(e - s for s, e in every)
    return {"total": ended - started, "to_first_chunk": first - started, "span": last - first,
            "busy": busy, "idle_in_span": (last - first) * len(spans) - busy, "tail": ended - last,
            "producer_cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "processes": len(spans)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="camera")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeats", type=int, default=5)
    add_common_options(parser)
    args = parser.parse_args(argv)
    with exclusive(args.out_dir):
        print(timeline(args))


def timeline(args: argparse.Namespace) -> str:
    fileset = ensure_set(args.set, args.cache_dir, args.corpus)
    workdir = os.path.join(args.out_dir, "timeline-work")
    os.makedirs(workdir, exist_ok=True)
    code_dir = os.path.join(workdir, "code")
    code = use_snapshot(code_dir, args.code)
    counts = [int(n) for n in args.workers.split(",")]
    results: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    with private_redis(workdir) as (port, _pid), contextlib.ExitStack() as stack:
        runs = {}
        for n in counts:  # every worker count warm at once, runs alternating (like bench/run.py)
            url = f"redis://127.0.0.1:{port}/{n}"
            worker = stack.enter_context(warm_worker(url, n, workdir, cwd=code_dir, loglevel="INFO"))
            runs[n] = ([hashfleet_executable(), "run", fileset.root, "-o", os.path.join(workdir, "out.csv"),
                        "--broker", url], worker.log_path)
        for n in counts:  # warm-up: page cache, the workers' first imports
            one_run(*runs[n], code_dir)
        for _ in range(args.repeats):
            for n in counts:
                results[n].append(one_run(*runs[n], code_dir))
    return report(args, code, len(fileset.files), results)


def report(args, code: str, files: int, results: dict[int, list[dict[str, float]]]) -> str:
    keys = ("total", "to_first_chunk", "busy", "idle_in_span", "tail", "producer_cpu")
    rows = [f"## Timeline: {args.set} set, {files} files, {args.repeats} runs per worker count (medians)\n",
            f"Code: {code}. Command: `python -m bench.timeline --set {args.set} --workers {args.workers} "
            f"--repeats {args.repeats}`\n",
            "| workers | " + " | ".join(f"{k} s" for k in keys) + " | files/s of the hashing span |",
            "|---:|" + "---:|" * (len(keys) + 1)]
    rate = {}
    for n, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in keys + ("span",)}
        rate[n] = files / med["span"]
        rows.append(f"| {n} | " + " | ".join(f"{med[k]:.3f}" for k in keys) + f" | {rate[n]:.1f} |")
    if 1 in results:
        for n in results:
            if n != 1:
                end_to_end = statistics.median(r["total"] for r in results[1]) / \
                    statistics.median(r["total"] for r in results[n])
                rows.append(f"\n{n} workers / 1: end to end {end_to_end:.2f}x, hashing span alone "
                            f"{rate[n] / rate[1]:.2f}x")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.exit(main())

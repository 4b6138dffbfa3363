"""A long job under faults: N small generated images hashed by real prefork workers through a private Redis
with AOF (appendfsync everysec), while a pool process is SIGKILLed every few seconds and Redis crashes and
restarts once; beside it the same job without faults, runs alternating. Every run's output must hold every
file exactly once, without errors, and a faulty run's hashes and groups must equal the clean run's.

    python -m bench.soak [--files 200000] [--repeats 1] [--kill-every 3] [--restart-at 0.4]
                         [--redis-down 2] [--redis-stop kill|term] [--visibility-timeout 20]

Each run gets a fresh redis-server and worker (started before the clock starts); the time is that of
`hashfleet run DIR --broker URL` from start to exit (walk, publish, hashing, merge, output).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter

from bench.soak_faults import FaultLog, FaultPlan, Faults, WorkerStats, producer_progress, wait_injecting, worker_stats
from bench.soak_images import DEFAULT_CACHE, cached_images
from support.warm_worker import warm_worker
from worker.redis_server import RedisServer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Seconds between the producer's progress lines (the restart waits for a share of the files done).
PROGRESS_INTERVAL = 0.2
#: Seconds the producer keeps retrying while Redis is down.
RECONNECT_TIMEOUT = 60


@dataclasses.dataclass
class Run:
    """One job: its time, what it wrote, and what went on."""

    faulty: bool
    seconds: float
    rows: list[dict]
    groups: dict[str, list[str]]
    stats: WorkerStats
    faults: FaultLog | None
    #: Times the worker's main process exited and was started again (as its supervisor would).
    worker_restarts: int = 0


def job_settings(visibility_timeout: int, jobs_dir: str) -> dict[str, str]:
    return {"HASHFLEET_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "HASHFLEET_PROGRESS_INTERVAL": str(PROGRESS_INTERVAL),
            "HASHFLEET_RECONNECT_TIMEOUT": str(RECONNECT_TIMEOUT), "HASHFLEET_CONNECT_TIMEOUT": "3",
            "HASHFLEET_JOBS_DIR": jobs_dir}


def run_job(folder: str, workdir: str, plan: FaultPlan | None, *, workers: int = 2, chunk_size: int = 256,
            visibility_timeout: int = 20, timeout: float = 3600) -> Run:
    """Hash `folder` once with `hashfleet run --broker` against a fresh Redis (AOF everysec) and `workers`
    warm pool processes, injecting `plan` (None: no faults). Raises if the producer fails."""
    os.makedirs(os.path.join(workdir, "redis"))
    settings = job_settings(visibility_timeout, os.path.join(workdir, "jobs"))
    out, groups_out, stderr = (os.path.join(workdir, name) for name in ("out.csv", "groups.json", "producer.err"))
    redis = RedisServer(os.path.join(workdir, "redis"), persistent=True, appendfsync="everysec")
    try:
        with warm_worker(redis.url, workers, workdir, cwd=REPO, loglevel="INFO", env=settings) as worker:
            argv = [sys.executable, "-m", "producer", "run", folder, "-o", out, "--groups", groups_out,
                    "--broker", redis.url, "--chunk-size", str(chunk_size), "--timeout", str(timeout)]
            env = {k: v for k, v in os.environ.items() if not k.startswith("HASHFLEET_")} | settings
            with open(stderr, "wb") as err:
                started = time.perf_counter()
                producer = subprocess.Popen(argv, env=env, cwd=REPO, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=err)
                try:
                    faults = Faults(plan, worker.pool_pids, redis, lambda: producer_progress(stderr)) if plan else None
                    code = wait_injecting(producer, faults, timeout + 60, supervise=worker.revive)
                    seconds = time.perf_counter() - started
                finally:
                    if producer.poll() is None:
                        producer.kill()
                        producer.wait()
            if code != 0:
                with open(stderr, errors="replace") as handle:
                    raise RuntimeError(f"hashfleet run exited {code}: {handle.read()[-3000:]}")
            log_path, restarts = worker.log_path, worker.restarts
        with open(out, newline="") as handle:
            rows = list(csv.DictReader(handle))
        with open(groups_out) as handle:
            groups = json.load(handle)
        return Run(plan is not None, seconds, rows, groups, worker_stats(log_path), faults.log if plan else None,
                   restarts)
    finally:
        redis.kill()


def hashes_of(row: dict) -> str:
    """Every hash column of an output row, concatenated (hex): what tasks.batch.hash_one packs."""
    return row["hash"] + row.get("phash", "") + row.get("phash_centre", "")


def output_problems(rows: list[dict], files: list[str]) -> list[str]:
    """What is wrong with an output that must hold every one of `files` exactly once, hashed: missing,
    doubled, unexpected and error records (empty when there is nothing wrong)."""
    counts = Counter(row["path"] for row in rows)
    missing = sorted(set(files) - set(counts))
    doubled = sorted(p for p, n in counts.items() if n > 1)
    extra = sorted(set(counts) - set(files))
    errors = [(row["path"], row["error"]) for row in rows if row["error"]]
    return [f"{len(found)} {what}: {found[:5]}" for what, found in
            (("missing", missing), ("doubled", doubled), ("unexpected", extra), ("error records", errors)) if found]


def differences(run: Run, reference: Run) -> list[str]:
    """Where a run's hashes or groups differ from a reference run's over the same files."""
    expected = {row["path"]: hashes_of(row) for row in reference.rows}
    wrong = [row["path"] for row in run.rows if expected.get(row["path"]) != hashes_of(row)]
    found = [f"{len(wrong)} records hashed unlike the clean run: {wrong[:5]}"] if wrong else []
    if run.groups != reference.groups:
        found.append(f"groups differ: {len(run.groups)} vs {len(reference.groups)} in the clean run")
    return found


def describe(run: Run) -> str:
    s = run.stats
    text = (f"{'faulty' if run.faulty else 'clean '} {run.seconds:7.1f} s  {len(run.rows)} records, "
            f"{len(run.groups)} groups; chunks {s.chunks}, runs {s.runs} (redeliveries {s.redeliveries}, "
            f"retried after a lost process {s.retried_after_loss}), processes lost {s.processes_lost}, "
            f"failed tasks {s.failed}, merges {s.merges}, worker restarts {run.worker_restarts}")
    if run.faults:
        f = run.faults
        text += (f"; kills {len(f.kills)}, Redis down {f.redis_downtime:.1f} s at "
                 f"{f.done_at_stop} files done")
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1, help="seed of the images and of the kills")
    parser.add_argument("--repeats", type=int, default=1, help="pairs of runs (clean, then faulty)")
    parser.add_argument("--workers", type=int, default=2, help="pool processes of the one worker")
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between SIGKILLs of a pool process")
    parser.add_argument("--restart-at", type=float, default=0.4, help="share of files done when Redis stops")
    parser.add_argument("--redis-down", type=float, default=2.0, help="seconds Redis stays down")
    parser.add_argument("--redis-stop", choices=("kill", "term"), default="kill")
    parser.add_argument("--visibility-timeout", type=int, default=20)
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    started = time.monotonic()
    folder, files = cached_images(args.files, args.seed, args.cache_dir)
    print(f"{len(files)} files in {folder} (ready in {time.monotonic() - started:.0f} s)", flush=True)
    plan = FaultPlan(args.kill_every, args.restart_at, args.redis_down, args.redis_stop, args.seed)
    runs: list[Run] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hashfleet-soak-") as tmp:
        for repeat in range(args.repeats):
            for faulty in (False, True):
                run = run_job(folder, os.path.join(tmp, f"{repeat}-{'faulty' if faulty else 'clean'}"),
                              plan if faulty else None, workers=args.workers, chunk_size=args.chunk_size,
                              visibility_timeout=args.visibility_timeout)
                found = output_problems(run.rows, files) + (differences(run, runs[0]) if runs else [])
                problems += found
                print(describe(run) + "".join(f"\n  PROBLEM: {p}" for p in found), flush=True)
                runs.append(run)
                run.rows = run.rows if len(runs) == 1 else []  # keep the reference, free the rest
    clean = [r.seconds for r in runs if not r.faulty]
    faulty = [r.seconds for r in runs if r.faulty]
    print(f"median clean {statistics.median(clean):.1f} s, faulty {statistics.median(faulty):.1f} s: "
          f"faults cost {statistics.median(faulty) / statistics.median(clean):.2f}x "
          f"(+{statistics.median(faulty) - statistics.median(clean):.1f} s)")
    print("every run exact and equal to the clean run" if not problems else f"{len(problems)} PROBLEMS")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

"""The soak harness: one job of generated images through `hashfleet run --broker` against a fresh Redis (AOF,
appendfsync everysec) and a warm worker, with faults injected while it runs (support/soak_faults.py); what
its output must hold. Run small by tests/integration/test_soak.py and at length by `python -m bench.soak`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections import Counter

from support.servers import REPO, clean_env
from support.soak_faults import (
    FaultLog,
    FaultPlan,
    Faults,
    WorkerStats,
    producer_progress,
    wait_injecting,
    worker_stats,
)
from support.warm_worker import warm_worker
from worker.redis_server import RedisServer

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
            env = clean_env(**settings)
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
    return row["hash"] + row.get("phash", "") + row.get("phash_centre", "") + row.get("phash_regions", "")


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

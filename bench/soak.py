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
import os
import statistics
import sys
import tempfile
import time

from bench.soak_images import DEFAULT_CACHE, cached_images
from support.soak import Run, hashes_of, output_problems, run_job
from support.soak_faults import FaultPlan


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
            f"failed tasks {s.failed}, worker restarts {run.worker_restarts}")
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

"""What a job costs before its first chunk, and what embedded mode adds: two codes side by side, in CPU seconds.

For a base ref and the code under test, alternating, REPEATS times each (medians):
* the CLI's import and the worker app's import, in a fresh interpreter (getrusage of the child);
* a worker of one process (embedded mode's command) from its start to its "ready" log line (/proc/PID/stat);
* `hashfleet run SET --broker ...` against a warm worker: the producer's CPU when it publishes its first
  chunk (time.process_time() in the producer) and in all;
* a small job (the first SMALL_FILES files of SET) against the warm worker (wall), and embedded (wall, and
  the CPU of producer, Redis and worker): the difference is what embedded mode adds to any job.
CPU seconds hold up on a machine other jobs share; the wall times are there to be read beside them.

    python -m bench.startup [--base 705c1be] [--set camera] [--repeats 7] [--code HEAD|<ref>|worktree]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

from bench.hygiene import exclusive
from bench.services import clean_env, private_redis
from bench.sets import ensure_set
from bench.snapshot import add_common_options, make_snapshot, use_snapshot
from support.warm_worker import warm_worker

#: Files of the set in the small embedded job (its fixed cost is what is measured).
SMALL_FILES = 24
#: Seconds a worker gets to log "ready".
READY_TIMEOUT = 60.0
#: Runs the producer with a hook that prints its CPU seconds when it publishes its first chunk.
FIRST_PUBLISH = """
import sys, time
import producer.pipeline as pipeline
send, seen = pipeline.send_chunks, []
def first(*args, **kwargs):
    if not seen:
        seen.append(print(f"FIRST-PUBLISH-CPU {time.process_time():.4f}", file=sys.stderr))
    return send(*args, **kwargs)
pipeline.send_chunks = first
from producer.cli.main import main
sys.argv = ["hashfleet", *sys.argv[1:]]
main()
"""


def child_cpu(argv: list[str], cwd: str) -> tuple[float, float, str]:
    """CPU seconds of `argv` run on the code in `cwd` (and of the children it waited for), its wall seconds
    and stderr."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=clean_env(PYTHONPATH=cwd), capture_output=True, text=True,
                          check=True, timeout=600)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall, done.stderr


def tree_cpu(pid: int) -> float:
    """CPU seconds of process `pid` and its direct children, from /proc."""
    pids = [pid]
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        pids += [int(p) for p in handle.read().split()]
    total = 0
    for p in pids:
        with open(f"/proc/{p}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def worker_start(code_dir: str, url: str, workdir: str) -> float:
    """CPU seconds of a one-process worker (the command embedded mode runs) until it logs "ready"."""
    probe = ("import json; from tasks.settings import Settings; from worker.embedded import worker_argv; "
             f"print(json.dumps(worker_argv(Settings.from_env({{}}, broker_url={url!r}), 1, 'startup@%h', 'INFO')))")
    argv = json.loads(subprocess.run([sys.executable, "-c", probe], cwd=code_dir, env=clean_env(PYTHONPATH=code_dir),
                                     capture_output=True, text=True, check=True).stdout)
    log = os.path.join(workdir, "startup-worker.log")
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=code_dir, env=clean_env(PYTHONPATH=code_dir, HASHFLEET_BROKER_URL=url),
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while b"ready." not in open(log, "rb").read():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start: see {log}")
            time.sleep(0.005)
        return tree_cpu(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def measure(code_dir: str, url: str, idle_url: str, fileset, small: str, workdir: str) -> dict[str, float]:
    """One round of every measure on the code in `code_dir`: `url` has a warm worker, `idle_url` none."""
    python, out = sys.executable, os.path.join(workdir, "startup.csv")
    row = {"import producer.cli.main (CPU s)": child_cpu([python, "-c", "import producer.cli.main"], code_dir)[0],
           "import tasks; tasks.celery (CPU s)": child_cpu([python, "-c", "import tasks; tasks.celery"], code_dir)[0],
           "worker -c 1, start to ready (CPU s)": worker_start(code_dir, idle_url, workdir)}
    cpu, _, err = child_cpu([python, "-c", FIRST_PUBLISH, "run", fileset.root, "--broker", url, "-o", out], code_dir)
    row["warm job: producer CPU at its first publish (s)"] = float(re.search(r"FIRST-PUBLISH-CPU (\S+)", err)[1])
    row["warm job: producer CPU in all (s)"] = cpu
    row[f"warm {SMALL_FILES}-file job: wall (s)"] = child_cpu(
        [python, "-m", "producer", "run", small, "--broker", url, "-o", out], code_dir)[1]
    cpu, wall, _ = child_cpu([python, "-m", "producer", "run", small, "-o", out, "--workers", "1"], code_dir)
    row[f"embedded {SMALL_FILES}-file job: wall (s)"] = wall
    row[f"embedded {SMALL_FILES}-file job: CPU of producer, Redis, worker (s)"] = cpu
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="705c1be", help="git ref compared with --code")
    parser.add_argument("--set", default="camera")
    parser.add_argument("--repeats", type=int, default=7)
    add_common_options(parser)
    args = parser.parse_args(argv)
    with exclusive(args.out_dir):
        print(startup(args))


def startup(args: argparse.Namespace) -> str:
    fileset = ensure_set(args.set, args.cache_dir, args.corpus)
    workdir = os.path.join(args.out_dir, "startup-work")
    os.makedirs(workdir, exist_ok=True)
    codes = {"base": os.path.join(workdir, "base"), "code": os.path.join(workdir, "code")}
    described = {"base": make_snapshot(codes["base"], args.base), "code": use_snapshot(codes["code"], args.code)}
    small = os.path.join(workdir, "small-set")
    shutil.rmtree(small, ignore_errors=True)
    os.makedirs(small)
    for i, path in enumerate(fileset.files[:SMALL_FILES]):
        shutil.copy(path, os.path.join(small, f"{i:03d}{os.path.splitext(path)[1]}"))
    rows: dict[str, dict[str, list[float]]] = {"base": {}, "code": {}}
    load = os.getloadavg()
    with private_redis(workdir) as (port, _pid):
        url, idle_url = f"redis://127.0.0.1:{port}/1", f"redis://127.0.0.1:{port}/2"
        with warm_worker(url, 1, workdir, cwd=codes["code"]):
            for _ in range(args.repeats):
                for name, code_dir in codes.items():
                    for key, value in measure(code_dir, url, idle_url, fileset, small, workdir).items():
                        rows[name].setdefault(key, []).append(value)
    lines = [f"Base: {described['base']}", f"Code: {described['code']}",
             f"Command: `python -m bench.startup --base {args.base} --set {args.set} --repeats {args.repeats}`; "
             f"load average at start {load[0]:.2f}, at end {os.getloadavg()[0]:.2f}\n",
             f"| measure (median of {args.repeats}, alternating) | base | code | change |", "|---|---:|---:|---:|"]
    for key, values in rows["base"].items():
        base, code = statistics.median(values), statistics.median(rows["code"][key])
        lines.append(f"| {key} | {base:.3f} | {code:.3f} | {code - base:+.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

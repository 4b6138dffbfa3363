"""py-spy view of a warm worker: sample `celery -A tasks worker -c 1` (all its processes) while
`hashfleet run SET --broker ...` hashes a set, then the producer CLI on its own; summarise the raw samples
as CPU seconds per process, inclusive time of the pipeline's functions, and the hottest leaf frames.
Used by bench/profiling.py (needs `py-spy` on PATH: `pip install py-spy`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections import Counter

from bench.contenders import hashfleet_executable
from bench.services import clean_env, private_redis, warm_worker

#: Rows of the leaf-frame table.
TOP = 15
#: py-spy sampling rate (Hz).
PYSPY_RATE = 200
#: Seconds py-spy gets to write its file after SIGINT.
PYSPY_GRACE = 30
#: Seconds to let py-spy attach before the sampled run starts.
ATTACH_DELAY = 1.0


#: Functions whose inclusive share is reported (those absent from a profile are skipped).
KEY_FUNCTIONS = (
    "trace_task", "hash_chunk", "hash_files", "hash_one", "read_image_bytes", "robust_bits",
    "decode_robust_reduced", "decode_robust", "_imdecode", "_to_unit_float", "dhash_bits_reduced",
    "area_weights", "dhash_bits", "pack_bits", "merge", "on_chord_part_return", "main", "run", "build_job",
    "enqueue", "wait", "_write_outputs", "_find_and_load",
)


def _pyspy_table(raw_path: str) -> str:
    """From a raw py-spy file: samples per process, inclusive share of KEY_FUNCTIONS and top leaf frames."""
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    processes: Counter[str] = Counter()
    total = 0
    with open(raw_path) as handle:
        for line in handle:
            stack, _, count = line.rstrip().rpartition(" ")
            if not count.isdigit():
                continue
            frames, samples = stack.split(";"), int(count)
            total += samples
            leaves[frames[-1]] += samples
            if frames[0].startswith("process "):
                processes[frames[0].split(":")[0]] += samples
            for name in {f.split(" (")[0] for f in frames}:
                inclusive[name] += samples
    if not total:
        return "no samples\n"
    lines = [f"{total} active samples at {PYSPY_RATE} Hz = {total / PYSPY_RATE:.1f} CPU-s", ""]
    if processes:
        lines += ["| process | CPU-s | share |", "|---|---:|---:|"]
        lines += [f"| {p} | {c / PYSPY_RATE:.1f} | {c / total:.1%} |" for p, c in processes.most_common()]
        lines.append("")
    lines += ["| function (inclusive) | CPU-s | share |", "|---|---:|---:|"]
    lines += [f"| `{name}` | {inclusive[name] / PYSPY_RATE:.1f} | {inclusive[name] / total:.1%} |"
              for name in KEY_FUNCTIONS if inclusive[name]]
    lines += ["", "| leaf frame (self) | share |", "|---|---:|"]
    lines += [f"| `{frame}` | {count / total:.1%} |" for frame, count in leaves.most_common(TOP)]
    return "\n".join(lines) + "\n"


def _start_pyspy(target: list[str], raw_path: str, log, cwd: str | None = None) -> subprocess.Popen:
    argv = ["py-spy", "record", "--format", "raw", "--rate", str(PYSPY_RATE), "--output", raw_path,
            "--nonblocking", *target]
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=clean_env(), cwd=cwd)


def _stop_pyspy(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    proc.wait(timeout=PYSPY_GRACE)


def profile_worker(fileset, workdir: str, code_dir: str) -> str:
    """Sample the warm worker (all its processes) during one `hashfleet run --broker`, then the producer."""
    sections = []
    out = os.path.join(workdir, "profile.csv")
    with open(os.path.join(workdir, "py-spy.log"), "ab") as log, \
            tempfile.TemporaryDirectory(prefix="hashfleet-prof-") as tmp, \
            private_redis(tmp) as (port, _pid), \
            warm_worker(f"redis://127.0.0.1:{port}/1", 1, workdir, code_dir) as worker:
        argv = [hashfleet_executable(), "run", fileset.root, "--broker", worker.url, "-o", out]
        run = {"env": clean_env(), "cwd": code_dir, "stdout": log, "stderr": log, "check": True}
        subprocess.run(argv, **run)  # warm-up, unsampled
        raw_worker = os.path.join(workdir, "py-spy-worker.txt")
        spy = _start_pyspy(["--subprocesses", "--pid", str(worker.proc.pid)], raw_worker, log)
        time.sleep(ATTACH_DELAY)
        started = time.perf_counter()
        subprocess.run(argv, **run)
        elapsed = time.perf_counter() - started
        _stop_pyspy(spy)
        sections.append(f"Worker (main process + pool child), `hashfleet run --broker` took {elapsed:.2f} s "
                        f"for {len(fileset.files)} files:\n\n" + _pyspy_table(raw_worker))
        raw_producer = os.path.join(workdir, "py-spy-producer.txt")
        spy = _start_pyspy(["--", *argv], raw_producer, log, code_dir)
        spy.wait()
        sections.append("Producer CLI (`hashfleet run --broker`, whole process, idle waits excluded):\n\n"
                        + _pyspy_table(raw_producer))
    return "\n".join(sections)

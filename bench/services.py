"""The benchmarks' services on the product's own starters: a private redis-server (worker/redis_server.py)
and warm workers (tests/support/warm_worker.py, on worker/embedded.py), plus timed command runs.

The private server listens on a free loopback port, keeps nothing on disk and lives in the benchmark's
folder. Every process started here runs in its own process group, gets SIGKILL if the benchmark dies
(PR_SET_PDEATHSIG) and is stopped on exit, errors and Ctrl-C included.

The product's packages are imported when a service is started, not with this module: bench/snapshot.py
first puts a snapshot of the code under test on sys.path, and the services are then that code's. So a
`--code` ref must have the worker/ package these call (RedisServer, `worker_argv(..., loglevel)`,
`spawn(..., cwd)`); an older ref is measured with the benchmark of its own checkout.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time


def clean_env(**extra: str) -> dict[str, str]:
    """Our environment without any HASHFLEET_* setting (so a user's shell cannot skew a run), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHFLEET_")}
    env.update(extra)
    return env


def run_timed(argv: list[str], log_path: str, env: dict[str, str], timeout: float, cwd: str | None = None):
    """Run `argv` to completion; return its wall time in seconds. Raises on a non-zero exit."""
    from tasks.pool import die_with_parent

    with open(log_path, "ab") as log:
        log.write(f"\n$ {' '.join(argv)}\n".encode())
        log.flush()
        started = time.perf_counter()
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                              cwd=cwd, timeout=timeout, preexec_fn=die_with_parent, check=False)
        elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with {proc.returncode}; see {log_path}")
    return elapsed


@contextlib.contextmanager
def private_redis(workdir: str):
    """Yield (port, pid) of a fresh redis-server (no password, loopback only, no persistence), killed on exit."""
    from worker.redis_server import RedisServer

    server = RedisServer(workdir)
    try:
        yield server.port, server.proc.pid
    finally:
        server.kill()

"""The soak's faults, injected while a job runs: a random prefork pool process SIGKILLed every few seconds,
and Redis stopped once (SIGKILL: a crash; or SIGTERM: a clean shutdown) when a share of the files is done,
then started again on the same port and data directory. Also what the worker's log says happened."""


from __future__ import annotations

import dataclasses
import os
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Callable

#: Seconds between two ticks (kills land within this of their time).
TICK = 0.05
#: How the producer reports progress on stderr (producer/progress.py).
PROGRESS_LINE = re.compile(rb"^hashed (\d+)/(\d+) images", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class FaultPlan:
    """What to break during one job."""

    #: Seconds between two SIGKILLs of a random pool process (0: none).
    kill_every: float = 3.0
    #: Share of the files done (0-1) at which Redis is stopped; None: Redis is left alone.
    restart_at: float | None = 0.4
    #: Seconds Redis stays down before it is started again.
    redis_down: float = 2.0
    #: "kill" (SIGKILL: a crash; AOF everysec may lose the last second) or "term" (clean shutdown).
    redis_stop: str = "kill"
    #: Seed of the choice of the process to kill.
    seed: int = 0


@dataclasses.dataclass
class FaultLog:
    """What was done: pids killed, and when Redis went down and answered again (monotonic seconds)."""

    kills: list[int] = dataclasses.field(default_factory=list)
    redis_stopped: float | None = None
    redis_back: float | None = None
    done_at_stop: int = 0

    @property
    def redis_downtime(self) -> float:
        if self.redis_stopped is None or self.redis_back is None:
            return 0.0
        return self.redis_back - self.redis_stopped


class Faults:
    """Inject `plan` into a running job, one :meth:`tick` at a time (the caller ticks while it waits for the
    job). `pool_pids()` lists the worker's pool processes, `redis` is a worker.redis_server.RedisServer,
    `progress()` returns (files done, total).

    No thread of its own: Redis is started again by the thread that ticks, which lives as long as it,
    since worker.procs.spawn's PR_SET_PDEATHSIG kills a child when the *thread* that forked it ends."""

    def __init__(self, plan: FaultPlan, pool_pids: Callable[[], list[int]], redis,
                 progress: Callable[[], tuple[int, int]]):
        self.plan, self.pool_pids, self.redis, self.progress = plan, pool_pids, redis, progress
        self.log = FaultLog()
        self._chooser = random.Random(plan.seed)
        self._next_kill = time.monotonic() + plan.kill_every if plan.kill_every > 0 else float("inf")

    def tick(self) -> None:
        """Do whatever is due now: a kill, stopping Redis, or starting it again."""
        now = time.monotonic()
        if now >= self._next_kill:
            self._next_kill += self.plan.kill_every
            self._kill_one()
        if self.plan.restart_at is None or self.log.redis_back is not None:
            return
        if self.log.redis_stopped is None:
            done, total = self.progress()
            if total and done >= self.plan.restart_at * total:
                self.log.done_at_stop = done
                self.log.redis_stopped = time.monotonic()
                self.redis.kill() if self.plan.redis_stop == "kill" else self.redis.stop()
        elif now >= self.log.redis_stopped + self.plan.redis_down:
            self.redis.start()  # returns once it answers PING (its AOF loaded)
            self.log.redis_back = time.monotonic()

    def _kill_one(self) -> None:
        pids = self.pool_pids()
        if pids:
            pid = self._chooser.choice(pids)
            try:
                os.kill(pid, signal.SIGKILL)
                self.log.kills.append(pid)
            except ProcessLookupError:
                pass


def producer_progress(stderr_path: str) -> tuple[int, int]:
    """(files done, total) from the last progress line of the producer's stderr; (0, 0) before the first."""
    try:
        with open(stderr_path, "rb") as handle:
            matches = PROGRESS_LINE.findall(handle.read())
    except OSError:
        return 0, 0
    return (int(matches[-1][0]), int(matches[-1][1])) if matches else (0, 0)


@dataclasses.dataclass(frozen=True)
class WorkerStats:
    """Counts from a worker's INFO log."""

    chunks: int  # distinct chunk tasks received
    runs: int  # chunk deliveries (received lines): every retry and redelivery is one more
    retried_after_loss: int  # retries after a pool process died under the chunk (retry_on_worker_lost)
    processes_lost: int  # pool processes that exited on a signal
    failed: int  # chunk tasks that failed for good

    @property
    def redeliveries(self) -> int:
        return self.runs - self.chunks


def worker_stats(log_path: str) -> WorkerStats:
    with open(log_path, "rb") as handle:
        text = handle.read().decode("utf-8", errors="replace")
    received = Counter(re.findall(r"hashfleet\.hash_chunk\[([^\]]+)\] received", text))
    return WorkerStats(
        chunks=len(received), runs=sum(received.values()),
        retried_after_loss=len(re.findall(r"hashfleet\.hash_chunk\[[^\]]+\] retry: .*WorkerLost", text)),
        processes_lost=len(re.findall(r"exited with 'signal \d+ \(SIG\w+\)'", text)),
        failed=len(re.findall(r"hashfleet\.\w+\[[^\]]+\] raised unexpected", text)))


def wait_injecting(proc, faults: Faults | None, timeout: float, supervise=None) -> int:
    """Wait (at most `timeout` s) for `proc` to exit while `faults` (if any) are injected and `supervise`
    (if given) is called every tick; its exit code."""
    deadline = time.monotonic() + timeout
    while (code := proc.poll()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{proc.args[:4]} still running after {timeout} s")
        if faults is not None:
            faults.tick()
        if supervise is not None:
            supervise()
        time.sleep(TICK)
    return code

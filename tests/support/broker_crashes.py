"""Redis crashing again and again under one worker: jobs of photos run through `hashfleet run --broker` while a
private redis-server (AOF, fsync always) is SIGKILLed and started again on the same port and directory, with
outages of random length. What counts: the worker's main process is the same at the end (no exit, no restart)
and every job's output is exact. Run short by tests/integration/test_broker_crashes.py and at length by
`python -m bench.broker_crashes`.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
import time

from support.netns import assert_exact_output, replicate_images
from support.rabbit import RabbitVhost
from support.rabbit_restart import RabbitApp
from support.servers import REPO, clean_env
from support.soak_faults import producer_progress
from support.warm_worker import warm_worker
from worker.redis_server import RedisServer

#: Seconds between two looks at the producer and the crash schedule.
TICK = 0.05
#: Seconds the producer keeps retrying while Redis is down (far above the longest outage).
RECONNECT_TIMEOUT = 60
#: Seconds a job may take at most, crashes included, before the run is failed.
JOB_TIMEOUT = 300
#: Share of a job's files done after which no crash comes: a crash as the job's last chunk finishes can fail the
#: merge (the chord callback's publish gives up after Celery's short retry policy; docs/reliability.md), which
#: is not what these runs are about.
CRASH_WINDOW = 0.8
#: What the worker logs when its main process gives up (celery/worker/worker.py).
UNRECOVERABLE = "Unrecoverable error"
#: What the producer says when it re-sends pending chunks after a stall (producer/follow.py).
RESEND = "re-sending"


@dataclasses.dataclass(frozen=True)
class CrashPlan:
    """How often and how long Redis goes away."""

    #: Crashes (SIGKILL, then a start on the same port and directory) in all.
    crashes: int = 30
    #: Shortest and longest outage (s): each is drawn uniformly between them.
    outage: tuple[float, float] = (0.5, 3.0)
    #: Shortest and longest time (s) Redis stays up between a restart and the next crash.
    uptime: tuple[float, float] = (0.5, 2.0)
    #: Photos per job, and per chunk (small chunks: several are always in flight).
    files: int = 400
    chunk_size: int = 5
    #: Pool processes of the one worker.
    concurrency: int = 2
    #: Seconds an unacknowledged chunk stays with its worker before Redis hands it out again.
    visibility_timeout: int = 4
    seed: int = 0


@dataclasses.dataclass
class CrashRun:
    """What happened: crashes and their outages, jobs done exactly, and the worker's main process."""

    outages: list[float] = dataclasses.field(default_factory=list)
    jobs: int = 0
    job_seconds: list[float] = dataclasses.field(default_factory=list)
    worker_pid: int = 0
    worker_alive: bool = True
    unrecoverable_errors: int = 0
    #: Times a producer re-sent chunks (producer/follow.py): its pending ones after a stall (a chunk message lost
    #: in a crash: popped, never recorded as unacknowledged; docs/reliability.md), or one that could not report.
    resends: int = 0
    seconds: float = 0.0

    @property
    def main_process_exits(self) -> int:
        """Exits of the worker's main process (it is never restarted here, so at most one can be seen)."""
        return int(not self.worker_alive)

    def summary(self) -> str:
        outages, jobs = self.outages or [0.0], self.job_seconds or [0.0]
        return (f"crashes {len(self.outages)} (outages {min(outages):.1f}-{max(outages):.1f} s, mean "
                f"{sum(outages) / len(outages):.1f} s); worker main-process exits {self.main_process_exits} "
                f"('{UNRECOVERABLE}' logged {self.unrecoverable_errors}x); jobs exact {self.jobs} "
                f"({', '.join(f'{s:.0f}' for s in jobs)} s), producer re-sends {self.resends}; "
                f"total {self.seconds:.0f} s")


class BrokerCrasher:
    """Stops the `broker` (`kill()`: a RedisServer is SIGKILLed) after a random uptime and starts it again after a
    random outage, one :meth:`tick` at a time, until `plan.crashes` crashes are done. The thread that ticks
    starts Redis again and must outlive it (worker.procs.spawn kills a child when the thread that forked it
    ends)."""

    def __init__(self, plan: CrashPlan, broker, run: CrashRun):
        self.plan, self.broker, self.run = plan, broker, run
        self._random = random.Random(plan.seed)
        self._down_since: float | None = None
        self._outage = 0.0
        self._done_at_start: int | None = None  # files done when Redis was last started again
        self._next_crash = time.monotonic() + self._random.uniform(*plan.uptime)

    @property
    def down(self) -> bool:
        """The broker is down now (stopped, not started again yet)."""
        return self._down_since is not None

    @property
    def done(self) -> bool:
        return len(self.run.outages) >= self.plan.crashes and not self.down

    def new_job(self) -> None:
        """A job starts: its progress counts from zero."""
        self._done_at_start = None

    def tick(self, done: int | None) -> None:
        """Crash Redis when due, or start it again when its outage is over. `done`: files the running job has
        hashed (None: no job runs). A crash is due after a random uptime once the job has made progress since
        Redis came back: the worker has reconnected and holds chunks again (a worker still waiting to
        reconnect would only see its back-off grow)."""
        now = time.monotonic()
        if self._down_since is not None:
            if now >= self._down_since + self._outage:
                self.broker.start()  # returns once it answers (Redis: its AOF loaded)
                self.run.outages.append(time.monotonic() - self._down_since)
                self._down_since, self._done_at_start = None, done
                self._next_crash = time.monotonic() + self._random.uniform(*self.plan.uptime)
            return
        if done is None or len(self.run.outages) >= self.plan.crashes:
            return
        if self._done_at_start is not None and done <= self._done_at_start:
            return
        if now >= self._next_crash:
            self.broker.kill()
            self._down_since, self._outage = time.monotonic(), self._random.uniform(*self.plan.outage)


def run_through_crashes(plan: CrashPlan, workdir: str, rabbit: RabbitVhost | None = None) -> CrashRun:
    """One warm worker; jobs of `plan.files` photos one after another until `plan.crashes` crashes have hit
    running jobs. Each job's output must be exact (AssertionError otherwise). Stops early if the worker's main
    process exits. The broker is the private Redis, or with `rabbit` that RabbitMQ vhost (its app stopped and
    started: support/rabbit_restart.py; the Redis is then the result backend only, never crashed)."""
    redis_dir, images = os.path.join(workdir, "redis"), os.path.join(workdir, "images")
    os.makedirs(redis_dir)
    inputs = replicate_images(images, plan.files)
    settings = {"HASHFLEET_VISIBILITY_TIMEOUT": str(plan.visibility_timeout),
                "HASHFLEET_RECONNECT_TIMEOUT": str(RECONNECT_TIMEOUT), "HASHFLEET_CONNECT_TIMEOUT": "2",
                "HASHFLEET_PROGRESS_INTERVAL": "0.2", "HASHFLEET_JOBS_DIR": os.path.join(workdir, "jobs")}
    run = CrashRun()
    redis = RedisServer(redis_dir, persistent=True, appendfsync="always")
    broker, url = (RabbitApp(rabbit), rabbit.url) if rabbit else (redis, redis.url)
    if rabbit:
        settings["HASHFLEET_RESULT_BACKEND"] = redis.url
    started = time.monotonic()
    try:
        with warm_worker(url, plan.concurrency, workdir, cwd=REPO, loglevel="INFO", env=settings) as worker:
            run.worker_pid = worker.proc.pid
            crasher = BrokerCrasher(plan, broker, run)
            while not crasher.done and worker.proc.poll() is None:
                out = os.path.join(workdir, f"out-{run.jobs}.csv")
                job_started = time.monotonic()
                _run_job(images, out, url, plan, settings, crasher, worker.proc)
                if worker.proc.poll() is not None:
                    break
                assert_exact_output(out, inputs)
                run.jobs += 1
                run.job_seconds.append(time.monotonic() - job_started)
                with open(out + ".err", errors="replace") as err:
                    run.resends += err.read().count(RESEND)
            run.worker_alive = worker.proc.poll() is None and worker.proc.pid == run.worker_pid
            with open(worker.log_path, errors="replace") as log:
                run.unrecoverable_errors = log.read().count(UNRECOVERABLE)
    finally:
        redis.kill()
    run.seconds = time.monotonic() - started
    return run


def _run_job(images: str, out: str, url: str, plan: CrashPlan, settings: dict[str, str], crasher: BrokerCrasher,
             worker: subprocess.Popen) -> None:
    """`hashfleet run` over `images` while `crasher` ticks; returns when it succeeded, or the worker's main
    process exited. The broker is always up again when this returns."""
    argv = [sys.executable, "-m", "producer", "run", images, "-o", out, "--broker", url,
            "--chunk-size", str(plan.chunk_size), "--timeout", str(JOB_TIMEOUT)]
    err_path = out + ".err"
    crasher.new_job()
    with open(err_path, "wb") as err:
        producer = subprocess.Popen(argv, env=clean_env(**settings), cwd=REPO, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + JOB_TIMEOUT + 60
    try:
        while producer.poll() is None and worker.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"hashfleet run still running after {JOB_TIMEOUT + 60} s; see {err_path}")
            # Crashes come once chunks run (a producer that cannot reach Redis as it starts gives up)
            done, total = producer_progress(err_path)
            crasher.tick(done if 0 < done <= CRASH_WINDOW * total else None)
            time.sleep(TICK)
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.wait()
        while crasher.down:  # never leave the broker down
            crasher.tick(None)
            time.sleep(TICK)
    if worker.poll() is None and producer.returncode != 0:
        with open(err_path, errors="replace") as handle:
            raise AssertionError(f"hashfleet run exited {producer.returncode}: {handle.read()[-3000:]}")

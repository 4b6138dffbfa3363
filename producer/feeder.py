"""The background feeder of a submitted job: a detached process on the submitting machine that keeps the
job's window full and drains its finished chunks into `<job>.results` until every chunk is in, so a job
runs to its end on the fleet without anyone waiting for it.

`hashfleet submit` sends the first window and starts it (:func:`start_feeder`: `hashfleet feed JOB`, a
hidden command, in its own session, logging to `<job>.log` in the jobs directory). Whoever feeds a job
holds an exclusive lock on `<job>.feeder` (the file holds its pid): the feeder while it runs, then `wait`
and `resume -o` while they follow the job, so a job is never fed twice. The OS drops the lock when its
holder dies, so a `wait` that finds the feeder dead (killed, its machine rebooted) takes the job over
where it stopped: the drained results and the sent mark are on disk. A `wait` that finds it alive waits
for it to finish, then merges the drained results and writes the outputs.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time

import click

from producer.job import Job
from tasks.errors import JobFailed
from tasks.settings import Settings

#: Seconds between two tries of a lock another process holds.
LOCK_POLL = 0.25
#: Most seconds `submit` waits for the feeder it started to take the job's lock (an interpreter start and the
#: imports: well under a second on an idle machine). A feeder that exits or is slower is left to `status`.
FEEDER_START_TIMEOUT = 30


class FeedLock:
    """The exclusive lock on a job's `<job>.feeder` file: held by the one process that feeds the job."""

    def __init__(self, path: str):
        self.path = path
        self._handle = None

    def acquire(self) -> bool:
        """Take the lock if no live process holds it (writing this process's pid); False if one does."""
        handle = open(self.path, "a+", encoding="ascii")  # noqa: SIM115 (held until release)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return True

    def holder(self) -> int | None:
        """The pid of the live process that holds the lock, else None (the lock is not taken)."""
        try:
            with open(self.path, encoding="ascii") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return int(handle.read().strip() or 0) or None
                return None  # a shared lock was granted (and is dropped on close): nobody holds it
        except (OSError, ValueError):
            return None

    def wait(self, timeout: float | None, job_id: str, log: str) -> float | None:
        """Take the lock, waiting while a live feeder holds it (saying so once); returns what is left of
        `timeout`, JobFailed once it has run out."""
        if self.acquire():
            return timeout
        click.echo(f"hashfleet: job {job_id} is fed in the background by process {self.holder()} (log: {log}); "
                   f"waiting for it to finish", err=True)
        started = time.monotonic()
        while not self.acquire():
            if timeout is not None and time.monotonic() - started > timeout:
                raise JobFailed(f"job {job_id} did not finish within {timeout:g} s; it goes on in the background: "
                                f"`hashfleet wait {job_id} -o OUT` picks it up")
            time.sleep(LOCK_POLL)
        return None if timeout is None else max(timeout - (time.monotonic() - started), 1.0)

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the flock
            self._handle = None


def feed_lock(job: Job) -> FeedLock:
    from producer.pipeline import job_file

    return FeedLock(job_file(job, "feeder"))


def start_feeder(job: Job, settings: Settings) -> int:
    """Start `hashfleet feed JOB` detached (its own session, stdin closed, output to `<job>.log`), with this
    process's broker, result backend and jobs directory; returns its pid once it holds the job's lock (or has
    exited: a job already fed, a broker it could not reach)."""
    from producer.pipeline import job_file

    env = dict(os.environ, HASHFLEET_JOBS_DIR=settings.jobs_dir)
    for name, value in (("HASHFLEET_BROKER_URL", settings.broker_url),
                        ("HASHFLEET_RESULT_BACKEND", settings.result_backend)):
        if value:
            env[name] = value
    with open(job_file(job, "log"), "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "producer", "feed", job.id], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    # Return once it holds the job's lock, so a `status` or `wait` right after `submit` sees it feeding.
    lock, deadline = feed_lock(job), time.monotonic() + FEEDER_START_TIMEOUT
    while lock.holder() != proc.pid and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(LOCK_POLL / 5)
    return proc.pid


def feed(settings: Settings, job: Job) -> bool:
    """Feed `job` to its end (send, drain; no merge, no outputs) under its lock; False if another process
    holds the lock (it feeds the job already)."""
    from producer.app import producer_app
    from producer.fleet import cluster_fleet
    from producer.pipeline import follow_whole_job, open_drained

    lock = feed_lock(job)
    if not lock.acquire():
        click.echo(f"hashfleet: job {job.id} is fed by process {lock.holder()} already", err=True)
        return False
    try:
        with producer_app(settings) as app:
            drained = open_drained(job)
            try:
                follow_whole_job(app, settings, job, drained, fleet=cluster_fleet(settings))
            finally:
                drained.close()
    finally:
        lock.release()
    click.echo(f"hashfleet: job {job.id}: every chunk is in; `hashfleet wait {job.id} -o OUT` writes the outputs",
               err=True)
    return True

"""Follow a running job: send its chunks a window at a time, drain each as it finishes, end when all are in.

Survives what a long job meets: the broker/backend restarting (retries for `reconnect_timeout`), and
notices what it cannot survive: Redis coming back empty (restarted without persistence), by checking the
job's marker key now and then. Either way it ends with one clear error, never an endless wait. That
bounded loop is :class:`FollowLoop`, which the distributed join's wait (producer/near/distjoin.py) runs too.

Results arrive two ways: a poll (one MGET of every pending id) and, on Redis, a pub/sub feed
(producer/pubsub.py) that pushes each result as it is stored. While many chunks are pending the poll
alone brings them (one MGET every POLL_INTERVAL costs less than a message per chunk); once few are left
the feed takes over and the poll becomes a rare safety net for what pub/sub lost.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable

from celery import Celery, states
from celery.exceptions import TimeoutError as CeleryTimeoutError

from producer.app import CONNECTION_ERRORS
from producer.pubsub import open_feed
from producer.window import ChunkWindow
from tasks.errors import BrokerUnavailable, HashfleetError, JobFailed
from tasks.ids import chunk_task_id
from tasks.settings import DEFAULT_RECONNECT_TIMEOUT
from tasks.store import forget_results, job_known

#: Seconds between polls of the result backend (at most, between checks of the job's health).
POLL_INTERVAL = 0.25
#: Seconds between polls when results are pushed by the feed: the safety net for what pub/sub lost
#: while its connection was down.
FEED_POLL_INTERVAL = 1.0
#: Seconds between polls while at most FAST_POLL_CHUNKS chunks are pending and no feed pushes results
#: (so a short job does not finish a poll interval late).
FAST_POLL = 0.02
#: Pending chunks at or below which results are pushed by the feed (or polled fast without one).
FAST_POLL_CHUNKS = 64
#: Seconds between checks that the job's marker is still in the backend.
MARKER_INTERVAL = 2.0
#: Times a chunk that failed only because the result backend was unreachable is sent again.
MAX_BACKEND_RESENDS = 3


class JobLost(JobFailed):
    """The backend no longer knows the job (Redis restarted without persistence, or results expired)."""


def _lost_to_backend(meta: dict) -> bool:
    return meta["status"] == states.FAILURE and isinstance(meta.get("result"), CONNECTION_ERRORS)


class FollowLoop:
    """The bounded wait for work on the workers: :meth:`step` (a subclass's poll and pause) until `result` is
    set. Every other way out is one clear error: JobFailed after `timeout` seconds in all (None: no limit),
    BrokerUnavailable after `reconnect_timeout` seconds without the backend (a step that reaches it sets
    `lost_since` back to None), and what :meth:`lost` returns when the backend no longer holds the work
    (asked every `marker_interval` seconds by :meth:`check_marker`). `what` names the work in messages,
    `later` says how to pick it up after giving up; `check()` runs on every round and while reconnecting.
    """

    def __init__(self, what: str, *, timeout: float | None, reconnect_timeout: float,
                 check: Callable[[], None] = lambda: None, later: str = "", interval: float = POLL_INTERVAL,
                 marker_interval: float = MARKER_INTERVAL):
        self.what, self.later, self.check = what, later, check
        self.timeout, self.reconnect_timeout = timeout, reconnect_timeout
        self.interval, self.marker_interval = interval, marker_interval
        self.started = self.last_marker_check = time.monotonic()
        self.lost_since: float | None = None
        self.result = None

    def run(self):
        """Step until there is a result; return it, or raise one of the errors above."""
        while self.result is None:
            try:
                self.step()
            except CONNECTION_ERRORS as exc:
                self.on_connection_error(exc)
        return self.result

    def step(self) -> None:
        """One round: poll, take what finished (setting `result` at the end), check health, pause."""
        raise NotImplementedError

    def lost(self) -> HashfleetError | None:
        """The error to end with when the backend no longer holds the work, else None."""
        return None

    def check_timeout(self) -> None:
        if self.timeout is not None and time.monotonic() - self.started > self.timeout:
            raise JobFailed(f"{self.what} did not finish within {self.timeout:g} s{self.later}")

    def check_marker(self) -> None:
        """Every `marker_interval` seconds, fail with what :meth:`lost` says."""
        now = time.monotonic()
        if now - self.last_marker_check > self.marker_interval:
            self.last_marker_check = now
            error = self.lost()
            if error is not None:
                raise error

    def on_connection_error(self, exc: Exception) -> None:
        """Retry a lost backend for `reconnect_timeout` seconds (within `timeout`), then give up with one
        clear error."""
        now = time.monotonic()
        self.lost_since = self.lost_since or now
        if now - self.lost_since > self.reconnect_timeout:
            raise BrokerUnavailable(f"lost the result backend for {self.reconnect_timeout:g} s ({exc}) while "
                                    f"waiting for {self.what}{self.later}") from None
        self.check_timeout()
        self.check()
        time.sleep(self.interval)


class JobFollower(FollowLoop):
    """Sends the chunks of job `job_id` a window at a time, drains each as it finishes, and ends when the
    window has sent and drained them all (returning {"files", "errors"} counted from the chunk summaries).

    - `window`: a :class:`producer.window.ChunkWindow`, or a list of chunk numbers already sent;
    - `publish(chunk numbers)` sends chunks: to fill the window, when nothing finished for `stall_timeout`
      seconds (a message Redis lost between its queue pop and its unacked record), and for a chunk that
      failed only because Redis went away as it reported (a backstop: tasks/chord_backend.py retries);
      running a chunk twice is harmless, its data id is deterministic;
    - `drain(chunk numbers)` takes finished chunks' data out of the backend (producer/drained.py) before
      they count as done;
    - `on_chunk(files, errors)` is called once per finished chunk, `check()` on every round (the embedded
      mode raises there when its workers died);
    - `timeout`: give up (the job goes on on the workers); `reconnect_timeout`: how long a lost backend
      is retried.

    :meth:`run` is the whole loop of :meth:`step`s (:class:`FollowLoop`); each step's parts (:meth:`poll`,
    :meth:`take`, :meth:`check_health`, :meth:`wait_for_results`) can be driven one by one.
    """

    def __init__(self, app: Celery, job_id: str, window: ChunkWindow | list[int], *,
                 on_chunk: Callable[[int, int], None] = lambda files, errors: None,
                 check: Callable[[], None] = lambda: None, resend: Callable[[list[int]], None] | None = None,
                 drain: Callable[[list[int]], None] = lambda chunks: None,
                 timeout: float | None = None, reconnect_timeout: float = DEFAULT_RECONNECT_TIMEOUT,
                 stall_timeout: float | None = None):
        super().__init__(f"job {job_id}", timeout=timeout, reconnect_timeout=reconnect_timeout, check=check,
                         later=f"; it goes on on the workers: `hashfleet wait {job_id} -o OUT` picks it up")
        self.app, self.job_id = app, job_id
        self.window = window if isinstance(window, ChunkWindow) else ChunkWindow(None, len(window), adopted=window)
        self.on_chunk, self.resend, self.drain, self.stall_timeout = on_chunk, resend, drain, stall_timeout
        self.pending = {chunk_task_id(job_id, i): i for i in self.window.in_flight}
        self.finished: dict[str, dict] = {}  # taken, not drained yet
        self.unsent: list[int] = []  # taken from the window, not published yet (the broker was away)
        self.totals = {"files": 0, "errors": 0}
        self.last_progress = self.next_poll = self.started
        self.backend_resends: Counter[str] = Counter()
        self.feed = None

    def run(self) -> dict:
        """Follow the job to its end; return its totals, or raise JobFailed/BrokerUnavailable."""
        self.feed = open_feed(self.app.backend, self.job_id)
        try:
            return super().run()
        finally:
            if self.feed is not None:
                self.feed.close()

    def step(self) -> None:
        """One round: fill the window, poll when due, check the job's health, then wait for pushed results
        until the next poll."""
        self.top_up()
        if time.monotonic() >= self.next_poll:
            self.poll()
            if self.result is not None:
                return
        self.check_health()
        self.wait_for_results()
        self.settle()

    def top_up(self) -> None:
        """Publish chunks until the window is full (what a lost broker kept from being sent first)."""
        if self.resend is None:
            return
        if not self.unsent:
            self.unsent = self.window.take()
            self.pending.update((chunk_task_id(self.job_id, i), i) for i in self.unsent)
        if self.unsent:
            self.resend(self.unsent)
            self.window.sent(self.unsent)
            self.unsent = []

    def poll(self) -> None:
        """One MGET of the chunks in flight; takes what finished and drains it. Subscribes the feed to chunk
        results first once few are in flight (the poll then reads what finished before the subscription)."""
        few = len(self.pending) <= FAST_POLL_CHUNKS
        if self.feed is not None and few and not self.feed.watching_chunks:
            self.feed.watch_chunks()
        for task_id, meta in self.app.backend.get_many(list(self.pending), interval=0, max_iterations=1):
            self.take(task_id, meta)
        self.lost_since = None
        self.settle()
        pushed = self.feed is not None and self.feed.watching_chunks
        self.next_poll = time.monotonic() + (FEED_POLL_INTERVAL if pushed else FAST_POLL if few else POLL_INTERVAL)

    def take(self, task_id: str, meta: dict, polled: bool = True) -> None:
        """Take one final state in: keep a finished chunk for :meth:`settle`, re-send a chunk that only
        lost its report to the backend, or fail the job. `polled` is False for a state pushed by the feed:
        a re-send is decided on stored states only, so one failure is re-sent once."""
        if task_id not in self.pending or task_id in self.finished:
            return  # already taken (a poll and the feed both saw it), or a re-sent chunk's twin
        if meta["status"] != states.SUCCESS:
            lost = self.resend is not None and _lost_to_backend(meta)
            if lost and not polled:
                return
            if lost and self.backend_resends[task_id] < MAX_BACKEND_RESENDS:
                self.backend_resends[task_id] += 1
                _say(f"chunk {task_id} could not report while the result backend was away; re-sending it")
                forget_results(self.app.backend, [task_id])
                self.resend([self.pending[task_id]])
                return
            raise JobFailed(f"chunk {task_id} of job {self.job_id} failed: {meta.get('result')!r}")
        self.finished[task_id] = meta["result"]

    def settle(self) -> None:
        """Drain the finished chunks out of the backend, then count them done (a drain that meets a lost
        backend is tried again on the next round); the job's result once the window is through."""
        if self.finished:
            try:
                self.drain(sorted(self.pending[t] for t in self.finished))
            except CeleryTimeoutError:
                # Data of chunks seen finished is not readable yet: lost with the job if its marker went too
                # (Redis restarted empty), else late (Redis restarting): drained again next round
                error = self.lost()
                if error is not None:
                    raise error from None
                return
            for task_id, summary in self.finished.items():
                self.window.done(self.pending.pop(task_id))
                self.totals["files"] += summary["n"]
                self.totals["errors"] += summary["errors"]
                self.on_chunk(summary["n"], summary["errors"])
            self.finished = {}
            self.last_progress = time.monotonic()
            self.top_up()
        if self.window.finished and not self.pending and not self.unsent:
            self.result = dict(self.totals)

    def check_health(self) -> None:
        """The caller's check, then: re-send after a stall, give up after `timeout`, and fail when the
        backend no longer knows the job."""
        self.check()
        now = time.monotonic()
        if self.resend is not None and self.stall_timeout is not None and now - self.last_progress > self.stall_timeout:
            self.last_progress = now
            _say(f"no progress for {self.stall_timeout:g} s: re-sending {len(self.pending)} pending chunks of job "
                 f"{self.job_id}")
            self.resend(sorted(self.pending.values()))
        self.check_timeout()
        self.check_marker()

    def lost(self) -> JobLost | None:
        if job_known(self.app.backend, self.job_id):
            return None
        return JobLost(f"the result backend no longer knows job {self.job_id} (Redis restarted without "
                       f"persistence?); run `hashfleet resume {self.job_id}` to hash the missing chunks")

    def wait_for_results(self) -> None:
        """Until the next poll (at most POLL_INTERVAL, so health is checked that often): take what the feed
        pushes, or just sleep without one."""
        if self.result is not None:
            return
        now = time.monotonic()
        pause = max(min(self.next_poll, now + POLL_INTERVAL) - now, 0.0)
        if self.feed is None:
            time.sleep(pause)
            return
        for task_id, meta in self.feed.wait(pause):
            self.take(task_id, meta, polled=False)


def _say(message: str) -> None:
    print(f"hashfleet: {message}", file=sys.stderr, flush=True)

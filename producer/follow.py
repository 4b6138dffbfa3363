"""Follow a running job: stream chunk summaries for progress, then fetch the merge result.

Survives what a long job meets: the broker/backend restarting (retries for `reconnect_timeout`), and
notices what it cannot survive: Redis coming back empty (restarted without persistence), by checking the
job's marker key now and then. Either way it ends with one clear error, never an endless wait.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable

import redis
from celery import Celery, states
from kombu.exceptions import OperationalError

from producer.pubsub import open_feed
from tasks.errors import BrokerUnavailable, JobFailed
from tasks.ids import chunk_task_id, merge_task_id
from tasks.store import forget_results, job_known

#: Seconds between polls of the result backend (at most, between checks of the job's health).
POLL_INTERVAL = 0.25
#: Seconds between polls when results are pushed by a feed (producer/pubsub.py): the safety net for
#: what pub/sub lost while its connection was down.
FEED_POLL_INTERVAL = 1.0
#: Seconds between polls while at most FAST_POLL_CHUNKS chunks are pending (without a result feed; with
#: one, chunk results are pushed from then on).
FAST_POLL = 0.02
FAST_POLL_CHUNKS = 64
#: Seconds between checks that the job's marker is still in the backend.
MARKER_INTERVAL = 2.0
#: Errors that mean "the broker/backend is unreachable right now".
CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, OperationalError, ConnectionError, OSError)
#: Times a chunk that failed only because the result backend was unreachable is sent again.
MAX_BACKEND_RESENDS = 3


def _lost_to_backend(meta: dict) -> bool:
    return meta["status"] == states.FAILURE and isinstance(meta.get("result"), CONNECTION_ERRORS)


class JobLost(JobFailed):
    """The backend no longer knows the job (Redis restarted without persistence, or results expired)."""


def follow(app: Celery, job_id: str, chunks: list[int], on_chunk: Callable[[int, int], None],
           check: Callable[[], None] = lambda: None, timeout: float | None = None,
           reconnect_timeout: float = 60.0, resend: Callable[[list[int]], None] | None = None,
           stall_timeout: float | None = None) -> dict:
    """Wait for the chunks at `chunks` (indices) and then the merge; return the merge payload.

    `on_chunk(files, errors)` is called once per finished chunk; `check` on every poll. When nothing
    finishes for `stall_timeout` seconds, `resend(pending chunk indices)` publishes them again (an empty
    list: the merge). That recovers a message Redis lost between its queue pop and its unacked record
    (a restart at that instant); running a chunk twice is harmless, its data id is deterministic.
    """
    started = time.monotonic()
    pending = {chunk_task_id(job_id, i): i for i in chunks}
    last_marker_check = last_progress = started
    lost_since: float | None = None

    def tick() -> None:
        nonlocal last_marker_check, last_progress
        check()
        now = time.monotonic()
        if resend is not None and stall_timeout is not None and now - last_progress > stall_timeout:
            last_progress = now
            print(f"hashfleet: no progress for {stall_timeout:g} s: re-sending {len(pending)} pending chunks "
                  f"of job {job_id}" + ("" if pending else " (the merge)"), file=sys.stderr, flush=True)
            resend(sorted(pending.values()))
        if timeout is not None and now - started > timeout:
            raise JobFailed(f"job {job_id} did not finish within {timeout:g} s; it goes on on the workers: "
                            f"`hashfleet wait {job_id} -o OUT` picks it up")
        if now - last_marker_check > MARKER_INTERVAL:
            last_marker_check = now
            if not job_known(app.backend, job_id):
                raise JobLost(f"the result backend no longer knows job {job_id} (Redis restarted without "
                              f"persistence?); run `hashfleet resume {job_id}` to hash the missing chunks")

    merge_id = merge_task_id(job_id)
    backend_resends: Counter[str] = Counter()

    def settle(task_id: str, meta: dict, polled: bool = True) -> bool:
        """Take one result in; True when it is the merge's (the job is done)."""
        nonlocal last_progress
        if task_id != merge_id and task_id not in pending:
            return False  # already counted (a poll and the feed both saw it), or a re-sent chunk's twin
        if meta["status"] != states.SUCCESS:
            lost = task_id in pending and resend is not None and _lost_to_backend(meta)
            if lost and not polled:  # decided on the stored state only, so one failure is re-sent once
                return False
            if lost and backend_resends[task_id] < MAX_BACKEND_RESENDS:
                # Hashed, but Redis went away as it reported (Celery does not retry the chord
                # counter update): run it again rather than fail the job.
                backend_resends[task_id] += 1
                print(f"hashfleet: chunk {task_id} could not report while the result backend was "
                      f"away; re-sending it", file=sys.stderr, flush=True)
                forget_results(app.backend, [task_id])
                resend([pending[task_id]])
                return False
            step = "the merge step" if task_id == merge_id else f"chunk {task_id}"
            raise JobFailed(f"{step} of job {job_id} failed: {meta.get('result')!r}")
        if task_id == merge_id:
            return True
        del pending[task_id]
        last_progress = time.monotonic()
        on_chunk(meta["result"]["n"], meta["result"]["errors"])
        return False

    feed = open_feed(app.backend, job_id)
    next_poll = started
    try:
        while True:
            try:
                if time.monotonic() >= next_poll:
                    few = len(pending) <= FAST_POLL_CHUNKS
                    if feed is not None and few and not feed.watching_chunks:
                        feed.watch_chunks()  # before the poll, which reads what finished before it
                    # One MGET per round: the pending chunks, or once they are all done, the merge. Once a
                    # feed pushes chunk results this only catches what pub/sub lost; until then it is how
                    # they arrive (without a feed: fast near the end, so a short job does not finish a poll
                    # interval late).
                    for task_id, meta in app.backend.get_many(list(pending) or [merge_id], interval=0,
                                                              max_iterations=1):
                        if settle(task_id, meta):
                            return meta["result"]
                    lost_since = None
                    next_poll = time.monotonic() + (
                        FEED_POLL_INTERVAL if feed is not None and feed.watching_chunks else
                        FAST_POLL if len(pending) <= FAST_POLL_CHUNKS else POLL_INTERVAL)
                tick()
                pause = max(min(next_poll, time.monotonic() + POLL_INTERVAL) - time.monotonic(), 0.0)
                if feed is None:
                    time.sleep(pause)
                    continue
                for task_id, meta in feed.wait(pause):
                    if settle(task_id, meta, polled=False):
                        return meta["result"]
            except CONNECTION_ERRORS as exc:
                now = time.monotonic()
                lost_since = lost_since or now
                if now - lost_since > reconnect_timeout:
                    raise BrokerUnavailable(
                        f"lost the result backend for {reconnect_timeout:g} s ({exc}); job {job_id} goes on "
                        f"on the workers: `hashfleet wait {job_id} -o OUT` picks it up") from None
                check()
                time.sleep(POLL_INTERVAL)
    finally:
        if feed is not None:
            feed.close()

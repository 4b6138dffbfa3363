"""How many pool processes will hash a cluster job: the HASHFLEET_FLEET_PROCESSES hint, or the workers' answer.

The chunk-size policy (producer/chunking.py) needs the fleet's size only for a large job, where a big fleet
of cheap files could ask one broker for more chunks per second than it carries. Asking costs a broadcast
(`inspect stats`) that waits PROBE_TIMEOUT for the replies, so it is made only then, and a hint skips it.
Workers that start after the job is cut are not counted: a fleet that grows later should set the hint.
"""

from __future__ import annotations

import functools

from tasks.settings import Settings

#: Seconds a large job's producer waits for the workers' `inspect stats` replies.
PROBE_TIMEOUT = 1.0


def pool_processes(replies: dict | None) -> int | None:
    """Total `pool.max-concurrency` over `inspect stats` replies (one per worker node); None if none."""
    total = sum(int((reply.get("pool") or {}).get("max-concurrency") or 0) for reply in (replies or {}).values())
    return total or None


def probe(settings: Settings, timeout: float = PROBE_TIMEOUT) -> int | None:
    """Pool processes of the workers that answer an `inspect stats` broadcast within `timeout` seconds."""
    from producer.app import CONNECTION_ERRORS, producer_app

    with producer_app(settings) as app:
        try:
            return pool_processes(app.control.inspect(timeout=timeout).stats())
        except CONNECTION_ERRORS:  # an unreachable broker is reported by the enqueue right after, with its reason
            return None


def cluster_fleet(settings: Settings):
    """The fleet for :func:`producer.chunking.choose_chunk_size` and :func:`producer.window.window_size`: the
    hint, else a probe made the first time one of them needs it (and its answer kept for the other)."""
    if settings.fleet_processes:
        return settings.fleet_processes
    return functools.cache(lambda: probe(settings))

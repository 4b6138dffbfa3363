"""`celery -A support.dying_worker worker`: hashfleet's worker app, except that a pool process SIGKILLs
itself once, at one moment of finishing one chunk: just after the chunk's result is stored ("stored") or
just after its chord report ("reported"). Set by the worker's environment:

- HASHFLEET_TEST_DIE_AFTER: "stored" or "reported";
- HASHFLEET_TEST_DIE_CHUNK: the end of the chunk's task id (``-chunk-3``);
- HASHFLEET_TEST_DIE_MARKER: a file made just before the kill (so it happens once; the test reads it).
"""

from __future__ import annotations

import os
import signal

from tasks.app import create_worker_app
from tasks.chord_backend import ChordRetryingRedisBackend

celery = create_worker_app()


def _die_once(task_id: str) -> None:
    marker = os.environ["HASHFLEET_TEST_DIE_MARKER"]
    if task_id.endswith(os.environ["HASHFLEET_TEST_DIE_CHUNK"]) and not os.path.exists(marker):
        with open(marker, "w") as handle:
            handle.write(task_id)
        os.kill(os.getpid(), signal.SIGKILL)


_store_result = ChordRetryingRedisBackend.store_result
_report = ChordRetryingRedisBackend.on_chord_part_return


def store_result(self, task_id, result, state, *args, **kwargs):
    stored = _store_result(self, task_id, result, state, *args, **kwargs)
    if state == "SUCCESS" and os.environ["HASHFLEET_TEST_DIE_AFTER"] == "stored":
        _die_once(task_id)
    return stored


def on_chord_part_return(self, request, state, result, **kwargs):
    reported = _report(self, request, state, result, **kwargs)
    if os.environ["HASHFLEET_TEST_DIE_AFTER"] == "reported":
        _die_once(request.id)
    return reported


ChordRetryingRedisBackend.store_result = store_result
ChordRetryingRedisBackend.on_chord_part_return = on_chord_part_return

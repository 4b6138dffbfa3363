"""`celery -A support.dying_video_worker worker`: hashfleet's worker app, except that a pool process SIGKILLs
itself twice while indexing videos: in the first attempt after HASHFLEET_TEST_DIE_FRAMES sampled frames, and
in the retried attempt just after it stored progress holding frames of a segment under way (stored after
every frame here, not every 0.25 s). Each death happens once: a marker file (HASHFLEET_TEST_DIE_MARKER, then
the same name + ".2") is made just before it, and the test reads them.
"""

from __future__ import annotations

import os
import signal

from tasks.app import create_worker_app
from tasks.video import checkpoint, segment, task

celery = create_worker_app()
task.CHECKPOINT_INTERVAL = 0.0


def _die_once(marker: str) -> None:
    if not os.path.exists(marker):
        with open(marker, "w"):
            pass
        os.kill(os.getpid(), signal.SIGKILL)


_hash_row = segment.hash_row
_hashed = [0]  # frames this process hashed (a pool process forked after a death starts at 0)


def hash_row(time, frame):
    _hashed[0] += 1
    if _hashed[0] > int(os.environ["HASHFLEET_TEST_DIE_FRAMES"]):
        _die_once(os.environ["HASHFLEET_TEST_DIE_MARKER"])
    return _hash_row(time, frame)


_save = checkpoint.save


def save(backend, task_id, progress):
    _save(backend, task_id, progress)
    if getattr(progress, "partial", None) is not None:
        _die_once(os.environ["HASHFLEET_TEST_DIE_MARKER"] + ".2")


segment.hash_row = hash_row
checkpoint.save = save

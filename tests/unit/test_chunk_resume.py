"""A chunk that lost its process goes on from its last checkpoint; only a hang, or attempts that keep dying
without progress, send it to isolation (tasks/chunk.py, against an in-memory result backend)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from celery import Celery

from tasks import checkpoint
from tasks.chunk import ISOLATE_AFTER, _isolate_next, _tracker
from tasks.wire import empty_result


def retried_task():
    """A chunk task of its own id (the in-memory backend is shared by every app in the process)."""
    return SimpleNamespace(backend=Celery("t", backend="cache+memory://").backend,
                           request=SimpleNamespace(id=f"job-chunk-{uuid.uuid4().hex}"))


def test_a_retried_chunk_killed_after_a_checkpoint_resumes_there_without_isolation():
    # Given a retried chunk of four files whose progress is stored after each file (interval 0)
    task = retried_task()
    chunk = task.request.id
    progress = checkpoint.begin(task.backend, chunk, 4, 8)
    on_file = _tracker(task, progress, interval=0.0)
    # When it hashes two files and its process is killed
    on_file(1)
    on_file(2)
    # Then the next attempt starts at the third file, not isolated
    again = checkpoint.begin(task.backend, chunk, 4, 8)
    assert (again.done, again.attempts) == (2, 1) and again.attempts < ISOLATE_AFTER


def test_attempts_that_die_without_a_checkpoint_go_to_isolation():
    task = retried_task()
    chunk = task.request.id
    checkpoint.begin(task.backend, chunk, 4, 8)  # an attempt that dies before its first checkpoint
    assert checkpoint.begin(task.backend, chunk, 4, 8).attempts >= ISOLATE_AFTER


def test_a_first_attempt_keeps_its_progress_in_memory_and_a_hang_isolates_the_next_from_that_file():
    # Given a first attempt (no checkpoints stored) that hashed one file and hangs on the second
    task = retried_task()
    chunk = task.request.id
    progress = checkpoint.Checkpoint(empty_result(4, 8))
    on_file = _tracker(task, progress, interval=None)
    on_file(1)
    assert checkpoint._read(task.backend, chunk) is None
    # When the watchdog ends the process
    _isolate_next(task.backend, chunk, progress)
    # Then the next attempt is isolated and starts at the file that hung
    again = checkpoint.begin(task.backend, chunk, 4, 8)
    assert again.done == 1 and again.attempts >= ISOLATE_AFTER

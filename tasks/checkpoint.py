"""Progress of a chunk hashed in isolation, kept in the result backend: a chunk whose pool process keeps
being killed from outside (an operator, the OOM killer, a node scaled down) resumes at the file where
it stopped instead of starting over, so it finishes however often its process dies.

A file cannot end the process that hashes in isolation (each file is decoded in a forked child, see
tasks/watchdog.py), so a process that dies there was killed from outside. Should attempts still keep
dying at the same file, that file is recorded as `worker-crashed` after STUCK_LIMIT of them and the
chunk goes on: every attempt either hashes a file or counts towards skipping one, so the chunk ends.
"""

from __future__ import annotations

import dataclasses
import logging

from celery import states

from tasks.errors import FileError
from tasks.ids import checkpoint_id
from tasks.store import store_data
from tasks.wire import ChunkResult, empty_result

log = logging.getLogger(__name__)

#: Attempts that may die at the same file before it is recorded as worker-crashed and passed over.
STUCK_LIMIT = 3


@dataclasses.dataclass
class Checkpoint:
    """Files [0, done) of the chunk are in `result`; `attempts` started at `done` so far."""

    result: ChunkResult
    done: int = 0
    attempts: int = 0

    def to_wire(self) -> dict:
        return {"done": self.done, "attempts": self.attempts, "result": self.result.to_wire()}


def begin(backend, chunk_task_id: str, files: int, row_bytes: int) -> Checkpoint:
    """The chunk's progress so far, with this attempt counted (and a file passed over when STUCK_LIMIT
    attempts died at it); stored before hashing starts."""
    meta = _read(backend, chunk_task_id)
    if meta is None:
        checkpoint = Checkpoint(empty_result(files, row_bytes))
    else:
        stored = ChunkResult.from_wire(meta["result"], row_bytes).copy()  # from_wire: read-only views
        checkpoint = Checkpoint(stored, meta["done"], meta["attempts"])
    checkpoint.attempts += 1
    if checkpoint.attempts > STUCK_LIMIT and checkpoint.done < files:
        log.warning("chunk %s: %d attempts died at file %d; recorded as worker-crashed", chunk_task_id,
                    STUCK_LIMIT, checkpoint.done)
        checkpoint.result.codes[checkpoint.done] = FileError.WORKER_CRASHED
        checkpoint.done += 1
        checkpoint.attempts = 1
    save(backend, chunk_task_id, checkpoint)
    return checkpoint


def save(backend, chunk_task_id: str, checkpoint: Checkpoint) -> None:
    """Store the progress; best effort (a chunk whose progress cannot be stored just redoes files)."""
    try:
        store_data(backend, checkpoint_id(chunk_task_id), checkpoint.to_wire())
    except Exception as exc:  # noqa: BLE001 (progress is an optimisation; the chunk must go on)
        log.warning("chunk %s: progress not stored (%s)", chunk_task_id, exc)


def _read(backend, chunk_task_id: str) -> dict | None:
    meta = backend.get_task_meta(checkpoint_id(chunk_task_id))
    return meta["result"] if meta.get("status") == states.SUCCESS else None

"""The chord header task: hash one chunk of paths. Thin: unpack args, call hashing, store packed results."""

from __future__ import annotations

import numpy as np
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from tasks import checkpoint
from tasks.batch import hash_files
from tasks.errors import FileError
from tasks.ids import CHUNK_TASK
from tasks.image.algos import parse_algos, row_bytes
from tasks.pathblob import decode_paths
from tasks.settings import settings_of
from tasks.store import store_task_data
from tasks.watchdog import hash_files_isolated, watchdog
from tasks.wire import WIRE_VERSION, ChunkResult, empty_result


def finish_chunk(task, result: ChunkResult) -> dict:
    """Store the packed arrays beside the task result; return the small summary the chord collects."""
    store_task_data(task.backend, task.request.id, result.to_wire())
    return {"v": WIRE_VERSION, "n": len(result), "errors": int(np.count_nonzero(result.codes))}


#: A chunk whose worker process died this many times is hashed in isolation (see tasks/watchdog.py).
ISOLATE_AFTER = 2
#: Seconds before a chunk whose worker died is re-sent.
RETRY_DELAY = 1


# No limit on worker losses: in isolation a chunk resumes where it stopped and passes over a file at which
# attempts keep dying (tasks/checkpoint.py), so every loss brings it closer to its end.
@shared_task(name=CHUNK_TASK, bind=True, retry_on_worker_lost=True, max_retries=None,
             default_retry_delay=RETRY_DELAY)
def hash_chunk(self, paths_blob: str, algo: str, hash_size: int) -> dict:
    """Hash every path of the chunk with the job's algorithms (`algo`: comma-separated). Bad files become
    error codes; the result is deterministic for the
    same files, so a redelivered chunk stores the same data under the same id and counts once."""
    paths = decode_paths(paths_blob)
    settings = settings_of(self.app)
    if self.request.retries >= ISOLATE_AFTER:
        return finish_chunk(self, hash_isolated(self, paths, algo, hash_size, settings))
    result = empty_result(len(paths), row_bytes(parse_algos(algo), hash_size))
    try:
        hash_files(paths, algo, hash_size, settings.allowed_roots, result=result,
                   watch=watchdog(settings.file_timeout), interrupts=(SoftTimeLimitExceeded,))
    except SoftTimeLimitExceeded:
        # Files not yet reached (code still OK with an all-zero hash and size 0) are marked timed out.
        pending = (result.codes == FileError.OK) & (result.sizes == 0)
        result.codes[pending] = FileError.TIMEOUT
    return finish_chunk(self, result)


def hash_isolated(task, paths: list[str], algo: str, hash_size: int, settings) -> ChunkResult:
    """Hash in isolation from the chunk's stored progress on, storing it after every file."""
    chunk_id = task.request.id
    progress = checkpoint.begin(task.backend, chunk_id, len(paths), row_bytes(parse_algos(algo), hash_size))

    def on_file(done: int) -> None:
        progress.done, progress.attempts = done, 0
        checkpoint.save(task.backend, chunk_id, progress)

    return hash_files_isolated(paths, algo, hash_size, settings.allowed_roots, settings.file_timeout,
                               result=progress.result, start=progress.done, on_file=on_file)

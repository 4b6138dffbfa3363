"""The chord header task: hash one chunk of paths. Thin: unpack args, call hashing, store packed results."""

from __future__ import annotations

import numpy as np
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from tasks.algos import parse_algos, row_bytes
from tasks.app import settings_of
from tasks.errors import FileError
from tasks.hashing import hash_files
from tasks.ids import CHUNK_TASK
from tasks.pathblob import decode_paths
from tasks.store import store_chunk_data
from tasks.watchdog import hash_files_isolated, watchdog
from tasks.wire import WIRE_VERSION, ChunkResult, empty_result


def finish_chunk(task, result: ChunkResult) -> dict:
    """Store the packed arrays beside the task result; return the small summary the chord collects."""
    store_chunk_data(task.backend, task.request.id, result.to_wire())
    return {"v": WIRE_VERSION, "n": len(result), "errors": int(np.count_nonzero(result.codes))}


#: A chunk whose worker process died this many times is hashed in isolation (see tasks/watchdog.py).
ISOLATE_AFTER = 2
#: Worker losses after which the chunk fails for good (isolation mode cannot lose its worker to a file).
MAX_WORKER_LOSSES = ISOLATE_AFTER + 2
#: Seconds before a chunk whose worker died is re-sent.
RETRY_DELAY = 1


@shared_task(name=CHUNK_TASK, bind=True, retry_on_worker_lost=True, max_retries=MAX_WORKER_LOSSES,
             default_retry_delay=RETRY_DELAY)
def hash_chunk(self, paths_blob: str, algo: str, hash_size: int) -> dict:
    """Hash every path of the chunk with the job's algorithms (`algo`: comma-separated). Bad files become
    error codes; the result is deterministic for the
    same files, so a redelivered chunk stores the same data under the same id and counts once."""
    paths = decode_paths(paths_blob)
    settings = settings_of(self.app)
    if self.request.retries >= ISOLATE_AFTER:
        return finish_chunk(self, hash_files_isolated(paths, algo, hash_size, settings.allowed_roots,
                                                      settings.file_timeout))
    result = empty_result(len(paths), row_bytes(parse_algos(algo), hash_size))
    try:
        hash_files(paths, algo, hash_size, settings.allowed_roots, result=result,
                   watch=watchdog(settings.file_timeout), interrupts=(SoftTimeLimitExceeded,))
    except SoftTimeLimitExceeded:
        # Files not yet reached (code still OK with an all-zero hash and size 0) are marked timed out.
        pending = (result.codes == FileError.OK) & (result.sizes == 0)
        result.codes[pending] = FileError.TIMEOUT
    return finish_chunk(self, result)

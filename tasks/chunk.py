"""The chord header task: hash one chunk of paths. Thin: unpack args, call hashing, store packed results."""

from __future__ import annotations

import time

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
    """Store the packed arrays beside the task result (with the count of files that are videos by content,
    when there are any: the producer sends those to video tasks); return the small summary the chord
    collects."""
    payload = result.to_wire()
    videos = int(np.count_nonzero(result.codes == FileError.VIDEO_CONTENT))
    if videos:
        payload["videos"] = videos
    store_task_data(task.backend, task.request.id, payload)
    return {"v": WIRE_VERSION, "n": len(result), "errors": int(np.count_nonzero(result.codes)) - videos}


#: A chunk is hashed in isolation (see tasks/watchdog.py) once this many attempts in a row died without
#: getting past a checkpoint: a file that crashes its process, not a process killed from outside.
ISOLATE_AFTER = 2
#: Seconds of work between two checkpoints of a chunk retried after its process died: a process killed
#: from outside (OOM killer, a node scaled down) costs at most this much of the chunk's work.
CHECKPOINT_INTERVAL = 0.25
#: Seconds before a chunk whose worker died is sent again: none, the checkpoint says where to go on.
RETRY_DELAY = 0


# No limit on worker losses: a chunk resumes where its last checkpoint stopped, and in isolation passes over a
# file at which attempts keep dying (tasks/checkpoint.py), so every loss brings it closer to its end.
@shared_task(name=CHUNK_TASK, bind=True, retry_on_worker_lost=True, max_retries=None,
             default_retry_delay=RETRY_DELAY)
def hash_chunk(self, paths_blob: str, algo: str, hash_size: int) -> dict:
    """Hash every path of the chunk with the job's algorithms (`algo`: comma-separated). Bad files become
    error codes; the result is deterministic for the same files, so a redelivered chunk stores the same data
    under the same id and counts once. A first attempt keeps its progress in memory; once it lost its process
    (a retry), the chunk checkpoints its progress every CHECKPOINT_INTERVAL and the next attempt goes on from
    there. A file that hangs records where it is, so the next attempt isolates from that file on."""
    paths = decode_paths(paths_blob)
    settings = settings_of(self.app)
    width = row_bytes(parse_algos(algo), hash_size)
    retried = bool(self.request.retries)
    progress = (checkpoint.begin(self.backend, self.request.id, len(paths), width) if retried
                else checkpoint.Checkpoint(empty_result(len(paths), width)))
    if progress.attempts >= ISOLATE_AFTER:
        return finish_chunk(self, hash_isolated(self, paths, algo, hash_size, settings, progress))
    watch = watchdog(settings.file_timeout)
    task_id = self.request.id  # the request is thread-local: the watchdog's thread has none
    watch.on_hang = lambda: _isolate_next(self.backend, task_id, progress)
    try:
        hash_files(paths, algo, hash_size, settings.allowed_roots, result=progress.result, watch=watch,
                   interrupts=(SoftTimeLimitExceeded,), start=progress.done,
                   on_file=_tracker(self, progress, CHECKPOINT_INTERVAL if retried else None))
    except SoftTimeLimitExceeded:
        # Files not yet reached (code still OK with an all-zero hash and size 0) are marked timed out.
        result = progress.result
        pending = (result.codes == FileError.OK) & (result.sizes == 0)
        result.codes[pending] = FileError.TIMEOUT
    finally:
        watch.on_hang = None
    return finish_chunk(self, progress.result)


def _tracker(task, progress: checkpoint.Checkpoint, interval: float | None):
    """An `on_file(done)` that keeps `progress` up to date and, with an `interval`, stores it at most every
    `interval` seconds."""
    last = [time.monotonic()]

    def on_file(done: int) -> None:
        progress.done = done
        if interval is not None and time.monotonic() - last[0] >= interval:
            last[0] = time.monotonic()
            progress.attempts = 0
            checkpoint.save(task.backend, task.request.id, progress)

    return on_file


def _isolate_next(backend, task_id: str, progress: checkpoint.Checkpoint) -> None:
    """Store the progress so that the next attempt (counted by checkpoint.begin) isolates at the hung file."""
    progress.attempts = ISOLATE_AFTER - 1
    checkpoint.save(backend, task_id, progress)


def hash_isolated(task, paths: list[str], algo: str, hash_size: int, settings,
                  progress: checkpoint.Checkpoint) -> ChunkResult:
    """Hash in isolation from the chunk's stored progress on, storing it after every file."""
    chunk_id = task.request.id

    def on_file(done: int) -> None:
        progress.done, progress.attempts = done, 0
        checkpoint.save(task.backend, chunk_id, progress)

    return hash_files_isolated(paths, algo, hash_size, settings.allowed_roots, settings.file_timeout,
                               result=progress.result, start=progress.done, on_file=on_file)

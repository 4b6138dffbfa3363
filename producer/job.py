"""A job: the chunked path list, the chord that hashes it, and the wait for its merged result."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Iterable

from celery import Celery, chord

from producer.follow import mark_job
from tasks.chunk import CHUNK_TASK
from tasks.errors import FileError
from tasks.merge import MERGE_TASK
from tasks.settings import DEFAULT_CHUNK_SIZE
from tasks.store import chunk_task_id, merge_task_id
from tasks.wire import encode_paths

#: A job smaller than MIN_CHUNKS x DEFAULT_CHUNK_SIZE files is cut into about this many chunks.
MIN_CHUNKS = 32
#: Smallest automatic chunk size (below it, per-task overhead starts to show).
MIN_AUTO_CHUNK = 8
#: Paths shown in a chunk's args summary (Flower shows this instead of the whole blob).
ARGS_PREVIEW = 1


@dataclasses.dataclass
class Job:
    """Paths kept as the compressed blobs that are sent (a fraction of the memory of a list of str)."""

    id: str
    algo: str
    hash_size: int
    blobs: list[str] = dataclasses.field(default_factory=list)
    counts: list[int] = dataclasses.field(default_factory=list)
    walk_errors: list[tuple[str, FileError]] = dataclasses.field(default_factory=list)
    previews: list[str] = dataclasses.field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts)

    def chunk_id(self, index: int) -> str:
        return chunk_task_id(self.id, index)

    @property
    def merge_id(self) -> str:
        return merge_task_id(self.id)


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def auto_chunk_size(files: int) -> int:
    """Chunk size for a job of `files` files: DEFAULT_CHUNK_SIZE, or less so that a small job still makes
    about MIN_CHUNKS chunks and no worker idles while another finishes a big chunk."""
    return max(MIN_AUTO_CHUNK, min(DEFAULT_CHUNK_SIZE, -(-files // MIN_CHUNKS)))


def build_job(paths: Iterable[str], algo: str, hash_size: int, chunk_size: int | None = None) -> Job:
    """Chunk `paths` (streamed: at most MIN_CHUNKS x DEFAULT_CHUNK_SIZE paths are held uncompressed).
    With no `chunk_size`, it is chosen by :func:`auto_chunk_size` from the first paths."""
    job = Job(id=new_job_id(), algo=algo, hash_size=hash_size)
    iterator = iter(paths)
    if chunk_size is None:
        head = list(itertools.islice(iterator, MIN_CHUNKS * DEFAULT_CHUNK_SIZE))
        chunk_size = auto_chunk_size(len(head))
        iterator = itertools.chain(head, iterator)
    while batch := list(itertools.islice(iterator, chunk_size)):
        job.blobs.append(encode_paths(batch))
        job.counts.append(len(batch))
        job.previews.append(batch[0])
    return job


def enqueue(app: Celery, job: Job, chunk_task: str = CHUNK_TASK):
    """Publish one chord: a hash task per chunk, then the merge. Returns the chord's AsyncResult.
    `chunk_task` is replaceable for benchmarks that measure the pipeline without decoding."""
    header = [
        app.signature(chunk_task, args=(blob, job.algo, job.hash_size)).set(
            task_id=job.chunk_id(i),
            argsrepr=f"(chunk {i}: {count} files from {job.previews[i]!r}, {job.algo}/{job.hash_size})",
        )
        for i, (blob, count) in enumerate(zip(job.blobs, job.counts, strict=True))
    ]
    mark_job(app, job.id, len(job.blobs))
    body = app.signature(MERGE_TASK, args=(job.id, len(job.blobs), job.total, job.hash_size)).set(
        task_id=job.merge_id, argsrepr=f"(job {job.id}: merge {len(header)} chunks)")
    return chord(header, body).apply_async()

"""A job: the walked paths cut into chunks (sized to the job), and the tasks that hash them."""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from producer.chunking import SMALL_JOB_FILES, Fleet, choose_chunk_size
from producer.spool import ChunkSpool, ReusedChunks
from tasks.errors import FileError
from tasks.ids import CHUNK_TASK, VIDEO_TASK, chunk_task_id, new_job_id
from tasks.image.algos import parse_algos, row_bytes
from tasks.pathblob import encode_paths, first_path

if TYPE_CHECKING:  # numpy is loaded only when an index is reused: a plain job publishes without it
    from celery import Celery

    from producer.outputs.formats import Record
    from producer.outputs.incremental import Index
    from producer.video.plan import VideoPlan
    from tasks.wire import ChunkResult


@dataclasses.dataclass
class Job:
    """Paths kept as the compressed blobs that are sent: in a file (producer/spool.py) for a job that may be
    large, in a list for a small one."""

    id: str
    algo: str
    hash_size: int
    blobs: Sequence[str] = dataclasses.field(default_factory=list)
    counts: list[int] = dataclasses.field(default_factory=list)
    walk_errors: list[tuple[str, FileError]] = dataclasses.field(default_factory=list)
    #: Chunks of files reused from an index: their packed data is stored by the producer, not hashed
    #: (a dict, or producer/spool.py's ReusedChunks for a spooled job); video tasks too, each with the
    #: payload its worker would have stored (producer/video/reuse.py).
    reused: dict[int, ChunkResult | dict] | ReusedChunks = dataclasses.field(default_factory=dict)
    #: The job's videos and their tasks (producer/video/plan.py), numbered after the image chunks.
    videos: VideoPlan | None = None
    #: Files of the image chunks that workers found to be videos by their content, added to `videos` after
    #: the chunks were in (producer/video/bycontent.py): counted there, not as images.
    content_videos: int = 0

    @property
    def algos(self) -> tuple[str, ...]:
        """The job's algorithms, primary first (`algo` holds them comma-separated)."""
        return parse_algos(self.algo)

    @property
    def remote(self) -> list[int]:
        """Indices of the chunks workers hash (image chunks, then video tasks)."""
        return [i for i in range(self.task_count) if i not in self.reused]

    @property
    def video_count(self) -> int:
        return len(self.videos.paths) if self.videos else 0

    @property
    def reused_videos(self) -> int:
        """Videos reused from an index: those of the video tasks in `reused` (producer/video/reuse.py)."""
        first = len(self.blobs)
        return sum(self.videos.finished_in(i - first) for i in self.reused if i >= first) if self.videos else 0

    @property
    def task_count(self) -> int:
        """Image chunks and video tasks: every task the window sends, each storing data under its chunk id."""
        return len(self.blobs) + (len(self.videos.tasks) if self.videos else 0)

    def task_files(self, index: int) -> int:
        """Files a task counts for progress: a chunk's images, or the videos a video task finishes."""
        return self.counts[index] if index < len(self.blobs) else self.videos.finished_in(index - len(self.blobs))

    @property
    def total(self) -> int:
        """Files of the image chunks (videos named like images included)."""
        return sum(self.counts)

    def chunk_id(self, index: int) -> str:
        return chunk_task_id(self.id, index)


def build_job(paths: Iterable[str], algo: str, hash_size: int, chunk_size: int | None = None,
              index: Index | None = None, fleet: Fleet = None, spool_dir: str | None = None) -> Job:
    """Chunk `paths` (streamed: at most SMALL_JOB_FILES paths are held uncompressed). With no
    `chunk_size`, it is chosen by producer/chunking.py from the first paths and the `fleet`'s size
    (pool processes, or a function that asks the workers). With an `index`,
    files unchanged since it was written go into reused chunks that carry their old hash. With a
    `spool_dir`, the chunks' blobs go to the file `<job id>.chunks` there instead of memory."""
    job = Job(id=new_job_id(), algo=",".join(parse_algos(algo)), hash_size=hash_size)
    if spool_dir is not None:
        job.blobs = ChunkSpool.create(os.path.join(spool_dir, f"{job.id}.chunks"))
        job.reused = ReusedChunks.create(os.path.join(spool_dir, f"{job.id}.reused"),
                                         row_bytes(job.algos, hash_size))
    iterator = iter(paths)
    if chunk_size is None:
        head = list(itertools.islice(iterator, SMALL_JOB_FILES))
        chunk_size = choose_chunk_size(head, len(head) < SMALL_JOB_FILES, fleet)
        iterator = itertools.chain(head, iterator)
    fresh: list[str] = []
    reused: list[tuple[str, Record]] = []
    for path in iterator:
        old = index.unchanged(path) if index is not None else None
        if old is None:
            fresh.append(path)
            if len(fresh) == chunk_size:
                _add_chunk(job, fresh)
                fresh = []
        else:
            reused.append((path, old))
            if len(reused) == chunk_size:
                _add_reused_chunk(job, reused)
                reused = []
    for batch, add in ((fresh, _add_chunk), (reused, _add_reused_chunk)):
        if batch:
            add(job, batch)
    if isinstance(job.blobs, ChunkSpool):
        job.blobs.close()
        job.reused.close()
    return job


def _add_chunk(job: Job, paths: list[str]) -> None:
    job.blobs.append(encode_paths(paths))
    job.counts.append(len(paths))


def _add_reused_chunk(job: Job, reused: list[tuple[str, Record]]) -> None:
    """A chunk already hashed: every hash, size, mtime, quality and dimensions as the index has them
    (the file was just checked unchanged)."""
    from tasks.wire import NO_QUALITY, empty_result

    paths = [p for p, _ in reused]
    result = empty_result(len(paths), row_bytes(job.algos, job.hash_size))
    for i, (_path, r) in enumerate(reused):
        quality = NO_QUALITY if r.quality is None else r.quality
        result.put(i, bytes.fromhex(r.hash + "".join(r.more)), 0, r.size, r.mtime, quality, r.width or 0,
                   r.height or 0)
    job.reused[len(job.blobs)] = result
    _add_chunk(job, paths)


def send_chunks(app: Celery, job: Job, chunks: list[int], chunk_task: str = CHUNK_TASK) -> None:
    """Publish a task per chunk number in `chunks` (one producer connection for them all): an image chunk's
    hash task, or for a number from len(job.blobs) on, that video task. Plain tasks, no chord: the producer
    that follows the job counts them in (producer/follow.py) and merges locally. `chunk_task` (image chunks
    only) is replaceable for benchmarks that measure the pipeline without decoding."""
    with app.producer_or_acquire() as producer:
        for index in chunks:
            _chunk_signature(app, job, index, chunk_task).apply_async(producer=producer, add_to_parent=False)


def _chunk_signature(app: Celery, job: Job, index: int, chunk_task: str):
    if index >= len(job.blobs):
        task = index - len(job.blobs)
        return app.signature(VIDEO_TASK, args=(job.videos.segments(task), job.videos.fps)).set(
            task_id=job.chunk_id(index), argsrepr=job.videos.describe(task))
    blob = job.blobs[index]
    return app.signature(chunk_task, args=(blob, job.algo, job.hash_size)).set(
        task_id=job.chunk_id(index),
        argsrepr=f"(chunk {index}: {job.counts[index]} files from {first_path(blob)!r}, {job.algo}/{job.hash_size})")

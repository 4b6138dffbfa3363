"""How many files go into one chunk task, when the user has not fixed it (--chunk-size, HASHFLEET_CHUNK_SIZE).

Every chunk costs the same whatever it holds: CHUNK_OVERHEAD_S of Celery round trips on a worker (below,
the one place that figure is stated) and ~0.5-1 ms of CPU on the broker and the result backend
(docs/scaling.md). The policy keeps that cost small against the
files' own work, from an estimate of the cost per file (the mean size of a sample of the first paths) and
the size of the fleet (pool processes hashing the job):

(a) a chunk holds at least MIN_CHUNK_SECONDS of work, so the per-chunk cost on a worker stays under
    OVERHEAD_SHARE of it;
(b) the fleet, kept busy, asks for at most BROKER_SHARE of the chunks per second one broker carries
    (BROKER_CHUNKS_PER_S, measured in docs/scaling.md);
(c) there are still enough chunks for load balance: a job known to be small is cut into about
    CHUNKS_PER_PROCESS chunks per process (at least MIN_CHUNKS) and chunks stay at DEFAULT_CHUNK_SIZE or
    less; a large job's chunk holds at most MAX_CHUNK_SECONDS of work, and never more than MAX_CHUNK_SIZE
    files (the size of the task message and of its result).

A large job starts from DEFAULT_CHUNK_SIZE and only gets bigger chunks when (a) or (b) asks for them:
cheap (tiny) files, many worker processes. Sizes are a local file's stat or an s3:// object's listed Size
(producer/listed.py). Without a size estimate (paths that cannot be stat'ed), it keeps DEFAULT_CHUNK_SIZE.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from producer.listed import size_and_mtime
from tasks.settings import DEFAULT_CHUNK_SIZE

#: A job smaller than this many files is "small": all of it is known before it is cut.
SMALL_JOB_FILES = 32 * DEFAULT_CHUNK_SIZE
#: A small job is cut into at least about this many chunks (every worker of a host gets a share).
MIN_CHUNKS = 32
#: With the fleet's size known, a small job gives each pool process about this many chunks.
CHUNKS_PER_PROCESS = 4
#: Smallest automatic chunk size (below it, per-task overhead starts to show).
MIN_AUTO_CHUNK = 8
#: Largest automatic chunk size: a 4,096-path message is ~40-100 kB compressed, its result ~100 kB, and
#: the broker's cost per chunk is still mostly fixed there (docs/scaling.md: 470 us + 0.14 us per file).
MAX_CHUNK_SIZE = 4096
#: Seconds of Celery round trips a chunk costs a worker on top of its files: the pipeline without decoding
#: took 1.50-2.32 ms per chunk end to end (bench/RESULTS.md, "Current state", `bench.synthetic`), rounded up.
CHUNK_OVERHEAD_S = 2.4e-3
#: (a) Largest share of a chunk's time that may go to that per-chunk overhead.
OVERHEAD_SHARE = 0.02
#: (a) So a chunk should hold at least this much hashing (seconds).
MIN_CHUNK_SECONDS = CHUNK_OVERHEAD_S / OVERHEAD_SHARE
#: (b) Chunks per second one broker core carries: the lower of Redis as broker and backend (1,543-2,155
#: chunks/s) and RabbitMQ as broker with Redis as backend (docs/scaling.md), rounded down.
BROKER_CHUNKS_PER_S = 1000
#: (b) Largest share of that ceiling one fleet's busy chunk rate may take (room for other jobs, the
#: producer's polling, and the spread of the per-file estimate).
BROKER_SHARE = 0.25
#: (c) Most estimated seconds of work in one chunk of a large job (its tail, and what a lost worker redoes).
MAX_CHUNK_SECONDS = 2.0
#: Cheapest hashing cost seen per file and per byte (2 MP camera JPEGs decoded at 1/8: ~4 ms for 0.5 MB;
#: thumbnails ~0.7 ms for 46 kB); PNG and WebP cost more per byte, so the estimate errs towards cheap
#: files: smaller chunks for (a), bigger ones for (b), which protects the broker.
COST_PER_FILE = 0.3e-3
COST_PER_BYTE = 7.5e-9
#: Files whose sizes are read to estimate the cost per file (spread over the first paths).
SIZE_SAMPLE = 256

#: The fleet's pool processes: a number, a function asked only for a large job (it may take a while),
#: or None when unknown.
Fleet = int | Callable[[], "int | None"] | None


def cost_per_file(mean_bytes: float) -> float:
    """Estimated worker seconds to read, decode and hash one file of `mean_bytes`."""
    return COST_PER_FILE + COST_PER_BYTE * mean_bytes


def chunk_size_for(files: int, complete: bool, mean_bytes: float | None = None,
                   processes: int | None = None) -> int:
    """Files per chunk for a job of `files` files (all of them if `complete`, else only the first ones of a
    large job), of `mean_bytes` each on average (None: unknown), hashed by `processes` pool processes
    (None: unknown). Pure: rules (a), (b), (c) of this module's docstring."""
    cost = cost_per_file(mean_bytes) if mean_bytes else None
    if complete:
        chunks = max(MIN_CHUNKS, CHUNKS_PER_PROCESS * processes) if processes else MIN_CHUNKS
        by_count = -(-files // chunks)
        by_cost = int(MIN_CHUNK_SECONDS / cost) + 1 if cost else MIN_AUTO_CHUNK
        return max(MIN_AUTO_CHUNK, min(DEFAULT_CHUNK_SIZE, max(by_count, by_cost)))
    if cost is None:
        return DEFAULT_CHUNK_SIZE
    wanted = max(DEFAULT_CHUNK_SIZE, -(-MIN_CHUNK_SECONDS // cost))
    if processes:
        wanted = max(wanted, -(-processes // (cost * BROKER_SHARE * BROKER_CHUNKS_PER_S)))
    limit = max(DEFAULT_CHUNK_SIZE, min(MAX_CHUNK_SIZE, int(MAX_CHUNK_SECONDS / cost)))
    return int(min(wanted, limit))


def mean_file_size(paths: Sequence[str], sample: int = SIZE_SAMPLE) -> float | None:
    """Mean size of up to `sample` of `paths`, spread evenly (one stat each, none for a listed object); None
    if none is known."""
    step = max(1, len(paths) // sample)
    sizes = [known[0] for known in map(size_and_mtime, paths[::step][:sample]) if known is not None]
    return sum(sizes) / len(sizes) if sizes else None


def choose_chunk_size(head: Sequence[str], complete: bool, fleet: Fleet = None) -> int:
    """Chunk size for a job whose first paths are `head` (all of them if `complete`): sizes sampled from
    `head`; `fleet` asked for its size when it is a function only if the job is large."""
    if callable(fleet):
        fleet = None if complete else fleet()
    return chunk_size_for(len(head), complete, mean_file_size(head), fleet)

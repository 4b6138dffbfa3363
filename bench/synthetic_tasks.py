"""A chunk task that skips reading and decoding, for measuring the pipeline itself (queue, merge, outputs).

Loaded by the benchmark's worker with `--include bench.synthetic_tasks` (worker/local.py). It returns the
same wire format as the real task: a made-up hash per path (a crc of the path, so some collide when
`DUPLICATE_EVERY` paths share a name) and the error code OK.
"""

from __future__ import annotations

import os
import zlib

import numpy as np
from celery import shared_task

from tasks.chunk import finish_chunk
from tasks.pathblob import decode_paths
from tasks.wire import ChunkResult

SYNTHETIC_TASK = "hashfleet.bench_synthetic_chunk"
#: Fake file size reported for every path.
FAKE_SIZE = 123_456


@shared_task(name=SYNTHETIC_TASK, bind=True)
def synthetic_chunk(self, paths_blob: str, algo: str, hash_size: int) -> dict:
    paths = decode_paths(paths_blob)
    crcs = np.array([zlib.crc32(os.fsencode(os.path.basename(p))) for p in paths], dtype=">u8")
    hashes = crcs.view(np.uint8).reshape(len(paths), 8)
    result = ChunkResult(hashes=np.ascontiguousarray(hashes), codes=np.zeros(len(paths), np.uint8),
                         sizes=np.full(len(paths), FAKE_SIZE, np.uint32))
    return finish_chunk(self, result)

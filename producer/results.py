"""Turn a job and its merged result into per-file records and duplicate groups (paths re-attached).

Per-file data is streamed from the result backend chunk by chunk, so writing a million records holds one
batch of chunks in memory, not the whole index.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator

import numpy as np

from producer.job import Job
from producer.output import Record
from tasks.algos import hash_bytes
from tasks.errors import FileError
from tasks.merge import unpack_groups
from tasks.pathblob import decode_paths
from tasks.store import iter_chunk_data
from tasks.wire import ChunkResult

#: Error code -> reason slug ('' for OK), indexed by the code byte.
REASONS = [FileError(code).reason if code in FileError._value2member_map_ else f"code-{code}"
           for code in range(256)]


@dataclasses.dataclass
class JobResult:
    job: Job
    backend: object | None  # where the chunks' packed data is stored (None for an empty job)
    chunk_keys: list[str]
    groups: list[np.ndarray]
    #: Errors by reason, counted while :meth:`records` streams (complete once it has run to the end).
    error_counts: Counter = dataclasses.field(default_factory=Counter)

    @classmethod
    def from_payload(cls, job: Job, payload: dict | None, backend=None) -> JobResult:
        if payload is None:  # a job with no files to hash
            return cls(job, None, [], [])
        if payload["files"] != job.total:
            raise ValueError(f"merged result has {payload['files']} files, the job has {job.total}")
        return cls(job, backend, payload["chunks"], unpack_groups(payload["groups"]))

    def chunks(self) -> Iterator[tuple[list[str], ChunkResult]]:
        """(paths, packed results) per chunk, in job order."""
        width = hash_bytes(self.job.hash_size)
        payloads = iter_chunk_data(self.backend, self.chunk_keys) if self.chunk_keys else iter(())
        for blob, payload in zip(self.job.blobs, payloads, strict=True):
            yield decode_paths(blob), ChunkResult.from_wire(payload, width)

    def records(self) -> Iterator[Record]:
        """One record per input file: chunk files in walk order, then folders that could not be listed."""
        self.error_counts.clear()
        for paths, chunk in self.chunks():
            hexes = [h.tobytes().hex() for h in chunk.hashes]
            columns = (paths, hexes, chunk.codes.tolist(), chunk.sizes.tolist(), chunk.mtimes.tolist())
            for path, hex_hash, code, size, mtime in zip(*columns, strict=True):
                ok = code == FileError.OK
                reason = REASONS[code]
                if not ok:
                    self.error_counts[reason] += 1
                yield Record(path, hex_hash if ok else "", reason, size if size or ok else None,
                             mtime if size or ok else None)
        for path, code in self.job.walk_errors:
            self.error_counts[code.reason] += 1
            yield Record(path, "", code.reason, None)

    def group_paths(self) -> dict[str, list[str]]:
        """{hash hex: [paths]} for every hash shared by two or more files (one more streaming pass)."""
        if not self.groups:
            return {}
        wanted = np.sort(np.concatenate(self.groups))
        found: dict[int, tuple[str, str]] = {}
        offset = 0
        for paths, chunk in self.chunks():
            lo, hi = np.searchsorted(wanted, [offset, offset + len(paths)])
            for index in wanted[lo:hi].tolist():
                found[index] = (paths[index - offset], chunk.hashes[index - offset].tobytes().hex())
            offset += len(paths)
        return {found[int(g[0])][1]: [found[int(i)][0] for i in g] for g in self.groups}

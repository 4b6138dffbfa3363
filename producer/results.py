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
from tasks.algos import algo_bytes, row_bytes
from tasks.errors import FileError
from tasks.pathblob import decode_paths
from tasks.store import iter_chunk_data
from tasks.wire import NO_QUALITY, ChunkResult, unpack_groups

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
    #: Group members (file index -> (path, hash hex)), picked out while :meth:`records` streams.
    _members: dict[int, tuple[str, str]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_payload(cls, job: Job, payload: dict | None, backend=None) -> JobResult:
        if payload is None:  # a job with no files to hash
            return cls(job, None, [], [])
        if payload["files"] != job.total:
            raise ValueError(f"merged result has {payload['files']} files, the job has {job.total}")
        return cls(job, backend, payload["chunks"], unpack_groups(payload["groups"]))

    def chunks(self) -> Iterator[tuple[list[str], ChunkResult]]:
        """(paths, packed results) per chunk, in job order."""
        width = row_bytes(self.job.algos, self.job.hash_size)
        payloads = iter_chunk_data(self.backend, self.chunk_keys) if self.chunk_keys else iter(())
        for blob, payload in zip(self.job.blobs, payloads, strict=True):
            yield decode_paths(blob), ChunkResult.from_wire(payload, width)

    def records(self) -> Iterator[Record]:
        """One record per input file: chunk files in walk order, then folders that could not be listed.
        The same pass picks out the members of the duplicate groups (see :meth:`group_paths`)."""
        self.error_counts.clear()
        wanted = np.sort(np.concatenate(self.groups)) if self.groups else np.zeros(0, np.uint64)
        self._members = {}
        offset = 0
        edges = np.cumsum([0] + [2 * algo_bytes(a, self.job.hash_size) for a in self.job.algos]).tolist()
        step, further = edges[1], list(zip(edges[1:-1], edges[2:], strict=True))
        for paths, chunk in self.chunks():
            rows = [h.tobytes().hex() for h in chunk.hashes]
            lo, hi = np.searchsorted(wanted, [offset, offset + len(paths)])
            for index in wanted[lo:hi].tolist():
                self._members[index] = (paths[index - offset], rows[index - offset][:step])
            offset += len(paths)
            columns = (paths, rows, chunk.codes.tolist(), chunk.sizes.tolist(), chunk.mtimes.tolist(),
                       chunk.quality.tolist(), chunk.widths.tolist(), chunk.heights.tolist())
            for path, row, code, size, mtime, quality, width, height in zip(*columns, strict=True):
                reason = REASONS[code]
                if code != FileError.OK:
                    self.error_counts[reason] += 1
                    yield Record(path, "", reason, size or None, mtime if size else None,
                                 tuple("" for _ in further))
                    continue
                more = tuple(row[lo:hi] for lo, hi in further)
                yield Record(path, row[:step], reason, size, mtime, more, None if quality == NO_QUALITY else quality,
                             width or None, height or None)
        for path, code in self.job.walk_errors:
            self.error_counts[code.reason] += 1
            yield Record(path, "", code.reason, None, None, tuple("" for _ in range(len(self.job.algos) - 1)))

    def group_paths(self) -> dict[str, list[str]]:
        """{hash hex: [paths]} for every hash shared by two or more files, from what :meth:`records` picked
        out on its way (run through the records once more only if they were not all read)."""
        if not self.groups:
            return {}
        if len(self._members) < sum(len(g) for g in self.groups):
            for _ in self.records():
                pass
        found = self._members
        return {found[int(g[0])][1]: [found[int(i)][0] for i in g] for g in self.groups}

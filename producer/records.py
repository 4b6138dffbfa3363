"""Turn a job and its merged payload into per-file records and duplicate groups (paths re-attached)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from producer.job import Job
from tasks.dhash import hash_bytes
from tasks.errors import FileError
from tasks.wire import ChunkResult, decode_paths


@dataclasses.dataclass(frozen=True)
class Record:
    path: str
    hash: str  # hex, '' when not hashed
    error: str  # '' when hashed, else a short reason slug
    size: int | None


@dataclasses.dataclass
class JobResult:
    job: Job
    merged: ChunkResult
    groups: list[list[int]]

    @classmethod
    def from_payload(cls, job: Job, payload: dict | None) -> JobResult:
        if payload is None:  # a job with no files to hash
            width = hash_bytes(job.hash_size)
            empty = ChunkResult(np.zeros((0, width), np.uint8), np.zeros(0, np.uint8), np.zeros(0, "<u4"))
            return cls(job, empty, [])
        merged = ChunkResult.from_wire(payload, hash_bytes(job.hash_size))
        if len(merged) != job.total:
            raise ValueError(f"merged result has {len(merged)} files, the job has {job.total}")
        return cls(job, merged, payload["groups"])

    def records(self) -> Iterator[Record]:
        """One record per input file: chunk files in walk order, then folders that could not be listed."""
        offset = 0
        for blob in self.job.blobs:
            paths = decode_paths(blob)
            hashes = self.merged.hashes[offset:offset + len(paths)]
            codes = self.merged.codes[offset:offset + len(paths)]
            sizes = self.merged.sizes[offset:offset + len(paths)]
            for path, packed, code, size in zip(paths, hashes, codes, sizes, strict=True):
                ok = code == FileError.OK
                yield Record(path, packed.tobytes().hex() if ok else "", FileError(code).reason,
                             int(size) if size or ok else None)
            offset += len(paths)
        for path, code in self.job.walk_errors:
            yield Record(path, "", code.reason, None)

    def group_paths(self) -> dict[str, list[str]]:
        """{hash hex: [paths]} for every hash shared by two or more files."""
        wanted = {index for group in self.groups for index in group}
        paths = {}
        offset = 0
        for blob in self.job.blobs:
            chunk_paths = decode_paths(blob)
            for j, path in enumerate(chunk_paths):
                if offset + j in wanted:
                    paths[offset + j] = path
            offset += len(chunk_paths)
        return {self.merged.hashes[g[0]].tobytes().hex(): [paths[i] for i in g] for g in self.groups}

    def error_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for code, n in zip(*np.unique(self.merged.codes, return_counts=True), strict=True):
            if code != FileError.OK:
                counts[FileError(code).reason] = int(n)
        for _, code in self.job.walk_errors:
            counts[code.reason] = counts.get(code.reason, 0) + 1
        return counts

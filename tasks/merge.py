"""The chord callback: merge chunk results into exact-duplicate groups, streaming the packed data.

The chord hands over only per-chunk summaries; the packed hashes are streamed from the result backend a
batch at a time into one (files x hash bytes) array, the only per-file memory the merge holds. Paths never
travel here: groups are global file indices, which the producer (holding the path list) turns into paths.
"""

from __future__ import annotations

import numpy as np
from celery import shared_task

from tasks.algos import algo_bytes, parse_algos, row_bytes
from tasks.app import settings_of
from tasks.errors import FileError
from tasks.ids import MERGE_TASK, job_data_ids
from tasks.store import FETCH_TIMEOUT, iter_chunk_data
from tasks.wire import WIRE_VERSION, ChunkResult, pack_groups


def duplicate_groups(hashes: np.ndarray, codes: np.ndarray) -> list[np.ndarray]:
    """Indices of hashed files sharing a hash with at least one other, one array per hash.

    Vectorised: hashes are compared as fixed-width byte strings (np.void) and sorted once.
    Groups and their members come in file order.
    """
    ok = np.flatnonzero(codes == FileError.OK)
    if ok.size < 2:
        return []
    keys = np.ascontiguousarray(hashes[ok]).view(np.dtype((np.void, hashes.shape[1]))).ravel()
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    counts = np.diff(np.r_[starts, len(sorted_keys)])
    groups = [ok[order[s:s + c]] for s, c in zip(starts, counts, strict=True) if c > 1]
    groups.sort(key=lambda g: g[0])
    return groups


def collect(backend, keys: list[str], total: int, width: int, primary: int | None = None,
            timeout: float = FETCH_TIMEOUT) -> tuple[np.ndarray, np.ndarray]:
    """Stream every chunk's packed data (`width` bytes of hashes per file) into one array of each file's
    first `primary` hash bytes (default: all) and one code array, in file order."""
    primary = width if primary is None else primary
    hashes = np.zeros((total, primary), np.uint8)
    codes = np.zeros(total, np.uint8)
    offset = 0
    for payload in iter_chunk_data(backend, keys, timeout=timeout):
        chunk = ChunkResult.from_wire(payload, width)
        hashes[offset:offset + len(chunk)] = chunk.hashes[:, :primary]
        codes[offset:offset + len(chunk)] = chunk.codes
        offset += len(chunk)
    if offset != total:
        raise ValueError(f"chunks hold {offset} files, the job has {total}")
    return hashes, codes


@shared_task(name=MERGE_TASK, bind=True)
def merge(self, summaries: list[dict], job_id: str, chunks: int, total: int, hash_size: int, algo: str) -> dict:
    """Chord callback: exact-duplicate groups on the job's primary (first) hash, as file indices, and
    totals; per-file data stays in the store.

    The chunk list is derived from the job id, not from `summaries`: if a redelivered chunk ever made the
    chord fire with one summary twice and another missing, the merge still reads every chunk once and
    waits (up to the visibility timeout) for data not stored yet.
    """
    for summary in summaries:
        if summary.get("v") != WIRE_VERSION:
            raise ValueError(f"chunk summary version {summary.get('v')!r}, expected {WIRE_VERSION}")
    keys = job_data_ids(job_id, chunks)
    wait = settings_of(self.app).visibility_timeout + FETCH_TIMEOUT
    algos = parse_algos(algo)
    hashes, codes = collect(self.backend, keys, total, row_bytes(algos, hash_size), algo_bytes(algos[0], hash_size),
                            timeout=wait)
    groups = duplicate_groups(hashes, codes)
    return {"v": WIRE_VERSION, "files": total, "errors": int(np.count_nonzero(codes)),
            "groups": pack_groups(groups), "chunks": keys}

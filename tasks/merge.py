"""The chord callback: merge chunk results into one index (hashes, codes, sizes, exact-duplicate groups).

Pure merge first (:func:`merge_chunks`), then the thin task. Paths never travel here: groups are lists of
global file indices, which the producer (that holds the path list) turns into paths.
"""

from __future__ import annotations

import numpy as np
from celery import shared_task

from tasks.dhash import hash_bytes
from tasks.errors import FileError
from tasks.wire import WIRE_VERSION, ChunkResult

#: Task name shown in Flower.
MERGE_TASK = "hashfleet.merge"


def merge_chunks(chunks: list[ChunkResult]) -> ChunkResult:
    """Concatenate chunk results in chunk order."""
    return ChunkResult(
        hashes=np.concatenate([c.hashes for c in chunks]),
        codes=np.concatenate([c.codes for c in chunks]),
        sizes=np.concatenate([c.sizes for c in chunks]),
    )


def duplicate_groups(merged: ChunkResult) -> list[list[int]]:
    """Indices of hashed files sharing a hash with at least one other, one list per hash.

    Vectorised: hashes are compared as fixed-width byte strings (np.void) and sorted once.
    Groups and their members come in file order.
    """
    ok = np.flatnonzero(merged.codes == FileError.OK)
    if ok.size < 2:
        return []
    keys = np.ascontiguousarray(merged.hashes[ok]).view(np.dtype((np.void, merged.hashes.shape[1]))).ravel()
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    counts = np.diff(np.r_[starts, len(sorted_keys)])
    groups = [ok[order[s:s + c]].tolist() for s, c in zip(starts, counts, strict=True) if c > 1]
    groups.sort(key=lambda g: g[0])
    return groups


@shared_task(name=MERGE_TASK)
def merge(chunk_payloads: list[dict], hash_size: int) -> dict:
    """Chord callback: one packed index plus the duplicate groups (as file indices)."""
    width = hash_bytes(hash_size)
    merged = merge_chunks([ChunkResult.from_wire(p, width) for p in chunk_payloads])
    payload = merged.to_wire()
    payload["groups"] = duplicate_groups(merged)
    payload["v"] = WIRE_VERSION
    return payload

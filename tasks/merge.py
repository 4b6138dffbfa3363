"""The chord callback: merge chunk results into exact-duplicate groups, streaming the packed data.

The chord hands over only per-chunk summaries; the packed hashes are streamed from the result backend a
batch at a time into tasks/exactgroups.py, which groups them through files in a temporary directory on
the worker, so the merge's memory does not grow with the job. Paths never travel here: group members are
global file indices, stored back in pages that the producer (holding the path list) reads in file order.
"""

from __future__ import annotations

import tempfile

import numpy as np
from celery import shared_task

from tasks.errors import FileError
from tasks.exactgroups import GroupBuilder
from tasks.ids import MERGE_TASK, group_page_id, job_data_ids
from tasks.image.algos import algo_bytes, parse_algos, row_bytes
from tasks.settings import settings_of
from tasks.store import FETCH_TIMEOUT, iter_stored_data, store_data
from tasks.wire import WIRE_VERSION, ChunkResult, pack_members


def group_chunks(payloads, width: int, primary: int, total: int, workdir: str) -> tuple[GroupBuilder, int]:
    """Feed every chunk's packed data (`width` bytes of hashes per file, the first `primary` of which are
    compared) into a :class:`GroupBuilder` in `workdir`, finished; also returns the count of error records."""
    builder = GroupBuilder(workdir, primary)
    offset = errors = 0
    for payload in payloads:
        chunk = ChunkResult.from_wire(payload, width)
        hashed = chunk.codes == FileError.OK
        builder.add(chunk.hashes, hashed, offset)
        errors += len(chunk) - int(np.count_nonzero(hashed))
        offset += len(chunk)
    if offset != total:
        raise ValueError(f"chunks hold {offset} files, the job has {total}")
    builder.finish()
    return builder, errors


@shared_task(name=MERGE_TASK, bind=True)
def merge(self, summaries: list[dict], job_id: str, chunks: int, total: int, hash_size: int, algo: str) -> dict:
    """Chord callback: exact-duplicate groups on the job's primary (first) hash, stored as pages of
    (file index, group's first file index), and totals; per-file data stays in the store.

    The chunk list is derived from the job id, not from `summaries`: if a redelivered chunk ever made the
    chord fire with one summary twice and another missing, the merge still reads every chunk once and
    waits (up to the visibility timeout) for data not stored yet. A redelivered merge stores the same
    pages under the same ids.
    """
    for summary in summaries:
        if summary.get("v") != WIRE_VERSION:
            raise ValueError(f"chunk summary version {summary.get('v')!r}, expected {WIRE_VERSION}")
    wait = settings_of(self.app).visibility_timeout + FETCH_TIMEOUT
    algos = parse_algos(algo)
    payloads = iter_stored_data(self.backend, job_data_ids(job_id, chunks), timeout=wait)
    with tempfile.TemporaryDirectory(prefix=f"hashfleet-merge-{job_id}-") as workdir:
        builder, errors = group_chunks(payloads, row_bytes(algos, hash_size), algo_bytes(algos[0], hash_size),
                                       total, workdir)
        pages = []
        for number, members in builder.pages():
            store_data(self.backend, group_page_id(job_id, number), pack_members(members))
            pages.append(number)
    return {"v": WIRE_VERSION, "files": total, "errors": errors, "groups": builder.groups,
            "duplicates": builder.members, "pages": pages}

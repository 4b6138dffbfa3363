"""Merge a job's chunk results into exact-duplicate groups, a chunk at a time.

The producer that followed the job runs this over the chunk results it drained out of the result backend
(producer/drained.py): the data is merged where it already is, so the broker never holds a whole job's.
Grouping goes through files in a temporary directory (producer/merge/exactgroups.py), so memory does not grow with
the job; group members are global file indices, read back in pages in file order.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from producer.merge.exactgroups import GroupBuilder
from tasks.errors import FileError
from tasks.wire import ChunkResult


def group_results(results: Iterable[ChunkResult], primary: int, total: int, workdir: str) -> tuple[GroupBuilder, int]:
    """Feed every chunk's result, in chunk order (the first `primary` bytes of each file's hashes are
    compared), into a :class:`GroupBuilder` in `workdir`, finished; also returns the count of error records."""
    builder = GroupBuilder(workdir, primary)
    offset = errors = 0
    for chunk in results:
        hashed = chunk.codes == FileError.OK
        builder.add(chunk.hashes, hashed, offset)
        errors += len(chunk) - int(np.count_nonzero(hashed))
        offset += len(chunk)
    if offset != total:
        raise ValueError(f"chunks hold {offset} files, the job has {total}")
    builder.finish()
    return builder, errors

"""Turn a job and its merged result into per-file records and duplicate groups (paths re-attached).

Per-file data is streamed from the result backend chunk by chunk, and so are the merge's pages of group
members, so writing millions of records holds one batch of chunks in memory, not the whole index. Group
members met on the way go to a temporary table on disk (producer/outputs/groupsink.py) that hands them out grouped.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from producer.job import Job
from producer.outputs.formats import Record
from producer.outputs.groupsink import GroupSink
from tasks.errors import FileError
from tasks.ids import group_page_id, job_data_ids
from tasks.image.algos import algo_bytes, row_bytes
from tasks.pathblob import decode_paths
from tasks.store import iter_stored_data
from tasks.wire import MEMBER_DTYPE, NO_QUALITY, ChunkResult, unpack_members

if TYPE_CHECKING:
    from tasks.video.frames import IndexedVideo

#: Error code -> reason slug ('' for OK), indexed by the code byte.
REASONS = [FileError(code).reason if code in FileError._value2member_map_ else f"code-{code}"
           for code in range(256)]


@dataclasses.dataclass
class JobResult:
    job: Job
    backend: object | None  # where the chunks' packed data is stored (None for an empty job)
    #: Exact-duplicate groups, and the files in them, as the merge counted them.
    group_count: int = 0
    duplicate_files: int = 0
    #: Numbers of the merge's stored pages of group members.
    pages: list[int] = dataclasses.field(default_factory=list)
    #: Errors by reason, counted while :meth:`records` streams (complete once it has run to the end).
    error_counts: Counter = dataclasses.field(default_factory=Counter)
    _sink: GroupSink | None = None
    _complete: bool = False

    @classmethod
    def from_payload(cls, job: Job, payload: dict | None, backend=None) -> JobResult:
        if payload is None:  # a job with no files to hash
            return cls(job, None)
        if payload["files"] != job.total:
            raise ValueError(f"merged result has {payload['files']} files, the job has {job.total}")
        return cls(job, backend, payload["groups"], payload["duplicates"], payload["pages"])

    def chunks(self) -> Iterator[tuple[list[str], ChunkResult]]:
        """(paths, packed results) per chunk, in job order."""
        width = row_bytes(self.job.algos, self.job.hash_size)
        keys = job_data_ids(self.job.id, len(self.job.blobs)) if self.backend is not None else []
        for blob, payload in zip(self.job.blobs, iter_stored_data(self.backend, keys), strict=True):
            yield decode_paths(blob), ChunkResult.from_wire(payload, width)

    def members(self) -> Iterator[np.ndarray]:
        """The merge's pages of group members (MEMBER_DTYPE rows), in file order."""
        keys = [group_page_id(self.job.id, page) for page in self.pages]
        for payload in iter_stored_data(self.backend, keys):
            yield unpack_members(payload)

    def records(self) -> Iterator[Record]:
        """One record per input file: chunk files in walk order, then folders that could not be listed.
        The same pass gathers the members of the duplicate groups (see :meth:`group_paths`)."""
        self.error_counts.clear()
        self._open_sink()
        members = _MemberCursor(self.members())
        offset = 0
        edges = np.cumsum([0] + [2 * algo_bytes(a, self.job.hash_size) for a in self.job.algos]).tolist()
        step, further = edges[1], list(zip(edges[1:-1], edges[2:], strict=True))
        for paths, chunk in self.chunks():
            rows = [h.tobytes().hex() for h in chunk.hashes]
            found = members.upto(offset + len(paths))
            if found.size:
                self._sink.add((first, index, paths[index - offset], rows[index - offset][:step])
                               for index, first in zip(found["index"].tolist(), found["first"].tolist(), strict=True))
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
        for video, record in self._videos():
            if record.code != FileError.OK:
                self.error_counts[video.error] += 1
            yield Record(video.path, "", video.error, record.size or None, record.mtime if record.size else None,
                         tuple("" for _ in further), None, video.width or None, video.height or None, "video")
        for path, code in self.job.walk_errors:
            self.error_counts[code.reason] += 1
            yield Record(path, "", code.reason, None, None, tuple("" for _ in range(len(self.job.algos) - 1)))
        self._complete = True

    def videos(self) -> Iterator[IndexedVideo]:
        """Every video of the job with its sampled frames in time order, in walk order (after the images:
        producer/outputs/videoresults.py)."""
        return (video for video, _ in self._videos())

    def _videos(self):
        if self.backend is None or not self.job.videos:
            return iter(())
        from producer.outputs.videoresults import job_videos

        return job_videos(self.job, self.backend)

    def group_paths(self) -> Iterator[tuple[str, Iterator[str]]]:
        """(hash hex, paths in file order) for every hash shared by two or more files, in the order of each
        group's first file, from what :meth:`records` gathered on its way (run through the records once more
        only if they were not all read)."""
        if not self.group_count:
            return
        if not self._complete:
            for _ in self.records():
                pass
        yield from self._sink.groups()

    def close(self) -> None:
        """Remove the temporary table of group members."""
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def _open_sink(self) -> None:
        self.close()
        self._complete = False
        if self.group_count:
            self._sink = GroupSink()


class _MemberCursor:
    """Hands out group members page by page, in file order, as the records reach them."""

    def __init__(self, pages: Iterator[np.ndarray]):
        self.pages = pages
        self.held = np.zeros(0, MEMBER_DTYPE)

    def upto(self, end: int) -> np.ndarray:
        """Members with a file index below `end` not handed out yet."""
        parts = []
        while True:
            cut = int(np.searchsorted(self.held["index"], end))
            parts.append(self.held[:cut])
            if cut < self.held.size:
                self.held = self.held[cut:]
                break
            self.held = next(self.pages, None)
            if self.held is None:
                self.held = np.zeros(0, MEMBER_DTYPE)
                break
        return np.concatenate(parts)

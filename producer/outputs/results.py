"""Turn a job's drained chunk results into exact-duplicate groups, per-file records and groups of paths (and
its videos, from its video tasks' drained results: producer/outputs/videoresults.py).

Per-file data is read from the drained results (producer/drained.py) chunk by chunk, and so are the merge's
pages of group members (producer/merge/groups.py), so writing millions of records holds one chunk in memory, not the
whole index. Group members met on the way go to a temporary table on disk (producer/outputs/groupsink.py)
that hands them out grouped.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from producer.drained import DrainedResults
from producer.job import Job
from producer.merge.exactgroups import MEMBER_DTYPE, GroupBuilder
from producer.merge.groups import group_results
from producer.outputs.formats import Record
from producer.outputs.groupsink import GroupSink
from tasks.errors import FileError
from tasks.image.algos import algo_bytes, row_bytes
from tasks.pathblob import decode_paths
from tasks.wire import NO_QUALITY, ChunkResult

if TYPE_CHECKING:
    from tasks.video.frames import IndexedVideo

#: Error code -> reason slug ('' for OK), indexed by the code byte.
REASONS = [FileError(code).reason if code in FileError._value2member_map_ else f"code-{code}"
           for code in range(256)]


@dataclasses.dataclass
class JobResult:
    job: Job
    #: The packed data of the job's chunks and video tasks, drained from the backend (None: empty job).
    drained: DrainedResults | None
    #: Exact-duplicate groups, and the files in them, as the merge counted them.
    group_count: int = 0
    duplicate_files: int = 0
    #: Errors by reason, counted while :meth:`records` streams (complete once it has run to the end).
    error_counts: Counter = dataclasses.field(default_factory=Counter)
    _builder: GroupBuilder | None = None
    _workdir: str | None = None
    _sink: GroupSink | None = None
    _complete: bool = False

    @classmethod
    def merge(cls, job: Job, drained: DrainedResults | None) -> JobResult:
        """Group the job's chunk results (producer/merge/groups.py) in a temporary directory that :meth:`close`
        removes."""
        if drained is None or not job.blobs:  # a job with no files to hash
            return cls(job, drained)
        workdir = tempfile.mkdtemp(prefix=f"hashfleet-merge-{job.id}-")
        result = cls(job, drained, _workdir=workdir)
        try:
            primary = algo_bytes(job.algos[0], job.hash_size)
            builder, _errors = group_results(result.chunk_results(), primary, job.total, workdir)
        except BaseException:
            result.close()
            raise
        result._builder, result.group_count, result.duplicate_files = builder, builder.groups, builder.members
        return result

    def chunk_results(self) -> Iterator[ChunkResult]:
        """Every chunk's packed results, in job order: reused from the index, or drained."""
        width = row_bytes(self.job.algos, self.job.hash_size)
        for index in range(len(self.job.blobs)):
            if index in self.job.reused:
                yield self.job.reused[index]
            else:
                yield ChunkResult.from_wire(self.drained.payload(index), width)

    def chunks(self) -> Iterator[tuple[list[str], ChunkResult]]:
        """(paths, packed results) per chunk, in job order."""
        yield from zip((decode_paths(blob) for blob in self.job.blobs), self.chunk_results(), strict=True)

    def members(self) -> Iterator[np.ndarray]:
        """The merge's pages of group members (MEMBER_DTYPE rows), in file order."""
        if self._builder is not None:
            for _number, members in self._builder.pages():
                yield members

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
                if code == FileError.VIDEO_CONTENT and self.job.content_videos:
                    continue  # a video named like an image: its record is the video's (below)
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
        if self.drained is None or not self.job.videos:
            return iter(())
        from producer.outputs.videoresults import job_videos

        return job_videos(self.job, self.drained)

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
        """Remove the temporary table of group members, and the merge's directory."""
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = self._builder = None

    def _open_sink(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None
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

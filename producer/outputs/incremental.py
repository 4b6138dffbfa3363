"""Incremental runs: reuse the hash of a file whose size and mtime are unchanged since a previous output.

The previous output (`--index OLD.sqlite`, .csv or .jsonl) is looked up by path; the producer compares each
walked file's size and mtime (whole seconds, as the worker recorded them) with its record: a local file's
from one stat (only in incremental runs), an `s3://` object's from the listing (Size and LastModified,
producer/listed.py; no request per object). Only new or changed files are sent to the workers.

Videos likewise (given this run's `video_fps`): a video whose record has no error, whose size and mtime are
unchanged and whose frames the index holds at the same sampling rate keeps its record and frames
(producer/outputs/oldvideos.py); the others are sampled again.

A CSV, JSON lines or Parquet index is copied, streamed, into a scratch SQLite file (in the temporary folder, removed on
close) and looked up there by its path index, like a SQLite index: the producer's memory stays flat whatever
the size of the previous output (a dict of 10 million records would take gigabytes). Its reusable videos
and their frames are copied from its sibling files into the same scratch file.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from producer.listed import size_and_mtime
from producer.outputs.formats import Record, output_format, write_records
from producer.outputs.oldvideos import OldVideos, reusable
from producer.outputs.reader import SqliteOutput, read_records
from producer.outputs.videoframes import read_videos
from tasks.errors import ConfigError
from tasks.image.algos import algo_bytes, parse_algos

if TYPE_CHECKING:
    from tasks.video.frames import IndexedVideo


class OldVideo(NamedTuple):
    """A video an incremental run reuses: how many frames the index holds, and its record's size and mtime."""

    frames: int
    size: int
    mtime: int


class Index:
    """path -> the Record of each file a previous run hashed with the same algorithms and hash size (and,
    given `video_fps`, the videos it sampled at that rate)."""

    def __init__(self, path: str, algo: str, hash_size: int, video_fps: float | None = None):
        if not os.path.isfile(path):
            raise ConfigError(f"index {path!r} does not exist")
        self.algos = parse_algos(algo)
        self.hex_lens = [2 * algo_bytes(a, hash_size) for a in self.algos]
        self._output: SqliteOutput | None = None
        self._scratch: str | None = None
        self.videos: OldVideos | None = None
        if output_format(path) == ".sqlite":
            self._output = SqliteOutput(path)
            meta = self._output.meta()
            if meta.get("algo") != ",".join(self.algos) or meta.get("hash_size") != str(hash_size):
                self._output.close()
                raise ConfigError(f"index {path!r} holds {meta.get('algo')}/{meta.get('hash_size')} hashes, "
                                  f"this run asks for {','.join(self.algos)}/{hash_size}")
        else:  # csv/jsonl/parquet carry no metadata: each record's columns and hash lengths are checked as copied
            self._scratch = tempfile.mkdtemp(prefix="hashfleet-index-")
            try:
                scratch = os.path.join(self._scratch, "index.sqlite")
                videos = None if video_fps is None else reusable(_readable(read_videos(path), path), video_fps)
                write_records(scratch, (r for r in read_records(path) if self._complete(r) or _whole_video(r)),
                              {"algo": ",".join(self.algos), "hash_size": str(hash_size)}, videos)
                self._output = SqliteOutput(scratch)
            except BaseException:
                self.close()
                raise
        if video_fps is not None:
            self.videos = OldVideos(self._output.db, video_fps)

    def _complete(self, r: Record) -> bool:
        hexes = (r.hash, *r.more)
        return (r.size is not None and r.mtime is not None and len(hexes) == len(self.algos)
                and [len(h) for h in hexes] == self.hex_lens)

    def lookup(self, path: str) -> Record | None:
        record = self._output.record_of(path)
        return record if record is not None and self._complete(record) else None

    def unchanged(self, path: str) -> Record | None:
        """The index's record of `path` when the file or object still has that size and mtime, else None."""
        known = self.lookup(path)
        if known is None:
            return None
        return known if size_and_mtime(path) == (known.size, known.mtime) else None

    def holds_video(self, path: str) -> bool:
        """Whether the index holds a video at `path` that this run may reuse (whatever the file's name: one
        named like an image was found to be a video by its content)."""
        return self.videos is not None and self.videos.frame_count(path) is not None

    def unchanged_video(self, path: str) -> OldVideo | None:
        """What the index holds of the video at `path` when it can be reused (see the module docstring),
        else None."""
        frames = self.videos.frame_count(path) if self.videos is not None else None
        if frames is None:
            return None
        known = self._output.record_of(path)
        if known is None or not _whole_video(known) or size_and_mtime(path) != (known.size, known.mtime):
            return None
        return OldVideo(frames, known.size, known.mtime)

    def old_video(self, path: str) -> IndexedVideo:
        """The video at `path` with its frames, as the index holds it (one :meth:`unchanged_video` found)."""
        return self.videos.video(path)

    def close(self) -> None:
        self.videos = None
        if self._output is not None:
            self._output.close()
            self._output = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def _whole_video(r: Record) -> bool:
    """A video's record that says it was sampled to its end (no error), with its size and mtime."""
    return r.kind == "video" and not r.error and r.size is not None and r.mtime is not None


def _readable(videos: Iterator[IndexedVideo], index_path: str) -> Iterator[IndexedVideo]:
    """`videos` until one of the index's video files turns out damaged: the videos read whole before it are
    reused, the others sampled again (said in one line), and the run goes on."""
    try:
        yield from videos
    except (ValueError, KeyError, OSError) as exc:  # a bad hex digit, a missing column, a cut-off file
        print(f"hashfleet: the videos beside index {index_path!r} stop being readable ({type(exc).__name__}: "
              f"{exc}); the videos from there on are sampled again", file=sys.stderr, flush=True)

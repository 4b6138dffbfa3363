"""Read back the videos of an index and their sampled frames, whatever its format (written by
producer/outputs/videowrite.py, which says where each format keeps them)."""

from __future__ import annotations

import csv
import itertools
import json
import os
from collections.abc import Iterable, Iterator

import numpy as np

from producer.outputs.formats import output_format
from producer.outputs.reader import open_sqlite, stored_path
from producer.outputs.videowrite import sibling_paths
from tasks.video.frames import IndexedVideo, VideoFrames

#: The band hash of a frame of an index written without one (0: none; producer/near/videopairs.py leaves
#: such frames out of the band join).
NO_BAND = "0" * 16


def read_videos(index_path: str) -> Iterator[IndexedVideo]:
    """Every video of the index at `index_path`, in index order, with its frames in time order. An index
    without videos (none found, or written with --no-videos or before videos were indexed) yields none."""
    fmt = output_format(index_path)
    if fmt == ".sqlite":
        yield from _sqlite_videos(index_path)
        return
    videos_path, frames_path = sibling_paths(index_path)
    if not os.path.exists(videos_path):
        return
    if fmt == ".jsonl":
        yield from _jsonl_videos(videos_path)
        return
    rows, frames = (_csv_rows, _csv_rows) if fmt == ".csv" else (_parquet_rows, _parquet_rows)
    frame_rows = frames(frames_path)
    for row in rows(videos_path):
        taken = list(itertools.islice(frame_rows, int(row["frames"])))
        if any(f["path"] != row["path"] for f in taken):
            raise ValueError(f"{frames_path}: frames out of step with {videos_path} at {row['path']!r}")
        path = stored_path(row["path_raw"]) if row.get("path_raw") else row["path"]
        yield _video(path, row, _frames([(f["time"], f["dhash"], f["phash"], f["phash_centre"], f["quality"],
                                          f.get("phash_band") or NO_BAND) for f in taken]))


def _video(path: str, row: dict, frames: VideoFrames) -> IndexedVideo:
    """An IndexedVideo from a videos row (`letterboxed` and `sample_fps` absent, as in an index written
    before they were kept: False and 0.0, unknown)."""
    return IndexedVideo(path, float(row["duration"] or 0), int(row["width"] or 0), int(row["height"] or 0),
                        float(row["fps"] or 0), frames, row["error"] or "", bool(int(row.get("letterboxed") or 0)),
                        float(row.get("sample_fps") or 0))


def _frames(rows: Iterable[tuple]) -> VideoFrames:
    """VideoFrames from (time, dhash hex, phash hex, phash_centre hex, quality, phash_band hex) rows."""
    columns = list(zip(*rows, strict=True)) or [()] * 6
    hashes = [np.array([int(h, 16) for h in c], np.uint64) for c in (*columns[1:4], columns[5])]
    return VideoFrames(np.array([float(t) for t in columns[0]], np.float64), *hashes[:3],
                       np.array([int(q) for q in columns[4]], np.uint8), hashes[3])


def _csv_rows(path: str) -> Iterator[dict]:
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
        yield from csv.DictReader(handle)


def _parquet_rows(path: str) -> Iterator[dict]:
    from producer.outputs.parquet import parquet_rows

    return parquet_rows(path)


def _jsonl_videos(path: str) -> Iterator[IndexedVideo]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            s = row["samples"]
            band = s.get("phash_band") or [NO_BAND] * len(s["time"])
            yield _video(row["path"], row, _frames(zip(s["time"], s["dhash"], s["phash"], s["phash_centre"],
                                                       s["quality"], band, strict=True)))


def sqlite_frames(db, video: int, band: str = "phash_band") -> VideoFrames:
    """The frames of video number `video` of an open SQLite index, in time order (`band`: the band hash
    column, or a constant for frames written without one)."""
    return _frames(db.execute(f"SELECT time, dhash, phash, phash_centre, quality, {band} FROM frames "
                              "WHERE video = ? ORDER BY time", (video,)))


def table_columns(db, table: str) -> set[str]:
    """The columns of `table` of an open SQLite index, none when it has no such table."""
    return {name for _, name, *_ in db.execute(f"PRAGMA table_info({table})")}


def band_column(db) -> str:
    """What :func:`sqlite_frames` selects for the band hash: its column, or a constant for an index written
    before frames had one."""
    return "phash_band" if "phash_band" in table_columns(db, "frames") else f"'{NO_BAND}'"


def _sqlite_videos(index_path: str) -> Iterator[IndexedVideo]:
    db = open_sqlite(index_path)
    try:
        columns = table_columns(db, "videos")
        if not columns:
            return
        boxed = "letterboxed" if "letterboxed" in columns else "0"
        rate = "sample_fps" if "sample_fps" in columns else "0"
        band = band_column(db)
        for vid, path, duration, width, height, fps, error, letterboxed, sample_fps in db.execute(
                f"SELECT id, path, duration, width, height, fps, error, {boxed}, {rate} FROM videos ORDER BY id"):
            row = {"duration": duration, "width": width, "height": height, "fps": fps, "error": error,
                   "letterboxed": letterboxed, "sample_fps": sample_fps}
            yield _video(stored_path(path), row, sqlite_frames(db, vid, band))
    finally:
        db.close()

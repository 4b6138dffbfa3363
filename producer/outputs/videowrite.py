"""Write the videos of a job and their sampled frames beside (or, for SQLite, inside) the index.

Each video also has a row in the index itself (`kind` = `video`); what only videos have goes here:

- SQLite: table `videos` (id, path, duration, width, height, fps, frames, error, letterboxed, sample_fps) and
  table `frames`
  (video = videos.id, time, dhash, phash, phash_centre, quality, phash_band), indexed on (video, time).
- CSV: `<index stem>.videos.csv` (path, duration, width, height, fps, frames, error, letterboxed, sample_fps) and
  `<index stem>.frames.csv` (path, time, dhash, phash, phash_centre, quality, phash_band).
- Parquet: `<index stem>.videos.parquet` and `<index stem>.frames.parquet`, the same columns (the video's
  non-UTF-8 path kept as bytes in `path_raw` of the videos file, as in the index).
- JSON lines: `<index stem>.videos.jsonl`, one line per video with its fields and its frames as columns:
  `"samples": {"time": [...], "dhash": [...], "phash": [...], "phash_centre": [...], "quality": [...],
  "phash_band": [...]}`.

Frames are written video by video in time order, videos in the order of the index; hashes as 16 hex digits
(first grid bit most significant, as in the index); `letterboxed` as 1 or 0 (most sampled frames had
black bars, decided on the workers: `dupes --keep` reads it instead of the file); `sample_fps` the rate the
frames were sampled at (`--video-fps`: an incremental run reuses a video only when it matches). Read back with
producer/outputs/videoframes.py.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sqlite3
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from producer.outputs.atomic import atomic_path
from producer.outputs.values import json_line, sqlite_path_value

if TYPE_CHECKING:
    from tasks.video.frames import IndexedVideo

#: Per-video columns of the videos file or table (`frames`: how many frames were sampled).
VIDEO_COLUMNS = ("path", "duration", "width", "height", "fps", "frames", "error", "letterboxed", "sample_fps")
#: Per-frame columns of the frames file (SQLite's `frames` table has `video` in place of `path`).
FRAME_COLUMNS = ("path", "time", "dhash", "phash", "phash_centre", "quality", "phash_band")
#: The frames' hash columns and the VideoFrames attribute each comes from.
HASH_COLUMNS = (("dhash", "dhash"), ("phash", "phash"), ("phash_centre", "centre"), ("phash_band", "band"))


def sibling_paths(index_path: str) -> tuple[str, str | None]:
    """The videos file and the frames file (None when the videos file holds the frames) beside a CSV,
    JSON lines or Parquet index."""
    stem, ext = os.path.splitext(index_path)
    ext = ext.lower()
    return f"{stem}.videos{ext}", (None if ext == ".jsonl" else f"{stem}.frames{ext}")


def hex64(value) -> str:
    return f"{int(value):016x}"


def video_row(video: IndexedVideo) -> tuple:
    return (video.path, video.duration, video.width, video.height, video.fps, len(video.frames), video.error,
            int(video.letterboxed), video.sample_fps)


def frame_rows(video: IndexedVideo) -> Iterator[tuple]:
    """(time, dhash hex, phash hex, phash_centre hex, quality, phash_band hex) per sampled frame, in time
    order."""
    f = video.frames
    for time, d, p, c, q, b in zip(f.times.tolist(), f.dhash.tolist(), f.phash.tolist(), f.centre.tolist(),
                                   f.quality.tolist(), f.band.tolist(), strict=True):
        yield time, hex64(d), hex64(p), hex64(c), q, hex64(b)


def remove_siblings(index_path: str) -> None:
    """Remove the video files a previous run wrote beside `index_path` (this run found no videos)."""
    for path in sibling_paths(index_path):
        if path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def write_videos(index_path: str, videos: Iterable[IndexedVideo]) -> int:
    """Write the sibling files of a CSV, JSON lines or Parquet index; returns the videos written."""
    ext = os.path.splitext(index_path)[1].lower()
    videos_path, frames_path = sibling_paths(index_path)
    if ext == ".jsonl":
        with atomic_path(videos_path) as temporary:
            return _write_jsonl(temporary, videos)
    writer = _write_csv if ext == ".csv" else _write_parquet
    with atomic_path(videos_path) as videos_tmp, atomic_path(frames_path) as frames_tmp:
        return writer(videos_tmp, frames_tmp, videos)


def _write_csv(videos_path: str, frames_path: str, videos: Iterable[IndexedVideo]) -> int:
    count = 0
    options = {"newline": "", "encoding": "utf-8", "errors": "surrogateescape"}
    with open(videos_path, "w", **options) as vh, open(frames_path, "w", **options) as fh:
        vout, fout = csv.writer(vh), csv.writer(fh)
        vout.writerow(VIDEO_COLUMNS)
        fout.writerow(FRAME_COLUMNS)
        for video in videos:
            vout.writerow(video_row(video))
            fout.writerows((video.path, *row) for row in frame_rows(video))
            count += 1
    return count


def _write_jsonl(path: str, videos: Iterable[IndexedVideo]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for video in videos:
            row = dict(zip(VIDEO_COLUMNS, video_row(video), strict=True))
            columns = list(zip(*frame_rows(video), strict=True)) or [()] * (len(FRAME_COLUMNS) - 1)
            row["samples"] = {name: list(col) for name, col in zip(FRAME_COLUMNS[1:], columns, strict=True)}
            handle.write(json_line(row) + "\n")
            count += 1
    return count


def write_sqlite_videos(db: sqlite3.Connection, videos: Iterable[IndexedVideo]) -> int:
    """Create and fill the `videos` and `frames` tables of an open SQLite index (the caller commits)."""
    db.execute("CREATE TABLE videos (id INTEGER PRIMARY KEY, path TEXT NOT NULL, duration REAL, width INTEGER, "
               "height INTEGER, fps REAL, frames INTEGER, error TEXT NOT NULL, letterboxed INTEGER, "
               "sample_fps REAL)")
    db.execute("CREATE TABLE frames (video INTEGER NOT NULL REFERENCES videos (id), time REAL NOT NULL, "
               "dhash TEXT, phash TEXT, phash_centre TEXT, quality INTEGER, phash_band TEXT)")
    count = 0
    for number, video in enumerate(videos, 1):
        row = video_row(video)
        db.execute("INSERT INTO videos VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (number, sqlite_path_value(video.path), *row[1:]))
        db.executemany("INSERT INTO frames VALUES (?, ?, ?, ?, ?, ?, ?)",
                       ((number, *frame) for frame in frame_rows(video)))
        count += 1
    db.execute("CREATE INDEX frames_video_time ON frames (video, time)")
    return count


def _write_parquet(videos_path: str, frames_path: str, videos: Iterable[IndexedVideo]) -> int:
    from producer.outputs.parquet import ROW_GROUP, _pyarrow

    pa, pq = _pyarrow()
    video_schema = pa.schema([("path", pa.string()), ("duration", pa.float64()), ("width", pa.int64()),
                              ("height", pa.int64()), ("fps", pa.float64()), ("frames", pa.int64()),
                              ("error", pa.string()), ("letterboxed", pa.int64()), ("sample_fps", pa.float64()),
                              ("path_raw", pa.binary())])
    frame_schema = pa.schema([("path", pa.string()), ("time", pa.float64()), ("dhash", pa.string()),
                              ("phash", pa.string()), ("phash_centre", pa.string()), ("quality", pa.int64()),
                              ("phash_band", pa.string())])
    count = 0
    videos_batch: list[dict] = []
    frames_batch: list[dict] = []
    with pq.ParquetWriter(videos_path, video_schema) as vw, pq.ParquetWriter(frames_path, frame_schema) as fw:
        for video in videos:
            shown, raw = _parquet_path(video.path)
            videos_batch.append(dict(zip(video_schema.names, (shown, *video_row(video)[1:], raw), strict=True)))
            frames_batch += [dict(zip(FRAME_COLUMNS, (shown, *frame), strict=True)) for frame in frame_rows(video)]
            count += 1
            if len(frames_batch) >= ROW_GROUP or len(videos_batch) >= ROW_GROUP:
                _flush(pa, vw, video_schema, videos_batch)
                _flush(pa, fw, frame_schema, frames_batch)
        _flush(pa, vw, video_schema, videos_batch)
        _flush(pa, fw, frame_schema, frames_batch)
    return count


def _flush(pa, writer, schema, rows: list[dict]) -> None:
    """Write `rows` as one row group (none when empty) and empty the list."""
    if rows:
        writer.write_table(pa.Table.from_pylist(rows, schema))
        rows.clear()


def _parquet_path(path: str) -> tuple[str, bytes | None]:
    """A path as Parquet strings can hold it, and its bytes when it is not UTF-8 (see parquet.py)."""
    try:
        path.encode("utf-8")
        return path, None
    except UnicodeEncodeError:
        raw = os.fsencode(path)
        return raw.decode("utf-8", "replace"), raw

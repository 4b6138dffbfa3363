"""Write records by the output file's extension (.csv, .jsonl, .sqlite, .parquet), groups as JSON, and the export
to the original PyImageSearch script's pickle format.

File names with bytes that are not UTF-8 are kept losslessly: CSV gets the raw bytes (surrogateescape),
JSON escapes them as \\udcXX (Python's json reads them back; os.fsencode gives the original bytes),
SQLite stores such a path as a BLOB of its bytes instead of TEXT. Reading back: producer/outputs/reader.py.
"""

from __future__ import annotations

import csv
import os
import pickle
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from producer.outputs.atomic import atomic_path
from producer.outputs.values import json_line, sqlite_path_value
from producer.outputs.videowrite import remove_siblings, write_sqlite_videos, write_videos
from tasks.errors import ConfigError
from tasks.image.algos import column_name, parse_algos

if TYPE_CHECKING:  # numpy and the image core stay unloaded until videos are written
    from tasks.video.frames import IndexedVideo


@dataclass(frozen=True)
class Record:
    """One output row: a file's hashes or why it has none."""

    path: str
    hash: str  # hex of the job's primary (first) algorithm, '' when not hashed
    error: str  # '' when hashed, else a short reason slug
    size: int | None
    mtime: int | None = None  # seconds, as the worker saw the file (incremental runs compare it)
    more: tuple[str, ...] = ()  # hex of each further algorithm of the job, in order ('' when not hashed)
    quality: int | None = None  # 0-100 (tasks/image/phash.py), None when not scored
    width: int | None = None  # pixels, as decoded (EXIF orientation applied)
    height: int | None = None
    kind: str = "image"  # or "video": its frames are in the video tables (producer/outputs/videowrite.py)


#: Columns every output has, then one per further algorithm (tasks.image.algos.column_name), then EXTRA_FIELDS,
#: then KIND.
FIELDS = ("path", "hash", "error", "size", "mtime")
EXTRA_FIELDS = ("quality", "width", "height")
KIND = "kind"


def columns(algos: tuple[str, ...]) -> tuple[str, ...]:
    """The output's columns for a job computing `algos` (the first is the `hash` column)."""
    return FIELDS + tuple(column_name(a) for a in algos[1:]) + EXTRA_FIELDS + (KIND,)


def _row(r: Record) -> tuple:
    return (r.path, r.hash, r.error, r.size, r.mtime, *r.more, r.quality, r.width, r.height, r.kind)
#: Rows per SQLite transaction batch.
SQLITE_BATCH = 10_000
OUTPUT_FORMATS = (".csv", ".jsonl", ".sqlite", ".parquet")


def output_format(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext == ".db":
        ext = ".sqlite"
    if ext not in OUTPUT_FORMATS:
        raise ConfigError(f"output {path!r}: extension must be one of {', '.join(OUTPUT_FORMATS)} (or .db)")
    return ext


def write_records(path: str, records: Iterable[Record], meta: dict[str, str],
                  videos: Iterable[IndexedVideo] | None = None) -> int:
    """Write to a temporary name and rename, so a reader never sees half a file. Returns rows written.
    `videos` (None when the job had none) go into the SQLite file's tables or beside the others
    (producer/outputs/videowrite.py); with none, video files a previous run left beside `path` are removed."""
    fmt = output_format(path)
    if fmt == ".sqlite":
        with atomic_path(path) as temporary:
            return _write_sqlite(temporary, records, meta, videos)
    writer = {".csv": _write_csv, ".jsonl": _write_jsonl, ".parquet": _write_parquet}[fmt]
    with atomic_path(path) as temporary:
        count = writer(temporary, records, meta)
    if videos is None:
        remove_siblings(path)
    else:
        write_videos(path, videos)
    return count


def _write_csv(path: str, records: Iterable[Record], meta: dict[str, str]) -> int:
    count = 0
    with open(path, "w", newline="", encoding="utf-8", errors="surrogateescape") as handle:
        out = csv.writer(handle)
        out.writerow(columns(meta_algos(meta)))
        for r in records:
            out.writerow(["" if v is None else v for v in _row(r)])
            count += 1
    return count


def _write_jsonl(path: str, records: Iterable[Record], meta: dict[str, str]) -> int:
    count = 0
    names = columns(meta_algos(meta))
    with open(path, "w", encoding="utf-8") as handle:
        for r in records:
            handle.write(json_line(dict(zip(names, _row(r), strict=True))))
            handle.write("\n")
            count += 1
    return count


def _write_sqlite(path: str, records: Iterable[Record], meta: dict[str, str],
                  videos: Iterable[IndexedVideo] | None = None) -> int:
    count = 0
    algos = meta_algos(meta)
    names = columns(algos)
    types = {"path": "TEXT NOT NULL", "error": "TEXT NOT NULL", "size": "INTEGER", "mtime": "INTEGER",
             "quality": "INTEGER", "width": "INTEGER", "height": "INTEGER", KIND: "TEXT NOT NULL"}
    insert = f"INSERT INTO files VALUES ({', '.join('?' * len(names))})"
    db = sqlite3.connect(path)
    try:
        declared = ", ".join(f"{n} {types.get(n, 'TEXT')}" for n in names)
        db.execute(f"CREATE TABLE files ({declared})")
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        batch = []
        for r in records:
            row = _row(r)
            batch.append((sqlite_path_value(r.path), r.hash or None, *row[2:5], *(h or None for h in r.more),
                          *row[5 + len(r.more):]))
            if len(batch) >= SQLITE_BATCH:
                db.executemany(insert, batch)
                count += len(batch)
                batch.clear()
        db.executemany(insert, batch)
        count += len(batch)
        db.execute("CREATE INDEX files_hash ON files (hash)")
        db.execute("CREATE INDEX files_path ON files (path)")
        if videos is not None:
            write_sqlite_videos(db, videos)
        db.commit()
    finally:
        db.close()
    return count


def _write_parquet(path: str, records: Iterable[Record], meta: dict[str, str]) -> int:
    from producer.outputs.parquet import write_parquet

    return write_parquet(path, (_row(r) for r in records), columns(meta_algos(meta)), meta)


def write_groups(path: str, groups: Iterable[tuple[str, Iterable[str]]]) -> int:
    """Write {hash hex: [paths]} as one JSON object, streamed group by group (the same text json.dumps
    would make of the whole dict). Returns the number of groups."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("{")
        for hexhash, paths in groups:
            handle.write(("" if not count else ", ") + json_line(hexhash) + ": [")
            handle.write(", ".join(json_line(p) for p in paths))
            handle.write("]")
            count += 1
        handle.write("}\n")
    return count


def meta_algos(meta: dict[str, str]) -> tuple[str, ...]:
    """The algorithms an output's metadata names (its `algo`: comma-separated, primary first)."""
    return parse_algos(meta.get("algo") or "dhash")


def export_pyimagesearch(records: Iterable[Record], path: str) -> int:
    """The original script's output: a pickled {int hash: [paths]} over every hashed file, the integer
    in the original's bit order (first grid bit least significant). Exact, without its float64 rounding.
    Returns the number of distinct hashes."""
    from tasks.image.dhash import to_reversed_int

    hashes: dict[int, list[str]] = {}
    for r in records:
        if r.hash:
            hashes.setdefault(to_reversed_int(bytes.fromhex(r.hash)), []).append(r.path)
    with open(path, "wb") as handle:
        pickle.dump(hashes, handle)
    return len(hashes)

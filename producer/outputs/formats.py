"""Write records by the output file's extension (.csv, .jsonl, .sqlite, .parquet), groups as JSON, and the export
to the original PyImageSearch script's pickle format.

File names with bytes that are not UTF-8 are kept losslessly: CSV gets the raw bytes (surrogateescape),
JSON escapes them as \\udcXX (Python's json reads them back; os.fsencode gives the original bytes),
SQLite stores such a path as a BLOB of its bytes instead of TEXT.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tasks.errors import ConfigError
from tasks.image.algos import column_name, parse_algos


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


#: Columns every output has, then one per further algorithm (tasks.image.algos.column_name), then EXTRA_FIELDS.
FIELDS = ("path", "hash", "error", "size", "mtime")
EXTRA_FIELDS = ("quality", "width", "height")


def columns(algos: tuple[str, ...]) -> tuple[str, ...]:
    """The output's columns for a job computing `algos` (the first is the `hash` column)."""
    return FIELDS + tuple(column_name(a) for a in algos[1:]) + EXTRA_FIELDS


def _row(r: Record) -> tuple:
    return (r.path, r.hash, r.error, r.size, r.mtime, *r.more, r.quality, r.width, r.height)
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


def write_records(path: str, records: Iterable[Record], meta: dict[str, str]) -> int:
    """Write to a temporary name and rename, so a reader never sees half a file. Returns rows written."""
    writer = {".csv": _write_csv, ".jsonl": _write_jsonl, ".sqlite": _write_sqlite,
              ".parquet": _write_parquet}[output_format(path)]
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        count = writer(tmp, records, meta)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
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


def json_line(obj) -> str:
    """Compact UTF-8 JSON; falls back to ASCII escapes only when a string cannot be UTF-8 encoded."""
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True)
    return text


def _write_jsonl(path: str, records: Iterable[Record], meta: dict[str, str]) -> int:
    count = 0
    names = columns(meta_algos(meta))
    with open(path, "w", encoding="utf-8") as handle:
        for r in records:
            handle.write(json_line(dict(zip(names, _row(r), strict=True))))
            handle.write("\n")
            count += 1
    return count


def sqlite_path_value(path: str) -> str | bytes:
    """How a path is stored in SQLite: TEXT when it is valid UTF-8, else a BLOB of its bytes."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path)


def _write_sqlite(path: str, records: Iterable[Record], meta: dict[str, str]) -> int:
    count = 0
    algos = meta_algos(meta)
    names = columns(algos)
    types = {"path": "TEXT NOT NULL", "error": "TEXT NOT NULL", "size": "INTEGER", "mtime": "INTEGER",
             "quality": "INTEGER", "width": "INTEGER", "height": "INTEGER"}
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


def output_rows(path: str) -> Iterator[dict]:
    """The rows of a CSV, JSON lines or Parquet output as dicts (strings from CSV)."""
    if output_format(path) == ".parquet":
        from producer.outputs.parquet import parquet_rows

        yield from parquet_rows(path)
    elif output_format(path) == ".csv":
        with open(path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
            yield from csv.DictReader(handle)
    else:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)


def read_records(path: str) -> Iterator[Record]:
    """Read back an output written by :func:`write_records` (any of the formats, any algorithms)."""
    if output_format(path) != ".sqlite":
        for row in output_rows(path):
            more = tuple(row[n] or "" for n in row if n not in FIELDS and n not in EXTRA_FIELDS)
            yield Record(row["path"], row["hash"] or "", row["error"] or "", _int(row.get("size")),
                         _int(row.get("mtime")), more, *(_int(row.get(n)) for n in EXTRA_FIELDS))
        return
    db = sqlite3.connect(path)
    try:
        names = [c[1] for c in db.execute("PRAGMA table_info(files)")]
        further = [n for n in names if n not in FIELDS and n not in EXTRA_FIELDS]
        extra = [n if n in names else "NULL" for n in EXTRA_FIELDS]
        query = f"SELECT {', '.join([*FIELDS, *further, *extra])} FROM files ORDER BY rowid"
        for p, h, e, s, m, *rest in db.execute(query):
            more = tuple(v or "" for v in rest[:len(further)])
            yield Record(os.fsdecode(p) if isinstance(p, bytes) else p, h or "", e, s, m, more, *rest[len(further):])
    finally:
        db.close()


def _int(value) -> int | None:
    """An integer cell: '' (CSV) and None mean none."""
    return int(value) if value not in (None, "") else None


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

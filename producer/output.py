"""Write records by the output file's extension (.csv, .jsonl, .sqlite), groups as JSON, and the export
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


@dataclass(frozen=True)
class Record:
    """One output row: a file's hash or why it has none."""

    path: str
    hash: str  # hex, '' when not hashed
    error: str  # '' when hashed, else a short reason slug
    size: int | None
    mtime: int | None = None  # seconds, as the worker saw the file (incremental runs compare it)


FIELDS = ("path", "hash", "error", "size", "mtime")
#: Rows per SQLite transaction batch.
SQLITE_BATCH = 10_000
OUTPUT_FORMATS = (".csv", ".jsonl", ".sqlite")


def output_format(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext == ".db":
        ext = ".sqlite"
    if ext not in OUTPUT_FORMATS:
        raise ConfigError(f"output {path!r}: extension must be one of {', '.join(OUTPUT_FORMATS)} (or .db)")
    return ext


def write_records(path: str, records: Iterable[Record], meta: dict[str, str]) -> int:
    """Write to a temporary name and rename, so a reader never sees half a file. Returns rows written."""
    writer = {".csv": _write_csv, ".jsonl": _write_jsonl, ".sqlite": _write_sqlite}[output_format(path)]
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        count = writer(tmp, records, meta)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return count


def _write_csv(path: str, records: Iterable[Record], _meta) -> int:
    count = 0
    with open(path, "w", newline="", encoding="utf-8", errors="surrogateescape") as handle:
        out = csv.writer(handle)
        out.writerow(FIELDS)
        for r in records:
            out.writerow((r.path, r.hash, r.error, "" if r.size is None else r.size,
                          "" if r.mtime is None else r.mtime))
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


def _write_jsonl(path: str, records: Iterable[Record], _meta) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for r in records:
            handle.write(json_line({"path": r.path, "hash": r.hash, "error": r.error, "size": r.size,
                                    "mtime": r.mtime}))
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
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE files (path TEXT NOT NULL, hash TEXT, error TEXT NOT NULL, size INTEGER, "
                   "mtime INTEGER)")
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        batch = []
        for r in records:
            batch.append((sqlite_path_value(r.path), r.hash or None, r.error, r.size, r.mtime))
            if len(batch) >= SQLITE_BATCH:
                db.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?)", batch)
                count += len(batch)
                batch.clear()
        db.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?)", batch)
        count += len(batch)
        db.execute("CREATE INDEX files_hash ON files (hash)")
        db.execute("CREATE INDEX files_path ON files (path)")
        db.commit()
    finally:
        db.close()
    return count


def write_groups(path: str, groups: dict[str, list[str]]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json_line(groups))
        handle.write("\n")


def read_records(path: str) -> Iterator[Record]:
    """Read back an output written by :func:`write_records` (any of the three formats)."""
    fmt = output_format(path)
    if fmt == ".csv":
        with open(path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
            for row in csv.DictReader(handle):
                size, mtime = _int(row.get("size")), _int(row.get("mtime"))
                yield Record(row["path"], row["hash"], row["error"], size, mtime)
    elif fmt == ".jsonl":
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                yield Record(row["path"], row["hash"], row["error"], row.get("size"), row.get("mtime"))
    else:
        db = sqlite3.connect(path)
        try:
            rows = db.execute("SELECT path, hash, error, size, mtime FROM files ORDER BY rowid")
            for p, h, e, s, m in rows:
                yield Record(os.fsdecode(p) if isinstance(p, bytes) else p, h or "", e, s, m)
        finally:
            db.close()


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def export_pyimagesearch(records: Iterable[Record], path: str) -> int:
    """The original script's output: a pickled {int hash: [paths]} over every hashed file, the integer
    in the original's bit order (first grid bit least significant). Exact, without its float64 rounding.
    Returns the number of distinct hashes."""
    from tasks.dhash import to_reversed_int

    hashes: dict[int, list[str]] = {}
    for r in records:
        if r.hash:
            hashes.setdefault(to_reversed_int(bytes.fromhex(r.hash)), []).append(r.path)
    with open(path, "wb") as handle:
        pickle.dump(hashes, handle)
    return len(hashes)

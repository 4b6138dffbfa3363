"""Read an output back, whatever its format (CSV, JSON lines, SQLite, Parquet): its records, its rows, a
SQLite output's metadata and columns, and every path exactly as walked. `hashfleet export`, incremental runs
(producer/outputs/incremental.py) and the near-duplicate index (producer/near/hashindex.py) read through here.

A path whose bytes are not UTF-8 comes back as os.fsdecode gives it (surrogateescape), however it was stored
(producer/outputs/formats.py): CSV is read with surrogateescape, JSON's \\udcXX escapes decode to the same,
and SQLite's BLOB and Parquet's `path_raw` bytes go through :func:`stored_path`.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from urllib.parse import quote

from producer.outputs.formats import EXTRA_FIELDS, FIELDS, KIND, Record, output_format, sqlite_path_value


def stored_path(value: str | bytes) -> str:
    """A path as an output stores it (text, or the bytes of a name that is not UTF-8), as the walk gave it."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


def further_columns(names: Iterable[str]) -> list[str]:
    """The hash columns of the further algorithms among an output's column `names`, in order."""
    return [n for n in names if n not in FIELDS and n not in EXTRA_FIELDS and n != KIND]


def open_sqlite(path: str) -> sqlite3.Connection:
    """A read-only connection to the SQLite output at `path` (a missing file is an error, never created)."""
    return sqlite3.connect(f"file:{quote(os.fsencode(path))}?mode=ro", uri=True)


class SqliteOutput:
    """An open SQLite output (a context manager): its `meta`, its column `names`, and its records."""

    def __init__(self, path: str):
        self.db = open_sqlite(path)
        try:
            self.names = [c[1] for c in self.db.execute("PRAGMA table_info(files)")]
        except BaseException:
            self.db.close()
            raise
        self.further = further_columns(self.names)
        extra = [n if n in self.names else "NULL" for n in EXTRA_FIELDS]
        extra.append(KIND if KIND in self.names else "'image'")
        self._select = f"SELECT {', '.join([*FIELDS, *self.further, *extra])} FROM files"

    def meta(self) -> dict[str, str]:
        """The job's metadata (algo, hash_size, job) from the `meta` table."""
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def records(self) -> Iterator[Record]:
        """Every record, in file order."""
        return map(self._record, self.db.execute(f"{self._select} ORDER BY rowid"))

    def record_of(self, path: str) -> Record | None:
        """The record of `path` (looked up by the `path` index), or None."""
        row = self.db.execute(f"{self._select} WHERE path = ?", (sqlite_path_value(path),)).fetchone()
        return None if row is None else self._record(row)

    def _record(self, row: tuple) -> Record:
        p, h, e, s, m, *rest = row
        n = len(self.further)
        return Record(stored_path(p), h or "", e, s, m, tuple(v or "" for v in rest[:n]), *rest[n:-1],
                      rest[-1] or "image")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> SqliteOutput:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def output_rows(path: str) -> Iterator[dict]:
    """The rows of a CSV, JSON lines or Parquet output as dicts (strings from CSV)."""
    fmt = output_format(path)
    if fmt == ".parquet":
        from producer.outputs.parquet import parquet_rows

        for row in parquet_rows(path):
            raw = row.pop("path_raw", None)
            if raw is not None:
                row["path"] = stored_path(raw)
            yield row
    elif fmt == ".csv":
        with open(path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
            yield from csv.DictReader(handle)
    else:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)


def row_columns(path: str) -> list[str]:
    """The columns of a CSV, JSON lines or Parquet output (those of its first row; none when empty)."""
    return list(next(output_rows(path), {}))


def read_records(path: str) -> Iterator[Record]:
    """Read back an output written by :func:`producer.outputs.formats.write_records` (any format, any
    algorithms)."""
    if output_format(path) == ".sqlite":
        with SqliteOutput(path) as output:
            yield from output.records()
        return
    for row in output_rows(path):
        more = tuple(row[n] or "" for n in further_columns(row))
        yield Record(row["path"], row["hash"] or "", row["error"] or "", _int(row.get("size")),
                     _int(row.get("mtime")), more, *(_int(row.get(n)) for n in EXTRA_FIELDS),
                     row.get(KIND) or "image")


def _int(value) -> int | None:
    """An integer cell: '' (CSV) and None mean none."""
    return int(value) if value not in (None, "") else None

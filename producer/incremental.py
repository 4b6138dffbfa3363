"""Incremental runs: reuse the hash of a file whose size and mtime are unchanged since a previous output.

The previous output (`--index OLD.sqlite`, .csv or .jsonl) is looked up by path; the producer stats each
walked file (one stat per file, only in incremental runs) and compares size and mtime (whole seconds, as
the worker recorded them). Only new or changed files are sent to the workers.
"""

from __future__ import annotations

import os
import sqlite3

from producer.output import output_format, read_records, sqlite_path_value
from tasks.errors import ConfigError


class Index:
    """path -> (size, mtime, hash hex) of the files a previous run hashed."""

    def __init__(self, path: str, algo: str, hash_size: int):
        if not os.path.isfile(path):
            raise ConfigError(f"index {path!r} does not exist")
        self.hex_len = hash_size * hash_size // 4
        self._db = None
        self._rows: dict[str, tuple[int, int, str]] = {}
        if output_format(path) == ".sqlite":
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            meta = dict(self._db.execute("SELECT key, value FROM meta"))
            if meta.get("algo") != algo or meta.get("hash_size") != str(hash_size):
                raise ConfigError(f"index {path!r} holds {meta.get('algo')}/{meta.get('hash_size')} hashes, "
                                  f"this run asks for {algo}/{hash_size}")
        else:  # csv/jsonl carry no metadata: held in memory, hash length checked per row
            for r in read_records(path):
                if r.hash and r.size is not None and r.mtime is not None and len(r.hash) == self.hex_len:
                    self._rows[r.path] = (r.size, r.mtime, r.hash)

    def lookup(self, path: str) -> tuple[int, int, str] | None:
        if self._db is None:
            return self._rows.get(path)
        key = sqlite_path_value(path)
        row = self._db.execute("SELECT size, mtime, hash FROM files WHERE path = ? AND hash IS NOT NULL "
                               "AND size IS NOT NULL AND mtime IS NOT NULL", (key,)).fetchone()
        return row if row and len(row[2]) == self.hex_len else None

    def unchanged(self, path: str) -> tuple[int, int, str] | None:
        """(size, mtime, hash) from the index when `path` still has that size and mtime, else None."""
        known = self.lookup(path)
        if known is None:
            return None
        try:
            info = os.stat(path)
        except OSError:
            return None
        return known if (info.st_size, int(info.st_mtime)) == (known[0], known[1]) else None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

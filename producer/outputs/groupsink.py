"""Exact-duplicate group members gathered while the records stream, handed out grouped, in bounded memory.

Members arrive in file order, but groups interleave: a temporary SQLite table on disk, keyed by (group's
first file, file), turns them into groups in file order without holding them in memory.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator

from producer.outputs.formats import sqlite_path_value
from producer.outputs.reader import stored_path


class GroupSink:
    """Add (group's first file index, file index, path, hash hex) rows, then read :meth:`groups`."""

    def __init__(self, directory: str | None = None):
        fd, self.path = tempfile.mkstemp(prefix="hashfleet-groups-", suffix=".sqlite", dir=directory)
        os.close(fd)
        self.db = sqlite3.connect(self.path)
        # A scratch table: nothing to recover after a crash, so no journal and no fsync.
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE members (first INTEGER, idx INTEGER, path, hash TEXT, "
                        "PRIMARY KEY (first, idx)) WITHOUT ROWID")

    def add(self, rows: Iterable[tuple[int, int, str, str]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO members VALUES (?, ?, ?, ?)",
                            ((first, idx, sqlite_path_value(path), hexhash) for first, idx, path, hexhash in rows))

    def groups(self) -> Iterator[tuple[str, Iterator[str]]]:
        """(hash hex, its paths in file order) per group, groups in the order of their first file. Each
        group's paths must be read before the next group is asked for."""
        cursor = self.db.execute("SELECT first, hash, path FROM members ORDER BY first, idx")
        for _, rows in itertools.groupby(cursor, key=lambda row: row[0]):
            head = next(rows)
            yield head[1], itertools.chain((stored_path(head[2]),), (stored_path(row[2]) for row in rows))  # noqa: B031 (read once, lazily)

    def close(self) -> None:
        self.db.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

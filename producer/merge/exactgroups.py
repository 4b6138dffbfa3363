"""Exact-duplicate groups in bounded memory: an external partition of (hash, file index) rows on local disk.

The merge feeds every hashed file's primary hash, in file order. Rows are buffered, then appended to one
file per first hash byte; a bucket small enough is sorted in memory, a larger one is split again by its
next byte (a bucket of one repeated hash is already a group, read in file order). Each group's members go
out as (file index, group's first file index) rows, partitioned by file index into pages, so a reader
walking the files in order (the producer writing its outputs) reads the pages one after another.

Memory is bounded by the constants below, not by the job: about 40 MB (SORT_ROWS rows sorted at a time).
Disk: hash + 8 bytes per hashed file, plus 16 bytes per group member.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

#: One exact-duplicate group member: its file index and its group's first file index.
MEMBER_DTYPE = np.dtype([("index", "<u8"), ("first", "<u8")])
#: Rows buffered in memory before they are appended to the bucket (or page) files.
FLUSH_ROWS = 1 << 17
#: A bucket of at most this many rows is sorted in memory (about 80 bytes per row at the peak); a larger
#: one is split by its next hash byte that varies.
SORT_ROWS = 1 << 19
#: Consecutive file indices whose group members make one page.
PAGE_FILES = 1 << 16
#: Rows read at a time when a bucket too large to sort is split again.
SPLIT_BLOCK = 1 << 18


class GroupBuilder:
    """Collect (hash, index) rows with :meth:`add`, then :meth:`finish` and read :meth:`pages`."""

    def __init__(self, workdir: str, hash_bytes: int, *, flush_rows: int = FLUSH_ROWS, sort_rows: int = SORT_ROWS,
                 page_files: int = PAGE_FILES):
        self.workdir = workdir
        self.dtype = np.dtype([("hash", f"V{hash_bytes}"), ("index", "<u8")])
        self.hash_bytes = hash_bytes
        self.flush_rows, self.sort_rows, self.page_files = flush_rows, sort_rows, page_files
        self._rows: list[np.ndarray] = []
        self._buffered = 0
        self._members: list[np.ndarray] = []
        self._members_buffered = 0
        self.groups = 0
        self.members = 0
        os.makedirs(os.path.join(workdir, "pages"), exist_ok=True)

    def add(self, hashes: np.ndarray, hashed: np.ndarray, offset: int) -> None:
        """Rows of one chunk: `hashes` (files x hash_bytes, uint8), `hashed` (bool: has a hash), the chunk's
        first file index. Chunks must come in file order."""
        keep = np.flatnonzero(hashed)
        if not keep.size:
            return
        rows = np.empty(keep.size, self.dtype)
        rows["hash"] = np.ascontiguousarray(hashes[keep, :self.hash_bytes]).view(self.dtype["hash"]).ravel()
        rows["index"] = keep + offset
        self._rows.append(rows)
        self._buffered += rows.size
        if self._buffered >= self.flush_rows:
            self._flush_rows()

    def finish(self) -> None:
        """Group every bucket; afterwards :attr:`groups` and :attr:`members` hold the totals."""
        self._flush_rows()
        for byte in range(256):
            path = self._bucket_path((byte,))
            if os.path.exists(path):
                self._group_bucket(path, depth=1)
        self._flush_members()

    def pages(self) -> Iterator[tuple[int, np.ndarray]]:
        """(page number, members sorted by file index) for every page holding a member, in order."""
        directory = os.path.join(self.workdir, "pages")
        for number in sorted(int(name) for name in os.listdir(directory)):
            rows = np.fromfile(os.path.join(directory, str(number)), MEMBER_DTYPE)
            yield number, rows[np.argsort(rows["index"], kind="stable")]

    def _bucket_path(self, prefix: tuple[int, ...]) -> str:
        return os.path.join(self.workdir, "b" + "-".join(map(str, prefix)))

    def _flush_rows(self) -> None:
        if self._rows:
            _append_split(np.concatenate(self._rows), lambda rows: _hash_byte(rows, 0),
                          lambda byte: self._bucket_path((byte,)))
        self._rows, self._buffered = [], 0

    def _group_bucket(self, path: str, depth: int) -> None:
        size = os.path.getsize(path) // self.dtype.itemsize
        if size <= self.sort_rows:
            self._group_rows(np.fromfile(path, self.dtype))
        else:
            depth = self._first_varying_byte(path, depth)
            if depth < self.hash_bytes:
                self._split_bucket(path, depth)
            else:
                self._one_group(path)
        os.unlink(path)

    def _first_varying_byte(self, path: str, depth: int) -> int:
        """The first hash byte from `depth` on that not every row of the bucket shares (hash_bytes if none):
        splitting by a byte all rows share would only copy the bucket."""
        reference = None
        same = np.ones(self.hash_bytes, bool)
        for rows in self._blocks(path):
            data = np.ascontiguousarray(rows["hash"]).view(np.uint8).reshape(rows.size, -1)
            reference = data[0] if reference is None else reference
            same &= (data == reference).all(axis=0)
        varying = np.flatnonzero(~same[depth:])
        return depth + int(varying[0]) if varying.size else self.hash_bytes

    def _split_bucket(self, path: str, depth: int) -> None:
        """Split a bucket too large to sort by hash byte `depth`, then group each part."""
        prefix = tuple(int(p) for p in os.path.basename(path)[1:].split("-"))
        for rows in self._blocks(path):
            _append_split(rows, lambda r: _hash_byte(r, depth), lambda byte: self._bucket_path(prefix + (byte,)))
        for byte in range(256):
            sub = self._bucket_path(prefix + (byte,))
            if os.path.exists(sub):
                self._group_bucket(sub, depth + 1)

    def _one_group(self, path: str) -> None:
        """A bucket too large to sort whose rows all share one hash: one group, its rows already in file order."""
        first = None
        for rows in self._blocks(path):
            groups = int(first is None)
            first = rows["index"][0] if first is None else first
            self._add_members(rows["index"], np.full(rows.size, first, np.uint64), groups=groups)

    def _blocks(self, path: str) -> Iterator[np.ndarray]:
        size = os.path.getsize(path) // self.dtype.itemsize
        for start in range(0, size, SPLIT_BLOCK):
            yield np.fromfile(path, self.dtype, count=SPLIT_BLOCK, offset=start * self.dtype.itemsize)

    def _group_rows(self, rows: np.ndarray) -> None:
        """Groups among rows held in memory (in file order, so a stable sort keeps members in file order)."""
        if rows.size < 2:
            return
        order = np.argsort(rows["hash"], kind="stable")
        keys, index = rows["hash"][order], rows["index"][order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        counts = np.diff(np.r_[starts, keys.size])
        in_group = np.repeat(counts > 1, counts)
        if not in_group.any():
            return
        first = np.repeat(index[starts], counts)
        self._add_members(index[in_group], first[in_group], groups=int(np.count_nonzero(counts > 1)))

    def _add_members(self, index: np.ndarray, first: np.ndarray, groups: int) -> None:
        rows = np.empty(index.size, MEMBER_DTYPE)
        rows["index"], rows["first"] = index, first
        self._members.append(rows)
        self._members_buffered += rows.size
        self.groups += groups
        self.members += rows.size
        if self._members_buffered >= self.flush_rows:
            self._flush_members()

    def _flush_members(self) -> None:
        if self._members:
            page_files = self.page_files
            _append_split(np.concatenate(self._members), lambda rows: rows["index"] // page_files,
                          lambda page: os.path.join(self.workdir, "pages", str(page)))
        self._members, self._members_buffered = [], 0


def _hash_byte(rows: np.ndarray, depth: int) -> np.ndarray:
    """Byte number `depth` of each row's hash."""
    return np.ascontiguousarray(rows["hash"]).view(np.uint8).reshape(rows.size, -1)[:, depth]


def _append_split(rows: np.ndarray, key, path_of) -> None:
    """Append `rows` to one file per distinct `key(rows)` value, keeping their order within each file."""
    keys = np.asarray(key(rows))
    order = np.argsort(keys, kind="stable")
    rows, keys = rows[order], keys[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    for start, end in zip(starts, np.r_[starts[1:], keys.size], strict=True):
        with open(path_of(int(keys[start])), "ab") as handle:
            rows[start:end].tofile(handle)

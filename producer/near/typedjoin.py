"""Exact joins over typed rows: every file contributes one row per kind of hash (whole picture, centre crop,
each region), and only some pairs of kinds may match (a turned region against a whole picture, a square
against a square). Pure numpy over tasks/nearjoin/.

Here each allowed pair of kinds is its own join: a kind against itself a self-join (tasks/nearjoin/join.py),
two kinds a join across two sets (tasks/nearjoin/cross.py), so no candidate between two kinds that may not
pair is ever made or verified. A join run elsewhere (the cluster's, which only joins one set with itself)
takes every row in one join instead, and the pairs of other kinds are dropped after it: the same answer.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from tasks.nearjoin.cross import cross_join
from tasks.nearjoin.join import join, sort_pairs
from tasks.nearjoin.pairarrays import Pairs

#: Rows of one kind: (kind, file indices, uint64 hashes); several entries may share a kind.
Rows = list[tuple[str, np.ndarray, np.ndarray]]


def typed_join(rows: Rows, allowed: set[tuple[str, str]], max_distance: int, joiner=None,
               groups: np.ndarray | None = None) -> Pairs:
    """Pairs of files (a < b, least distance, sorted) whose rows of allowed kinds are within `max_distance`.

    `rows` is [(kind, file indices, uint64 hashes)]; `allowed` holds (kind, kind) pairs, either order.
    A file's pair with itself is dropped, and with `groups` (one int per file index, the video a frame is
    from) every pair of two files of one group, inside the joins. `joiner(hashes, k, groups=...)`, when given,
    is a self-join run elsewhere (producer/near/distjoin.py) that takes all rows at once.
    """
    by_kind: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for kind in dict.fromkeys(kind for kind, _, _ in rows):
        mine = [(files, hashes) for other, files, hashes in rows if other == kind]
        by_kind[kind] = (np.concatenate([f for f, _ in mine]).astype(np.int64),
                         np.concatenate([h for _, h in mine]).astype(np.uint64))
    pairs = {tuple(sorted(p)) for p in allowed if p[0] in by_kind and p[1] in by_kind}
    if not pairs:
        return _files_pairs([])
    if joiner is not None:
        return _in_one_join(by_kind, pairs, max_distance, joiner, groups)

    def groups_of(files: np.ndarray) -> np.ndarray | None:
        return None if groups is None else groups[files]

    found = []
    for kind in sorted({first for first, second in pairs if first == second}):
        files, hashes = by_kind[kind]
        a, b, d = join(hashes, max_distance, groups=groups_of(files))
        found.append((files[a], files[b], d))
    across = {p for p in pairs if p[0] != p[1]}
    while across:
        # The kind most others pair with holds the tables; the others' rows probe them in one join.
        hub = min(Counter(k for p in across for k in p).most_common(), key=lambda c: (-c[1], c[0]))[0]
        others = sorted(second if first == hub else first for first, second in across if hub in (first, second))
        files = np.concatenate([by_kind[k][0] for k in others])
        i, j, d = cross_join(np.concatenate([by_kind[k][1] for k in others]), by_kind[hub][1], max_distance,
                             left_groups=groups_of(files), right_groups=groups_of(by_kind[hub][0]))
        found.append((files[i], by_kind[hub][0][j], d))
        across -= {tuple(sorted((hub, k))) for k in others}
    return _files_pairs(found)


def _in_one_join(by_kind, pairs, max_distance: int, joiner, groups) -> Pairs:
    """All rows in one self-join, then only the pairs of allowed kinds kept."""
    names = sorted({kind for pair in pairs for kind in pair})  # rows of kinds that never pair stay out
    kinds = np.concatenate([np.full(len(by_kind[k][0]), n, np.int16) for n, k in enumerate(names)])
    owner = np.concatenate([by_kind[k][0] for k in names])
    ok = np.array([[tuple(sorted((x, y))) in pairs for y in names] for x in names], bool).reshape(len(names), -1)
    a, b, d = joiner(np.concatenate([by_kind[k][1] for k in names]), max_distance,
                     groups=None if groups is None else groups[owner])
    keep = ok[kinds[a], kinds[b]]
    return _files_pairs([(owner[a[keep]], owner[b[keep]], d[keep])])


def _files_pairs(found: list[Pairs]) -> Pairs:
    """Pairs of files found by several joins as one sorted set, each pair once at its least distance."""
    a = np.concatenate([np.empty(0, np.int64)] + [x.astype(np.int64) for x, _, _ in found])
    b = np.concatenate([np.empty(0, np.int64)] + [y.astype(np.int64) for _, y, _ in found])
    d = np.concatenate([np.empty(0, np.uint8)] + [z for _, _, z in found])
    other = a != b
    a, b, d = a[other], b[other], d[other]
    return least(np.minimum(a, b), np.maximum(a, b), d)


def least(a: np.ndarray, b: np.ndarray, d: np.ndarray) -> Pairs:
    """Each (a, b) once, with its least distance, sorted by (a, b)."""
    a, b, d = sort_pairs(a, b, d)
    if not len(a):
        return a, b, d
    first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
    return a[first], b[first], np.minimum.reduceat(d, np.flatnonzero(first))

"""Arrays of index pairs (a, b, distance) for the near-duplicate join: sorting, packing and expanding them.

Pure numpy. Pairs number tens of millions, so indices are int32 when they fit, sorting goes through one
packed int64 per pair, and every expansion is made in bounded chunks.
"""

from __future__ import annotations

import itertools

import numpy as np

#: Most hashes whose pairs pack into one int64 each (a * n + b, then 7 bits of distance); sort_pairs falls
#: back to lexsort above it.
PACKED_SORT_LIMIT = 1 << 28

Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]


def index_dtype(n: int) -> type:
    """The dtype of pair indices into n hashes: int32 when it fits (half the memory), else int64."""
    return np.int32 if n <= np.iinfo(np.int32).max else np.int64


def no_pairs(dtype) -> Pairs:
    """Empty (a, b, distance)."""
    return np.empty(0, dtype), np.empty(0, dtype), np.empty(0, np.uint8)


def concatenate(found: list[Pairs]) -> Pairs:
    """Several (a, b, distance) triples as one."""
    return tuple(np.concatenate(column) for column in zip(*found, strict=True))


def sort_pairs(a: np.ndarray, b: np.ndarray, distance: np.ndarray) -> Pairs:
    """The pairs ordered by (a, b): how join() returns them, for callers that join parts themselves."""
    n = int(b.max()) + 1 if len(b) else 0
    if n < PACKED_SORT_LIMIT:
        return unpack(pack(a, b, distance, n), n)
    order = np.lexsort((b, a))
    return a[order], b[order], distance[order]


def pack(a: np.ndarray, b: np.ndarray, distance: np.ndarray, n: int) -> np.ndarray:
    """One int64 per pair, (a * n + b) << 7 | distance, so that numpy's vectorised sort orders them."""
    if n >= PACKED_SORT_LIMIT:
        raise ValueError(f"pairs pack for fewer than {PACKED_SORT_LIMIT} hashes; join parts and sort_pairs for more")
    return (a.astype(np.int64) * n + b) << 7 | distance


def unpack(packed: np.ndarray, n: int) -> Pairs:
    """Sorts packed pairs in place and splits them into (a, b, distance), with few temporaries."""
    packed.sort()
    distance = (packed & 127).astype(np.uint8)
    packed >>= 7
    a, b = np.empty(len(packed), index_dtype(n)), np.empty(len(packed), index_dtype(n))
    np.floor_divide(packed, max(n, 1), out=a, casting="unsafe")
    np.remainder(packed, max(n, 1), out=b, casting="unsafe")
    return a, b, distance


def copies_of(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(values, members, first_copy, copies): the distinct values in increasing order, and the indices of each
    value's copies, value by value and in increasing order, at members[first_copy[v] : first_copy[v] + copies[v]].

    One stable argsort: np.unique with its inverse, then a sort of the inverse, cost three times as much.
    """
    members = np.argsort(hashes, kind="stable").astype(index_dtype(len(hashes)))
    ordered = hashes[members]
    first_copy = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(hashes) else np.empty(0, np.int64)
    copies = np.diff(np.r_[first_copy, len(hashes)])
    return ordered[first_copy], members, first_copy, copies


def ranges(first: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """first[i] .. first[i] + sizes[i] - 1 for every i, concatenated."""
    return np.repeat(first - (np.cumsum(sizes) - sizes), sizes) + np.arange(sizes.sum())


def segment_chunks(rows, first_columns, lengths, chunk: int):
    """(segment, left, right) per pair: each row against first .. first + length - 1, about `chunk` at a time."""
    total = np.cumsum(lengths)
    marks = np.arange(chunk, total[-1] if len(total) else 0, chunk)
    cuts = np.unique([0, *np.searchsorted(total, marks, side="right").tolist(), len(lengths)])
    for lo, hi in itertools.pairwise(cuts.tolist()):
        size = lengths[lo:hi]
        owner = np.repeat(np.arange(hi - lo), size)
        right = first_columns[lo:hi][owner] + np.arange(len(owner)) - (np.cumsum(size) - size)[owner]
        yield owner + lo, rows[lo:hi][owner], right


def expand(members, first_x, copies_x, first_y, copies_y, distance, chunk: int, members_y=None,
           groups=None, groups_y=None) -> Pairs:
    """Pairs of distinct values to pairs of hash indices: each of the copies_x copies of x (from position
    first_x of `members`) with each of the copies_y copies of y (from first_y of `members_y`, by default
    `members`), at the value pair's distance. With `members_y` (two sets of hashes) the pairs are (x's, y's)
    as they come; otherwise each pair is ordered (smaller, larger). With `groups` (one per hash of x's set;
    `groups_y` for y's, by default the same), a pair of two hashes of one group is dropped chunk by chunk."""
    rows = ranges(first_x, copies_x)
    pair_of_row = np.repeat(np.arange(len(first_x)), copies_x)
    found = [no_pairs(members.dtype)]
    for segment, left, right in segment_chunks(rows, first_y[pair_of_row], copies_y[pair_of_row], chunk):
        a, b = members[left], (members if members_y is None else members_y)[right]
        if groups is not None:
            apart = np.flatnonzero(groups[a] != (groups if groups_y is None else groups_y)[b])
            segment, a, b = segment[apart], a[apart], b[apart]
        if members_y is None:
            a, b = np.minimum(a, b), np.maximum(a, b)
        found.append((a, b, distance[pair_of_row[segment]]))
    return concatenate(found)

"""Exact near-duplicate join over 64-bit hashes (pure numpy: no files, no Celery).

Multi-index hashing (Norouzi, Punjani and Fleet, 2012) with the generalised pigeonhole bound: the 64 bits
are cut into m contiguous blocks and block i gets a radius t_i with sum(t_i + 1) = K + 1. Two hashes within
Hamming distance K cannot differ by t_i + 1 or more bits in every block, so some block i differs by at most
t_i. One table per block finds those pairs: distinct hashes are grouped by the block's value, each probes
the groups at its value ^ every flip mask of at most t_i bits (a dense map over all 2**width block values
makes a probe one array lookup), and each candidate is verified on all 64 bits. A pair is kept only by the
first table whose block finds it, so tables, and value ranges inside a table, are disjoint parts whose
union is the answer.

Memory is bounded whatever the clustering: probes and candidate pairs are made and verified in chunks, so a
huge group (thousands of flat images hashing near 0) costs time, never more than a chunk of memory beyond
the pairs it really yields.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

#: Width of the hashes joined, in bits (one uint64 per hash).
HASH_BITS = 64
#: Widest block a table indexes: its occupancy map and group counts have 2**width entries (4 Mi at 22).
MAX_BLOCK_BITS = 22
#: Block counts :func:`choose_blocks` considers (more blocks: narrower tables, more candidates).
BLOCK_CHOICES = range(-(-HASH_BITS // MAX_BLOCK_BITS), 17)
#: Cost model of :func:`choose_blocks`, in nanoseconds on one core, estimated from profiles of bench/nearjoin.py:
#: one probe (a hash's key ^ flip looked up), one candidate pair verified, one slot of a dense map, one flip
#: mask (the numpy calls it makes whatever the number of hashes).
PROBE_NS = 3
CANDIDATE_NS = 15
SLOT_NS = 2
FLIP_NS = 30_000
#: Hashes probing a table at once, per flip mask: bounds the probe arrays (~30 bytes per hash).
PROBE_CHUNK = 1 << 20
#: Candidate pairs verified at once: bounds the verification arrays (~60 bytes per pair).
CANDIDATE_CHUNK = 1 << 20
#: Most hashes whose pairs pack into one int64 each (a * n + b, then 7 bits of distance): :func:`join` takes
#: fewer (a larger set is joined part by part, see :func:`join_parts`), :func:`sort_pairs` falls back to lexsort.
PACKED_SORT_LIMIT = 1 << 28
#: Query x index distances computed at once by :func:`neighbours` (one byte each).
SCAN_CHUNK = 1 << 24

Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Part:
    """One independent slice of a join, plain ints so it crosses any wire.

    The pairs that table `table` of the `blocks`-block plan for `max_distance` keeps, whose smaller block
    value lies in [lo, hi).
    """

    max_distance: int
    blocks: int
    table: int
    lo: int
    hi: int


def block_plan(max_distance: int, blocks: int) -> list[tuple[int, int, int]]:
    """(shift, width, radius) per block; a radius of -1 means the block needs no table."""
    if not 0 <= max_distance <= HASH_BITS:
        raise ValueError(f"max_distance must be within 0..{HASH_BITS}, got {max_distance}")
    if not -(-HASH_BITS // MAX_BLOCK_BITS) <= blocks <= HASH_BITS:
        raise ValueError(f"blocks must be within {-(-HASH_BITS // MAX_BLOCK_BITS)}..{HASH_BITS}, got {blocks}")
    widths = [HASH_BITS // blocks + (i < HASH_BITS % blocks) for i in range(blocks)]
    spare = max_distance + 1 - blocks  # sum of the radii
    radii = [spare // blocks + (i < spare % blocks) for i in range(blocks)]
    shifts = [HASH_BITS - sum(widths[: i + 1]) for i in range(blocks)]
    return [(s, w, min(r, w)) for s, w, r in zip(shifts, widths, radii, strict=True)]


def choose_blocks(n: int, max_distance: int) -> int:
    """The block count with the least modelled time for n uniformly spread hashes.

    Clustered hashes make more candidates in every plan alike, so the uniform model still ranks them.
    """

    def cost(blocks: int) -> float:
        total = 0.0
        for _, width, radius in block_plan(max_distance, blocks):
            if radius >= 0:
                flips = sum(math.comb(width, r) for r in range(radius + 1))
                total += n / 2 * flips * PROBE_NS + n * n / 2 * flips / 2**width * CANDIDATE_NS
                total += 2**width * SLOT_NS + flips * FLIP_NS
        return total

    return min(BLOCK_CHOICES, key=cost)


def join_parts(max_distance: int, n: int, splits: int = 1, blocks: int | None = None) -> list[Part]:
    """The parts of a join of n hashes: one per table, each cut into `splits` equal ranges of block values.

    `blocks` defaults to :func:`choose_blocks`; every part carries it, so parts made here for n hashes
    must be run on those same hashes.
    """
    blocks = blocks or choose_blocks(n, max_distance)
    parts = []
    for table, (_, width, radius) in enumerate(block_plan(max_distance, blocks)):
        if radius >= 0:
            edges = np.linspace(0, 1 << width, splits + 1).astype(int)
            parts += [Part(max_distance, blocks, table, int(lo), int(hi)) for lo, hi in itertools.pairwise(edges)]
    return parts


def join(hashes: np.ndarray, max_distance: int, blocks: int | None = None) -> Pairs:
    """All pairs (a < b) with popcount(h[a] ^ h[b]) <= max_distance, as (a, b, distance) sorted by (a, b).

    a and b index `hashes` (uint64, shape (n,)): int32 below 2**31 hashes (pairs can number tens of
    millions, so they take half the memory), int64 above; distance is uint8. Exact: no pair is missed and
    none is false. `blocks` (the number of tables' blocks) defaults to :func:`choose_blocks`. Up to
    PACKED_SORT_LIMIT hashes; beyond, run :func:`join_parts` and :func:`sort_pairs`.
    """
    parts = join_parts(max_distance, len(hashes), 1, blocks)
    # Each part's pairs are packed (8 bytes a pair) as soon as it is done: a join can yield tens of millions.
    return _unpack(np.concatenate([_pack(*pairs_for_part(hashes, part), len(hashes)) for part in parts]), len(hashes))


def sort_pairs(a: np.ndarray, b: np.ndarray, distance: np.ndarray) -> Pairs:
    """The pairs ordered by (a, b): how :func:`join` returns them, for callers that join parts themselves."""
    n = int(b.max()) + 1 if len(b) else 0
    if n < PACKED_SORT_LIMIT:
        return _unpack(_pack(a, b, distance, n), n)
    order = np.lexsort((b, a))
    return a[order], b[order], distance[order]


def _pack(a: np.ndarray, b: np.ndarray, distance: np.ndarray, n: int) -> np.ndarray:
    """One int64 per pair, (a * n + b) << 7 | distance, so that numpy's vectorised sort orders them."""
    if n >= PACKED_SORT_LIMIT:
        raise ValueError(f"join() packs pairs of fewer than {PACKED_SORT_LIMIT} hashes; join parts for more")
    return (a.astype(np.int64) * n + b) << 7 | distance


def _unpack(packed: np.ndarray, n: int) -> Pairs:
    """Sorts packed pairs in place and splits them into (a, b, distance), with few temporaries."""
    packed.sort()
    distance = (packed & 127).astype(np.uint8)
    packed >>= 7
    a, b = np.empty(len(packed), index_dtype(n)), np.empty(len(packed), index_dtype(n))
    np.floor_divide(packed, max(n, 1), out=a, casting="unsafe")
    np.remainder(packed, max(n, 1), out=b, casting="unsafe")
    return a, b, distance


def index_dtype(n: int) -> type:
    """The dtype of pair indices into n hashes."""
    return np.int32 if n <= np.iinfo(np.int32).max else np.int64


def pairs_for_part(hashes: np.ndarray, part: Part) -> Pairs:
    """The pairs of one part, as (a, b, distance) with a < b, unsorted; parts never share a pair.

    Identical hashes are joined once: copies are common (re-saved files, flat images) and each copy would
    repeat every probe and candidate of the first.
    """
    values, copy_of, copies = np.unique(_as_hashes(hashes), return_inverse=True, return_counts=True)
    members = np.argsort(copy_of, kind="stable")  # the indices of each distinct value's copies, value by value
    first_copy = np.cumsum(copies) - copies
    members = members.astype(index_dtype(len(hashes)))
    x, y, distance = _distinct_pairs(values, part)
    found = [_no_pairs(members.dtype)] + [
        _expand(
            members, first_copy[x[lo:hi]], copies[x[lo:hi]], first_copy[y[lo:hi]], copies[y[lo:hi]], distance[lo:hi]
        )
        for lo, hi in itertools.pairwise([*range(0, len(x), CANDIDATE_CHUNK), len(x)])
    ]
    # Copies of one value pair up at distance 0, in the part holding the value in the first table.
    plan = block_plan(part.max_distance, part.blocks)
    if part.table == next(table for table, block in enumerate(plan) if block[2] >= 0):
        shift, width, _ = plan[part.table]
        key = (values >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        owned = np.flatnonzero((copies > 1) & (part.lo <= key) & (key < part.hi))
        rows = _members(first_copy[owned], copies[owned])
        ends = np.repeat(first_copy[owned] + copies[owned], copies[owned])
        found.append(
            _expand(members, rows, np.ones_like(rows), rows + 1, ends - rows - 1, np.zeros(len(rows), np.uint8))
        )
    return tuple(np.concatenate(column) for column in zip(*found, strict=True))


def _distinct_pairs(values: np.ndarray, part: Part) -> Pairs:
    """The part's pairs among distinct sorted `values`, as indices into them."""
    plan = block_plan(part.max_distance, part.blocks)
    shift, width, radius = plan[part.table]
    # int32 keys into one-byte maps: probes are the join's inner loop, and np.take over a 4 MiB map runs
    # them about 4 times faster than int64 keys into int64 counts.
    keys = ((values >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int32)
    order = np.argsort(keys, kind="stable")
    sorted_keys, sorted_values = keys[order], values[order]
    # Group v holds sorted positions bounds[v] .. bounds[v + 1] - 1: one array, so both reads share a cache line.
    bounds = np.zeros((1 << width) + 1, np.int32)
    np.cumsum(np.bincount(keys, minlength=1 << width), out=bounds[1:])
    check = _Check(sorted_values, order, part.max_distance, [block for block in plan[: part.table] if block[2] >= 0])
    mine = np.flatnonzero((part.lo <= sorted_keys) & (sorted_keys < part.hi))
    # Pairs inside one group: row p against p+1 .. the group's end.
    ends = bounds[sorted_keys[mine] + 1]
    check.segments(mine, mine + 1, ends - mine - 1)
    # Pairs across groups u < v = u ^ flip: the flip's highest bit is clear in u, so each pair of groups is
    # probed once. A hit costs several probes (random reads), so dense maps answer most hits with one read:
    # `state` (0 empty, 1 one value, 2 more) and the group's first value; larger groups go through segments.
    sizes = np.diff(bounds)
    state = np.minimum(sizes, 2).astype(np.uint8)
    first_value = np.zeros(1 << width, np.uint64)
    first_value[sorted_keys[bounds[:-1][sizes > 0]]] = sorted_values[bounds[:-1][sizes > 0]]
    for top, flips in _flips_by_top_bit(width, radius):
        for chunk in range(0, len(mine), PROBE_CHUNK):
            rows = mine[chunk : chunk + PROBE_CHUNK]
            rows = rows[(sorted_keys[rows] >> top) & 1 == 0]
            row_keys, row_values = sorted_keys[rows], sorted_values[rows]
            for flip in flips.tolist():
                partners = row_keys ^ flip
                probed = np.take(state, partners)
                hit = np.flatnonzero(probed != 0)  # numpy finds the true entries of a bool array 6 times faster
                groups = np.take(partners, hit)
                xor = np.take(row_values, hit) ^ np.take(first_value, groups)
                close = np.flatnonzero(np.bitwise_count(xor) <= part.max_distance)
                check.pairs(rows[hit[close]], bounds[groups[close]], xor[close])
                more = hit[np.take(probed, hit) > 1]
                check.segments(rows[more], bounds[partners[more]] + 1, sizes[partners[more]] - 1)
    return check.result()


class _Check:
    """Collects the candidate pairs (of sorted positions) within the distance that no earlier table keeps."""

    def __init__(self, sorted_values, order, max_distance, earlier):
        self.sorted_values, self.order, self.max_distance, self.earlier = sorted_values, order, max_distance, earlier
        dtype = index_dtype(len(order))
        self.found = [_no_pairs(dtype)]

    def pairs(self, left, right, xor):
        distance = np.bitwise_count(xor)
        keep = np.flatnonzero(distance <= self.max_distance)
        for shift, width, radius in self.earlier:
            block = (np.take(xor, keep) >> np.uint64(shift)) & np.uint64((1 << width) - 1)
            keep = keep[np.bitwise_count(block) > radius]
        a, b = np.take(self.order, np.take(left, keep)), np.take(self.order, np.take(right, keep))
        dtype = index_dtype(len(self.order))
        self.found.append((np.minimum(a, b).astype(dtype), np.maximum(a, b).astype(dtype), np.take(distance, keep)))

    def segments(self, rows, first_columns, lengths):
        """Row p against columns first .. first + length - 1, in chunks of CANDIDATE_CHUNK pairs."""
        for _, left, right in _segment_chunks(rows, first_columns, lengths):
            self.pairs(left, right, self.sorted_values[left] ^ self.sorted_values[right])

    def result(self) -> Pairs:
        return tuple(np.concatenate(column) for column in zip(*self.found, strict=True))


def neighbours(hashes: np.ndarray, queries: np.ndarray, max_distance: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per query, the (indices, distances) of the hashes within max_distance, nearest first, then by index.

    A linear scan (about 3 ms per query on 1,000,000 hashes, no index to build): one query, or a few
    thousand, cost less than building block tables; for all pairs of a set, use :func:`join`.
    """
    hashes, queries = _as_hashes(hashes), _as_hashes(queries)
    if not 0 <= max_distance <= HASH_BITS:
        raise ValueError(f"max_distance must be within 0..{HASH_BITS}, got {max_distance}")
    answers = []
    step = max(1, SCAN_CHUNK // max(1, len(hashes)))
    for chunk in range(0, len(queries), step):
        distances = np.bitwise_count(queries[chunk : chunk + step, None] ^ hashes[None, :])
        for row in distances:
            near = np.flatnonzero(row <= max_distance)
            nearest = near[np.argsort(row[near], kind="stable")]
            answers.append((nearest.astype(index_dtype(len(hashes))), row[nearest]))
    return answers


def _as_hashes(hashes: np.ndarray) -> np.ndarray:
    hashes = np.asarray(hashes)
    if hashes.dtype != np.uint64 or hashes.ndim != 1:
        raise ValueError(f"hashes must be a 1-d uint64 array (64-bit hashes only), got {hashes.dtype} {hashes.shape}")
    return hashes


def _no_pairs(dtype) -> Pairs:
    return np.empty(0, dtype), np.empty(0, dtype), np.empty(0, np.uint8)


def _members(first: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """first[i] .. first[i] + sizes[i] - 1 for every i, concatenated."""
    return np.repeat(first - (np.cumsum(sizes) - sizes), sizes) + np.arange(sizes.sum())


def _segment_chunks(rows, first_columns, lengths):
    """(segment, left, right) per pair: each row against first .. first + length - 1, ~CANDIDATE_CHUNK at a time."""
    total = np.cumsum(lengths)
    marks = np.arange(CANDIDATE_CHUNK, total[-1] if len(total) else 0, CANDIDATE_CHUNK)
    cuts = np.unique([0, *np.searchsorted(total, marks, side="right").tolist(), len(lengths)])
    for lo, hi in itertools.pairwise(cuts.tolist()):
        size = lengths[lo:hi]
        owner = np.repeat(np.arange(hi - lo), size)
        right = first_columns[lo:hi][owner] + np.arange(len(owner)) - (np.cumsum(size) - size)[owner]
        yield owner + lo, rows[lo:hi][owner], right


def _expand(members, first_x, copies_x, first_y, copies_y, distance) -> Pairs:
    """Pairs of distinct values to pairs of hash indices: each of the copies_x copies of x (from position
    first_x of `members`) with each of the copies_y copies of y (from first_y), at the value pair's distance."""
    rows = _members(first_x, copies_x)
    pair_of_row = np.repeat(np.arange(len(first_x)), copies_x)
    found = [_no_pairs(members.dtype)]
    for segment, left, right in _segment_chunks(rows, first_y[pair_of_row], copies_y[pair_of_row]):
        a, b = members[left], members[right]
        found.append((np.minimum(a, b), np.maximum(a, b), distance[pair_of_row[segment]]))
    return tuple(np.concatenate(column) for column in zip(*found, strict=True))


def _flips_by_top_bit(width: int, radius: int):
    """For each bit `top` of a block, the masks of 1..radius bits whose highest set bit is `top`."""
    for top in range(width):
        below = [sum(1 << bit for bit in bits) for r in range(radius) for bits in itertools.combinations(range(top), r)]
        if below:
            yield top, np.array(below, dtype=np.intp) | (1 << top)

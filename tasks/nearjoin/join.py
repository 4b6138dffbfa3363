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

from tasks.nearjoin.groups import MIXED, apart, as_groups, value_groups
from tasks.nearjoin.pairarrays import (
    Pairs,
    concatenate,
    copies_of,
    expand,
    index_dtype,
    no_pairs,
    pack,
    ranges,
    segment_chunks,
    unpack,
)
from tasks.nearjoin.pairarrays import sort_pairs as sort_pairs

__all__ = [
    "Part", "as_hashes", "block_plan", "choose_blocks", "join", "join_parts", "neighbours", "new_in_table",
    "pairs_for_part", "plan_cost", "sort_pairs",
]

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
#: Query x index distances computed at once by :func:`neighbours` (one byte each).
SCAN_CHUNK = 1 << 24


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

    return min(BLOCK_CHOICES, key=lambda blocks: plan_cost(max_distance, blocks, n / 2, n * n / 2))


def plan_cost(max_distance: int, blocks: int, probes: float, pairs: float) -> float:
    """Modelled time of a plan: `probes` hashes probing every flip of each table and `pairs` (probe, value)
    couples, each a candidate when their blocks agree, plus each table's slots and flips."""
    total = 0.0
    for _, width, radius in block_plan(max_distance, blocks):
        if radius >= 0:
            flips = sum(math.comb(width, r) for r in range(radius + 1))
            total += probes * flips * PROBE_NS + pairs * flips / 2**width * CANDIDATE_NS
            total += 2**width * SLOT_NS + flips * FLIP_NS
    return total


def new_in_table(xor: np.ndarray, keep: np.ndarray, earlier: list[tuple[int, int, int]]) -> np.ndarray:
    """The candidates of `keep` (indices into `xor`) that no earlier table of the plan already found: a pair
    is found by the first table whose block differs in at most its radius."""
    for shift, width, radius in earlier:
        block = (np.take(xor, keep) >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        keep = keep[np.bitwise_count(block) > radius]
    return keep


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


def join(hashes: np.ndarray, max_distance: int, blocks: int | None = None, groups=None) -> Pairs:
    """All pairs (a < b) with popcount(h[a] ^ h[b]) <= max_distance, as (a, b, distance) sorted by (a, b);
    with `groups` (one int per hash, tasks/nearjoin/groups.py) only those whose groups differ.

    a and b index `hashes` (uint64, shape (n,)): int32 below 2**31 hashes (pairs can number tens of
    millions, so they take half the memory), int64 above; distance is uint8. Exact: no pair is missed and
    none is false. `blocks` (the number of tables' blocks) defaults to :func:`choose_blocks`. Up to
    2**28 hashes (pairs are sorted packed in an int64 each); beyond, run :func:`join_parts` and :func:`sort_pairs`.
    """
    parts = join_parts(max_distance, len(hashes), 1, blocks)
    distinct = copies_of(as_hashes(hashes))  # once for all parts, and the distinct values' groups too
    groups = as_groups(groups, len(hashes))
    grouped = None if groups is None else value_groups(groups, distinct[1], distinct[2])
    # Each part's pairs are packed (8 bytes a pair) as soon as it is done: a join can yield tens of millions.
    packed = [pack(*pairs_for_part(hashes, part, distinct, groups, grouped), len(hashes)) for part in parts]
    return unpack(np.concatenate(packed), len(hashes))


def pairs_for_part(hashes: np.ndarray, part: Part, distinct=None, groups=None, grouped=None) -> Pairs:
    """The pairs of one part, as (a, b, distance) with a < b, unsorted; parts never share a pair. With
    `groups` (one int per hash), a pair of two hashes of one group is left out.

    Identical hashes are joined once: copies are common (re-saved files, flat images) and each copy would
    repeat every probe and candidate of the first. `distinct` is pairarrays.copies_of(hashes) and `grouped`
    groups.value_groups of it, when the caller runs several parts of the same hashes.
    """
    values, members, first_copy, copies = distinct or copies_of(as_hashes(hashes))
    groups = as_groups(groups, len(hashes))
    if grouped is None and groups is not None:
        grouped = value_groups(groups, members, first_copy)
    x, y, distance = _distinct_pairs(values, part, grouped)
    found = [no_pairs(members.dtype)] + [
        expand(members, first_copy[x[lo:hi]], copies[x[lo:hi]], first_copy[y[lo:hi]], copies[y[lo:hi]],
               distance[lo:hi], CANDIDATE_CHUNK, groups=groups)
        for lo, hi in itertools.pairwise([*range(0, len(x), CANDIDATE_CHUNK), len(x)])
    ]
    # Copies of one value pair up at distance 0, in the part holding the value in the first table.
    plan = block_plan(part.max_distance, part.blocks)
    if part.table == next(table for table, block in enumerate(plan) if block[2] >= 0):
        shift, width, _ = plan[part.table]
        key = (values >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        owned = (copies > 1) & (part.lo <= key) & (key < part.hi)
        # Copies that all share one group make no pair.
        owned = np.flatnonzero(owned if grouped is None else owned & (grouped == MIXED))
        rows = ranges(first_copy[owned], copies[owned])
        ends = np.repeat(first_copy[owned] + copies[owned], copies[owned])
        found.append(expand(members, rows, np.ones_like(rows), rows + 1, ends - rows - 1,
                            np.zeros(len(rows), np.uint8), CANDIDATE_CHUNK, groups=groups))
    return concatenate(found)


def _distinct_pairs(values: np.ndarray, part: Part, grouped: np.ndarray | None) -> Pairs:
    """The part's pairs among distinct sorted `values`, as indices into them, but for those of two values
    whose copies all lie in one group (`grouped`: groups.value_groups, or None)."""
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
    earlier = [block for block in plan[: part.table] if block[2] >= 0]
    check = _Check(sorted_values, order, part.max_distance, earlier, None if grouped is None else grouped[order])
    mine = np.flatnonzero((part.lo <= sorted_keys) & (sorted_keys < part.hi))
    # Pairs inside one group: row p against p+1 .. the group's end.
    ends = bounds[sorted_keys[mine] + 1]
    check.segments(mine, mine + 1, ends - mine - 1)
    # Pairs across groups u < v = u ^ flip: the flip's highest bit is clear in u, so each pair of groups is
    # probed once. A hit costs several probes (random reads), so dense maps answer most hits with one or two
    # reads: `state` (0 empty, 1 one value, 2 two, 3 more) and the group's first two values (at a million
    # hashes a 21-bit group that is hit holds two or more values 4 times in 10, three or more 1 in 8:
    # segments, which cost several passes, now take only those).
    sizes = np.diff(bounds)
    state = np.minimum(sizes, 3).astype(np.uint8)
    first_values = [np.zeros(1 << width, np.uint64) for _ in range(2)]
    for nth, values_map in enumerate(first_values):
        held = sizes > nth
        values_map[sorted_keys[bounds[:-1][held]]] = sorted_values[bounds[:-1][held] + nth]
    for top, flips in _flips_by_top_bit(width, radius):
        for chunk in range(0, len(mine), PROBE_CHUNK):
            rows = mine[chunk : chunk + PROBE_CHUNK]
            rows = rows[(sorted_keys[rows] >> top) & 1 == 0]
            row_keys, row_values = sorted_keys[rows], sorted_values[rows]
            for flip in flips.tolist():
                partners = row_keys ^ flip
                probed = np.take(state, partners)
                hit = np.flatnonzero(probed != 0)  # numpy finds the true entries of a bool array 6 times faster
                for nth, values_map in enumerate(first_values):
                    groups = np.take(partners, hit)
                    xor = np.take(row_values, hit) ^ np.take(values_map, groups)
                    close = np.flatnonzero(np.bitwise_count(xor) <= part.max_distance)
                    check.pairs(rows[hit[close]], bounds[groups[close]] + nth, xor[close])
                    hit = hit[np.take(probed, hit) > nth + 1]
                check.segments(rows[hit], bounds[partners[hit]] + 2, sizes[partners[hit]] - 2)
    return check.result()


class _Check:
    """Collects the candidate pairs (of sorted positions) within the distance that no earlier table keeps."""

    def __init__(self, sorted_values, order, max_distance, earlier, sorted_groups=None):
        self.sorted_values, self.order, self.max_distance, self.earlier = sorted_values, order, max_distance, earlier
        self.sorted_groups = sorted_groups
        dtype = index_dtype(len(order))
        self.found = [no_pairs(dtype)]

    def pairs(self, left, right, xor):
        distance = np.bitwise_count(xor)
        keep = new_in_table(xor, np.flatnonzero(distance <= self.max_distance), self.earlier)
        if self.sorted_groups is not None:
            groups = self.sorted_groups
            keep = keep[apart(np.take(groups, np.take(left, keep)), np.take(groups, np.take(right, keep)))]
        a, b = np.take(self.order, np.take(left, keep)), np.take(self.order, np.take(right, keep))
        dtype = index_dtype(len(self.order))
        self.found.append((np.minimum(a, b).astype(dtype), np.maximum(a, b).astype(dtype), np.take(distance, keep)))

    def segments(self, rows, first_columns, lengths):
        """Row p against columns first .. first + length - 1, in chunks of CANDIDATE_CHUNK pairs."""
        for _, left, right in segment_chunks(rows, first_columns, lengths, CANDIDATE_CHUNK):
            self.pairs(left, right, self.sorted_values[left] ^ self.sorted_values[right])

    def result(self) -> Pairs:
        return concatenate(self.found)


def neighbours(hashes: np.ndarray, queries: np.ndarray, max_distance: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per query, the (indices, distances) of the hashes within max_distance, nearest first, then by index.

    A linear scan (about 3 ms per query on 1,000,000 hashes, no index to build): one query, or a few
    thousand, cost less than building block tables; for all pairs of a set, use :func:`join`.
    """
    hashes, queries = as_hashes(hashes), as_hashes(queries)
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


def as_hashes(hashes: np.ndarray) -> np.ndarray:
    """`hashes` as an array, checked to be 1-d uint64 (ValueError otherwise)."""
    hashes = np.asarray(hashes)
    if hashes.dtype != np.uint64 or hashes.ndim != 1:
        raise ValueError(f"hashes must be a 1-d uint64 array (64-bit hashes only), got {hashes.dtype} {hashes.shape}")
    return hashes


def _flips_by_top_bit(width: int, radius: int):
    """For each bit `top` of a block, the masks of 1..radius bits whose highest set bit is `top`."""
    for top in range(width):
        below = [sum(1 << bit for bit in bits) for r in range(radius) for bits in itertools.combinations(range(top), r)]
        if below:
            yield top, np.array(below, dtype=np.intp) | (1 << top)

"""Exact join between two sets of 64-bit hashes (pure numpy): every pair (i, j) of a left and a right hash
within Hamming distance K, for joins in which only some kinds of hashes may pair (a turned region against a
whole picture, never against another turned region; producer/near/regions.py).

The multi-index bound of tasks/nearjoin/join.py, across two sets: the distinct values of the smaller set are
grouped by each table's block, and every hash of the larger set probes the groups at its block
^ every flip mask of at most the table's radius bits (the flip 0 included: no pair is found twice inside
one set here, so no half of the masks can be skipped). A pair is kept only by the first table whose block
is within its radius. No candidate between two rows of one side is made: the region stage of a million files
(bench/HARD_EDITS.md) took 5.2 s this way, 14.0 s as one self-join of its 8,000,000 rows.
"""

from __future__ import annotations

import itertools

import numpy as np

from tasks.nearjoin.groups import apart, as_groups, value_groups
from tasks.nearjoin.join import (
    BLOCK_CHOICES,
    CANDIDATE_CHUNK,
    PROBE_CHUNK,
    as_hashes,
    block_plan,
    new_in_table,
    plan_cost,
)
from tasks.nearjoin.pairarrays import (
    Pairs,
    concatenate,
    copies_of,
    expand,
    index_dtype,
    no_pairs,
    pack,
    segment_chunks,
    unpack,
)

__all__ = ["choose_cross_blocks", "cross_join"]


def choose_cross_blocks(n_probes: int, n_table: int, max_distance: int) -> int:
    """The block count with the least modelled time (join.py's cost model) for n_probes hashes probing
    tables of n_table uniformly spread distinct values."""

    return min(BLOCK_CHOICES, key=lambda blocks: plan_cost(max_distance, blocks, n_probes, n_probes * n_table))


def cross_join(left: np.ndarray, right: np.ndarray, max_distance: int, blocks: int | None = None,
               left_groups=None, right_groups=None) -> Pairs:
    """All pairs (i, j) with popcount(left[i] ^ right[j]) <= max_distance, as (i, j, distance) sorted by (i, j);
    with `left_groups` and `right_groups` (one int per hash of each side, tasks/nearjoin/groups.py) only
    those whose groups differ.

    i indexes `left`, j `right` (both uint64, shape (n,)); int32 below 2**31 hashes a side, distance uint8.
    Exact: no pair is missed and none is false. `blocks` defaults to :func:`choose_cross_blocks`. Up to
    2**28 hashes a side (pairs are sorted packed in an int64 each).
    """
    left, right = as_hashes(left), as_hashes(right)
    left_groups, right_groups = as_groups(left_groups, len(left)), as_groups(right_groups, len(right))
    if (left_groups is None) != (right_groups is None):
        raise ValueError("cross_join takes groups for both sides or for neither")
    n = max(len(left), len(right))
    dtype = index_dtype(n)
    if not len(left) or not len(right):
        return no_pairs(dtype)
    # Tables over the smaller side, probes from the larger: sorting a side into tables costs more per hash
    # than a probe (tables on 1,000,000 whole pictures, probes from 4,000,000 turned rows at 4 bits: 7 s).
    # The table side's copies are one value each (thousands of equal flat-image hashes make one group
    # member, not thousands); each copy on the probe side probes on its own, a cost linear in its rows.
    swap = len(left) < len(right)
    probes, table = (right, left) if swap else (left, right)
    probe_groups, table_groups = (right_groups, left_groups) if swap else (left_groups, right_groups)
    values, members, first_copy, copies = copies_of(table)
    grouped = None if table_groups is None else (probe_groups, value_groups(table_groups, members, first_copy))
    blocks = blocks or choose_cross_blocks(len(probes), len(values), max_distance)
    rows, y, distance = _distinct_pairs(probes, values, max_distance, blocks, grouped)
    found = [no_pairs(dtype)] + [
        expand(np.arange(len(probes), dtype=dtype), rows[lo:hi], np.ones(hi - lo, np.int64), first_copy[y[lo:hi]],
               copies[y[lo:hi]], distance[lo:hi], CANDIDATE_CHUNK, members_y=members.astype(dtype),
               groups=probe_groups, groups_y=table_groups)
        for lo, hi in itertools.pairwise([*range(0, len(rows), CANDIDATE_CHUNK), len(rows)])
    ]
    i, j, distance = concatenate(found)
    if swap:
        i, j = j, i
    return unpack(pack(i, j, distance, n), n)


def _distinct_pairs(probes: np.ndarray, values: np.ndarray, max_distance: int, blocks: int, grouped) -> Pairs:
    """(probe index, value index, distance) of every probe and distinct value within max_distance, but for a
    probe and a value whose copies all lie in the probe's group (`grouped`: the probes' groups and the
    values' groups.value_groups, or None)."""
    plan = block_plan(max_distance, blocks)
    found = [no_pairs(np.int64)]
    for table, (shift, width, radius) in enumerate(plan):
        if radius < 0:
            continue
        earlier = [block for block in plan[:table] if block[2] >= 0]
        mask = np.uint64((1 << width) - 1)
        keys = ((values >> np.uint64(shift)) & mask).astype(np.int32)
        order = np.argsort(keys, kind="stable")
        sorted_values = values[order]
        bounds = np.zeros((1 << width) + 1, np.int64)
        np.cumsum(np.bincount(keys, minlength=1 << width), out=bounds[1:])
        sizes = np.diff(bounds).astype(np.int32)
        probe_keys = ((probes >> np.uint64(shift)) & mask).astype(np.int32)
        # As in join.py: dense maps answer a hit on a group of one value with one read (`state` 0 empty,
        # 1 one value, 2 more; the group's first value); larger groups go through segments.
        state = np.minimum(sizes, 2).astype(np.uint8)
        first_value = np.zeros(1 << width, np.uint64)
        first_value[sizes > 0] = sorted_values[bounds[:-1][sizes > 0]]
        check = _Check(order, max_distance, earlier, grouped and (grouped[0], grouped[1][order]))
        for flip, lo in itertools.product(_flips(width, radius), range(0, len(probes), PROBE_CHUNK)):
            partners = probe_keys[lo : lo + PROBE_CHUNK] ^ flip
            probed = np.take(state, partners)
            hit = np.flatnonzero(probed != 0)  # as in join.py: faster on a bool array
            groups = np.take(partners, hit)
            check.pairs(hit + lo, bounds[groups], np.take(probes, hit + lo) ^ np.take(first_value, groups))
            more = hit[np.take(probed, hit) > 1]
            for _, rows, columns in segment_chunks(more + lo, bounds[partners[more]] + 1, sizes[partners[more]] - 1,
                                                   CANDIDATE_CHUNK):
                check.pairs(rows, columns, probes[rows] ^ sorted_values[columns])
        found += check.found
    return concatenate(found)


class _Check:
    """Collects the candidate (probe, sorted position) pairs within the distance that no earlier table keeps,
    as (probe index, value index, distance)."""

    def __init__(self, order, max_distance, earlier, grouped=None):
        self.order, self.max_distance, self.earlier = order, max_distance, earlier
        self.grouped = grouped  # (the probes' groups, the sorted values' groups), or None
        self.found = []

    def pairs(self, rows, columns, xor):
        distance = np.bitwise_count(xor)
        keep = new_in_table(xor, np.flatnonzero(distance <= self.max_distance), self.earlier)
        if self.grouped is not None:
            probe_groups, sorted_groups = self.grouped
            groups_of_value = np.take(sorted_groups, np.take(columns, keep))
            keep = keep[apart(groups_of_value, np.take(probe_groups, np.take(rows, keep)))]
        self.found.append((np.take(rows, keep).astype(np.int64), np.take(self.order, np.take(columns, keep)),
                           np.take(distance, keep)))


def _flips(width: int, radius: int) -> list[int]:
    """Every mask of at most `radius` of a block's `width` bits, 0 first."""
    masks = (itertools.combinations(range(width), r) for r in range(radius + 1))
    return [sum(1 << bit for bit in bits) for bits in itertools.chain.from_iterable(masks)]


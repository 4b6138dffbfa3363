"""The chain of matching frame pairs that an alignment (producer/near/videoalign.py) keeps: the longest run
of pairs in time order in both videos, and the longest piece of it without a long skip.

Pure numpy and Python on the pairs' times.
"""

from __future__ import annotations

import numpy as np


def longest_chain(ta: np.ndarray, tb: np.ndarray, cost: np.ndarray | None = None) -> np.ndarray:
    """Indices of the longest chain of points strictly increasing in both ta and tb; among the longest, one
    whose points' `cost`s (non-negative integers) sum least. Dynamic programming over the points in ta order,
    a Fenwick tree of prefix maxima over tb's ranks: O(n log n)."""
    n = len(ta)
    if not n:
        return np.zeros(0, np.intp)
    cost = [0] * n if cost is None else np.asarray(cost).astype(np.int64).tolist()
    scale = sum(cost) + 1  # one point more outweighs any sum of distances
    ranks = (np.searchsorted(np.unique(tb), tb) + 1).tolist()
    size = max(ranks)
    tree_score, tree_at = [-1] * (size + 1), [-1] * (size + 1)
    score, before = [0] * n, [-1] * n
    order = np.lexsort((tb, ta)).tolist()
    ta_list = ta.tolist()
    start = 0
    while start < n:  # points of equal ta never chain: all of them look back before any is added
        stop = start
        while stop < n and ta_list[order[stop]] == ta_list[order[start]]:
            stop += 1
        for i in order[start:stop]:
            best, at, k = 0, -1, ranks[i] - 1
            while k > 0:
                if tree_score[k] > best:
                    best, at = tree_score[k], tree_at[k]
                k -= k & -k
            score[i], before[i] = best + scale - cost[i], at
        for i in order[start:stop]:
            k = ranks[i]
            while k <= size:
                if score[i] > tree_score[k]:
                    tree_score[k], tree_at[k] = score[i], i
                k += k & -k
        start = stop
    chain, i = [], max(range(n), key=lambda j: (score[j], -j))
    while i >= 0:
        chain.append(i)
        i = before[i]
    return np.array(chain[::-1], np.intp)


def longest_piece(ta: np.ndarray, tb: np.ndarray, max_gap: float) -> slice:
    """The longest run (in seconds of A) of a chain whose steps skip at most `max_gap` seconds in both."""
    cut = np.flatnonzero((np.diff(ta) > max_gap) | (np.diff(tb) > max_gap)) + 1
    starts, ends = np.r_[0, cut], np.r_[cut, len(ta)]
    spans = ta[ends - 1] - ta[starts] + (tb[ends - 1] - tb[starts])
    best = int(np.lexsort((starts, -spans))[0])
    return slice(int(starts[best]), int(ends[best]))

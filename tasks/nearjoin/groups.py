"""Groups of a join's rows: one int per hash (the video a frame is from), and a pair whose two rows share a
group is never yielded. Pure numpy helpers for tasks/nearjoin/join.py and cross.py.

The joins drop such pairs where it is cheapest: a pair of distinct values whose copies all lie in one
group is dropped before it is expanded to its copies (one comparison per candidate within the distance),
and every pair of rows is checked again as each chunk is expanded (a value's copies may span groups).
"""

from __future__ import annotations

import numpy as np

#: The group of a distinct value whose copies lie in more than one group: never equal to a real group.
MIXED = -1
#: Largest group a join takes: groups travel and are held as int32 (4 bytes a row).
MAX_GROUP = np.iinfo(np.int32).max


def as_groups(groups, n: int) -> np.ndarray | None:
    """`groups` as an int32 array of n groups within 0..MAX_GROUP (ValueError otherwise); None stays None
    (every pair may be yielded)."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != n or not (np.issubdtype(groups.dtype, np.integer) or len(groups) == 0):
        raise ValueError(f"groups must be a 1-d integer array of one group per hash ({n}), got "
                         f"{groups.dtype} {groups.shape}")
    if len(groups) and (groups.min() < 0 or groups.max() > MAX_GROUP):
        raise ValueError(f"groups must be within 0..{MAX_GROUP}, got {groups.min()}..{groups.max()}")
    return groups.astype(np.int32, copy=False)


def value_groups(groups: np.ndarray, members: np.ndarray, first_copy: np.ndarray) -> np.ndarray:
    """Per distinct value (tasks.nearjoin.pairarrays.copies_of's members and first_copy), the group all its
    copies share, or MIXED."""
    if not len(first_copy):
        return np.empty(0, np.int32)
    ordered = groups[members]
    lowest, highest = np.minimum.reduceat(ordered, first_copy), np.maximum.reduceat(ordered, first_copy)
    return np.where(lowest == highest, lowest, MIXED).astype(np.int32)


def apart(groups_a: np.ndarray, groups_b: np.ndarray) -> np.ndarray:
    """Where two rows' groups differ, treating MIXED as differing from every group."""
    return (groups_a != groups_b) | (groups_a == MIXED)

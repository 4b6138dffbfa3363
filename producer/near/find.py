"""Near-duplicates in an index: every pair within K, groups around a representative, which file to keep,
and the matches of a query image. Pure numpy over a HashIndex (producer/near/hashindex.py) and tasks/nearjoin/join.py.

The distance of two files is their phash distance, or, with the centre-crop hashes (`phash-centre`), the
least of phash-phash, phash-centre and centre-phash: a copy with its borders cut then matches its original
(bench/RESULTS.md, near-duplicate quality). With the region hashes (`phash-regions`) such a pair must also be
confirmed beyond a shared overlay, and files sharing a region pair at their region distance
(producer/near/regions.py). Which file of a group to keep: producer/near/keep.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from producer.near.defaults import CENTRE_HASH, DEFAULT_HASH
from producer.near.hashindex import MISSING, HashIndex
from producer.near.regions import (
    CENTRE,
    FULL,
    NO_MATCH,
    REGIONS_HASH,
    confirmed,
    content_distances,
    content_rows,
    region_match_distances,
    region_pairs,
)
from producer.near.typedjoin import least, typed_join
from tasks.image.phash import LOW_QUALITY
from tasks.nearjoin.join import join
from tasks.nearjoin.pairarrays import Pairs


def eligible(index: HashIndex, include_low_information: bool = False) -> np.ndarray:
    """Indices of the files that take part: all, or those not flagged as low-information (quality under
    tasks.image.phash.LOW_QUALITY; files without a score take part)."""
    if include_low_information:
        return np.arange(len(index))
    return np.flatnonzero((index.quality >= LOW_QUALITY) | (index.quality == MISSING))


def near_pairs(index: HashIndex, max_distance: int, *, hash_name: str = DEFAULT_HASH, crops: bool = True,
               regions: bool = True, include_low_information: bool = False, joiner=None,
               groups: np.ndarray | None = None) -> Pairs:
    """All pairs (a < b, indices into `index`) of the same picture, with their distance, sorted by (a, b);
    with `groups` (one int per file of `index`: the video a frame is from) only pairs of different groups,
    dropped inside the joins. `joiner(hashes, k, groups=...)` is the exact self-join of the first stage
    (tasks.nearjoin.join.join, or the cluster's), which takes all its rows at once. The region stage is
    always joined here, each allowed pair of kinds on its own (producer/near/typedjoin.py): about 10 s at a
    million files, where a self-join of its 5 million turned and whole-picture rows at 4 bits would take
    minutes even spread over a cluster.

    First stage: files within `max_distance` on the whole picture (phash), with `crops` also on its centre
    crop, and with the region hashes also on the content inside a frame. With `regions` (and the index's
    phash-regions), those pairs must be confirmed beyond a shared overlay, and the second stage adds the
    files that share a region (producer/near/regions.py).
    """
    ids = eligible(index, include_low_information)
    local = np.arange(len(ids))
    local_groups = None if groups is None else np.asarray(groups)[ids]
    full = index.hashes[hash_name][ids]
    rows, allowed = [(FULL, local, full)], {(FULL, FULL)}
    if crops and CENTRE_HASH in index.hashes:
        rows.append((CENTRE, local, index.hashes[CENTRE_HASH][ids]))
        allowed.add((FULL, CENTRE))
    second = regions and REGIONS_HASH in index.hashes
    if second:
        region = index.hashes[REGIONS_HASH][ids]
        rows.append(content_rows(local, region))
        allowed |= {("content", FULL), ("content", "content")}
    # The first stage is one self-join of all its rows even here: at K = 8 a join across two sets probes
    # every flip mask of a block, a self-join half of them (one join: 25 s at a million files, full
    # against itself plus centre against full: 38 s, bench/HARD_EDITS.md).
    a, b, d = typed_join(rows, allowed, max_distance, joiner or join, local_groups)
    if second:
        keep = confirmed(a, b, full, region, max_distance)
        ra, rb, rd = region_pairs(local, full, region)
        if local_groups is not None:
            apart = local_groups[ra] != local_groups[rb]
            ra, rb, rd = ra[apart], rb[apart], rd[apart]
        a, b, d = least(np.concatenate([a[keep], ra]), np.concatenate([b[keep], rb]), np.concatenate([d[keep], rd]))
    return ids[a], ids[b], d


@dataclasses.dataclass(frozen=True)
class NearGroup:
    """A representative and every file within K of it (never a chain: each member is near the
    representative itself), with each member's distance to it."""

    representative: int
    members: np.ndarray  # indices, the representative first
    distances: np.ndarray  # to the representative (0 for itself)


def groups_around_representatives(n: int, a: np.ndarray, b: np.ndarray, d: np.ndarray) -> list[NearGroup]:
    """Groups from pairs, without chaining: the file with the most near neighbours becomes a
    representative and takes every neighbour not yet grouped; then the next (ties by index). Connected
    components would chain a slow gradient of edits across a whole collection into one group; here every
    member is within K of its representative, so a group's members are at most 2K apart. Largest first."""
    if not len(a):
        return []
    src, dst, dist = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([d, d])
    order = np.lexsort((dst, src))
    src, dst, dist = src[order], dst[order], dist[order]
    starts = np.searchsorted(src, np.arange(n + 1))
    degree = np.diff(starts)
    grouped = np.zeros(n, bool)
    groups = []
    for v in np.lexsort((np.arange(n), -degree))[: np.count_nonzero(degree)].tolist():
        if grouped[v]:
            continue
        near, how = dst[starts[v]:starts[v + 1]], dist[starts[v]:starts[v + 1]]
        free = ~grouped[near]
        if not free.any():
            continue
        members = np.r_[v, near[free]]
        grouped[members] = True
        groups.append(NearGroup(v, members, np.r_[0, how[free]].astype(np.uint8)))
    groups.sort(key=lambda g: (-len(g.members), g.representative))
    return groups


def query_distances(index: HashIndex, query: dict[str, np.ndarray], max_distance: int, *,
                    hash_name: str = DEFAULT_HASH, crops: bool = True, regions: bool = True) -> np.ndarray:
    """Distance of every file of `index` to one query image's hashes ({algorithm: uint64, or uint64 array
    for the region hashes}), as :func:`near_pairs` measures it: a file matches when its distance is at most
    `max_distance`; one whose whole-picture match the regions do not confirm gets NO_MATCH, one that shares
    a region with the query its region distance."""
    full = index.hashes[hash_name]
    distance = np.bitwise_count(full ^ np.uint64(query[hash_name])).astype(np.int64)
    if crops and CENTRE_HASH in index.hashes and CENTRE_HASH in query:
        distance = np.minimum(distance, np.bitwise_count(index.hashes[CENTRE_HASH] ^ np.uint64(query[hash_name])))
        distance = np.minimum(distance, np.bitwise_count(full ^ np.uint64(query[CENTRE_HASH])))
    if not (regions and REGIONS_HASH in index.hashes and REGIONS_HASH in query):
        return distance
    # The query is file n of the pairs (i, n): the stages of near_pairs, pair by pair.
    n = len(full)
    both_full = np.r_[full, np.uint64(query[hash_name])]
    both = np.concatenate([index.hashes[REGIONS_HASH], np.asarray(query[REGIONS_HASH], np.uint64)[None, :]])
    a, b = np.arange(n), np.full(n, n)
    distance = np.minimum(distance, content_distances(a, b, both_full, both))
    distance = np.where(confirmed(a, b, both_full, both, max_distance), distance, NO_MATCH)
    return np.minimum(distance, region_match_distances(a, b, both_full, both))

"""Near-duplicates in an index: every pair within K, groups around a representative, which file to keep,
and the matches of a query image. Pure numpy over a HashIndex (producer/near/hashindex.py) and tasks/nearjoin/join.py.

The distance of two files is their phash distance, or, with the centre-crop hashes (`phash-centre`), the
least of phash-phash, phash-centre and centre-phash: a copy with its borders cut then matches its original
(bench/RESULTS.md, near-duplicate quality).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from producer.near.defaults import CENTRE_HASH, DEFAULT_HASH, KEEP_POLICIES
from producer.near.hashindex import MISSING, HashIndex
from producer.near.regions import CENTRE, FULL, REGIONS_HASH, confirmed, content_rows, least, region_pairs, typed_join
from tasks.image.phash import LOW_QUALITY
from tasks.nearjoin.join import join
from tasks.nearjoin.pairarrays import Pairs


def eligible(index: HashIndex, include_low_information: bool = False) -> np.ndarray:
    """Indices of the files that take part: all, or those not flagged as low-information (quality under
    tasks.image.phash.LOW_QUALITY; files without a score take part)."""
    if include_low_information:
        return np.arange(len(index))
    return np.flatnonzero((index.quality >= LOW_QUALITY) | (index.quality == MISSING))


def near_pairs(
    index: HashIndex,
    max_distance: int,
    *,
    hash_name: str = DEFAULT_HASH,
    crops: bool = True,
    regions: bool = True,
    include_low_information: bool = False,
    joiner=join,
) -> Pairs:
    """All pairs (a < b, indices into `index`) of the same picture, with their distance, sorted by (a, b).
    `joiner(hashes, k)` is the exact join (tasks.nearjoin.join.join, or the cluster's).

    First stage: files within `max_distance` on the whole picture (phash), with `crops` also on its centre
    crop, and with the region hashes also on the content inside a frame. With `regions` (and the index's
    phash-regions), those pairs must be confirmed beyond a shared overlay, and the second stage adds the
    files that share a region (producer/near/regions.py).
    """
    ids = eligible(index, include_low_information)
    local = np.arange(len(ids))
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
    a, b, d = typed_join(rows, allowed, max_distance, joiner)
    if second:
        keep = confirmed(a, b, full, region, max_distance)
        ra, rb, rd = region_pairs(local, full, region, joiner)
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
        near, how = dst[starts[v] : starts[v + 1]], dist[starts[v] : starts[v + 1]]
        free = ~grouped[near]
        if not free.any():
            continue
        members = np.r_[v, near[free]]
        grouped[members] = True
        groups.append(NearGroup(v, members, np.r_[0, how[free]].astype(np.uint8)))
    groups.sort(key=lambda g: (-len(g.members), g.representative))
    return groups


def choose_keeper(index: HashIndex, members: np.ndarray, policy: str) -> int:
    """The member to keep: `largest` (most pixels; among equals the oldest, as a re-encoded or greyscaled
    copy is made after its original and may well take more bytes), `biggest-file` (bytes), `oldest` or
    `newest` (mtime); remaining ties go to the earlier file in the index."""
    if policy not in KEEP_POLICIES:
        raise ValueError(f"--keep must be one of {', '.join(KEEP_POLICIES)}")
    pixels = index.widths[members] * index.heights[members]
    keys = {
        "largest": (-pixels, index.mtimes[members]),
        "biggest-file": (-index.sizes[members],),
        "oldest": (index.mtimes[members],),
        "newest": (-index.mtimes[members],),
    }[policy]
    return int(members[np.lexsort((members, *reversed(keys)))[0]])


def query_distances(
    index: HashIndex, query: dict[str, int], *, hash_name: str = DEFAULT_HASH, crops: bool = True
) -> np.ndarray:
    """Distance of every file of `index` to one query image's hashes ({algorithm: uint64 hash}), as
    :func:`near_pairs` measures it."""
    full = index.hashes[hash_name]
    distance = np.bitwise_count(full ^ np.uint64(query[hash_name]))
    if crops and CENTRE_HASH in index.hashes and CENTRE_HASH in query:
        distance = np.minimum(distance, np.bitwise_count(index.hashes[CENTRE_HASH] ^ np.uint64(query[hash_name])))
        distance = np.minimum(distance, np.bitwise_count(full ^ np.uint64(query[CENTRE_HASH])))
    return distance

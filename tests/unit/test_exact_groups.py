"""Exact-duplicate groups through files on disk: the same groups as a dict of hashes would give, whatever
the buffer, sort and page sizes, the skew of the hashes, or one hash shared by a bucket too large to sort."""

import numpy as np
import pytest

from producer.merge.exactgroups import GroupBuilder


def expected_groups(hashes: np.ndarray, hashed: np.ndarray) -> list[list[int]]:
    by_hash: dict[bytes, list[int]] = {}
    for index in np.flatnonzero(hashed).tolist():
        by_hash.setdefault(hashes[index].tobytes(), []).append(index)
    return sorted((g for g in by_hash.values() if len(g) > 1), key=lambda g: g[0])


def built_groups(builder: GroupBuilder) -> tuple[list[list[int]], list[int]]:
    """Groups read back from the pages (in order of their first file), and every member index as read."""
    groups: dict[int, list[int]] = {}
    order = []
    for _, members in builder.pages():
        for index, first in members.tolist():
            groups.setdefault(first, []).append(index)
            order.append(index)
    return [groups[first] for first in sorted(groups)], order


def feed(builder: GroupBuilder, hashes, hashed, rng) -> None:
    offset = 0
    while offset < len(hashes):
        size = int(rng.integers(1, 300))
        builder.add(hashes[offset:offset + size], hashed[offset:offset + size], offset)
        offset += size
    builder.finish()


@pytest.mark.parametrize("case", range(24))
def test_groups_match_a_dict_of_hashes_for_any_buffer_sort_and_page_size(tmp_path, case):
    # Given files drawn from a small pool of hashes, some not hashed; every third case skewed to one
    # first byte, every fourth with four leading zero bytes (as a 32-bit hash in 64 bits), every fifth one
    # single hash for all
    rng = np.random.default_rng(case)
    files = int(rng.integers(1, 4000))
    pool = rng.integers(0, 256, (max(1, files // int(rng.integers(1, 20))), 8), dtype=np.uint8)
    if case % 3 == 0:
        pool[:, 0] = 7
    if case % 4 == 1:
        pool[:, :4] = 0
    if case % 5 == 0:
        pool[:] = 3
    hashes = pool[rng.integers(0, len(pool), files)]
    hashed = rng.random(files) > 0.1
    # When they go through a builder with small, random buffers (forcing flushes, splits and pages)
    builder = GroupBuilder(str(tmp_path), 8, flush_rows=int(rng.integers(1, 500)),
                           sort_rows=int(rng.integers(2, 300)), page_files=int(rng.integers(1, 2000)))
    feed(builder, hashes, hashed, rng)
    # Then the groups are those of a dict, members come out in file order, and the totals agree
    groups, order = built_groups(builder)
    expected = expected_groups(hashes, hashed)
    assert groups == expected
    assert order == sorted(order)
    assert (builder.groups, builder.members) == (len(expected), sum(map(len, expected)))


def test_a_bucket_of_one_hash_larger_than_the_sort_limit_is_one_group_read_in_blocks(tmp_path, monkeypatch):
    # Given 5,000 files with one hash, a sort limit of 100 rows and split blocks of 64 rows
    monkeypatch.setattr("producer.merge.exactgroups.SPLIT_BLOCK", 64)
    hashes = np.full((5000, 8), 9, np.uint8)
    builder = GroupBuilder(str(tmp_path), 8, flush_rows=1000, sort_rows=100)
    feed(builder, hashes, np.ones(5000, bool), np.random.default_rng(0))
    groups, _ = built_groups(builder)
    assert groups == [list(range(5000))] and builder.groups == 1


def test_only_the_first_hash_bytes_asked_for_are_compared(tmp_path):
    # Given rows of 16 bytes whose first 8 agree but the rest differ
    hashes = np.zeros((3, 16), np.uint8)
    hashes[:, 8:] = [[1], [2], [3]]
    builder = GroupBuilder(str(tmp_path), 8)
    feed(builder, hashes, np.ones(3, bool), np.random.default_rng(0))
    assert built_groups(builder)[0] == [[0, 1, 2]]


def test_the_work_files_are_removed_as_buckets_are_grouped(tmp_path):
    rng = np.random.default_rng(1)
    hashes = rng.integers(0, 4, (2000, 8), dtype=np.uint8)
    builder = GroupBuilder(str(tmp_path), 8, flush_rows=100, sort_rows=50)
    feed(builder, hashes, np.ones(2000, bool), rng)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pages"]

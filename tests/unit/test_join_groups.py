"""Joins with groups (tasks/nearjoin/groups.py): exactly the pairs of the join without groups whose two rows
are in different groups, in the self-join, its parts, the join across two sets, the typed join and
near_pairs, with identical hashes inside one group and across groups."""

import numpy as np
import pytest

from producer.near.find import near_pairs
from producer.near.typedjoin import typed_join
from tasks.nearjoin.cross import cross_join
from tasks.nearjoin.join import join, join_parts, pairs_for_part, sort_pairs
from tasks.nearjoin.pairarrays import concatenate, copies_of
from tests.unit.test_crossjoin import brute_force as brute_force_across
from tests.unit.test_crossjoin import typed_rows
from tests.unit.test_near_regions import K, families, index_of
from tests.unit.test_nearjoin import assert_same_pairs, brute_force, clustered_hashes

#: Hashes of the self-join tests (brute force over all their pairs takes well under a second).
N = 12_000


def clustered_groups(hashes: np.ndarray, seed: int = 0) -> np.ndarray:
    """One group per hash, like the videos of frames: most hashes take the group their value picks, so near
    and identical hashes often share a group (every copy of a value in one group); the others take a random
    group, so copies of one value also span groups."""
    rng = np.random.default_rng(seed)
    by_value = (hashes >> np.uint64(56)).astype(np.int64) % 40
    return np.where(rng.random(len(hashes)) < 0.7, by_value, rng.integers(0, 40, len(hashes)))


def apart(pairs, groups_a, groups_b=None):
    """The pairs whose two rows' groups differ."""
    a, b, d = pairs
    keep = groups_a[a] != (groups_a if groups_b is None else groups_b)[b]
    return a[keep], b[keep], d[keep]


@pytest.fixture(scope="module")
def hashes():
    return clustered_hashes(N, seed=5)


@pytest.fixture(scope="module")
def groups(hashes):
    return clustered_groups(hashes)


@pytest.fixture(scope="module")
def all_pairs_within_12(hashes):
    return brute_force(hashes, 12)


def test_the_groups_hold_copies_in_one_group_and_copies_across_groups(hashes, groups, all_pairs_within_12):
    values, members, first_copy, copies = copies_of(hashes)
    spans = np.array([len(np.unique(groups[members[f:f + c]])) for f, c in zip(first_copy, copies, strict=True)])
    assert ((copies > 1) & (spans == 1)).sum() > 50 and ((copies > 1) & (spans > 1)).sum() > 50
    a, b, d = all_pairs_within_12
    assert (groups[a] == groups[b]).mean() > 0.2 and (groups[a] != groups[b]).mean() > 0.2


@pytest.mark.parametrize("max_distance", [0, 4, 8, 12])
@pytest.mark.parametrize("blocks", [None, 4])
def test_a_join_with_groups_yields_exactly_the_brute_force_pairs_of_different_groups(
        hashes, groups, all_pairs_within_12, max_distance, blocks):
    expected = apart(tuple(c[all_pairs_within_12[2] <= max_distance] for c in all_pairs_within_12), groups)
    assert_same_pairs(join(hashes, max_distance, blocks=blocks, groups=groups), expected)


@pytest.mark.parametrize("max_distance, splits", [(0, 3), (8, 2), (12, 3)])
def test_parts_with_groups_together_are_the_join_filtered_by_groups(hashes, groups, max_distance, splits):
    parts = join_parts(max_distance, len(hashes), splits=splits)
    found = sort_pairs(*concatenate([pairs_for_part(hashes, part, groups=groups) for part in parts]))
    assert_same_pairs(found, apart(join(hashes, max_distance), groups))


def test_a_join_with_groups_is_exact_when_probes_and_candidates_come_in_tiny_chunks(monkeypatch):
    import tasks.nearjoin.join as nearjoin

    monkeypatch.setattr(nearjoin, "CANDIDATE_CHUNK", 100)
    monkeypatch.setattr(nearjoin, "PROBE_CHUNK", 100)
    hashes = clustered_hashes(3000, seed=6)
    groups = clustered_groups(hashes, seed=6)
    assert_same_pairs(join(hashes, 8, groups=groups), apart(brute_force(hashes, 8), groups))


def test_identical_hashes_pair_only_across_groups():
    # Given 5 copies of one value in groups 0, 0, 1, 0, 1, and 3 copies of another all in group 2
    hashes = np.array([7, 7, 7, 7, 7, 9, 9, 9], np.uint64)
    groups = np.array([0, 0, 1, 0, 1, 2, 2, 2])
    # When joined at distance 1 with groups
    a, b, d = join(hashes, 1, groups=groups)
    # Then only copies of the first value in different groups pair, and nothing among the second's copies
    assert list(zip(a.tolist(), b.tolist(), d.tolist(), strict=True)) == [
        (0, 2, 0), (0, 4, 0), (1, 2, 0), (1, 4, 0), (2, 3, 0), (3, 4, 0)]


def test_one_group_for_all_hashes_yields_no_pair_and_none_is_the_join_without_groups(hashes):
    assert len(join(hashes, 8, groups=np.zeros(len(hashes), np.int64))[0]) == 0
    assert_same_pairs(join(hashes, 8, groups=None), join(hashes, 8))


@pytest.mark.parametrize("max_distance", [0, 4, 8])
def test_a_cross_join_with_groups_yields_the_brute_force_pairs_of_different_groups(max_distance):
    hashes = clustered_hashes(9_000, seed=3)
    groups = clustered_groups(hashes, seed=3)
    left, right, left_groups, right_groups = hashes[:6_000], hashes[4_000:], groups[:6_000], groups[4_000:]
    expected = apart(brute_force_across(left, right, max_distance), left_groups, right_groups)
    assert_same_pairs(cross_join(left, right, max_distance, left_groups=left_groups, right_groups=right_groups),
                      expected)
    # Either side may hold the tables
    expected = apart(brute_force_across(right, left, max_distance), right_groups, left_groups)
    assert_same_pairs(cross_join(right, left, max_distance, left_groups=right_groups, right_groups=left_groups),
                      expected)


@pytest.mark.parametrize("joiner", [None, join])
def test_a_typed_join_with_groups_is_the_typed_join_filtered_by_the_files_groups(joiner):
    # Given 3,000 files with a whole picture, a square and two turned rows each, in 60 groups
    hashes, rows, allowed = typed_rows()
    groups = clustered_groups(hashes[0], seed=4)
    # When joined kind pair by kind pair or all in one self-join, with groups
    found = typed_join(rows, allowed, 8, joiner, groups)
    # Then the pairs are those of the typed join without groups whose files' groups differ
    assert_same_pairs(found, apart(typed_join(rows, allowed, 8, joiner), groups))
    assert len(found[0]) > 100


@pytest.mark.parametrize("seed", [0, 1])
def test_near_pairs_with_groups_are_near_pairs_of_files_of_different_groups(seed):
    full, centre, regions = families(600, seed)
    data = index_of(full, centre, regions)
    groups = np.random.default_rng(seed).integers(0, 30, len(full))
    found = near_pairs(data, K, groups=groups)
    assert_same_pairs(found, apart(near_pairs(data, K), groups))
    assert len(found[0]) > 50


@pytest.mark.parametrize("groups", [np.zeros(4, np.int64), np.full(5, -1), np.zeros(5, float), np.zeros((5, 1), int),
                                    np.full(5, 2**31)])
def test_groups_that_are_not_one_non_negative_int32_per_hash_raise_value_error(groups):
    with pytest.raises(ValueError, match="groups"):
        join(np.arange(5, dtype=np.uint64), 4, groups=groups)


def test_a_cross_join_refuses_groups_on_one_side_only():
    with pytest.raises(ValueError, match="both sides"):
        cross_join(np.ones(3, np.uint64), np.ones(3, np.uint64), 4, left_groups=np.zeros(3, int))

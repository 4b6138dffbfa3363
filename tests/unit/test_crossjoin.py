"""tasks.nearjoin.cross and producer.near.typedjoin: exact against brute force on clustered hashes, and the
typed join (one join per pair of kinds) equal to one self-join of every row with the other kinds dropped."""

import numpy as np
import pytest

from producer.near.typedjoin import typed_join
from tasks.nearjoin.cross import choose_cross_blocks, cross_join
from tasks.nearjoin.join import join
from tests.unit.test_nearjoin import clustered_hashes


@pytest.fixture(scope="module")
def sides():
    hashes = clustered_hashes(9_000, seed=3)
    return hashes[:6_000], hashes[4_000:]  # 2,000 hashes on both sides, and clusters across them


def brute_force(left, right, max_distance):
    distance = np.bitwise_count(left[:, None] ^ right[None, :])
    i, j = np.nonzero(distance <= max_distance)
    return i, j, distance[i, j]


@pytest.mark.parametrize("max_distance", [0, 2, 4, 8, 12])
@pytest.mark.parametrize("blocks", [None, 3, 6])
def test_cross_join_finds_exactly_the_brute_force_pairs_sorted_by_left_then_right(sides, max_distance, blocks):
    left, right = sides
    found = cross_join(left, right, max_distance, blocks)
    for got, want, name in zip(found, brute_force(left, right, max_distance), "ijd", strict=True):
        np.testing.assert_array_equal(got, want, err_msg=f"column {name} differs")


def test_cross_join_is_the_same_whichever_side_holds_the_tables(sides):
    left, right = sides
    i, j, d = cross_join(right, left, 6)  # the larger side is now the left one
    order = np.lexsort((i, j))
    np.testing.assert_array_equal(np.c_[j[order], i[order], d[order]], np.c_[cross_join(left, right, 6)])


def test_copies_on_either_side_pair_with_every_copy_of_the_other():
    left = np.array([5, 5, 9, 5], np.uint64)
    right = np.array([5, 4, 5], np.uint64)
    i, j, d = cross_join(left, right, 1)
    assert list(zip(i.tolist(), j.tolist(), d.tolist(), strict=True)) == [
        (0, 0, 0), (0, 1, 1), (0, 2, 0), (1, 0, 0), (1, 1, 1), (1, 2, 0), (3, 0, 0), (3, 1, 1), (3, 2, 0)]


def test_an_empty_side_makes_no_pairs():
    assert all(len(column) == 0 for column in cross_join(np.empty(0, np.uint64), np.ones(3, np.uint64), 4))


def test_hashes_that_are_not_uint64_raise_value_error():
    with pytest.raises(ValueError, match="uint64"):
        cross_join(np.ones(3, np.int64), np.ones(3, np.uint64), 4)


def test_a_small_radius_gets_wide_tables_probed_once():
    assert choose_cross_blocks(5_000_000, 1_000_000, 2) == 3  # three 21-22 bit blocks, radius 0 each


def typed_rows(seed: int = 4):
    """3,000 files with a whole picture, a square and two turned rows each, clustered alike: (their hashes, 4 x
    3,000; typed_join's rows; the kind pairs it may join)."""
    hashes = clustered_hashes(12_000, seed=seed).reshape(4, -1)
    files = np.arange(hashes.shape[1])
    rows = [("full", files, hashes[0]), ("square", files, hashes[1]), ("turned", files, hashes[2]),
            ("turned", files, hashes[3])]
    return hashes, rows, {("square", "square"), ("turned", "full"), ("full", "full")}


@pytest.mark.parametrize("max_distance", [2, 4, 8])
def test_a_typed_join_equals_one_self_join_of_every_row_with_the_other_kinds_dropped(max_distance):
    # Given 3,000 files with a whole picture, a square and two turned rows each, clustered alike
    _, rows, allowed = typed_rows()
    # When joined kind pair by kind pair, and all in one self-join
    by_kind, at_once = typed_join(rows, allowed, max_distance), typed_join(rows, allowed, max_distance, join)
    # Then both find the same pairs of files at the same least distances, and there are many
    for got, want in zip(by_kind, at_once, strict=True):
        np.testing.assert_array_equal(got, want)
    assert len(by_kind[0]) > 100


def test_cross_join_is_exact_when_probes_and_candidates_come_in_tiny_chunks(sides, monkeypatch):
    import tasks.nearjoin.cross as cross

    monkeypatch.setattr(cross, "PROBE_CHUNK", 97)
    monkeypatch.setattr(cross, "CANDIDATE_CHUNK", 31)
    left, right = sides
    for got, want in zip(cross_join(left, right, 8), brute_force(left, right, 8), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("joiner", [None, join])
def test_a_typed_join_whose_allowed_kinds_have_no_rows_makes_no_pairs(joiner):
    rows = [("full", np.arange(3), np.zeros(3, np.uint64))]
    assert all(len(column) == 0 for column in typed_join(rows, {("turned", "full")}, 4, joiner))

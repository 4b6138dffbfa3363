"""tasks.nearjoin.join: exact against brute force on clustered hashes, parts, neighbours, edge cases."""

import itertools

import numpy as np
import pytest

from tasks.nearjoin.join import (
    HASH_BITS,
    block_plan,
    choose_blocks,
    join,
    join_parts,
    neighbours,
    pairs_for_part,
    sort_pairs,
)

#: Hashes in the exactness tests: brute force over all their pairs still takes well under a second.
N = 20_000
#: Distances every exactness test runs at (the join supports up to 16 and more).
DISTANCES = [0, 4, 8, 12, 16]


def flip_random_bits(rng: np.random.Generator, hashes: np.ndarray, most: int) -> np.ndarray:
    """Each hash with 0..most distinct random bits flipped."""
    flips = rng.integers(0, most + 1, len(hashes))
    ranks = np.argsort(rng.random((len(hashes), HASH_BITS)), axis=1)
    bits = (ranks < flips[:, None]).astype(np.uint64) << np.arange(HASH_BITS, dtype=np.uint64)
    return hashes ^ np.bitwise_or.reduce(bits, axis=1)


def clustered_hashes(n: int = N, seed: int = 0) -> np.ndarray:
    """Like real phashes, not uniform: clusters around seeds, exact copies, and dense clusters near 0 and ~0."""
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**64, n // 100, dtype=np.uint64, endpoint=False)
    near_seeds = flip_random_bits(rng, seeds[rng.integers(len(seeds), size=n * 6 // 10)], 10)
    copies = near_seeds[rng.integers(len(near_seeds), size=n // 10)]
    near_zero = flip_random_bits(rng, np.zeros(n // 20, np.uint64), 3)
    near_ones = flip_random_bits(rng, np.full(n // 50, 2**64 - 1, np.uint64), 3)
    uniform = rng.integers(0, 2**64, n - len(near_seeds) - len(copies) - len(near_zero) - len(near_ones), np.uint64)
    return rng.permutation(np.concatenate([near_seeds, copies, near_zero, near_ones, uniform]))


def brute_force(hashes: np.ndarray, max_distance: int, rows_at_once: int = 1000):
    """Every pair a < b within max_distance by comparing all of them, sorted by (a, b)."""
    found = []
    for lo in range(0, len(hashes), rows_at_once):
        distance = np.bitwise_count(hashes[lo : lo + rows_at_once, None] ^ hashes[None, :])
        a, b = np.nonzero(distance <= max_distance)
        later = b > a + lo
        found.append((a[later] + lo, b[later], distance[a[later], b[later]]))
    a, b, distance = (np.concatenate(column) for column in zip(*found, strict=True))
    return a.astype(np.int32), b.astype(np.int32), distance


@pytest.fixture(scope="module")
def hashes():
    return clustered_hashes()


@pytest.fixture(scope="module")
def all_pairs_within_16(hashes):
    return brute_force(hashes, 16)


def within(pairs, max_distance):
    keep = pairs[2] <= max_distance
    return tuple(column[keep] for column in pairs)


def assert_same_pairs(found, expected):
    for got, want, name in zip(found, expected, ("a", "b", "distance"), strict=True):
        np.testing.assert_array_equal(got, want, err_msg=f"column {name} differs")


def test_the_clustered_hashes_hold_duplicates_and_many_pairs_at_every_distance(hashes, all_pairs_within_16):
    assert len(np.unique(hashes)) < len(hashes) * 0.95
    counts = [int((all_pairs_within_16[2] <= k).sum()) for k in DISTANCES]
    assert counts[0] > 1000 and all(later > earlier for earlier, later in itertools.pairwise(counts))


@pytest.mark.parametrize("max_distance", DISTANCES)
def test_join_finds_exactly_the_brute_force_pairs_sorted_by_a_then_b(hashes, all_pairs_within_16, max_distance):
    assert_same_pairs(join(hashes, max_distance), within(all_pairs_within_16, max_distance))


@pytest.mark.parametrize("blocks, max_distance", [(3, 8), (4, 12), (9, 16)])
def test_join_is_exact_whatever_the_block_count(hashes, all_pairs_within_16, blocks, max_distance):
    assert_same_pairs(join(hashes, max_distance, blocks=blocks), within(all_pairs_within_16, max_distance))


@pytest.mark.parametrize("max_distance, splits", [(0, 2), (8, 3), (12, 2)])
def test_parts_never_share_a_pair_and_together_are_the_whole_join(hashes, all_pairs_within_16, max_distance, splits):
    parts = join_parts(max_distance, len(hashes), splits=splits)
    found = [pairs_for_part(hashes, part) for part in parts]
    a, b, distance = (np.concatenate(column) for column in zip(*found, strict=True))
    assert len(np.unique(a * len(hashes) + b)) == len(a)
    assert_same_pairs(sort_pairs(a, b, distance), within(all_pairs_within_16, max_distance))
    assert len(parts) >= splits


def test_sorting_by_packed_keys_and_by_lexsort_agree(hashes, all_pairs_within_16, monkeypatch):
    import tasks.nearjoin.pairarrays as pairarrays

    shuffled = np.random.default_rng(3).permutation(len(all_pairs_within_16[0]))
    scrambled = [column[shuffled] for column in all_pairs_within_16]
    assert_same_pairs(sort_pairs(*scrambled), all_pairs_within_16)
    monkeypatch.setattr(pairarrays, "PACKED_SORT_LIMIT", 0)
    assert_same_pairs(sort_pairs(*scrambled), all_pairs_within_16)


def test_a_part_is_plain_ints_so_it_can_cross_a_wire():
    part = join_parts(10, 1_000_000, splits=2)[-1]
    assert all(isinstance(value, int) for value in vars(part).values())
    assert type(part)(**vars(part)) == part


@pytest.mark.parametrize("max_distance", [0, 10, 16])
def test_neighbours_equal_a_brute_force_scan_nearest_first(hashes, max_distance):
    queries = np.concatenate([hashes[:40], np.random.default_rng(1).integers(0, 2**64, 10, np.uint64)])
    answers = neighbours(hashes, queries, max_distance)
    assert len(answers) == len(queries)
    for query, (indices, distances) in zip(queries, answers, strict=True):
        everyone = np.bitwise_count(hashes ^ query)
        expected = np.lexsort((np.arange(len(hashes)), everyone))
        expected = expected[everyone[expected] <= max_distance]
        np.testing.assert_array_equal(indices, expected)
        np.testing.assert_array_equal(distances, everyone[expected])


@pytest.mark.parametrize("n", [0, 1])
def test_fewer_than_two_hashes_make_no_pairs(n):
    a, b, distance = join(np.zeros(n, np.uint64), 16)
    assert len(a) == len(b) == len(distance) == 0
    assert (a.dtype, b.dtype, distance.dtype) == (np.int32, np.int32, np.uint8)


@pytest.mark.parametrize("value", [0, 2**64 - 1, 0x0123456789ABCDEF])
def test_equal_hashes_pair_up_completely_at_distance_zero(value):
    a, b, distance = join(np.full(300, value, np.uint64), 0)
    expected_a, expected_b = np.triu_indices(300, k=1)
    np.testing.assert_array_equal(a, expected_a)
    np.testing.assert_array_equal(b, expected_b)
    assert not distance.any()


def test_distance_zero_finds_only_exact_duplicates():
    hashes = np.array([5, 4, 5, 7, 4, 5], np.uint64)
    a, b, _ = join(hashes, 0)
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 2), (0, 5), (1, 4), (2, 5)]


def test_a_huge_bucket_is_joined_exactly_when_chunks_are_tiny(monkeypatch):
    import tasks.nearjoin.join as nearjoin

    monkeypatch.setattr(nearjoin, "CANDIDATE_CHUNK", 1000)
    monkeypatch.setattr(nearjoin, "PROBE_CHUNK", 1000)
    hashes = flip_random_bits(np.random.default_rng(2), np.zeros(1500, np.uint64), 2)
    assert_same_pairs(join(hashes, 3), brute_force(hashes, 3))


def test_the_block_radii_leave_no_room_for_a_missed_pair():
    for max_distance in range(HASH_BITS + 1):
        for blocks in (3, 4, 5, 16):
            plan = block_plan(max_distance, blocks)
            assert sum(width for _, width, _ in plan) == HASH_BITS
            # Pigeonhole: a pair differing by radius + 1 bits in every block would be farther than max_distance.
            assert sum(min(radius, width - 1) + 1 for _, width, radius in plan) > max_distance or any(
                radius >= width for _, width, radius in plan
            )


def test_a_million_hashes_get_wide_tables_and_a_few_thousand_narrower_ones():
    assert choose_blocks(1_000_000, 12) < choose_blocks(2_000, 12)


@pytest.mark.parametrize(
    "call",
    [
        lambda: join(np.zeros(3, np.int64), 4),
        lambda: join(np.zeros((3, 4), np.uint64), 4),
        lambda: join(np.zeros(3, np.uint64), -1),
        lambda: join(np.zeros(3, np.uint64), 65),
        lambda: join(np.zeros(3, np.uint64), 4, blocks=2),
        lambda: neighbours(np.zeros(3, np.uint64), np.zeros(1, np.uint32), 4),
    ],
)
def test_wrong_hashes_distances_and_block_counts_raise_value_error(call):
    with pytest.raises(ValueError):
        call()

"""Near-duplicate pairs with centre-crop hashes, groups around representatives, keep policies, query distances."""

import itertools

import numpy as np
import pytest

from producer.near.find import (
    eligible,
    groups_around_representatives,
    near_pairs,
    query_distances,
)
from producer.near.hashindex import MISSING, HashIndex
from producer.near.keep import choose_keeper
from tasks.image.phash import LOW_QUALITY


def clustered(n: int, seed: int) -> np.ndarray:
    """Hashes in families: seeds plus few-bit flips, some exact copies."""
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**63, n // 8, dtype=np.uint64)
    base = seeds[rng.integers(0, len(seeds), n)]
    flips = np.zeros(n, np.uint64)
    for _ in range(4):
        on = rng.random(n) < 0.5
        flips[on] ^= np.uint64(1) << rng.integers(0, 64, on.sum()).astype(np.uint64)
    return base ^ flips


def index_of(full: np.ndarray, centre: np.ndarray | None = None, quality=None, **columns) -> HashIndex:
    n = len(full)
    hashes = {"phash": full} | ({"phash-centre": centre} if centre is not None else {})
    ints = {k: np.asarray(columns.get(k, np.full(n, MISSING)), np.int64) for k in ("sizes", "mtimes", "widths",
                                                                                    "heights")}
    q = np.full(n, 50, np.int16) if quality is None else np.asarray(quality, np.int16)
    return HashIndex([f"/p/{i}.jpg" for i in range(n)], hashes, q, **ints, algos=tuple(hashes), hash_size=8)


def brute_force(full, centre, k):
    """{(a, b): least of full-full, full-centre, centre-full distances} for every pair within k."""
    found = {}
    for a, b in itertools.combinations(range(len(full)), 2):
        d = int(np.bitwise_count(full[a] ^ full[b]))
        if centre is not None:
            d = min(d, int(np.bitwise_count(full[a] ^ centre[b])), int(np.bitwise_count(centre[a] ^ full[b])))
        if d <= k:
            found[(a, b)] = d
    return found


@pytest.mark.parametrize("k", [0, 4, 8, 10])
def test_pairs_with_centre_hashes_are_exactly_the_least_of_the_three_distances(k):
    full = clustered(600, seed=k)
    centre = full ^ (np.uint64(1) << np.random.default_rng(k).integers(0, 64, 600).astype(np.uint64))
    centre[::7] = clustered(600, seed=99)[::7]  # some centres far from their own full hash
    a, b, d = near_pairs(index_of(full, centre), k)
    assert dict(zip(zip(a.tolist(), b.tolist(), strict=True), d.tolist(), strict=True)) == brute_force(full, centre, k)
    pairs = list(zip(a.tolist(), b.tolist(), strict=True))
    assert np.all(a < b) and pairs == sorted(pairs)


def test_pairs_without_centre_hashes_are_the_plain_join():
    full = clustered(400, seed=3)
    a, b, d = near_pairs(index_of(full), 6)
    assert dict(zip(zip(a.tolist(), b.tolist(), strict=True), d.tolist(), strict=True)) == brute_force(full, None, 6)


def test_low_information_images_are_left_out_unless_asked_for():
    full = np.zeros(4, np.uint64)  # four flat images: identical hashes
    quality = [0, LOW_QUALITY - 1, LOW_QUALITY, MISSING]
    assert eligible(index_of(full, quality=quality)).tolist() == [2, 3]
    assert near_pairs(index_of(full, quality=quality), 0)[0].tolist() == [2]
    assert len(near_pairs(index_of(full, quality=quality), 0, include_low_information=True)[0]) == 6


def test_groups_never_chain_every_member_is_near_its_representative():
    # Given a chain 0 - 1 - 2 - 3 - 4, each link 4 bits, K = 4: connected components would make one group
    full = np.array([0, 0xF, 0xFF, 0xFFF, 0xFFFF], np.uint64)
    a, b, d = near_pairs(index_of(full), 4)
    groups = groups_around_representatives(5, a, b, d)
    # Then no member is further than K from its representative, and no file is in two groups
    members = np.concatenate([g.members for g in groups])
    assert len(members) == len(set(members.tolist()))
    for g in groups:
        assert all(int(np.bitwise_count(full[g.representative] ^ full[m])) <= 4 for m in g.members)
        assert g.distances[0] == 0 and g.members[0] == g.representative


def test_the_file_with_most_neighbours_represents_its_group_and_largest_groups_come_first():
    far = 0xFFFF << 40
    full = np.array([0b1, 0b11, 0b111, 0b101, far, far | 1], np.uint64)
    a, b, d = near_pairs(index_of(full), 2)
    groups = groups_around_representatives(6, a, b, d)
    assert [g.members.tolist() for g in groups] == [[0, 1, 2, 3], [4, 5]]


def test_largest_prefers_the_oldest_of_equally_large_copies_over_a_bigger_file():
    data = index_of(np.zeros(3, np.uint64), sizes=[100, 300, 200], mtimes=[50, 60, 40], widths=[9, 9, 9],
                    heights=[9, 9, 9])
    assert choose_keeper(data, np.array([0, 1, 2]), "largest") == 2


@pytest.mark.parametrize("policy, kept", [("largest", 1), ("biggest-file", 2), ("oldest", 0), ("newest", 2)])
def test_each_keep_policy_names_its_file(policy, kept):
    data = index_of(np.zeros(3, np.uint64), sizes=[10, 20, 30], mtimes=[100, 300, 500], widths=[10, 40, 20],
                    heights=[10, 40, 20])
    assert choose_keeper(data, np.array([0, 1, 2]), policy) == kept


def test_a_query_is_measured_like_a_pair():
    full = np.array([0, 0xFF, 0xFFFF], np.uint64)
    centre = np.array([0xF0F0, 0x1, 0xFFFF0000], np.uint64)
    query = {"phash": np.uint64(0xFF00), "phash-centre": np.uint64(0xFFFF)}
    expected = [min(int(np.bitwise_count(np.uint64(q) ^ np.uint64(h))) for q, h in
                    ((0xFF00, f), (0xFF00, c), (0xFFFF, f))) for f, c in zip(full, centre, strict=True)]
    assert query_distances(index_of(full, centre), query, 8).tolist() == expected

"""The region stage of `dupes` (producer/near/regions.py), its confirmation of whole-picture pairs, `search`
with the same stages, and the `original` keep policy (producer/near/keep.py)."""

import itertools

import numpy as np
import pytest

from producer.near.find import near_pairs, query_distances
from producer.near.hashindex import MISSING, HashIndex
from producer.near.keep import choose_keeper, reasons
from producer.near.regions import (
    CONTENT,
    INNER,
    REGION_MAX_DISTANCE,
    SQUARE,
    TURNED,
    TURNED_MAX_DISTANCE,
    UPPER_LEFT,
    confirmed,
    content_distances,
)
from producer.near.typedjoin import typed_join
from tasks.image.regions import REGIONS
from tasks.nearjoin.join import join

K = 8


def index_of(full, centre, regions, sizes=None, widths=None, heights=None, mtimes=None) -> HashIndex:
    n = len(full)

    def ints(values):
        return np.asarray(values if values is not None else np.full(n, MISSING), np.int64)

    hashes = {"phash": full, "phash-centre": centre, "phash-regions": regions}
    return HashIndex([f"/p/{i}.jpg" for i in range(n)], hashes, np.full(n, 50, np.int16), ints(sizes), ints(mtimes),
                     ints(widths), ints(heights), algos=tuple(hashes), hash_size=8)


def families(n: int, seed: int):
    """Random files in families of near copies: whole-picture, centre and region hashes with few bits
    flipped inside a family, some files framed (a non-zero content hash)."""
    rng = np.random.default_rng(seed)
    words = 2 + len(REGIONS)
    seeds = rng.integers(0, 2**63, (n // 4, words), dtype=np.uint64)
    base = seeds[rng.integers(0, len(seeds), n)]
    for _ in range(5):
        flip = np.uint64(1) << rng.integers(0, 64, (n, words)).astype(np.uint64)
        base = np.where(rng.random((n, words)) < 0.4, base ^ flip, base)
    # some files keep only their regions (a crop), some only their whole picture (an overlay elsewhere)
    whole_gone, regions_gone = rng.random(n) < 0.25, rng.random(n) < 0.25
    base[whole_gone, :2] = rng.integers(0, 2**63, (whole_gone.sum(), 2), dtype=np.uint64)
    base[regions_gone, 2:] = rng.integers(0, 2**63, (regions_gone.sum(), words - 2), dtype=np.uint64)
    regions = base[:, 2:].copy()
    regions[rng.random(n) < 0.6, CONTENT] = 0
    return base[:, 0].copy(), base[:, 1].copy(), regions


def bits(x, y) -> int:
    return int(np.bitwise_count(x ^ y))


def brute_force(full, centre, regions, k):
    """{(a, b): distance} by the definition, pair by pair."""
    found = {}
    for a, b in itertools.combinations(range(len(full)), 2):
        x, y = np.array([a]), np.array([b])
        whole = min(int(np.bitwise_count(full[a] ^ full[b])), int(np.bitwise_count(full[a] ^ centre[b])),
                    int(np.bitwise_count(centre[a] ^ full[b])), int(content_distances(x, y, full, regions)[0]))
        views = min([bits(regions[a, i], regions[b, i]) for i in (SQUARE, UPPER_LEFT)]
                    + [bits(regions[a, INNER], full[b]), bits(full[a], regions[b, INNER])])
        turns = min(min(bits(regions[a, i], full[b]), bits(full[a], regions[b, i])) for i in TURNED)
        best = [d for d, ok in ((whole, whole <= k and confirmed(x, y, full, regions, k)[0]),
                                (views, views <= REGION_MAX_DISTANCE), (turns, turns <= TURNED_MAX_DISTANCE)) if ok]
        if best:
            found[(a, b)] = min(best)
    return found


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_near_pairs_with_regions_are_exactly_the_pairs_the_stages_define(seed):
    full, centre, regions = families(160, seed)
    a, b, d = near_pairs(index_of(full, centre, regions), K)
    assert dict(zip(zip(a.tolist(), b.tolist(), strict=True), d.tolist(), strict=True)) == brute_force(
        full, centre, regions, K)


def test_typed_join_keeps_only_the_allowed_kinds_and_never_a_file_with_itself():
    same = np.array([7, 7, 7], np.uint64)
    rows = [("full", np.array([0, 1]), same[:2]), ("inner", np.array([1, 2]), same[:2])]
    a, b, _ = typed_join(rows, {("inner", "full")}, 0)
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2)]
    a, _, _ = typed_join(rows, {("inner", "inner")}, 0)
    assert len(a) == 1  # inner of 1 with inner of 2


def test_two_photos_sharing_an_overlay_are_not_confirmed_but_an_edited_copy_is():
    # Given two files alike on the whole picture (a logo dominates both) but unlike everywhere else
    rng = np.random.default_rng(5)
    full = np.array([0x0F0F, 0x0F0F, 0x0F0F], np.uint64)
    regions = rng.integers(0, 2**63, (3, len(REGIONS)), dtype=np.uint64)
    regions[:, CONTENT] = 0
    # and a third whose corner region (the part without the logo) is the first one's
    regions[2, UPPER_LEFT] = regions[0, UPPER_LEFT]
    ok = confirmed(np.array([0, 0]), np.array([1, 2]), full, regions, K)
    assert ok.tolist() == [False, True]


def test_two_screenshots_in_the_same_window_must_match_on_their_contents():
    full = np.array([1, 1, 1], np.uint64)
    regions = np.random.default_rng(6).integers(0, 2**63, (3, len(REGIONS)), dtype=np.uint64)
    # the window dominates every region: 10 bits apart, near enough for a view, too far for a shared region
    window = 0xF0F0_F0F0
    regions[:, SQUARE] = regions[:, INNER] = regions[:, UPPER_LEFT] = [window, window ^ 0x3FF, window]
    regions[:, CONTENT] = [0xFFFF, 0xFFFF << 32, 0xFFFF]  # framed: what is inside differs for file 1
    ok = confirmed(np.array([0, 0]), np.array([1, 2]), full, regions, K)
    assert ok.tolist() == [False, True]


@pytest.mark.parametrize("seed", [3, 4])
def test_a_query_is_measured_like_a_pair_of_dupes(seed):
    full, centre, regions = families(120, seed)
    data = index_of(full[:-1], centre[:-1], regions[:-1])
    query = {"phash": full[-1], "phash-centre": centre[-1], "phash-regions": regions[-1]}
    distance = query_distances(data, query, K)
    pairs = {a: d for (a, b), d in brute_force(full, centre, regions, K).items() if b == len(full) - 1}
    assert {i: int(distance[i]) for i in np.flatnonzero(distance <= K).tolist()} == pairs


def test_the_original_policy_keeps_the_unframed_sharpest_colour_copy():
    # 0: original 400x300, 1: letterboxed (more pixels, framed), 2: half size, 3: same size, fewer bytes (grey)
    full = np.zeros(4, np.uint64)
    regions = np.ones((4, len(REGIONS)), np.uint64)
    regions[[0, 2, 3], CONTENT] = 0
    data = index_of(full, full, regions, sizes=[90_000, 95_000, 30_000, 40_000], widths=[400, 400, 200, 400],
                    heights=[300, 320, 150, 300], mtimes=[5, 5, 5, 5])
    members = np.array([3, 2, 1, 0])
    assert choose_keeper(data, members, "original") == 0
    assert choose_keeper(data, members, "largest") == 1
    why = reasons(data, members, 0, "original")
    assert why[0].startswith("kept (original)")
    assert (why[1], why[2], why[3]) == ("another file's picture in a frame", "under 95% of the largest file's pixels",
                                        "fewer bytes per pixel")


def test_a_picture_with_flat_borders_of_its_own_is_kept_over_its_unframed_crop():
    # 0: original with flat borders (framed, like most of its copies), 1: its grey copy, 2: a 10 % crop
    # (the crop cut the borders away: no frame), whose whole picture is not any framed member's content
    full = np.array([0, 0, 0xFF00], np.uint64)
    regions = np.ones((3, len(REGIONS)), np.uint64)
    regions[:, CONTENT] = [0xF0F0_F0F0_0000, 0xF0F0_F0F0_0000, 0]
    data = index_of(full, full, regions, sizes=[90_000, 40_000, 60_000], widths=[400, 400, 320],
                    heights=[300, 300, 240], mtimes=[5, 5, 5])
    assert choose_keeper(data, np.array([2, 1, 0]), "original") == 0


def test_letterbox_bars_too_thin_to_be_found_do_not_win_on_pixels():
    # 0: original 868x600; 1: the same with 12-pixel bars (not found as a frame): 4 % more pixels, few more bytes
    full = np.zeros(2, np.uint64)
    regions = np.ones((2, len(REGIONS)), np.uint64)
    regions[:, CONTENT] = 0
    data = index_of(full, full, regions, sizes=[100_000, 100_500], widths=[868, 868], heights=[600, 624],
                    mtimes=[5, 5])
    assert choose_keeper(data, np.array([1, 0]), "original") == 0
    assert reasons(data, np.array([1, 0]), 0, "original")[1] == "fewer bytes per pixel"



@pytest.mark.parametrize("bits_off", [TURNED_MAX_DISTANCE, TURNED_MAX_DISTANCE + 1])
def test_a_turned_copy_pairs_when_its_picture_is_within_the_turned_bound_of_the_original_turned(bits_off):
    # Given an original and a copy turned 3 degrees, all their other hashes unrelated
    rng = np.random.default_rng(7)
    full, centre = rng.integers(0, 2**63, 2, dtype=np.uint64), rng.integers(0, 2**63, 2, dtype=np.uint64)
    regions = rng.integers(0, 2**63, (2, len(REGIONS)), dtype=np.uint64)
    regions[:, CONTENT] = 0
    # whose whole picture is `bits_off` bits from the original turned +2 degrees
    full[1] = regions[0, REGIONS.index("turned+2")] ^ np.uint64((1 << bits_off) - 1)
    data = index_of(full, centre, regions)
    # Then dupes pairs them, at that distance, only within the bound, and a query with the copy likewise
    a, b, d = near_pairs(data, K)
    assert list(zip(a.tolist(), b.tolist(), d.tolist(), strict=True)) == (
        [(0, 1, bits_off)] if bits_off <= TURNED_MAX_DISTANCE else [])
    query = {"phash": full[1], "phash-centre": centre[1], "phash-regions": regions[1]}
    assert (query_distances(index_of(full[:1], centre[:1], regions[:1]), query, K) <= K).tolist() == [
        bits_off <= TURNED_MAX_DISTANCE]


def test_a_join_given_from_elsewhere_runs_the_first_stage_only_and_finds_the_same_pairs():
    full, centre, regions = families(160, 8)
    calls = []

    def recording_join(hashes, k, groups=None):
        calls.append((len(hashes), k))
        return join(hashes, k, groups=groups)

    data = index_of(full, centre, regions)
    for got, want in zip(near_pairs(data, K, joiner=recording_join), near_pairs(data, K), strict=True):
        np.testing.assert_array_equal(got, want)
    assert calls == [(2 * len(full) + int((regions[:, CONTENT] != 0).sum()), K)]  # whole, centre, content rows

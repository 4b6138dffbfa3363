"""The distributed join's packing: hashes with a checked header, parts as plain ints, pairs compact and exact."""

import zlib

import numpy as np
import pytest

from tasks.nearjoin.join import Part, join, join_parts, pairs_for_part
from tasks.nearjoin.pairarrays import concatenate, pack, sort_pairs, unpack
from tasks.nearjoin.wire import (
    HASHES_HEADER,
    pack_hashes,
    pack_pairs,
    part_from_wire,
    part_to_wire,
    unpack_hashes,
    unpack_pairs,
)


def clustered_hashes(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**63, n // 10, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    picked = seeds[rng.integers(len(seeds), size=n)]
    flips = np.zeros(n, np.uint64)
    for _ in range(3):
        flips |= np.uint64(1) << rng.integers(0, 64, n).astype(np.uint64)
    return picked ^ np.where(rng.random(n) < 0.5, flips, np.uint64(0))


def test_hashes_round_trip_through_their_stored_form():
    hashes = np.array([0, 1, 2**64 - 1, 0x0123456789ABCDEF], np.uint64)
    back = unpack_hashes(pack_hashes(hashes))
    assert back.dtype == np.uint64 and back.tolist() == hashes.tolist()


def test_no_hashes_round_trip_too():
    assert len(unpack_hashes(pack_hashes(np.empty(0, np.uint64)))) == 0


@pytest.mark.parametrize("damage, message", [
    (lambda blob: blob[:-1], "header says"),
    (lambda blob: blob[:5], "shorter than their header"),
    (lambda blob: b"XXXX" + blob[4:], "not written by hashfleet"),
    (lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]), "CRC-32"),
])
def test_damaged_stored_hashes_are_refused_with_a_reason(damage, message):
    blob = pack_hashes(np.arange(100, dtype=np.uint64))
    with pytest.raises(ValueError, match=message):
        unpack_hashes(damage(blob))


def test_the_hashes_header_is_sixteen_bytes():
    assert HASHES_HEADER.size == 16


def test_a_part_round_trips_as_a_dict_of_plain_ints():
    part = Part(max_distance=8, blocks=3, table=1, lo=0, hi=1 << 20)
    wire = part_to_wire(part)
    assert all(type(value) is int for value in wire.values())
    assert part_from_wire(wire) == part


@pytest.mark.parametrize("wire", [
    {"max_distance": 8, "blocks": 3, "table": 1, "lo": 0},
    {"max_distance": 8, "blocks": 3, "table": 1, "lo": 0, "hi": 5, "extra": 1},
    {"max_distance": "8", "blocks": 3, "table": 1, "lo": 0, "hi": 5},
])
def test_a_malformed_part_is_refused(wire):
    with pytest.raises(ValueError, match="integer fields"):
        part_from_wire(wire)


def test_packed_pairs_of_every_part_together_give_the_local_join():
    # Given clustered hashes (copies and near copies) and the parts of a join cut in three
    hashes = clustered_hashes(3000)
    n = len(hashes)
    # When each part's pairs are packed, unpacked and put together
    packed = np.concatenate([unpack_pairs(pack_pairs(*pairs_for_part(hashes, part), n))
                             for part in join_parts(10, n, splits=3)])
    # Then they are exactly the local join, dtypes included
    expected = join(hashes, 10)
    got = unpack(packed, n)
    assert len(expected[0]) > n
    for column, want in zip(got, expected, strict=True):
        assert column.dtype == want.dtype and np.array_equal(column, want)


def test_unpacked_pairs_come_sorted_whatever_order_they_were_packed_in():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 500, 2000).astype(np.int32)
    b = a + rng.integers(1, 500, 2000).astype(np.int32)
    d = rng.integers(0, 65, 2000).astype(np.uint8)
    back = unpack_pairs(pack_pairs(a, b, d, 1000))
    assert np.array_equal(back, np.sort(pack(a, b, d, 1000)))
    assert all(np.array_equal(x, y) for x, y in zip(unpack(back, 1000), sort_pairs(a, b, d), strict=True))


def test_no_pairs_pack_and_unpack():
    empty = concatenate([(np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.uint8))])
    assert len(unpack_pairs(pack_pairs(*empty, 10))) == 0


def test_sorted_pairs_pack_to_a_few_bytes_each():
    hashes = clustered_hashes(5000)
    a, b, d = join(hashes, 10)
    assert len(pack_pairs(a, b, d, len(hashes))) < 4 * len(a)


def test_a_damaged_pairs_blob_is_refused():
    with pytest.raises(ValueError, match="multiple of 8"):
        unpack_pairs(zlib.compress(b"123"))

"""The distributed join's packing: hashes and groups with a checked header, parts as plain ints of one wire
version, pairs compact and exact."""

import zlib

import numpy as np
import pytest

from tasks.nearjoin.join import Part, join, join_parts, pairs_for_part
from tasks.nearjoin.pairarrays import concatenate, pack, sort_pairs, unpack
from tasks.nearjoin.wire import (
    HASHES_HEADER,
    JOIN_WIRE_VERSION,
    pack_groups,
    pack_hashes,
    pack_pairs,
    part_from_wire,
    part_to_wire,
    unpack_groups,
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


def test_groups_round_trip_through_their_stored_form_and_are_told_apart_from_hashes():
    groups = np.array([0, 7, 2**31 - 1, 7], np.int32)
    back = unpack_groups(pack_groups(groups))
    assert back.dtype == np.int32 and back.tolist() == groups.tolist()
    with pytest.raises(ValueError, match="not written by hashfleet"):
        unpack_hashes(pack_groups(groups))


def test_damaged_stored_groups_are_refused_with_a_reason():
    blob = pack_groups(np.arange(100, dtype=np.int32))
    with pytest.raises(ValueError, match="stored groups fail their CRC-32"):
        unpack_groups(blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(ValueError, match="header says 100 groups"):
        unpack_groups(blob[:-2])


def test_the_hashes_header_is_sixteen_bytes():
    assert HASHES_HEADER.size == 16


@pytest.mark.parametrize("grouped", [False, True])
def test_a_part_round_trips_as_a_dict_of_plain_ints_with_its_version_and_whether_the_join_has_groups(grouped):
    part = Part(max_distance=8, blocks=3, table=1, lo=0, hi=1 << 20)
    wire = part_to_wire(part, grouped)
    assert all(type(value) is int for value in wire.values())
    assert wire["v"] == JOIN_WIRE_VERSION
    assert part_from_wire(wire) == (part, grouped)


@pytest.mark.parametrize("wire", [
    {"v": JOIN_WIRE_VERSION, "grouped": 0, "max_distance": 8, "blocks": 3, "table": 1, "lo": 0},
    {"v": JOIN_WIRE_VERSION, "grouped": 0, "max_distance": 8, "blocks": 3, "table": 1, "lo": 0, "hi": 5, "extra": 1},
    {"v": JOIN_WIRE_VERSION, "grouped": 0, "max_distance": "8", "blocks": 3, "table": 1, "lo": 0, "hi": 5},
])
def test_a_malformed_part_is_refused(wire):
    with pytest.raises(ValueError, match="integer fields"):
        part_from_wire(wire)


def test_a_part_of_the_version_before_groups_is_refused_naming_both_versions():
    with pytest.raises(ValueError, match="wire version 1, this worker reads version 2: run the same hashfleet"):
        part_from_wire({"max_distance": 8, "blocks": 3, "table": 1, "lo": 0, "hi": 5})


def test_a_worker_of_the_version_before_groups_refuses_this_versions_parts():
    # That worker's check, as it shipped (wire version 1): exactly the five integer fields of a Part
    def version_1_part_from_wire(fields: dict) -> Part:
        names = {"max_distance", "blocks", "table", "lo", "hi"}
        if set(fields) != names or not all(isinstance(value, int) for value in fields.values()):
            raise ValueError(f"a join part needs the integer fields {sorted(names)}, got {fields!r}")
        return Part(**fields)

    # Given a part of a join with groups, When that worker reads it, Then it fails before joining anything
    with pytest.raises(ValueError, match="'v': 2, 'grouped': 1"):
        version_1_part_from_wire(part_to_wire(Part(8, 3, 1, 0, 5), grouped=True))


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

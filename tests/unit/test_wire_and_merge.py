"""Wire format and the merge: compact, lossless for odd names, groups of exact duplicates."""

import numpy as np
import pytest

from tasks.errors import FileError
from tasks.hashing import empty_result
from tasks.merge import duplicate_groups, merge_chunks
from tasks.wire import ChunkResult, decode_paths, encode_paths


def test_path_blobs_round_trip_newlines_non_utf8_and_spaces():
    paths = ["/a/b c.jpg", "/a/new\nline.png", "/a/caf\udce9.jpg", "/日本/写真.webp"]
    assert decode_paths(encode_paths(paths)) == paths


def test_path_blobs_are_much_smaller_than_the_paths_they_carry():
    paths = [f"/data/photos/2024/holiday/IMG_{i:05d}.JPG" for i in range(1000)]
    assert len(encode_paths(paths)) < sum(map(len, paths)) / 4


def result(hashes, codes):
    return ChunkResult(hashes=np.array([[h] * 8 for h in hashes], np.uint8),
                       codes=np.array(codes, np.uint8), sizes=np.arange(1, len(codes) + 1, dtype=np.uint32))


def test_chunk_results_round_trip_the_wire_at_thirteen_bytes_per_image():
    original = result([1, 2, 3], [0, 0, FileError.CORRUPT])
    payload = original.to_wire()
    assert sum(len(payload[k]) for k in ("hashes", "codes", "sizes")) == 13 * 3
    back = ChunkResult.from_wire(payload, 8)
    assert np.array_equal(back.hashes, original.hashes) and np.array_equal(back.codes, original.codes)


def test_a_result_from_another_wire_version_is_refused():
    payload = result([1], [0]).to_wire()
    payload["v"] = 99
    with pytest.raises(ValueError, match="version"):
        ChunkResult.from_wire(payload, 8)


def test_groups_hold_hashed_files_sharing_a_hash_across_chunks_and_ignore_errors():
    first = result([5, 6, 5], [0, 0, 0])
    second = result([6, 5, 0, 0], [0, 0, FileError.CORRUPT, FileError.NOT_FOUND])  # errors share zero hash
    merged = merge_chunks([first, second])
    assert len(merged) == 7
    assert duplicate_groups(merged) == [[0, 2, 4], [1, 3]]


def test_no_groups_when_every_hash_is_distinct_or_there_is_one_file():
    assert duplicate_groups(merge_chunks([result([1, 2, 3], [0, 0, 0])])) == []
    assert duplicate_groups(empty_result(1, 8)) == []


def test_sixteen_by_sixteen_hashes_group_by_all_32_bytes():
    merged = empty_result(3, 16)
    merged.hashes[0, 31] = 1
    merged.hashes[1, 31] = 1
    merged.hashes[2, 0] = 1
    assert duplicate_groups(merged) == [[0, 1]]

"""Wire format and the merge: compact, lossless for odd names, groups of exact duplicates."""

import numpy as np
import pytest

from producer.merge.groups import group_results
from tasks.errors import FileError
from tasks.pathblob import decode_paths, encode_paths
from tasks.wire import ChunkResult, empty_result


def test_path_blobs_round_trip_newlines_non_utf8_and_spaces():
    paths = ["/a/b c.jpg", "/a/new\nline.png", "/a/caf\udce9.jpg", "/日本/写真.webp"]
    assert decode_paths(encode_paths(paths)) == paths


def test_path_blobs_are_much_smaller_than_the_paths_they_carry():
    paths = [f"/data/photos/2024/holiday/IMG_{i:05d}.JPG" for i in range(1000)]
    assert len(encode_paths(paths)) < sum(map(len, paths)) / 4


def result(hashes, codes):
    return ChunkResult(hashes=np.array([[h] * 8 for h in hashes], np.uint8),
                       codes=np.array(codes, np.uint8), sizes=np.arange(1, len(codes) + 1, dtype=np.uint32))


def test_chunk_results_round_trip_the_wire():
    original = result([1, 2, 3], [0, 0, FileError.CORRUPT])
    original.mtimes[:] = [1_700_000_000, 5, 0]
    back = ChunkResult.from_wire(original.to_wire(), 8)
    for field in ("hashes", "codes", "sizes", "mtimes"):
        assert np.array_equal(getattr(back, field), getattr(original, field)), field


def test_a_realistic_chunk_costs_at_most_sixteen_bytes_per_image_on_the_wire():
    # Given 256 photos: random 64-bit hashes, no errors, sizes of 0.1-5 MB, mtimes within a day
    rng = np.random.default_rng(0)
    n = 256
    chunk = ChunkResult(hashes=rng.integers(0, 256, (n, 8), dtype=np.uint8), codes=np.zeros(n, np.uint8),
                        sizes=rng.integers(100_000, 5_000_000, n).astype(np.uint32),
                        mtimes=(1_700_000_000 + rng.integers(0, 86_400, n)).astype(np.uint32))
    import msgpack

    assert len(msgpack.packb(chunk.to_wire())) / n <= 16


def test_a_result_from_another_wire_version_is_refused():
    payload = result([1], [0]).to_wire()
    payload["v"] = 99
    with pytest.raises(ValueError, match="version"):
        ChunkResult.from_wire(payload, 8)


def groups_of(merged: ChunkResult, tmp_path) -> list[list[int]]:
    """The merge's groups of one merged chunk, as lists of file indices in the order of their first file."""
    builder, _ = group_results([merged], merged.hashes.shape[1], len(merged), str(tmp_path))
    groups: dict[int, list[int]] = {}
    for _, members in builder.pages():
        for index, first in members.tolist():
            groups.setdefault(first, []).append(index)
    return [groups[first] for first in sorted(groups)]


def concat(*chunks: ChunkResult) -> ChunkResult:
    fields = ("hashes", "codes", "sizes", "mtimes")
    return ChunkResult(*(np.concatenate([getattr(c, f) for c in chunks]) for f in fields))


def test_groups_hold_hashed_files_sharing_a_hash_across_chunks_and_ignore_errors(tmp_path):
    first = result([5, 6, 5], [0, 0, 0])
    second = result([6, 5, 0, 0], [0, 0, FileError.CORRUPT, FileError.NOT_FOUND])  # errors share zero hash
    assert groups_of(concat(first, second), tmp_path) == [[0, 2, 4], [1, 3]]


def test_no_groups_when_every_hash_is_distinct_or_there_is_one_file(tmp_path):
    assert groups_of(result([1, 2, 3], [0, 0, 0]), tmp_path) == []
    assert groups_of(empty_result(1, 8), tmp_path) == []


def test_sixteen_by_sixteen_hashes_group_by_all_32_bytes(tmp_path):
    merged = empty_result(3, 32)  # one 16x16 hash: 32 bytes per file
    merged.hashes[0, 31] = 1
    merged.hashes[1, 31] = 1
    merged.hashes[2, 0] = 1
    assert groups_of(merged, tmp_path) == [[0, 1]]


def test_chunks_drained_in_any_order_merge_in_chunk_order_across_chunks_counting_errors(tmp_path):
    # Given chunk data stored in a real (in-memory) Celery result backend, as chunk tasks store it
    from celery import Celery

    from producer.drained import DrainedResults, drain_chunks
    from tasks.ids import chunk_task_id, job_data_ids
    from tasks.store import store_task_data

    backend = Celery("t", backend="cache+memory://").backend
    chunks = [result([5, 6, 5], [0, 0, 0]), result([6, 9], [0, FileError.CORRUPT])]
    keys = [store_task_data(backend, chunk_task_id("job", i), c.to_wire()) for i, c in enumerate(chunks)]
    assert keys == job_data_ids("job", 2)
    # When the producer drains them (second chunk first, as they finished) and merges
    drained = DrainedResults(str(tmp_path / "job.results"), 2)
    drain_chunks(backend, "job", drained, [1])
    drain_chunks(backend, "job", drained, [0])
    results = [ChunkResult.from_wire(drained.payload(i), 8) for i in range(2)]
    builder, errors = group_results(results, 8, 5, str(tmp_path / "merge"))
    # Then groups span chunks, the corrupt file is counted and in no group
    assert [m.tolist() for _, m in builder.pages()] == [[(0, 0), (1, 1), (2, 0), (3, 1)]]
    assert (builder.groups, builder.members, errors) == (2, 4, 1)


def test_the_merge_refuses_chunks_that_do_not_add_up_to_the_job(tmp_path):
    with pytest.raises(ValueError, match="chunks hold 3 files, the job has 4"):
        group_results([result([1, 2, 3], [0, 0, 0])], 8, 4, str(tmp_path))


class _FlakyRedisBackend:
    """Stands in for Celery's Redis backend: set() fails as it does after its quick retries run out."""

    connection_errors = (ConnectionError,)

    def __init__(self):
        self.patient = []

    def get_key_for_task(self, key):
        return f"celery-task-meta-{key}"

    def encode(self, meta):
        return meta

    def set(self, key, value):
        raise ConnectionError("Redis is restarting")

    def store_result(self, key, payload, state):
        self.patient.append((key, payload, state))


def test_chunk_data_goes_to_the_patient_store_when_redis_stays_away_past_the_quick_retries():
    from tasks.store import store_task_data

    backend = _FlakyRedisBackend()
    assert store_task_data(backend, "job-chunk-3", {"n": 1}) == "job-chunk-3-data"
    assert backend.patient == [("job-chunk-3-data", {"n": 1}, "SUCCESS")]

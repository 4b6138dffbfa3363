"""The chunk-size policy: small jobs split for balance, tiny files and large fleets get bigger chunks so the
per-chunk cost stays small on workers and broker, big files keep the default, an explicit size always wins."""

import pytest

from producer.chunking import (
    BROKER_CHUNKS_PER_S,
    BROKER_SHARE,
    MAX_CHUNK_SECONDS,
    MAX_CHUNK_SIZE,
    MIN_CHUNK_SECONDS,
    SMALL_JOB_FILES,
    chunk_size_for,
    cost_per_file,
    mean_file_size,
)
from producer.fleet import pool_processes
from producer.job import build_job
from tasks.settings import DEFAULT_CHUNK_SIZE

#: A 2 kB icon, a 40 kB thumbnail, a 500 kB camera JPEG.
TINY, THUMB, PHOTO = 2_000, 40_000, 500_000


def sparse_files(folder, count: int, size: int) -> list[str]:
    """`count` files of `size` bytes that take no disk (only their size is read)."""
    folder.mkdir()
    paths = []
    for i in range(count):
        path = folder / f"{i:05d}.jpg"
        with open(path, "wb") as handle:
            handle.truncate(size)
        paths.append(str(path))
    return paths


def never_asked():
    raise AssertionError("the fleet was asked although its size cannot change the chunk size")


def test_small_jobs_get_smaller_chunks_and_large_ones_the_default():
    assert build_job((f"/x/{i}.jpg" for i in range(100)), "dhash", 8).counts == [8] * 12 + [4]
    big = build_job((f"/x/{i}.jpg" for i in range(20_000)), "dhash", 8)
    assert set(big.counts[:-1]) == {256} and sum(big.counts) == 20_000
    assert build_job((f"/x/{i}.jpg" for i in range(10)), "dhash", 8, chunk_size=3).counts == [3, 3, 3, 1]


def test_a_small_job_of_thumbnails_gets_chunks_big_enough_that_task_overhead_stays_under_two_percent(
        tmp_path):
    # Given 1,500 thumbnails of 40 kB and 1,000 camera photos of 500 kB
    thumbs = sparse_files(tmp_path / "thumbs", 1500, THUMB)
    photos = sparse_files(tmp_path / "photos", 1000, PHOTO)
    assert mean_file_size(thumbs) == THUMB
    # When each is chunked automatically
    thumb_job = build_job(thumbs, "dhash", 8)
    photo_job = build_job(photos, "dhash", 8)
    # Then a thumbnail chunk holds at least MIN_CHUNK_SECONDS of estimated work (fewer, bigger chunks)
    assert max(thumb_job.counts) * cost_per_file(THUMB) >= MIN_CHUNK_SECONDS and len(thumb_job.counts) < 32
    # and photos, already heavy enough per file, are still spread over about 32 chunks
    assert max(photo_job.counts) == 32 and len(photo_job.counts) == 32


def test_a_large_job_of_tiny_files_gets_chunks_that_keep_the_overhead_under_two_percent():
    # When a large job of 2 kB files is cut, with the fleet's size unknown
    size = chunk_size_for(SMALL_JOB_FILES, complete=False, mean_bytes=TINY)
    # Then its chunks are bigger than the default and hold at least MIN_CHUNK_SECONDS of work
    assert size > DEFAULT_CHUNK_SIZE
    assert size * cost_per_file(TINY) >= MIN_CHUNK_SECONDS > (size - 1) * cost_per_file(TINY)


@pytest.mark.parametrize("processes", [16, 64, 256])
def test_many_workers_on_tiny_files_get_bigger_chunks_so_the_broker_stays_under_its_share(processes):
    # When a large job of tiny files is cut for a fleet of `processes` pool processes
    size = chunk_size_for(SMALL_JOB_FILES, complete=False, mean_bytes=TINY, processes=processes)
    # Then the fleet, busy, asks for at most BROKER_SHARE of the broker's chunks per second
    assert processes / (size * cost_per_file(TINY)) <= BROKER_SHARE * BROKER_CHUNKS_PER_S
    # and a fleet four times as large gets chunks at least as big
    assert chunk_size_for(SMALL_JOB_FILES, False, TINY, processes * 4) >= size


def test_chunks_never_exceed_the_maximum_size_however_large_the_fleet():
    assert chunk_size_for(SMALL_JOB_FILES, False, TINY, processes=100_000) == MAX_CHUNK_SIZE


def test_a_huge_fleet_on_camera_photos_stops_at_the_longest_chunk_time():
    size = chunk_size_for(SMALL_JOB_FILES, False, PHOTO, processes=100_000)
    assert DEFAULT_CHUNK_SIZE < size and size * cost_per_file(PHOTO) <= MAX_CHUNK_SECONDS


@pytest.mark.parametrize("processes", [None, 2, 16, 64])
def test_a_large_job_of_camera_photos_keeps_the_default_chunk_size(processes):
    assert chunk_size_for(SMALL_JOB_FILES, False, PHOTO, processes) == DEFAULT_CHUNK_SIZE


def test_a_large_job_without_a_size_estimate_keeps_the_default_even_for_a_large_fleet():
    assert chunk_size_for(SMALL_JOB_FILES, False, None, processes=10_000) == DEFAULT_CHUNK_SIZE


def test_a_small_job_is_still_split_so_every_process_of_a_known_fleet_gets_chunks():
    # Given a small job of 5,000 camera photos
    # When it is cut without knowing the fleet, and for a fleet of 64 pool processes
    unknown = chunk_size_for(5_000, complete=True, mean_bytes=PHOTO)
    known = chunk_size_for(5_000, complete=True, mean_bytes=PHOTO, processes=64)
    # Then the known fleet gets more, smaller chunks: at least one per process
    assert known < unknown and -(-5_000 // known) >= 64
    # and tiny files of a small job never get more than the default per chunk, however large the fleet
    assert chunk_size_for(5_000, True, TINY, processes=1_000) <= DEFAULT_CHUNK_SIZE


def test_a_large_job_of_tiny_files_is_cut_into_fewer_bigger_chunks_for_a_large_fleet(tmp_path):
    # Given a large job of tiny files
    paths = sparse_files(tmp_path / "icons", SMALL_JOB_FILES + 808, TINY)
    # When it is cut for one 16-process host, and for 16 such hosts (asked for only because it is large)
    asked = []
    one_host = build_job(paths, "dhash", 8, fleet=16)
    many_hosts = build_job(paths, "dhash", 8, fleet=lambda: asked.append(1) or 256)
    # Then the larger fleet gets fewer, bigger chunks, and both are above the default
    assert asked == [1]
    assert DEFAULT_CHUNK_SIZE < max(one_host.counts) < max(many_hosts.counts)
    assert len(many_hosts.counts) < len(one_host.counts) < -(-len(paths) // DEFAULT_CHUNK_SIZE)
    assert sum(many_hosts.counts) == sum(one_host.counts) == len(paths)


def test_an_explicit_chunk_size_wins_and_the_fleet_is_not_asked(tmp_path):
    paths = sparse_files(tmp_path / "icons", 1000, TINY)
    assert build_job(paths, "dhash", 8, chunk_size=300, fleet=never_asked).counts == [300, 300, 300, 100]


def test_a_small_job_never_asks_the_fleet(tmp_path):
    paths = sparse_files(tmp_path / "icons", 1000, TINY)
    assert sum(build_job(paths, "dhash", 8, fleet=never_asked).counts) == 1000


def test_the_fleet_size_is_the_sum_of_the_workers_pool_sizes():
    replies = {"a@h1": {"pool": {"max-concurrency": 16}}, "b@h2": {"pool": {"max-concurrency": 8}}}
    assert pool_processes(replies) == 24
    assert pool_processes({}) is None and pool_processes(None) is None
    assert pool_processes({"a@h1": {"pool": {}}}) is None

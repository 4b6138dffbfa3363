"""A job's chunk blobs in a file: read back like the list they replace, by index and in order, and found
again by `wait`/`resume` through the job's manifest."""

import pytest

from producer import manifest
from producer.job import build_job
from producer.spool import ChunkSpool, ReusedChunks
from tasks.errors import ConfigError
from tasks.pathblob import decode_paths, encode_paths, first_path


def test_a_spool_reads_back_every_blob_by_index_and_in_order_while_and_after_it_is_written(tmp_path):
    # Given blobs appended to a new spool
    blobs = [encode_paths([f"/p/{i}/{j}.jpg" for j in range(i + 1)]) for i in range(50)]
    spool = ChunkSpool.create(str(tmp_path / "job.chunks"))
    for blob in blobs[:10]:
        spool.append(blob)
    # Then they read back while the walk still appends, and after
    assert spool[3] == blobs[3] and spool[-1] == blobs[9]
    for blob in blobs[10:]:
        spool.append(blob)
    spool.close()
    assert len(spool) == 50 and list(spool) == blobs and [spool[i] for i in (49, 0, 25)] == [blobs[49], blobs[0],
                                                                                          blobs[25]]
    # And the same file opened again is the same sequence
    again = ChunkSpool.open(spool.path)
    assert list(again) == blobs and again[7] == blobs[7]
    with pytest.raises(IndexError):
        again[50]


def test_a_job_walked_into_a_spool_holds_its_paths_in_a_file_not_in_memory(tmp_path):
    paths = [f"/photos/{i:05d}.jpg" for i in range(1000)]
    job = build_job(iter(paths), "dhash", 8, 64, spool_dir=str(tmp_path))
    assert isinstance(job.blobs, ChunkSpool) and (tmp_path / f"{job.id}.chunks").exists()
    assert [p for blob in job.blobs for p in decode_paths(blob)] == paths
    assert first_path(job.blobs[3]) == paths[3 * 64]


def test_a_manifest_brings_back_the_job_with_its_chunks_whether_they_were_spooled_or_in_memory(tmp_path):
    # Given one job spooled into the jobs directory and one held in memory, both saved
    jobs = str(tmp_path / "jobs")
    spooled = build_job((f"/a/{i}.jpg" for i in range(300)), "dhash,phash", 8, 100,
                        spool_dir=manifest.jobs_directory(jobs))
    in_memory = build_job((f"/b/{i}.jpg" for i in range(5)), "dhash", 8, 2)
    for job in (spooled, in_memory):
        manifest.save(job, jobs)
        # When it is loaded again, Then it is the same job
        loaded = manifest.load(job.id, jobs)
        assert (loaded.algo, loaded.counts, list(loaded.blobs)) == (job.algo, job.counts, list(job.blobs))


def test_a_manifest_whose_chunk_list_is_gone_is_one_clear_error(tmp_path):
    jobs = str(tmp_path / "jobs")
    job = build_job(["/a/1.jpg"], "dhash", 8)
    manifest.save(job, jobs)
    (tmp_path / "jobs" / f"{job.id}.chunks").unlink()
    with pytest.raises(ConfigError, match="chunk list .* is missing"):
        manifest.load(job.id, jobs)


def test_chunks_reused_from_an_index_are_spooled_and_come_back_through_the_manifest(tmp_path):
    # Given a job whose first three files are unchanged since an index, walked into the jobs directory
    import os

    from producer.outputs.formats import Record

    class Unchanged:
        def unchanged(self, path):
            number = int(os.path.basename(path).split(".")[0])
            return Record(path, f"{number:016x}", "", 100 + number, 1_700_000_000, ("ab" * 8,), 50, 4, 3) \
                if number < 3 else None

    jobs = str(tmp_path / "jobs")
    job = build_job((f"/a/{i}.jpg" for i in range(5)), "dhash,phash", 8, 2, Unchanged(),
                    spool_dir=manifest.jobs_directory(jobs))
    # Then the reused chunks (files 0-1, then file 2) are in the spool, not in memory, and read back as
    # the index had them; the changed files 3-4 make the one chunk the workers hash
    assert isinstance(job.reused, ReusedChunks) and sorted(job.reused) == [0, 2] and list(job.remote) == [1]
    assert job.reused[0].hashes[1].tobytes().hex() == f"{1:016x}" + "ab" * 8
    assert job.reused[2].sizes.tolist() == [102]
    # And after a save and a load, the same
    manifest.save(job, jobs)
    loaded = manifest.load(job.id, jobs)
    assert sorted(loaded.reused) == [0, 2] and loaded.reused[0].hashes.tolist() == job.reused[0].hashes.tolist()
    assert loaded.reused[0].quality.tolist() == [50, 50] and loaded.reused[2].widths.tolist() == [4]

"""The producer's view of a finished job: merged from its drained chunk data, then records and duplicate
groups from one more read of each chunk."""

import json
import os
import tempfile

import numpy as np

from producer.drained import DrainedResults
from producer.job import build_job
from producer.outputs.formats import write_groups, write_records
from producer.outputs.results import JobResult
from tasks.errors import FileError
from tasks.wire import ChunkResult


def drained_job(hash_bytes_per_file: list[int], codes: list[int], chunk_size: int, folder):
    """A job of len(codes) files in chunks of `chunk_size`, its chunk data drained into a results file in
    `folder` that counts how many chunk payloads are read back."""
    paths = [f"/photos/{i:03d}.jpg" for i in range(len(codes))]
    job = build_job(paths, "dhash", 8, chunk_size)
    drained = DrainedResults(os.path.join(folder, f"{job.id}.results"), len(job.blobs))
    for index, start in enumerate(range(0, len(paths), chunk_size)):
        n = len(paths[start:start + chunk_size])
        hashes = np.zeros((n, 8), np.uint8)
        hashes[:, 7] = hash_bytes_per_file[start:start + n]
        chunk = ChunkResult(hashes, np.array(codes[start:start + n], np.uint8), np.full(n, 10, np.uint32))
        drained.add(index, chunk.to_wire())
    reads = []
    payload = drained.payload
    drained.payload = lambda chunk: reads.append(chunk) or payload(chunk)
    return job, drained, paths, reads


def test_records_and_groups_come_from_one_read_of_each_chunk_after_the_merge(tmp_path):
    # Given a job of three chunks whose files 0, 4 and 7 share a hash, and 2 and 5 another (5 is corrupt)
    job, drained, paths, reads = drained_job([1, 2, 3, 4, 1, 3, 6, 1, 8], [0, 0, 0, 0, 0, FileError.CORRUPT, 0, 0, 0],
                                             chunk_size=3, folder=tmp_path)
    result = JobResult.merge(job, drained)
    assert reads == [0, 1, 2]  # the merge read each chunk once
    # When the records are written and then the groups
    records = list(result.records())
    groups_by_hash = {h: list(p) for h, p in result.group_paths()}
    result.close()
    # Then each chunk's data was read exactly once, and the groups name their files' paths
    assert reads == [0, 1, 2] * 2
    assert groups_by_hash == {"0000000000000001": [paths[0], paths[4], paths[7]]}
    assert [r.error for r in records].count("corrupt") == 1 and result.error_counts == {"corrupt": 1}


def test_groups_asked_for_without_the_records_read_the_chunks_themselves(tmp_path):
    job, drained, paths, reads = drained_job([5, 5], [0, 0], chunk_size=2, folder=tmp_path)
    result = JobResult.merge(job, drained)
    assert [(h, list(p)) for h, p in result.group_paths()] == [("0000000000000005", paths)]
    assert reads == [0, 0]  # the merge, then the records gathering the groups
    result.close()


def test_groups_come_out_in_the_order_of_their_first_file_with_their_members_in_file_order(tmp_path,
                                                                                           monkeypatch):
    # Given interleaved groups {1, 3, 5} and {0, 2} (hash 7 and 4), files across chunks,
    # and a temporary folder of the test's own
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    job, drained, paths, _ = drained_job([4, 7, 4, 7, 9, 7], [0] * 6, chunk_size=2, folder=tmp_path)
    result = JobResult.merge(job, drained)
    # When the records and then the groups are written
    write_records(str(tmp_path / "out.csv"), result.records(), {})
    write_groups(str(tmp_path / "groups.json"), result.group_paths())
    used = os.listdir(scratch)
    result.close()
    # Then the JSON lists the group of file 0 first, each group's paths in file order, and the scratch
    # table the members were gathered in is gone
    assert (tmp_path / "groups.json").read_text() == json.dumps(
        {"0000000000000004": [paths[0], paths[2]], "0000000000000007": [paths[1], paths[3], paths[5]]}) + "\n"
    assert used and os.listdir(scratch) == []


def test_records_split_each_file_row_into_one_hex_per_algorithm_whatever_their_widths(tmp_path):
    # Given a job computing dhash (8 bytes) then PDQ (32 bytes), its one chunk stored
    paths = ["/photos/a.jpg", "/photos/b.jpg"]
    job = build_job(paths, "dhash,pdq", 8, 2)
    drained = DrainedResults(str(tmp_path / "job.results"), 1)
    rows = np.arange(80, dtype=np.uint8).reshape(2, 40)
    chunk = ChunkResult(rows, np.zeros(2, np.uint8), np.ones(2, np.uint32))
    drained.add(0, chunk.to_wire())
    # When its records are read, Then each carries the dhash hex and the PDQ hex of its own row
    result = JobResult.merge(job, drained)
    records = list(result.records())
    result.close()
    assert [(r.hash, r.more) for r in records] == [(rows[i, :8].tobytes().hex(), (rows[i, 8:].tobytes().hex(),))
                                                   for i in range(2)]

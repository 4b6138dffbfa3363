"""Cluster mode: workers started separately with `celery -A tasks worker`; `hashfleet run --broker`."""

import csv
import os

import pytest

from support.servers import hashfleet

pytestmark = pytest.mark.integration


def test_two_separate_workers_share_a_job_and_the_result_is_complete_and_exact(
        tmp_path, images, worker_env, start_workers):
    # Given two prefork workers on a test redis, and 9 real images plus 31 byte-identical copies
    workers = start_workers(count=2, concurrency=1)
    for i in range(31):
        os.link(images / "orange.jpg", images / f"orange-{i:02d}.jpg")
    inputs = sorted(str(images / name) for name in os.listdir(images))
    out = tmp_path / "out.csv"
    # When the producer only enqueues, in chunks of 2
    done = hashfleet(["run", str(images), "-o", str(out), "--chunk-size", "2", "--timeout", "120"],
                     env=worker_env, timeout=150)
    # Then every file is hashed once, exactly as the pure function hashes it
    assert done.returncode == 0, done.stderr
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["path"] for r in rows) == inputs
    from tasks.batch import hash_one

    for row in rows:
        got = hash_one(row["path"], "dhash,phash,phash-centre", 8)
        hexes = (got.packed[:8].hex(), got.packed[8:16].hex(), got.packed[16:].hex())
        written = (row["hash"], row["phash"], row["phash_centre"], row["error"], int(row["size"]))
        assert written == (*hexes, "", got.size)
    assert len({r["hash"] for r in rows if "orange" in r["path"]}) == 1
    # And both workers did part of the work
    counts = [w.tasks_succeeded() for w in workers]
    counts[-1] = workers[-1].tasks_succeeded(at_least=20 - counts[0])
    assert all(c > 0 for c in counts) and sum(counts) == 20, counts


@pytest.mark.parametrize("serializer", ["msgpack", "json"])
def test_a_sixteen_bit_hash_size_flows_through_the_cluster_with_either_serializer(
        tmp_path, images, request, serializer):
    # Given a worker using the serializer (msgpack, the default: the session's shared worker)
    if serializer == "msgpack":
        env = request.getfixturevalue("shared_env")
    else:
        env = dict(request.getfixturevalue("worker_env"), HASHFLEET_SERIALIZER=serializer)
        request.getfixturevalue("start_workers")(count=1, concurrency=2, HASHFLEET_SERIALIZER=serializer)
    out = tmp_path / "out.jsonl"
    done = hashfleet(["run", str(images), "-o", str(out), "--hash-size", "16", "--timeout", "60"],
                     env=env, timeout=90)
    assert done.returncode == 0, done.stderr
    import json

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(os.listdir(images)) and all(len(r["hash"]) == 64 for r in rows)

"""A large job of tiny files is cut into bigger chunks than the default, more so for a large fleet, whose size
the producer asks the running workers for (or takes from HASHFLEET_FLEET_PROCESSES); every file is still hashed."""

import csv
import re

import cv2
import numpy as np
import pytest

from producer.chunking import SMALL_JOB_FILES, chunk_size_for, mean_file_size
from producer.fleet import probe
from support.servers import hashfleet
from tasks.settings import DEFAULT_CHUNK_SIZE, Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Files in the job: just past the size at which a job counts as large.
FILES = SMALL_JOB_FILES + 808
#: Distinct tiny PNGs the files are hard links of.
DISTINCT = 10
#: Pool processes the hint claims: 16 hosts of 16 cores.
LARGE_FLEET = 256


@pytest.fixture
def tiny_files(tmp_path):
    """FILES 8 x 8 PNGs of about 100 bytes (hard links of DISTINCT images), sorted."""
    folder = tmp_path / "icons"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i in range(DISTINCT):
        cv2.imwrite(str(folder / f"icon{i}-0000.png"), rng.integers(0, 256, (8, 8), dtype=np.uint8))
    for n in range(1, FILES // DISTINCT):
        for i in range(DISTINCT):
            (folder / f"icon{i}-{n:04d}.png").hardlink_to(folder / f"icon{i}-0000.png")
    return folder, sorted(str(p) for p in folder.iterdir())


def chunks_of(stderr: str) -> tuple[int, int]:
    files, chunks = re.search(r"job \S+: (\d+) files in (\d+) chunks", stderr).groups()
    return int(files), int(chunks)


def hashed_paths(out) -> list[str]:
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(row["hash"] and not row["error"] for row in rows)
    return sorted(row["path"] for row in rows)


def test_a_large_job_of_tiny_files_gets_bigger_chunks_sized_to_the_fleet_the_workers_report(
        tmp_path, tiny_files, worker_env, start_workers):
    # Given two workers of 2 pool processes each, and a large job of ~100-byte PNGs
    start_workers(count=2, concurrency=2)
    folder, paths = tiny_files
    assert probe(Settings.from_env(worker_env)) == 4  # what the producer learns when it asks them
    mean = mean_file_size(paths)
    # When it is run without a chunk size, and submitted (to a queue no worker reads: only the cut is looked
    # at) with the fleet said to be 16 hosts of 16 processes
    out = tmp_path / "asked.csv"
    done = hashfleet(["run", str(folder), "-o", str(out), "--timeout", "120"], env=worker_env, timeout=150)
    assert done.returncode == 0, done.stderr
    assert hashed_paths(out) == paths
    runs = {"asked": chunks_of(done.stderr)}
    hint_env = dict(worker_env, HASHFLEET_FLEET_PROCESSES=str(LARGE_FLEET),
                    HASHFLEET_QUEUE=worker_env["HASHFLEET_QUEUE"] + "-unread",
                    HASHFLEET_JOBS_DIR=str(tmp_path / "jobs"))
    submitted = hashfleet(["submit", str(folder), "--no-feed"], env=hint_env, timeout=150)
    assert submitted.returncode == 0, submitted.stderr
    runs["hint"] = chunks_of(submitted.stderr)
    # Then the asked-for fleet (4 processes) gets the chunks that keep the per-chunk overhead small,
    for fleet, processes in (("asked", 4), ("hint", LARGE_FLEET)):
        size = chunk_size_for(FILES, complete=False, mean_bytes=mean, processes=processes)
        assert runs[fleet] == (FILES, -(-FILES // size)), (fleet, size)
    # fewer than the default chunk size gives, and the large fleet fewer still (bigger chunks)
    assert runs["hint"][1] < runs["asked"][1] < -(-FILES // DEFAULT_CHUNK_SIZE)

"""A chunk hashed in isolation keeps its progress: an attempt killed from outside is resumed at the file
where it stopped, and a file at which attempts keep dying is passed over as worker-crashed."""

import uuid

import numpy as np
import pytest

from support.images import fixture_paths
from tasks import checkpoint
from tasks.errors import FileError
from tasks.watchdog import hash_files_isolated

ROW = 8


@pytest.fixture
def chunk():
    """A chunk id of this test's own (the in-memory cache backend is shared by the whole process)."""
    return f"{uuid.uuid4().hex[:12]}-chunk-0"


def test_the_first_attempt_starts_at_the_first_file_and_is_counted(backend, chunk):
    progress = checkpoint.begin(backend, chunk, 5, ROW)
    assert (progress.done, progress.attempts) == (0, 1)
    assert checkpoint.begin(backend, chunk, 5, ROW).attempts == 2


def test_an_attempt_resumes_where_the_last_stored_progress_ends(backend, chunk):
    # Given an attempt that hashed three files, storing its progress after each, then was killed
    progress = checkpoint.begin(backend, chunk, 5, ROW)
    for done in (1, 2, 3):
        progress.result.hashes[done - 1] = done
        progress.done, progress.attempts = done, 0
        checkpoint.save(backend, chunk, progress)
    # When the next attempt begins, Then it starts at file 3 with the first three hashes kept
    again = checkpoint.begin(backend, chunk, 5, ROW)
    assert (again.done, again.attempts) == (3, 1)
    assert again.result.hashes[:3, 0].tolist() == [1, 2, 3]


def test_a_file_at_which_every_attempt_dies_is_passed_over_as_worker_crashed(backend, chunk):
    # Given attempts that all die at file 0 (none stores any progress)
    for _ in range(checkpoint.STUCK_LIMIT):
        assert checkpoint.begin(backend, chunk, 2, ROW).done == 0
    # When one more begins, Then file 0 is recorded as worker-crashed and it starts at file 1
    progress = checkpoint.begin(backend, chunk, 2, ROW)
    assert (progress.done, progress.attempts) == (1, 1)
    assert progress.result.codes[0] == FileError.WORKER_CRASHED


def test_progress_of_one_chunk_is_not_another_chunks(backend, chunk):
    progress = checkpoint.begin(backend, chunk, 2, ROW)
    progress.done = 2
    checkpoint.save(backend, chunk, progress)
    assert checkpoint.begin(backend, chunk[:-1] + "1", 2, ROW).done == 0


def test_isolated_hashing_from_a_resumed_file_gives_the_hashes_of_a_run_from_the_start():
    paths = fixture_paths()[:4]
    whole = hash_files_isolated(paths, "dhash", 8, (), 30.0)
    # Given the first two files' results from an attempt that was killed, When the rest are hashed
    seen = []
    resumed = hash_files_isolated(paths[:2] + paths[2:], "dhash", 8, (), 30.0,
                                  result=hash_files_isolated(paths[:2] + ["/nowhere"] * 2, "dhash", 8, (), 30.0),
                                  start=2, on_file=seen.append)
    # Then they agree with a run from the start, and progress was reported after each file
    assert np.array_equal(resumed.hashes, whole.hashes) and resumed.codes.tolist() == whole.codes.tolist()
    assert seen == [3, 4]

"""hash_files: one file's failure is that file's record, whatever the decoder raises."""

import logging

import pytest

from support.images import fixture_paths
from tasks import hashing
from tasks.errors import FileError


def test_a_decoder_that_raises_something_unexpected_gives_an_internal_record_and_the_rest_are_hashed(
        monkeypatch, caplog):
    # Given a decoder that raises an exception nobody maps, for one file only
    paths = fixture_paths()[:3]
    real = hashing.decode_robust_reduced
    calls = []

    def flaky(data, min_side):
        calls.append(len(data))
        if len(calls) == 2:
            raise ZeroDivisionError("a decoder bug")
        return real(data, min_side)

    monkeypatch.setattr(hashing, "decode_robust_reduced", flaky)
    # When the chunk's files are hashed
    with caplog.at_level(logging.WARNING, logger="tasks.hashing"):
        result = hashing.hash_files(paths, "dhash", 8)
    # Then the second file is an `internal` record with its size, logged with the exception class,
    # and the others are hashed
    assert [FileError(c) for c in result.codes] == [FileError.OK, FileError.INTERNAL, FileError.OK]
    assert result.sizes[1] > 0 and not result.hashes[1].any()
    assert "ZeroDivisionError" in caplog.text and paths[1] in caplog.text


def test_an_unknown_algorithm_is_a_value_error_not_a_record():
    with pytest.raises(ValueError, match="unknown algorithm"):
        hashing.hash_files(fixture_paths()[:1], "sha1", 8)

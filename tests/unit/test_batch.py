"""hash_files: one file's failure is that file's record, whatever the decoder raises; several hashes per file."""

import logging
import os

import numpy as np
import pytest

from support.images import fixture_paths
from tasks import batch
from tasks.errors import FileError
from tasks.image import multihash


def test_a_decoder_that_raises_something_unexpected_gives_an_internal_record_and_the_rest_are_hashed(
        monkeypatch, caplog):
    # Given a decoder that raises an exception nobody maps, for one file only
    paths = fixture_paths()[:3]
    real = multihash.decode_robust_reduced
    calls = []

    def flaky(data, min_side):
        calls.append(len(data))
        if len(calls) == 2:
            raise ZeroDivisionError("a decoder bug")
        return real(data, min_side)

    monkeypatch.setattr(multihash, "decode_robust_reduced", flaky)
    # When the chunk's files are hashed
    with caplog.at_level(logging.WARNING, logger="tasks.batch"):
        result = batch.hash_files(paths, "dhash,phash", 8)
    # Then the second file is an `internal` record with its size, logged with the exception class,
    # and the others are hashed
    assert [FileError(c) for c in result.codes] == [FileError.OK, FileError.INTERNAL, FileError.OK]
    assert result.sizes[1] > 0 and not result.hashes[1].any()
    assert "ZeroDivisionError" in caplog.text and paths[1] in caplog.text


def test_an_unknown_algorithm_is_a_value_error_not_a_record():
    with pytest.raises(ValueError, match="unknown algorithm 'sha1'"):
        batch.hash_files(fixture_paths()[:1], "sha1", 8)


def test_an_interrupt_the_caller_names_stops_the_batch_and_keeps_the_files_done(monkeypatch):
    # Given a decoder interrupted on the second file by an exception the caller names (a soft time limit)
    class Interrupted(Exception):
        pass

    real = multihash.decode_robust_reduced
    calls = []

    def interrupted(data, min_side):
        calls.append(1)
        if len(calls) == 2:
            raise Interrupted
        return real(data, min_side)

    monkeypatch.setattr(multihash, "decode_robust_reduced", interrupted)
    result = batch.empty_result(3, 8)
    # When the files are hashed into a result filled in place, Then the interrupt propagates
    with pytest.raises(Interrupted):
        batch.hash_files(fixture_paths()[:3], "dhash", 8, result=result, interrupts=(Interrupted,))
    # and the first file stays hashed
    assert result.hashes[0].any() and result.sizes[1:].tolist() == [0, 0]


def test_a_job_with_pdq_keeps_its_256_bits_beside_the_64_bit_hashes_and_pdq_scores_the_image():
    # Given the sample photos hashed with dhash and PDQ (the optional pdqhash package)
    import pdqhash  # in the test extra

    from support.images import photo

    paths = fixture_paths()[:2]
    result = batch.hash_files(paths, "dhash,pdq", 8)
    # Then each file's row holds 8 bytes of dhash then 32 of PDQ, equal to pdqhash on the same pixels
    assert result.hashes.shape == (2, 40)
    name = os.path.basename(paths[0])
    vector, quality = pdqhash.compute(np.ascontiguousarray(photo(name)[..., ::-1]))
    assert result.hashes[0, 8:].tobytes() == np.packbits(np.asarray(vector, bool)).tobytes()
    assert result.quality[0] == quality and result.hashes[0, :8].any()

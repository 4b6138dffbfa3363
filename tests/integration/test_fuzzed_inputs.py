"""Fuzzed inputs end to end: a few hundred damaged files in every format hashfleet decodes (support/fuzzgen.py,
seeded) through `hashfleet run` and real prefork workers, on both algorithm settings. Every file gets one
record, the job completes, no record is `internal`, and no pool process passes the memory bound.

The full run (10,000 files from the real-photo corpus) is `python -m bench.fuzz`; bench/RESULTS.md has it.
"""

import os

import cv2
import pytest

from producer.outputs.reader import output_rows
from support import fuzzgen
from support.fuzzcheck import PeakRss, log_events, memory_bound_mib, tally
from support.images import fixture_paths
from support.servers import hashfleet
from tasks.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Files per run: every format gets 50.
FILES = 550
SEED = 12
#: A pixel limit low enough that the memory bound it implies is tight (288 MiB per process + one decode).
MAX_PIXELS = 2**22
#: Long side of the re-encoded photos (small files keep the test fast; the bench uses 768).
MAX_SIDE = 200


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """FILES damaged files made from the committed photos, in their own folder."""
    pictures = {os.path.basename(p): cv2.imread(p, cv2.IMREAD_COLOR) for p in fixture_paths()}
    folder = tmp_path_factory.mktemp("fuzzed")
    files = fuzzgen.write_corpus(fuzzgen.encode_sources(pictures, MAX_SIDE), str(folder), FILES, SEED)
    os.remove(folder / "MANIFEST.csv")  # not an image: keep the folder to the fuzzed files alone
    return str(folder), files


def test_the_generator_covers_every_format_and_makes_the_same_files_from_the_same_seed(fuzzed, tmp_path):
    # Given the fuzzed folder, When the same sources are mutated again with the same seed
    folder, files = fuzzed
    pictures = {os.path.basename(p): cv2.imread(p, cv2.IMREAD_COLOR) for p in fixture_paths()}
    again = fuzzgen.write_corpus(fuzzgen.encode_sources(pictures, MAX_SIDE), str(tmp_path), FILES, SEED)
    # Then every format tasks/image/decode.py knows is a source, and each file is byte for byte the same
    assert {f.fmt for f in files} == set(fuzzgen.EXTENSIONS)
    for first, second in zip(files, again, strict=True):
        with open(first.path, "rb") as a, open(second.path, "rb") as b:
            assert a.read() == b.read(), first.path


@pytest.mark.parametrize("algo", ["dhash,phash,phash-centre", "dhash-classic"])
def test_every_fuzzed_file_gets_one_record_and_no_worker_passes_the_memory_bound(
        fuzzed, start_workers, worker_env, tmp_path, algo):
    # Given the fuzzed files and two prefork pool processes with a low pixel limit
    folder, files = fuzzed
    (worker,) = start_workers(concurrency=2, HASHFLEET_MAX_PIXELS=str(MAX_PIXELS))
    out = str(tmp_path / "out.jsonl")
    # When the job runs, with every pool process's peak memory sampled
    with PeakRss(worker.proc.pid) as peaks:
        result = hashfleet(["run", folder, "-o", out, "--algo", algo], env=worker_env, timeout=240)
    # Then it completes with exactly one record per file, none of them `internal`
    assert result.returncode == 0, result.stderr
    counted = tally(output_rows(out), files)
    assert (counted.missing, counted.unexpected, counted.duplicates) == ([], [], [])
    assert sum(counted.reasons.values()) == len(files)
    assert "internal" not in counted.reasons, counted.reasons
    assert {"corrupt", "hashed"} <= set(counted.reasons)  # the mutations really damage, and some survive
    # And no chunk failed, no file hung, and no pool process went over the bound
    events = log_events(worker.log_path)
    assert events["internal"] == events["hung"] == 0, events
    assert "raised unexpected" not in worker.log_tail(10**7)
    assert peaks.peaks, "no pool process was sampled"
    limit = Settings(max_pixels=MAX_PIXELS).worker_memory_limit
    largest = max(os.path.getsize(f.path) for f in files)
    assert peaks.max_mib <= memory_bound_mib(limit, MAX_PIXELS, largest), sorted(peaks.peaks.values())

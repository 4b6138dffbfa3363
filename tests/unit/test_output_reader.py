"""Every reader of an output (export, incremental runs, the near-duplicate index) gives back the exact paths."""

import os
import tempfile

import numpy as np
import pytest

from producer.near.hashindex import load_index
from producer.outputs import formats
from producer.outputs.formats import Record, write_records
from producer.outputs.incremental import Index
from producer.outputs.reader import SqliteOutput, stored_path
from support.memory import traced_peak

FORMATS = [".csv", ".jsonl", ".sqlite", ".parquet"]
META = {"algo": "dhash,phash,phash-centre", "hash_size": "8"}
ODD = "/p/caf\udce9 new\nline.jpg"  # a name whose bytes are not UTF-8, and a newline


def hashed(path: str, n: int, size: int = 10, mtime: int = 3) -> Record:
    return Record(path, f"{n:016x}", "", size, mtime, (f"{n + 1:016x}", f"{n + 2:016x}"), 50, 4, 3)


def test_a_stored_path_is_the_walked_path_whether_stored_as_text_or_bytes():
    assert stored_path(ODD) == ODD
    assert stored_path(os.fsencode(ODD)) == ODD


@pytest.mark.parametrize("ext", FORMATS)
def test_the_near_duplicate_index_of_every_format_holds_the_hashed_files_by_their_exact_names(tmp_path, ext):
    out = str(tmp_path / f"out{ext}")
    write_records(out, [hashed("/p/a.jpg", 16), Record("/p/bad.jpg", "", "corrupt", 5, 1, ("", "")),
                        hashed(ODD, 32)], META)
    index = load_index(out, ("phash",), ("phash-centre",))
    assert index.paths == ["/p/a.jpg", ODD]
    assert index.hashes["phash"].tolist() == [17, 33] and index.hashes["phash-centre"].tolist() == [18, 34]
    assert index.sizes.tolist() == [10, 10] and index.quality.dtype == np.int16


def test_a_sqlite_index_loaded_without_paths_reads_the_exact_ones_asked_for(tmp_path):
    out = str(tmp_path / "out.sqlite")
    write_records(out, [hashed("/p/a.jpg", 16), hashed(ODD, 32)], META)
    index = load_index(out, ("phash",), with_paths=False)
    assert index.paths == [] and index.paths_of([1, 0]) == [ODD, "/p/a.jpg"]


def test_a_sqlite_output_finds_one_record_by_its_exact_path(tmp_path):
    out = str(tmp_path / "out.sqlite")
    write_records(out, [hashed("/p/a.jpg", 16), hashed(ODD, 32)], META)
    with SqliteOutput(out) as output:
        assert output.meta() == META
        assert output.record_of(ODD) == hashed(ODD, 32)
        assert output.record_of("/p/missing.jpg") is None


@pytest.mark.parametrize("ext", [".csv", ".sqlite"])
def test_an_incremental_index_reuses_an_unchanged_file_and_not_a_changed_one(tmp_path, ext):
    # Given a file with a non-UTF-8 name recorded in a previous output with its size and mtime
    image = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9.jpg")
    with open(image, "wb") as handle:
        handle.write(b"12345")
    seen = os.stat(image)
    out = str(tmp_path / f"old{ext}")
    write_records(out, [hashed(image, 16, seen.st_size, int(seen.st_mtime))], META)
    index = Index(out, META["algo"], 8)
    try:
        # Then it is reused while unchanged, and not once its size changed
        assert index.unchanged(image) == hashed(image, 16, seen.st_size, int(seen.st_mtime))
        with open(image, "ab") as handle:
            handle.write(b"6")
        assert index.unchanged(image) is None
    finally:
        index.close()


def index_peak(out: str) -> int:
    """Peak traced memory (bytes) while an incremental index over `out` is opened and one path looked up."""
    def open_and_look_up() -> None:
        index = Index(out, META["algo"], 8)
        try:
            assert index.lookup("/p/00000007.jpg") == hashed("/p/00000007.jpg", 7)
        finally:
            index.close()

    return traced_peak(open_and_look_up)[1]


@pytest.mark.parametrize("ext", [".csv", ".jsonl"])
def test_a_text_index_is_looked_up_in_memory_that_does_not_grow_with_its_size_and_leaves_no_scratch(
        tmp_path, monkeypatch, ext):
    # Given previous outputs of 5,000 and of 25,000 records, SQLite batches of 1,000 rows (the copy holds
    # one batch), and a temporary folder of the test's own
    monkeypatch.setattr(formats, "SQLITE_BATCH", 1_000)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    peaks = []
    for count in (5_000, 25_000):
        out = str(tmp_path / f"old-{count}{ext}")
        write_records(out, (hashed(f"/p/{i:08d}.jpg", i) for i in range(count)), META)
        # When an incremental run opens each as its index and looks a file up
        peaks.append(index_peak(out))
    # Then the memory it took did not grow with the index (holding 25,000 records takes ~10 MB), and its
    # scratch copy is gone once it is closed
    assert peaks[1] < 1.5 * peaks[0] + 500_000, [f"{p / 1e6:.2f} MB" for p in peaks]
    assert os.listdir(scratch) == []

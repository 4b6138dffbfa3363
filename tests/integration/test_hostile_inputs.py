"""Bad input, everywhere, end to end: hostile files, paths, permissions and files that change under the
job. Each kind is one record (or the documented choice in docs/inputs.md) and the job completes."""

import csv
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from support import hostile
from support.hexhash import hamming
from support.images import encode, photo, write
from support.servers import REPO, hashfleet, marked_env, processes_with_env

pytestmark = pytest.mark.integration


def build_hostile_tree(tmp_path) -> tuple[list[str], dict[str, str]]:
    """The kinds test_embedded_run.py does not cover. Returns (command-line paths relative to
    tmp_path/cwd, {absolute path: expected error})."""
    bgr = photo("home.jpg")
    upright = hostile.baseline_jpeg(bgr)
    png = encode(".png", bgr)
    big = hostile.huge_gray()
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    files = {
        "upright.jpg": (upright, ""),
        "huge-12000x9000.jpg": (encode(".jpg", big), ""),
        "huge-small.png": (encode(".png", cv2.resize(big, (120, 90), interpolation=cv2.INTER_AREA)), ""),
        "cmyk.jpg": (hostile.cmyk_jpeg(bgr), ""),
        "progressive.jpg": (hostile.progressive_jpeg(bgr), ""),
        "exif-rotated.jpg": (hostile.exif_rotated_jpeg(bgr), ""),
        "trailing-garbage.jpg": (hostile.jpeg_with_trailing_garbage(upright), ""),
        "signature-only.png": (hostile.png_signature_only(), "corrupt"),
        "bad-crc-idat.png": (hostile.png_bad_crc(png, b"IDAT"), ""),  # libspng: CRC not checked
        "bad-crc-16bit.png": (hostile.png_bad_crc(encode(".png", bgr.astype(np.uint16) * 257), b"IDAT"),
                              "corrupt"),  # 16-bit: libpng, which checks CRCs
        "bad-crc-text.png": (hostile.png_bad_crc(hostile.png_with_text(bgr), b"tEXt"), ""),
        "huge-declared.bmp": (hostile.bmp_declaring(100_000, 100_000), "too-many-pixels"),
        "svg.png": (hostile.SVG, "not-an-image"),
        "iphone.heic": (hostile.heic_like(), "not-an-image"),
        "photo.avif": (hostile.avif(bgr), ""),
        "animated.webp": (hostile.animated_webp(bgr, 255 - bgr), ""),
        "first-frame.webp": (hostile.still_webp(bgr), ""),
        "a" * 251 + ".jpg": (upright, ""),  # 255 bytes, the longest name Linux allows
        "é" * 125 + "x.jpg": (upright, ""),  # 255 bytes of UTF-8
        " .jpg": (upright, ""),
        "-rf.jpg": (upright, ""),
        "--help.png": (png, ""),
        "sub/inner.jpg": (upright, ""),
        "no extension   ": (upright, None),  # not walked: no image extension
    }
    expected = {}
    for name, (data, error) in files.items():
        write(str(folder / name), data)
        if error is not None:
            expected[str(folder / name)] = error
    expected[hostile.char_device(str(folder / "dev-zero.jpg"))] = "not-a-file"
    os.mkfifo(folder / "fifo.jpg")
    os.symlink(folder / "fifo.jpg", folder / "link-to-fifo.png")
    expected.update({str(folder / "fifo.jpg"): "not-a-file", str(folder / "link-to-fifo.png"): "not-a-file"})
    # Past PATH_MAX: a 3900-byte folder with an image, an image whose name crosses the limit, and a
    # sub-folder that crosses it (one record for the folder; its image is never listed)
    near = hostile.deep_folder(str(folder / "deep"), 3900)
    expected[write(os.path.join(near, "near.jpg"), upright)] = ""
    expected[hostile.write_at(near, ["n" * 250 + ".jpg"], upright)] = "name-too-long"
    expected[os.path.dirname(hostile.write_at(near, ["s" * 250, "lost.jpg"], upright))] = "name-too-long"
    # Named on the command line: a folder again, a sub-folder already walked, ../x/./y.jpg, a name of
    # spaces only (taken: named files are taken whatever their name) and a leading-dash name after --
    (tmp_path / "named").mkdir()
    (tmp_path / "cwd").mkdir()
    expected[write(str(tmp_path / "named" / "y.jpg"), upright)] = ""
    expected[write(str(tmp_path / "cwd" / "   "), upright)] = ""
    expected[write(str(tmp_path / "cwd" / "-lead.jpg"), upright)] = ""
    return ["../in", "../in/sub", "../named/./y.jpg", "   ", "-lead.jpg", "../in/"], expected


def test_twenty_more_kinds_of_hostile_input_each_give_one_record_and_the_job_completes(tmp_path):
    # Given the hostile tree, some of it named on the command line with relative and odd paths
    args, expected = build_hostile_tree(tmp_path)
    out = tmp_path / "out.jsonl"
    env, marker = marked_env()
    # When hashfleet runs it on the embedded default, in small chunks on two workers
    done = hashfleet(["run", "-o", str(out), "--workers", "2", "--chunk-size", "3", "--", *args],
                     env=env, timeout=240, cwd=str(tmp_path / "cwd"))
    # Then it completes, with exactly one record per input (absolute paths), errors as documented
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    got = {row["path"]: row["error"] for row in rows}
    assert len(rows) == len(got) == len(expected)
    assert got == expected
    for row in rows:
        assert bool(row["hash"]) == (row["error"] == ""), row
    assert "name-too-long: 2" in done.stdout
    # And the hashed oddities hash as the picture a viewer shows
    hashes = {os.path.basename(row["path"]): row["hash"] for row in rows}
    for name in ("cmyk.jpg", "progressive.jpg", "exif-rotated.jpg", "trailing-garbage.jpg", "photo.avif"):
        assert hamming(hashes[name], hashes["upright.jpg"]) <= 2, name
    assert hashes["bad-crc-idat.png"] == hashes["--help.png"]  # the same PNG with its CRC intact
    assert hamming(hashes["huge-12000x9000.jpg"], hashes["huge-small.png"]) <= 2
    assert hashes["animated.webp"] == hashes["first-frame.webp"]
    # And nothing is left running
    assert processes_with_env(marker) == []


def _obeys_file_modes(locked: str) -> bool:
    probe = subprocess.run([sys.executable, "-c", f"import os; os.listdir({locked!r})"],
                           preexec_fn=hostile.drop_file_permission_override, capture_output=True, timeout=30)
    return probe.returncode != 0 and b"PermissionError" in probe.stderr


def test_an_unreadable_folder_and_file_become_records_and_the_rest_is_hashed(tmp_path):
    # Given a folder with a folder and a file that nobody may read, beside a readable image
    folder = tmp_path / "in"
    (folder / "locked").mkdir(parents=True)
    jpeg = hostile.baseline_jpeg(photo())
    write(str(folder / "locked" / "hidden.jpg"), jpeg)
    write(str(folder / "secret.jpg"), jpeg)
    write(str(folder / "ok.jpg"), jpeg)
    os.chmod(folder / "locked", 0)
    os.chmod(folder / "secret.jpg", 0)
    try:
        # (tests run as root, which reads everything: the run drops the capabilities that let root
        # ignore file modes, CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, for itself and its children)
        if not _obeys_file_modes(str(folder / "locked")):
            pytest.skip("cannot make this user obey file modes (no CAP_SETPCAP?)")
        env, marker = marked_env()
        out = tmp_path / "out.csv"
        argv = [sys.executable, "-m", "producer", "run", str(folder), "-o", str(out), "--workers", "1"]
        # When hashfleet runs on it as a user bound by file modes
        done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=180,
                              preexec_fn=hostile.drop_file_permission_override)
        # Then the job completes: the folder and the file are error records, the image is hashed
        assert done.returncode == 0, done.stderr
        with open(out, newline="") as handle:
            got = {row["path"]: row["error"] for row in csv.DictReader(handle)}
        assert got == {str(folder / "ok.jpg"): "", str(folder / "secret.jpg"): "permission-denied",
                       str(folder / "locked"): "unreadable-directory"}
        assert processes_with_env(marker) == []
    finally:
        os.chmod(folder / "locked", 0o755)


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def _line_with(lines: queue.Queue, text: str, timeout: float) -> str:
    """The first line holding `text`; fails after `timeout` seconds or when the stream ends."""
    deadline = time.monotonic() + timeout
    while (line := lines.get(timeout=max(0.0, deadline - time.monotonic()))) is not None:
        if text in line:
            return line
    raise AssertionError(f"the producer ended before printing {text!r}")


def _drain(lines: queue.Queue) -> list[str]:
    drained = []
    while not lines.empty() and (line := lines.get_nowait()) is not None:
        drained.append(line)
    return drained


def test_files_changed_between_the_walk_and_the_hashing_are_recorded_as_the_workers_find_them(
        tmp_path, worker_env, start_workers):
    # Given a folder where one file is empty and four are whole images
    folder = tmp_path / "in"
    folder.mkdir()
    jpeg = hostile.baseline_jpeg(photo())
    write(str(folder / "grows.jpg"), b"")
    for name in ("shrinks.jpg", "vanishes.jpg", "becomes-fifo.jpg", "stays.jpg"):
        write(str(folder / name), jpeg)
    out = tmp_path / "out.jsonl"
    # When the producer has walked the folder (its first line says so) and enqueued to a queue that
    # has no worker yet, the files change; only then do workers start (so the order is certain)
    argv = [sys.executable, "-m", "producer", "run", str(folder), "-o", str(out), "--timeout", "120"]
    proc = subprocess.Popen(argv, env=worker_env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stderr, lines), daemon=True).start()
    try:
        assert "5 files in" in _line_with(lines, "files in", timeout=60)
        write(str(folder / "grows.jpg"), jpeg)
        write(str(folder / "shrinks.jpg"), b"")
        os.unlink(folder / "vanishes.jpg")
        os.unlink(folder / "becomes-fifo.jpg")
        os.mkfifo(folder / "becomes-fifo.jpg")
        start_workers(count=1, concurrency=2)
        proc.wait(timeout=150)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    # Then the job completes and each record is what the worker read, not what the walk saw
    assert proc.returncode == 0, proc.stdout.read() + "".join(_drain(lines))
    proc.stdout.close()
    rows = {os.path.basename(r["path"]): r for r in map(json.loads, out.read_text().splitlines())}
    assert {name: row["error"] for name, row in rows.items()} == {
        "becomes-fifo.jpg": "not-a-file", "grows.jpg": "", "shrinks.jpg": "empty-file",
        "stays.jpg": "", "vanishes.jpg": "not-found"}
    assert rows["grows.jpg"]["size"] == len(jpeg) and rows["grows.jpg"]["hash"] == rows["stays.jpg"]["hash"]


@pytest.fixture(autouse=True)
def _remove_deep_trees(tmp_path):
    """Paths over PATH_MAX: removed here with rmtree (descriptor-based), not left to pytest's cleanup."""
    yield
    for name in ("in", "named", "cwd"):
        shutil.rmtree(tmp_path / name, ignore_errors=True)

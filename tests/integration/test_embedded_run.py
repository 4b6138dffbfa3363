"""End to end on the embedded default: real redis-server, real prefork workers, hostile inputs."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from support.images import encode, photo, pillow_bytes, png_declaring, write
from support.servers import REPO, clean_env, hashfleet, marked_env, processes_with_env

pytestmark = pytest.mark.integration


def build_hostile_folder(folder) -> dict[bytes, str]:
    """Real images, copies and ≥12 kinds of bad input. Returns {file-name bytes: expected error}."""
    from support.images import fixture_paths

    expected = {}
    for path in fixture_paths():
        shutil.copy(path, folder / os.path.basename(path))
        expected[os.path.basename(path).encode()] = ""
    for copy in ("copy1.jpg", "copy2.jpg"):  # byte-identical copies of butterfly.jpg
        shutil.copy(folder / "butterfly.jpg", folder / copy)
        expected[copy.encode()] = ""
    bgr = photo("home.jpg")
    jpeg = encode(".jpg", bgr)
    cases = {
        "zero.jpg": (b"", "empty-file"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "corrupt"),
        "random.jpg": (np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
                       "not-an-image"),
        "text.jpg": (b"this is a text file, not a photo\n", "not-an-image"),
        "bomb.png": (png_declaring(60000, 60000), "too-many-pixels"),
        "deep16.png": (encode(".png", bgr.astype(np.uint16) * 257), ""),
        "transparent.png": (encode(".png", np.zeros((50, 60, 4), np.uint8)), ""),
        "anim.gif": (pillow_bytes(bgr, "GIF"), ""),
        "photo.webp": (encode(".webp", bgr), ""),
        "new\nline.png": (encode(".png", bgr[::2, ::2]), ""),
    }
    for name, (data, error) in cases.items():
        write(str(folder / name), data)
        expected[name.encode()] = error
    write(os.fsdecode(os.fsencode(str(folder)) + b"/caf\xe9.jpg"), encode(".jpg", bgr[:, ::-1]))
    expected[b"caf\xe9.jpg"] = ""
    os.makedirs(folder / "x.jpg")  # a folder named like an image: walked, holds one real image
    write(str(folder / "x.jpg" / "inner.png"), encode(".png", bgr[::3, ::3]))
    expected[b"x.jpg/inner.png"] = ""
    os.symlink(folder / "nowhere.jpg", folder / "broken.jpg")
    expected[b"broken.jpg"] = "not-found"
    os.symlink(folder / "loop.jpg", folder / "loop.jpg")
    expected[b"loop.jpg"] = "symlink-loop"
    os.mkfifo(folder / "fifo.jpg")
    expected[b"fifo.jpg"] = "not-a-file"
    return expected


def test_embedded_run_gives_one_record_per_file_with_errors_as_data_and_leaves_nothing_running(tmp_path):
    # Given a folder of real images, copies and hostile files
    folder = tmp_path / "in"
    folder.mkdir()
    expected = build_hostile_folder(folder)
    out, groups = tmp_path / "out.jsonl", tmp_path / "groups.json"
    # When hashfleet runs with no broker configured
    env, marker = marked_env()
    done = hashfleet(["run", str(folder), "-o", str(out), "--groups", str(groups), "--workers", "2",
                      "--chunk-size", "4"], env=env, timeout=180)
    # Then the job completes with exit 0, one record per file, errors where expected
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    prefix = os.fsencode(str(folder)) + b"/"
    got = {os.fsencode(r["path"])[len(prefix):]: r["error"] for r in rows}
    assert len(rows) == len(got) == len(expected)
    assert got == expected
    for row in rows:
        assert bool(row["hash"]) == (row["error"] == ""), row
    transparent = next(r for r in rows if r["path"].endswith("transparent.png"))
    assert transparent["hash"] == "0000000000000000"
    # And the byte-identical copies form one group; every group is hashed files sharing its hash
    dup = json.loads(groups.read_text(encoding="utf-8"))
    hash_of = {r["path"]: r["hash"] for r in rows}
    butterfly = [sorted(os.path.basename(p) for p in ps) for ps in dup.values()
                 if ps[0].endswith("butterfly.jpg")]
    assert butterfly == [["butterfly.jpg", "copy1.jpg", "copy2.jpg"]]
    for hex_hash, paths in dup.items():
        assert len(paths) >= 2 and {hash_of[p] for p in paths} == {hex_hash}
    shared = Counter(r["hash"] for r in rows if r["hash"])
    assert sum(len(ps) for ps in dup.values()) == sum(n for n in shared.values() if n >= 2)
    assert "hashfleet:" in done.stdout and "exact-duplicate groups" in done.stdout
    # And no embedded worker or redis-server is left behind
    assert processes_with_env(marker) == []


def test_classic_algorithm_runs_end_to_end_and_exports_to_the_original_pickle_format(tmp_path, images):
    out, pickle_out = tmp_path / "out.sqlite", tmp_path / "hashes.pickle"
    done = hashfleet(["run", str(images), "-o", str(out), "--algo", "dhash-classic", "--workers", "1"],
                     env=clean_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    exported = hashfleet(["export", str(out), "-o", str(pickle_out)], env=clean_env())
    assert exported.returncode == 0, exported.stderr
    import pickle

    import cv2

    sys.path.insert(0, os.path.join(REPO, "..", "shared", "reference", "pyimagesearch_multiprocessing"))
    try:
        from pyimagesearch.parallel_hashing import dhash
    except ImportError:
        pytest.skip("reference script absent")
    finally:
        sys.path.pop(0)
    with open(pickle_out, "rb") as handle:
        table = pickle.load(handle)
    for path in os.listdir(images):
        full = str(images / path)
        assert full in table[dhash(cv2.imread(full))]


def test_ctrl_c_stops_the_embedded_redis_and_workers(tmp_path, images):
    env, marker = marked_env(HASHFLEET_PROGRESS_INTERVAL="0.1")
    for i in range(400):  # enough files that the job is still running when interrupted
        os.link(images / "butterfly.jpg", images / f"b{i:03d}.jpg")
    argv = [sys.executable, "-m", "producer", "run", str(images), "-o", str(tmp_path / "o.csv"),
            "--workers", "1", "--chunk-size", "2"]
    proc = subprocess.Popen(argv, env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "files in" in proc.stderr.readline()  # the job is built; services are starting
        progress = proc.stderr.readline()  # first progress line: workers are hashing
        done, total = map(int, re.search(r"hashed (\d+)/(\d+)", progress).groups())
        assert 0 < done < total
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        proc.kill()
    assert processes_with_env(marker) == []
    assert not (tmp_path / "o.csv").exists()

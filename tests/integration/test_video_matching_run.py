"""Video matching end to end with real prefork workers: `hashfleet run` indexes a folder of photos and videos,
then `dupes` pairs the copies of one footage with the seconds they share, and `search` finds a still and an
excerpt in the videos, at the right time."""

from __future__ import annotations

import csv
import os

import cv2
import pytest

from support.footage import picture, write_footage
from support.servers import hashfleet

pytestmark = pytest.mark.integration


@pytest.fixture
def indexed(tmp_path, images, shared_env):
    """The committed photos plus a 30 s video, a clip of it (seconds 8.5-20.5, half size, 8 fps) and an
    unrelated video, indexed to SQLite by the shared worker."""
    write_footage(images / "film.mp4", 30, 10)
    write_footage(images / "clip.mp4", 12, 8, (160, 90), offset=8.5)
    write_footage(images / "other.mkv", 30, 10, seed=1)
    out = tmp_path / "index.sqlite"
    done = hashfleet(["run", str(images), "-o", str(out), "--timeout", "120"], env=shared_env, timeout=150)
    assert done.returncode == 0, done.stderr
    return out


def rows(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_dupes_pairs_a_clip_with_its_source_at_the_seconds_it_was_cut_from(tmp_path, indexed, shared_env):
    # (shared_env names the worker's broker, HASHFLEET_BROKER_URL: the frame join runs on the worker as for --broker)
    pairs, plan = tmp_path / "pairs.csv", tmp_path / "plan.csv"
    done = hashfleet(["dupes", str(indexed), "-o", str(pairs), "--plan", str(plan)], env=shared_env, timeout=120)
    assert done.returncode == 0, done.stderr
    videos = [r for r in rows(pairs) if r["a_start"]]
    assert [(os.path.basename(r["a"]), os.path.basename(r["b"])) for r in videos] == [("clip.mp4", "film.mp4")]
    pair = videos[0]
    assert float(pair["b_start"]) == pytest.approx(8.5, abs=1) and float(pair["b_end"]) == pytest.approx(20.5, abs=1)
    assert float(pair["a_start"]) == pytest.approx(0, abs=1) and float(pair["a_end"]) == pytest.approx(12, abs=1)
    assert all(r["a_start"] == "" for r in rows(pairs) if not r["a"].endswith(".mp4"))
    kept = {os.path.basename(r["path"]): r["action"] for r in rows(plan) if r["path"].endswith(".mp4")}
    assert kept == {"film.mp4": "keep", "clip.mp4": "remove-candidate"}


def test_search_finds_a_still_and_an_excerpt_in_the_videos_at_the_right_time(tmp_path, indexed, shared_env):
    still = tmp_path / "still.jpg"
    cv2.imwrite(str(still), cv2.cvtColor(picture(23, (640, 360)), cv2.COLOR_RGB2BGR))
    excerpt = write_footage(tmp_path / "excerpt.mp4", 8, 12, (192, 108), offset=14.0)
    out = tmp_path / "matches.csv"
    done = hashfleet(["search", str(indexed), str(still), excerpt, "-o", str(out)], env=shared_env, timeout=120)
    assert done.returncode == 0, done.stderr
    found = {(os.path.basename(r["query"]), os.path.basename(r["path"])): r for r in rows(out)}
    at = found[("still.jpg", "film.mp4")]
    assert float(at["start"]) <= 23 < float(at["end"]) and at["query_start"] == ""
    assert ("still.jpg", "other.mkv") not in found
    clip = found[("excerpt.mp4", "film.mp4")]
    assert float(clip["start"]) == pytest.approx(14, abs=1) and float(clip["end"]) == pytest.approx(22, abs=1)
    assert float(clip["query_start"]) == pytest.approx(0, abs=1)
    assert {q for q, p in found if p == "other.mkv"} == set()

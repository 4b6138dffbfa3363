"""Rough edits end to end: real photos, their square and 10 % crops, captions, logos and screenshots hashed by
real workers, then `dupes` and `search` on the index they wrote."""

import csv
import json
import os

import cv2
import pytest

from support import rough_edits
from support.images import photo
from support.servers import clean_env, hashfleet

pytestmark = pytest.mark.integration

PHOTOS = ("butterfly.jpg", "aero3.jpg", "home.jpg")
EDITS = {"square": rough_edits.square, "crop10": rough_edits.crop, "caption": rough_edits.caption,
         "logo": rough_edits.logo, "screenshot": rough_edits.screenshot}
#: Different photos that carry the same logo box (and caption): never pairs.
OVERLAID = ("orange.jpg", "HappyFish.jpg", "pic1.png")


def picture(name: str) -> str:
    """The photo a file was made from: "home" for home-square.png, "orange" for alone-orange-logo.png."""
    parts = os.path.splitext(name)[0].split("-")
    return parts[1] if parts[0] == "alone" else parts[0]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rough")
    photos = folder / "photos"
    photos.mkdir()
    for name in PHOTOS:
        stem = os.path.splitext(name)[0]
        cv2.imwrite(str(photos / f"{stem}.png"), photo(name))
        for edit, make in EDITS.items():
            cv2.imwrite(str(photos / f"{stem}-{edit}.png"), make(photo(name)))
    for name in OVERLAID:
        cv2.imwrite(str(photos / f"alone-{os.path.splitext(name)[0]}-logo.png"), rough_edits.logo(photo(name)))
        cv2.imwrite(str(photos / f"alone-{os.path.splitext(name)[0]}-caption.png"), rough_edits.caption(photo(name)))
    out = folder / "index.sqlite"
    done = hashfleet(["run", str(photos), "-o", str(out)], env=clean_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    return out


def test_dupes_groups_each_photo_with_its_rough_edits_and_pairs_no_shared_overlay(index, tmp_path):
    done = hashfleet(["dupes", str(index), "-o", str(tmp_path / "pairs.csv"), "--groups", str(tmp_path / "g.json"),
                      "--plan", str(tmp_path / "plan.csv")], timeout=60)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "pairs.csv", newline="") as handle:
        pairs = {tuple(sorted(os.path.basename(p[k]) for k in ("a", "b"))) for p in csv.DictReader(handle)}
    for name in PHOTOS:
        stem = os.path.splitext(name)[0]
        for edit in EDITS:
            assert tuple(sorted((f"{stem}.png", f"{stem}-{edit}.png"))) in pairs, (stem, edit)
    # and every pair is one photo's: no two photos that only share a logo box or a caption band
    assert all(picture(a) == picture(b) for a, b in pairs), pairs
    # and the plan keeps each original, saying why
    with open(tmp_path / "plan.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kept = {os.path.basename(r["path"]) for r in rows if r["action"] == "keep" and not r["path"].count("alone")}
    assert kept == {f"{os.path.splitext(n)[0]}.png" for n in PHOTOS}
    assert all(r["reason"] for r in rows)
    assert json.loads((tmp_path / "g.json").read_text())


def test_search_finds_the_photo_of_a_screenshot_and_of_a_square_crop(index, tmp_path):
    image = photo("aero3.jpg")
    for edit in ("screenshot", "square"):
        query = tmp_path / f"query-{edit}.png"
        cv2.imwrite(str(query), EDITS[edit](image))
        done = hashfleet(["search", str(index), str(query)], timeout=60)
        assert done.returncode == 0, done.stderr
        assert "/aero3.png" in done.stdout, done.stdout


def test_no_regions_finds_neither_square_crops_nor_screenshots(index, tmp_path):
    done = hashfleet(["dupes", str(index), "--no-regions", "-o", str(tmp_path / "pairs.csv")], timeout=60)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "pairs.csv", newline="") as handle:
        names = {os.path.basename(p[k]) for p in csv.DictReader(handle) for k in ("a", "b")}
    assert not any(n.endswith(("-square.png", "-screenshot.png")) for n in names)

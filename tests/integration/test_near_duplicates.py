"""Near-duplicates end to end: real photos and their edited copies hashed by real workers, then `dupes` and
`search` on the index they wrote."""

import csv
import json
import os

import cv2
import numpy as np
import pytest

from support.images import photo
from support.servers import clean_env, hashfleet
from tasks.errors import FileError

pytestmark = pytest.mark.integration

#: Photos that get edited copies (tests/data/images), and one that stays alone.
EDITED = ("butterfly.jpg", "aero3.jpg", "home.jpg")
ALONE = "orange.jpg"


def edits(image: np.ndarray) -> dict[str, tuple[str, bytes]]:
    """The edits people make, each as (extension, encoded bytes)."""
    h, w = image.shape[:2]
    crop = image[round(h * 0.04):h - round(h * 0.04), round(w * 0.04):w - round(w * 0.04)]
    small = cv2.resize(image, (w * 6 // 10, h * 6 // 10), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return {
        "resized": (".png", cv2.imencode(".png", small)[1].tobytes()),
        "q35": (".jpg", cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 35])[1].tobytes()),
        "crop4": (".png", cv2.imencode(".png", crop)[1].tobytes()),
        "grey": (".png", cv2.imencode(".png", grey)[1].tobytes()),
    }


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """An index made by `hashfleet run` (embedded: private redis-server, real prefork workers) over the
    originals, their edits, a mirrored copy (a different picture to a hash) and two flat images."""
    folder = tmp_path_factory.mktemp("near")
    photos = folder / "photos"
    photos.mkdir()
    for name in (*EDITED, ALONE):
        image = photo(name)
        cv2.imwrite(str(photos / name), image)
        if name in EDITED:
            stem = os.path.splitext(name)[0]
            for edit, (ext, data) in edits(image).items():
                (photos / f"{stem}-{edit}{ext}").write_bytes(data)
            cv2.imwrite(str(photos / f"{stem}-mirror.png"), cv2.flip(image, 1))
    for level in (40, 200):
        cv2.imwrite(str(photos / f"flat-{level}.png"), np.full((120, 160), level, np.uint8))
    out = folder / "index.sqlite"
    done = hashfleet(["run", str(photos), "-o", str(out)], env=clean_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    return out


def test_dupes_groups_each_photo_with_its_edits_and_nothing_else(index, tmp_path):
    # When dupes runs with its defaults
    done = hashfleet(["dupes", str(index), "-o", str(tmp_path / "pairs.csv"), "--groups", str(tmp_path / "g.json"),
                      "--plan", str(tmp_path / "plan.csv")], timeout=60)
    assert done.returncode == 0, done.stderr
    groups = json.loads((tmp_path / "g.json").read_text())
    # Then there is one group per edited photo: the original and its four edits, no mirror, no flat image
    names = sorted(sorted(os.path.basename(m["path"]) for m in g["members"]) for g in groups)
    expected = sorted(sorted([name] + [f"{os.path.splitext(name)[0]}-{e}{ext}" for e, (ext, _) in
                                       edits(photo(name)).items()]) for name in EDITED)
    assert names == expected
    # and the pairs file holds only pairs inside those groups
    with open(tmp_path / "pairs.csv", newline="") as handle:
        pairs = list(csv.DictReader(handle))
    assert pairs and all(os.path.basename(p["a"]).split("-")[0].split(".")[0] ==
                         os.path.basename(p["b"]).split("-")[0].split(".")[0] for p in pairs)


def test_the_plan_keeps_the_largest_file_of_each_group_and_deletes_nothing(index, tmp_path):
    before = sorted(os.listdir(index.parent / "photos"))
    done = hashfleet(["dupes", str(index), "--plan", str(tmp_path / "plan.csv"), "--keep", "largest"], timeout=60)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "plan.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kept = sorted(os.path.basename(r["path"]) for r in rows if r["action"] == "keep")
    # the original and its q35 re-encoding have the same pixel count: ties go to the file listed first
    assert len(kept) == len(EDITED) and all("resized" not in k and "crop4" not in k for k in kept)
    assert {r["action"] for r in rows} == {"keep", "remove-candidate"}
    assert sorted(os.listdir(index.parent / "photos")) == before


def test_flat_images_are_paired_only_when_asked_for(index):
    plain = hashfleet(["dupes", str(index)], timeout=60)
    both = hashfleet(["dupes", str(index), "--include-low-information"], timeout=60)
    assert plain.returncode == both.returncode == 0
    pairs = [int(r.stdout.split(" pairs")[0].rsplit(" ", 1)[1]) for r in (plain, both)]
    assert pairs[1] == pairs[0] + 1, (plain.stdout, both.stdout)


def test_search_finds_the_original_of_an_edited_copy_nearest_first(index, tmp_path):
    query = tmp_path / "query.jpg"
    small = cv2.resize(photo("butterfly.jpg"), (300, 216), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(query), small, [cv2.IMWRITE_JPEG_QUALITY, 60])
    done = hashfleet(["search", str(index), str(query)], timeout=60)
    assert done.returncode == 0, done.stderr
    listed = [line.split()[-1] for line in done.stdout.splitlines()[1:]]
    assert listed and all(os.path.basename(p).startswith("butterfly") for p in listed)
    distances = [int(line.split()[0]) for line in done.stdout.splitlines()[1:]]
    assert distances == sorted(distances)


def test_search_decodes_its_query_within_the_pixel_limit_hashfleet_max_pixels_sets(index, tmp_path):
    # Given a 300 x 216 query image and a pixel limit below its size
    query = tmp_path / "query.jpg"
    cv2.imwrite(str(query), cv2.resize(photo("butterfly.jpg"), (300, 216), interpolation=cv2.INTER_AREA))
    # When search hashes it
    done = hashfleet(["search", str(index), str(query)], env=clean_env(HASHFLEET_MAX_PIXELS="10000"), timeout=60)
    # Then it is refused as too many pixels, one line, exit 2
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == f"hashfleet: error: cannot hash {query}: {FileError.TOO_MANY_PIXELS.description}"


def test_the_report_makes_its_thumbnails_within_the_pixel_limit_hashfleet_max_pixels_sets(index, tmp_path):
    # Given a pixel limit below the size of the edited copies (PNGs of 100,000 pixels and more)
    out = tmp_path / "limited.html"
    # When the report is written
    done = hashfleet(["report", str(index), "-o", str(out)], env=clean_env(HASHFLEET_MAX_PIXELS="10000"),
                     timeout=120)
    # Then it completes, and their thumbnails give the reason instead of a picture
    assert done.returncode == 0, done.stderr
    assert FileError.TOO_MANY_PIXELS.description in out.read_text(encoding="utf-8")


def test_the_report_shows_each_photo_with_its_edits_in_headless_chromium(index, tmp_path):
    from support.browser import chromium, keep_artifact

    # When the report is written from the index with its defaults
    out = tmp_path / "near-report.html"
    done = hashfleet(["report", str(index), "-o", str(out)], timeout=120)
    assert done.returncode == 0, done.stderr
    # Then Chromium renders one group per edited photo, each with the original and its four edits
    dom = chromium("--dump-dom", out.as_uri()).stdout
    shown = dom.split('<main id="groups">', 1)[1].split("</main>", 1)[0]
    assert shown.count('<section class="group"') == len(EDITED)
    for name in EDITED:
        stem = os.path.splitext(name)[0]
        assert all(f">{stem}-{edit}{ext}</div>" in shown for edit, (ext, _) in edits(photo(name)).items())
        assert f">{name}</div>" in shown
    assert "mirror" not in shown and "flat-" not in shown
    assert shown.count('class="badge keep">keep<') == len(EDITED)
    shot = tmp_path / "near-report.png"
    taken = chromium(f"--screenshot={shot}", out.as_uri())
    assert taken.returncode == 0 and shot.exists()
    print(f"\nnear-duplicate report screenshot: {keep_artifact(shot)}")

"""The HTML report: paths are data never markup, bad images get placeholders, big groups first, bounded size."""

from __future__ import annotations

import json
import os
import re

import pytest

from producer.near import report
from producer.near.groups_model import Group, Member
from producer.near.report import human_size, script_json, write_report
from producer.near.thumbnails import THUMBNAIL_BOX, make_thumbnail
from support.images import fixture_paths

HOSTILE = "/p/</script><img src=x onerror=alert(1)>.jpg"
#: The page's data blob: everything between its opening tag and the first `</script>` after it.
DATA = re.compile(r'<script type="application/json" id="hf-data">(.*?)</script>', re.S)
#: Bytes a 10,000-group report may weigh with its default thumbnails: 1,500 thumbnails of ~4 kB and ~200
#: bytes of JSON per member (measured: ~9 MB); the bound catches a thumbnail per group or a bloated blob.
TEN_THOUSAND_GROUPS_MAX_BYTES = 12_000_000


def member(path: str, *, distance: int = 0, keep: bool = False, size: int | None = 1000) -> Member:
    return Member(path, size, 640, 480, 1_700_000_000, distance, keep)


def group(*paths: str, kind: str = "near", size: int | None = 1000) -> Group:
    return Group(kind, tuple(member(p, distance=i, keep=i == 0, size=size) for i, p in enumerate(paths)))


def written(tmp_path, groups, **options) -> tuple[str, dict]:
    """(the page's text, its data blob) after writing `groups`."""
    out = tmp_path / "report.html"
    options.setdefault("title", "Duplicates")
    options.setdefault("summary", {"files": 10})
    assert write_report(groups, str(out), **options) == len(groups)
    page = out.read_text(encoding="utf-8")
    return page, json.loads(DATA.search(page).group(1))


def test_a_path_that_closes_the_script_element_stays_data_inside_the_json_blob(tmp_path):
    # Given a file whose name closes a <script> element and injects an image with a handler
    photo = fixture_paths()[0]
    # When it is in a report, whose title holds markup too
    page, data = written(tmp_path, [group(photo, HOSTILE)], title="<b>bold</b> & co")
    # Then the blob still parses up to its own end tag and holds the name unchanged, as text
    assert data["groups"][0]["members"][1]["path"] == HOSTILE
    assert "<img src=x" not in page and "onerror=alert(1)>" not in page
    assert page.count("</script>") == 2  # the data blob's and the renderer's, nothing else
    assert "<title>&lt;b&gt;bold&lt;/b&gt; &amp; co</title>" in page


def test_script_json_escapes_what_could_end_a_script_element_or_a_js_string():
    text = script_json({"p": "</script><!--&\u2028"})
    assert not set("<>&") & set(text) and "\u2028" not in text
    assert json.loads(text) == {"p": "</script><!--&\u2028"}


def test_a_non_utf8_file_name_is_shown_with_its_odd_bytes_escaped(tmp_path):
    # Given a name with a Latin-1 byte, as os.fsdecode gives it (surrogateescape)
    odd = os.fsdecode(b"/p/caf\xe9 \xff.jpg")
    page, data = written(tmp_path, [group(fixture_paths()[0], odd)], summary={"folder": odd})
    assert data["groups"][0]["members"][1]["path"] == "/p/caf\\xe9 \\xff.jpg"
    assert "caf\\xe9 \\xff.jpg</dd>" in page


def test_a_file_that_cannot_be_read_or_decoded_gets_a_placeholder_saying_why(tmp_path):
    # Given a group of a real photo, a truncated JPEG, a text file named like a photo and a deleted file
    photo = fixture_paths()[0]
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(open(photo, "rb").read()[:200])
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    gone = str(tmp_path / "deleted.jpg")
    # When the report is written
    _, data = written(tmp_path, [group(photo, str(truncated), str(text), gone)])
    members = data["groups"][0]["members"]
    # Then the photo has a picture, and each other file a reason instead, and the page was still written
    assert members[0]["img"].startswith("data:image/jpeg;base64,") and "err" not in members[0]
    assert [m.get("img") for m in members[1:]] == [None, None, None]
    assert [m["err"] for m in members[1:]] == ["image data is truncated or corrupt",
                                               "not an image format the decoder knows",
                                               "no such file (deleted, or a broken symlink)"]


def test_a_thumbnail_fits_the_box_and_keeps_the_aspect_ratio():
    import base64

    import cv2
    import numpy as np

    photo = fixture_paths()[0]
    original = cv2.imread(photo)
    uri = make_thumbnail(photo).uri
    small = cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    assert max(small.shape[:2]) == THUMBNAIL_BOX
    ratio = original.shape[1] / original.shape[0]
    assert small.shape[1] / small.shape[0] == pytest.approx(ratio, rel=0.02)


def test_groups_are_listed_largest_first_then_by_total_bytes(tmp_path):
    # Given a pair of small files, a triple, and a pair of big files
    small_pair = group("/p/a1.jpg", "/p/a2.jpg", size=10)
    triple = group("/p/b1.jpg", "/p/b2.jpg", "/p/b3.jpg", size=10)
    big_pair = group("/p/c1.jpg", "/p/c2.jpg", size=10_000)
    # When they are written in that order
    _, data = written(tmp_path, [small_pair, triple, big_pair], thumbnails=0)
    # Then the triple comes first, then the pair weighing more
    firsts = [g["members"][0]["path"] for g in data["groups"]]
    assert firsts == ["/p/b1.jpg", "/p/c1.jpg", "/p/a1.jpg"]


def test_only_the_members_of_the_first_groups_get_thumbnails_and_the_page_says_so(tmp_path):
    photos = fixture_paths()
    groups = [group(photos[i], photos[i + 1]) for i in range(0, 8, 2)]
    page, data = written(tmp_path, groups, thumbnails=2)
    pictured = [[("img" in m) for m in g["members"]] for g in data["groups"]]
    assert pictured == [[True, True], [True, True], [False, False], [False, False]]
    assert "Pictures are shown for the first 4 of 8 files" in page


def test_thumbnails_stop_at_the_overall_cap_even_inside_a_group(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "MAX_THUMBNAILS", 3)
    _, data = written(tmp_path, [group(*fixture_paths()[:5])])
    assert [("img" in m) for m in data["groups"][0]["members"]] == [True, True, True, False, False]


def test_each_member_carries_what_a_person_compares(tmp_path):
    photo = fixture_paths()[0]
    _, data = written(tmp_path, [Group("exact", (Member(photo, 2_621_440, 4032, 3024, 0, 0, True),
                                                 Member("/p/copy.jpg", None, None, None, None, 0, False)))],
                      thumbnails=0)
    kept, candidate = data["groups"][0]["members"]
    assert kept == {"path": photo, "size": "2.5 MiB", "dims": "4032 \u00d7 3024", "dist": 0, "keep": True,
                    "mtime": "1970-01-01 00:00 UTC"}
    assert candidate == {"path": "/p/copy.jpg", "size": "size unknown", "dims": "size unknown", "dist": 0,
                         "keep": False}
    assert data["groups"][0] | {"members": None} == {"kind": "exact", "total": "2.5 MiB", "reclaim": "0 bytes",
                                                     "members": None}


def test_the_page_says_hashfleet_never_deletes_anything_and_shows_the_summary(tmp_path):
    page, _ = written(tmp_path, [], summary={"files": 1_234_567, "hash": "dhash", "K": 4})
    assert "hashfleet never deletes, moves or changes any file" in page
    assert "<dt>files</dt><dd>1,234,567</dd>" in page and "<dt>K</dt><dd>4</dd>" in page


def test_the_page_fetches_nothing_from_any_url(tmp_path):
    page, _ = written(tmp_path, [group(*fixture_paths()[:2])])
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "default-src 'none'" in page


@pytest.mark.parametrize(("size", "shown"), [(0, "0 bytes"), (1023, "1023 bytes"), (1024, "1.0 KiB"),
                                             (45_800, "44.7 KiB"), (3 * 1024**3, "3.0 GiB"), (None, "size unknown")])
def test_sizes_are_shown_in_binary_units(size, shown):
    assert human_size(size) == shown


def test_ten_thousand_groups_make_a_page_of_bounded_size(tmp_path):
    # Given 10,000 groups of two or three copies of the fixture photos
    photos = fixture_paths()
    groups = [Group("exact", tuple(member(photos[(i + j) % len(photos)], keep=j == 0, size=2_500_000)
                                   for j in range(2 + (i % 3 == 0)))) for i in range(10_000)]
    # When the report is written with the default thumbnails
    page, data = written(tmp_path, groups)
    # Then every group is in it, only the first ones pictured, and the file stays a size a browser opens
    assert len(data["groups"]) == 10_000
    assert page.count("data:image/jpeg;base64,") == report.MAX_THUMBNAILS
    assert (tmp_path / "report.html").stat().st_size < TEN_THOUSAND_GROUPS_MAX_BYTES

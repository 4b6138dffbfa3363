"""The duplicate report opened in a real headless Chromium, from disk: groups render, names stay text.

Screenshots are kept as artifacts (tests/artifacts/report.png and report-10000-groups.png, or in
$HASHFLEET_TEST_ARTIFACTS) for a person to look at.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil

import cv2
import pytest

from producer.near.groups_model import Group, Member
from producer.near.report import PAGE_SIZE, write_report
from support.browser import WINDOW, chromium, keep_artifact, png_size
from support.images import DATA

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: A file name that is markup: if the page ever treated names as HTML, this would add an image whose
#: handler changes the page title. (A name cannot hold "/", so no "</script>" here: the unit tests cover it.)
HOSTILE_NAME = "<img src=x onerror=document.title='pwned'>.jpg"
#: Seconds Chromium may take to open and render the first page of a 10,000-group report (it takes ~3 s).
BIG_PAGE_TIMEOUT = 60.0
#: A blank or unstyled page compresses to a few kB; one with thumbnails and badges is far larger.
MIN_SCREENSHOT_BYTES = 40_000


def copy(name: str, folder, as_name: str | None = None) -> str:
    target = os.path.join(folder, as_name or name)
    shutil.copy(os.path.join(DATA, name), target)
    return target


def resized(name: str, folder, as_name: str, scale: float) -> str:
    image = cv2.imread(os.path.join(DATA, name))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    target = os.path.join(folder, as_name)
    assert cv2.imwrite(target, small, [cv2.IMWRITE_JPEG_QUALITY, 60])
    return target


def member(path: str, distance: int, keep: bool) -> Member:
    """A Member with the file's real size, mtime and dimensions (unknown when it cannot be decoded)."""
    info = os.stat(path)
    image = cv2.imread(path)
    height, width = image.shape[:2] if image is not None else (None, None)
    return Member(path, info.st_size, width, height, int(info.st_mtime), distance, keep)


@pytest.fixture
def real_groups(tmp_path) -> list[Group]:
    """An exact pair, a photo with two resized copies (one with a hostile name), and a broken copy."""
    photos = tmp_path / "photos"
    (photos / "backup").mkdir(parents=True)
    pair = [copy("butterfly.jpg", photos), copy("butterfly.jpg", photos / "backup")]
    resizes = [copy("orange.jpg", photos), resized("orange.jpg", photos, "orange-small.jpg", 0.5),
               resized("orange.jpg", photos / "backup", HOSTILE_NAME, 0.3)]
    fish = copy("HappyFish.jpg", photos)
    broken = photos / "backup" / "HappyFish-truncated.jpg"
    with open(fish, "rb") as whole:
        broken.write_bytes(whole.read()[:2000])
    return [Group("exact", (member(pair[0], 0, True), member(pair[1], 0, False))),
            Group("near", (member(resizes[0], 0, True), member(resizes[1], 2, False), member(resizes[2], 5, False))),
            Group("near", (member(fish, 0, True), member(str(broken), 3, False)))]


def open_page(url: str, timeout: float = BIG_PAGE_TIMEOUT) -> str:
    """The DOM of `url` after its scripts ran, as Chromium serializes it."""
    dom = chromium("--dump-dom", url, timeout=timeout)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


def rendered(dom: str) -> str:
    """The elements the page's script made from its data (the data blob itself is elsewhere in the DOM)."""
    found = re.search(r'<main id="groups">(.*?)</main>', dom, re.S)
    assert found, dom[-2000:]
    return found.group(1)


def screenshot(url: str, path) -> str:
    taken = chromium(f"--screenshot={path}", url)
    assert taken.returncode == 0 and os.path.exists(path), taken.stderr[-2000:]
    assert png_size(path) == WINDOW
    assert os.path.getsize(path) > MIN_SCREENSHOT_BYTES, "the page looks blank"
    return keep_artifact(path)


def test_a_report_of_real_groups_renders_every_group_with_thumbnails_badges_and_names_as_text(tmp_path, real_groups):
    # Given a report of three real groups, written to disk
    out = tmp_path / "report.html"
    assert write_report(real_groups, str(out), title="Duplicates in photos/",
                        summary={"files": 7, "groups": 3, "pairs": 6, "hash": "dhash", "K": 6}) == 3
    # When Chromium opens it from disk
    dom = open_page(out.as_uri())
    shown = rendered(dom)
    # Then each group is rendered, the largest (three files) first, with every file's name
    assert re.findall(r'<section class="group" id="(group-\d+)"', shown) == ["group-1", "group-2", "group-3"]
    assert shown.index("orange-small.jpg") < shown.index("butterfly.jpg")
    for name in ("butterfly.jpg", "orange.jpg", "orange-small.jpg", "HappyFish.jpg", "HappyFish-truncated.jpg"):
        assert f">{name}</div>" in shown, name
    # And one badge per file: the representatives kept, the others candidates to remove
    assert shown.count('class="badge keep">keep<') == 3
    assert shown.count('class="badge drop">candidate to remove<') == 4
    # And a picture for each readable file, a placeholder saying why for the truncated one
    assert shown.count('<img src="data:image/jpeg;base64,') == 6
    assert "no picture: image data is truncated or corrupt" in shown
    # And the hostile name is shown as text: no element was made from it, its handler never ran
    assert "&lt;img src=x onerror=document.title='pwned'&gt;.jpg" in shown
    assert '<img src="x"' not in dom and "<title>Duplicates in photos/</title>" in dom
    # And the page says that nothing gets deleted
    assert "hashfleet never deletes, moves or changes any file" in dom
    kept = screenshot(out.as_uri(), tmp_path / "report.png")
    print(f"\nreport screenshot: {kept}")


def test_a_report_of_ten_thousand_groups_renders_one_page_at_a_time_without_hanging(tmp_path):
    # Given a report of 10,000 groups of the fixture photos (thumbnails for the first ones only)
    photos = [member(os.path.join(DATA, name), 0, False) for name in sorted(os.listdir(DATA))]
    groups = [Group("near", tuple(dataclasses.replace(photos[(i + j) % len(photos)], distance=j, keep=j == 0)
                                  for j in range(2 + (i % 4 == 0)))) for i in range(10_000)]
    out = tmp_path / "big.html"
    assert write_report(groups, str(out), title="10,000 groups", summary={"groups": 10_000}) == 10_000
    # When Chromium opens it (bounded: a hang fails the test), Then only the first page's groups are elements
    dom = open_page(out.as_uri())
    assert 'data-page="1"' in dom and f'data-rendered="{PAGE_SIZE}"' in dom
    assert len(re.findall(r'<section class="group"', rendered(dom))) == PAGE_SIZE
    assert f"Page 1 of {10_000 // PAGE_SIZE}" in dom
    # And a link to a later page opens that page, whose groups come without pictures and say why
    last = rendered(open_page(out.as_uri() + f"#page={10_000 // PAGE_SIZE}"))
    assert 'id="group-10000"' in last and 'id="group-9980"' not in last
    assert "no picture (only the first groups have pictures)" in last and "data:image/jpeg" not in last
    kept = screenshot(out.as_uri() + "#page=30", tmp_path / "report-10000-groups.png")
    print(f"\n10,000-group report screenshot (page 30): {kept}")

"""`hashfleet search` with videos in the index: an image query finds the videos showing it and when, a video
query finds the videos holding its footage and where, `-o` writes the matches as CSV."""

from __future__ import annotations

import csv

import cv2
import pytest
from click.testing import CliRunner

from producer.cli.main import cli
from support.footage import footage_index, picture, write_footage


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    return footage_index(folder)[0], folder


def search(index_path, folder, *queries, limit=20):
    out = folder / "matches.csv"
    result = CliRunner().invoke(cli, ["search", index_path, *map(str, queries), "-o", str(out), "--limit",
                                      str(limit)])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as handle:
        return list(csv.DictReader(handle)), result.output


def name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def test_a_still_finds_the_videos_that_show_it_at_the_second_they_show_it(index, tmp_path):
    still = tmp_path / "still.jpg"
    cv2.imwrite(str(still), cv2.cvtColor(picture(17, (640, 360)), cv2.COLOR_RGB2BGR))
    rows, printed = search(*index, still)
    found = {name(r["path"]): r for r in rows}
    assert {"original.mp4", "clip.mp4"} <= set(found) and "other.mp4" not in found
    # picture 17 is on screen at [17, 18) s in the original and [8.5, 9.5) s in the clip (sampled each second)
    assert float(found["original.mp4"]["start"]) <= 17 < float(found["original.mp4"]["end"]) <= 18
    assert float(found["clip.mp4"]["start"]) < 9.5 and float(found["clip.mp4"]["end"]) > 8.5
    assert found["original.mp4"]["query_start"] == ""
    assert "original.mp4  at " in printed


def test_a_smaller_excerpt_finds_its_source_and_where_it_sits_there(index, tmp_path):
    excerpt = write_footage(tmp_path / "excerpt.mp4", 8, 12, (192, 108), offset=14.0)
    rows, _ = search(*index, excerpt)
    found = {name(r["path"]): r for r in rows}
    assert "original.mp4" in found and "other.mp4" not in found
    row = found["original.mp4"]
    assert float(row["start"]) == pytest.approx(14, abs=1) and float(row["end"]) == pytest.approx(22, abs=1)
    assert float(row["query_start"]) == pytest.approx(0, abs=1) and float(row["query_end"]) == pytest.approx(8, abs=1)


def test_limit_caps_the_matches_of_each_query(index, tmp_path):
    still = tmp_path / "still.png"
    cv2.imwrite(str(still), cv2.cvtColor(picture(17, (640, 360)), cv2.COLOR_RGB2BGR))
    rows, printed = search(*index, still, still, limit=1)
    assert len(rows) == 2 and "nearest 1:" in printed

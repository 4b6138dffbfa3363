"""The report of an index holding videos, opened in headless Chromium: a group of copies of one footage shows
each copy's frames at the shared times, with the times under them. The screenshot is kept as
tests/artifacts/report-videos.png (or in $HASHFLEET_TEST_ARTIFACTS) for a person to look at."""

from __future__ import annotations

import os
import re

import pytest
from click.testing import CliRunner

from producer.cli.main import cli
from support.browser import WINDOW, chromium, keep_artifact, png_size
from support.footage import footage_index

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: A page showing three strips of video frames compresses to far more than a blank page's few kB.
MIN_SCREENSHOT_BYTES = 40_000


def test_a_group_of_video_copies_shows_a_strip_of_frames_at_the_shared_times(tmp_path):
    # Given an index of a video, a letterboxed copy, a clip of it and an unrelated video
    index, _ = footage_index(tmp_path)
    out = tmp_path / "report-videos.html"
    # When the report is written and Chromium opens it
    result = CliRunner().invoke(cli, ["report", index, "-o", str(out)])
    assert result.exit_code == 0, result.output
    dom = chromium("--dump-dom", out.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    shown = re.search(r'<main id="groups">(.*?)</main>', dom.stdout, re.S).group(1)
    # Then one group of the three copies, labelled as the same footage, the unrelated video in none
    assert shown.count('<section class="group"') == 1 and 'class="kind">same footage<' in shown
    assert "other.mp4" not in shown
    # And each copy shows four frames with their times under them, and the footage it shares
    assert shown.count('class="member keep video"') + shown.count('class="member video"') == 3
    assert len(re.findall(r'<div class="frame"><img src="data:image/jpeg;base64,', shown)) == 12
    captions = re.findall(r"<figcaption>(\d+:\d\d\.\d)</figcaption>", shown)
    assert len(captions) == 12 and captions[-4:] == ["0:00.0", "0:03.8", "0:07.7", "0:11.5"]
    # (the clip holds seconds 8.5 to 20.5 of the original: its samples follow the original's cuts, each second)
    assert "shared footage 0:00.0\u20130:12.0 of 0:12.0" in shown and ">at 0:08.5\u20130:20.5 of the first<" in shown
    # And the original is kept: the longest copy without black bars
    assert re.search(r'class="member keep video">.*?>original\.mp4<', shown)
    shot = tmp_path / "report-videos.png"
    taken = chromium(f"--screenshot={shot}", out.as_uri())
    assert taken.returncode == 0 and os.path.exists(shot), taken.stderr[-2000:]
    assert png_size(shot) == WINDOW and os.path.getsize(shot) > MIN_SCREENSHOT_BYTES
    print(f"\nvideo report screenshot: {keep_artifact(shot)}")

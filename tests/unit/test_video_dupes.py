"""`hashfleet dupes` over an index holding videos: pairs with the shared footage, groups and the keep plan
(real files encoded by PyAV, sampled with the workers' code, written as an index is)."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from producer.cli.main import cli
from support.footage import footage_index


@pytest.fixture(scope="module", params=["sqlite", "csv"])
def index(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    return footage_index(folder, request.param)[0], folder


def run_dupes(index_path, folder, keep="largest"):
    pairs, groups, plan = (str(folder / name) for name in ("pairs.csv", "groups.json", "plan.csv"))
    result = CliRunner().invoke(cli, ["dupes", index_path, "-o", pairs, "--groups", groups, "--plan", plan,
                                      "--keep", keep])
    assert result.exit_code == 0, result.output
    with open(pairs, newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(plan, newline="") as handle:
        plan_rows = list(csv.DictReader(handle))
    with open(groups) as handle:
        return rows, json.load(handle), plan_rows


def name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def test_dupes_lists_each_pair_of_copies_with_the_seconds_they_share(index):
    rows, _, _ = run_dupes(*index)
    found = {(name(r["a"]), name(r["b"])): r for r in rows}
    assert set(found) == {("original.mp4", "letterboxed.mp4"), ("original.mp4", "clip.mp4"),
                          ("letterboxed.mp4", "clip.mp4")}
    boxed = found[("original.mp4", "letterboxed.mp4")]
    assert (float(boxed["a_start"]), float(boxed["a_end"])) == (0, 30)
    clip = found[("original.mp4", "clip.mp4")]
    assert float(clip["a_start"]) == pytest.approx(8.5, abs=1) and float(clip["a_end"]) == pytest.approx(20.5, abs=1)
    assert float(clip["b_start"]) == pytest.approx(0, abs=1) and float(clip["b_end"]) == pytest.approx(12, abs=1)
    assert clip["speed"] == "1.0"


def test_the_plan_keeps_the_longest_copy_without_black_bars(index):
    _, groups, plan = run_dupes(*index)
    assert len(groups) == 1 and name(groups[0]["keep"]) == "original.mp4"
    assert {name(r["path"]): r["action"] for r in plan} == {
        "original.mp4": "keep", "letterboxed.mp4": "remove-candidate", "clip.mp4": "remove-candidate"}
    members = {name(m["path"]): m for m in groups[0]["members"]}
    assert members["letterboxed.mp4"]["letterboxed"] and not members["original.mp4"]["letterboxed"]


def test_dupes_opens_no_video_file_and_takes_the_black_bars_from_the_index(index, monkeypatch):
    import av

    def refuse(*args, **kwargs):
        raise AssertionError(f"dupes opened a video: {args}")

    monkeypatch.setattr(av, "open", refuse)
    _, groups, _ = run_dupes(*index)
    members = {name(m["path"]): m for m in groups[0]["members"]}
    assert members["letterboxed.mp4"]["letterboxed"] and name(groups[0]["keep"]) == "original.mp4"

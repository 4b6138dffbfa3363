"""The scale benchmark's output check finds a missing row, a wrong hash and a wrong group."""

import csv
import json

from support.synthetic import check_outputs, fake_hash, fake_paths


def write(tmp_path, paths, groups):
    with open(tmp_path / "out.csv", "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["path", "hash", "error"])
        out.writerows([p, h, ""] for p, h in paths)
    (tmp_path / "groups.json").write_text(json.dumps(groups))
    return str(tmp_path / "out.csv"), str(tmp_path / "groups.json")


def right_outputs(count):
    paths = list(fake_paths(count))
    groups: dict[str, list[str]] = {}
    for p in paths:
        groups.setdefault(fake_hash(p), []).append(p)
    return paths, {h: ps for h, ps in groups.items() if len(ps) > 1}


def test_right_outputs_pass(tmp_path):
    paths, groups = right_outputs(120)
    assert check_outputs(paths, *write(tmp_path, [(p, fake_hash(p)) for p in paths], groups)) == []


def test_a_missing_row_a_wrong_hash_and_a_missing_group_are_each_reported(tmp_path):
    paths, groups = right_outputs(120)
    rows = [(p, fake_hash(p)) for p in paths[:-1]]
    rows[3] = (rows[3][0], "00" * 8)
    problems = check_outputs(paths, *write(tmp_path, rows, dict(list(groups.items())[1:])))
    assert any("row 3" in p for p in problems)
    assert any("ends at row 119" in p for p in problems)
    assert any("groups, expected" in p for p in problems)

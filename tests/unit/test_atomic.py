"""Files written through atomic_path are the old one or the whole new one, never half, and leave no litter."""

import os

import pytest

from producer.outputs.atomic import atomic_path


def test_a_finished_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with atomic_path(str(target)) as temporary, open(temporary, "w") as handle:
        handle.write("new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.json"]


def test_a_write_that_fails_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(str(target)) as temporary:
        with open(temporary, "w") as handle:
            handle.write("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]

"""Enumerating files: deterministic, absolute, case-insensitive extensions, symlink choices, no hangs."""

import os
import shutil

import pytest

from producer.walk import iter_image_paths
from tasks.errors import ConfigError, FileError


def touch(path, data=b"x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def test_walk_is_recursive_sorted_and_case_insensitive_about_extensions(tmp_path):
    for rel in ["b/2.JPG", "b/1.png", "a.Jpeg", "c/d/e.WebP", "notes.txt", "x.jpg.bak"]:
        touch(str(tmp_path / rel))
    found = list(iter_image_paths([str(tmp_path)]))
    assert found == [str(tmp_path / p) for p in ["a.Jpeg", "b/1.png", "b/2.JPG", "c/d/e.WebP"]]


def test_relative_roots_become_absolute_and_named_files_are_taken_whatever_their_name(tmp_path, monkeypatch):
    touch(str(tmp_path / "scan.dat"))
    touch(str(tmp_path / "sub" / "a.png"))
    monkeypatch.chdir(tmp_path)
    found = list(iter_image_paths(["scan.dat", "sub"]))
    assert found == [str(tmp_path / "scan.dat"), str(tmp_path / "sub/a.png")]


def test_a_folder_named_like_an_image_is_walked_not_listed(tmp_path):
    touch(str(tmp_path / "x.jpg" / "inside.png"))
    assert list(iter_image_paths([str(tmp_path)])) == [str(tmp_path / "x.jpg" / "inside.png")]


def test_symlinked_folders_are_skipped_by_default_and_entered_once_when_followed(tmp_path):
    touch(str(tmp_path / "real" / "a.png"))
    os.symlink(tmp_path / "real", tmp_path / "link")
    os.symlink(tmp_path, tmp_path / "real" / "loop")  # a cycle back to the top
    assert list(iter_image_paths([str(tmp_path)])) == [str(tmp_path / "real" / "a.png")]
    followed = list(iter_image_paths([str(tmp_path)], follow_symlinks=True))
    assert followed == [str(tmp_path / "link" / "a.png")]  # 'link' sorts first; 'real' is the same folder


def test_symlinked_files_broken_links_and_self_loops_are_listed_for_the_workers_to_judge(tmp_path):
    touch(str(tmp_path / "a.png"))
    os.symlink(tmp_path / "a.png", tmp_path / "b.png")
    os.symlink(tmp_path / "missing.png", tmp_path / "broken.jpg")
    os.symlink(tmp_path / "self.jpg", tmp_path / "self.jpg")
    names = [os.path.basename(p) for p in iter_image_paths([str(tmp_path)])]
    assert names == ["a.png", "b.png", "broken.jpg", "self.jpg"]


def test_non_utf8_and_newline_names_are_walked(tmp_path):
    os.makedirs(tmp_path / "d")
    touch(os.fsdecode(os.fsencode(str(tmp_path / "d")) + b"/caf\xe9.jpg"))
    touch(str(tmp_path / "d" / "new\nline.png"))
    found = [os.fsencode(os.path.basename(p)) for p in iter_image_paths([str(tmp_path)])]
    assert found == [b"caf\xe9.jpg", b"new\nline.png"]


def test_a_missing_root_is_a_config_error_that_names_it(tmp_path):
    with pytest.raises(ConfigError, match="nope"):
        list(iter_image_paths([str(tmp_path / "nope")]))


def test_an_unreadable_subfolder_is_reported_and_the_walk_goes_on(tmp_path, monkeypatch):
    touch(str(tmp_path / "locked" / "a.png"))
    touch(str(tmp_path / "open" / "b.png"))
    real_scandir = os.scandir

    def scandir(path):  # root reads any folder, so EACCES is simulated at the listing call
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    errors = []
    found = list(iter_image_paths([str(tmp_path)], on_error=lambda p, c: errors.append((p, c))))
    assert found == [str(tmp_path / "open" / "b.png")]
    assert errors == [(str(tmp_path / "locked"), FileError.UNREADABLE_DIRECTORY)]


def walk_with_errors(roots, **options):
    errors = []
    return iter_image_paths(roots, on_error=lambda p, c: errors.append((p, c)), **options), errors


def test_a_folder_removed_between_its_listing_and_its_walk_is_a_not_found_record(tmp_path):
    # Given a folder listed with its parent, then removed before the walk enters it
    touch(str(tmp_path / "a.png"))
    touch(str(tmp_path / "b" / "c.png"))
    touch(str(tmp_path / "d" / "e.png"))
    walk, errors = walk_with_errors([str(tmp_path)])
    assert next(walk) == str(tmp_path / "a.png")  # the top folder is listed: a.png, b/, d/
    shutil.rmtree(tmp_path / "b")
    # When the walk goes on, then the folder is a record with its reason and the rest is walked
    assert list(walk) == [str(tmp_path / "d" / "e.png")]
    assert errors == [(str(tmp_path / "b"), FileError.NOT_FOUND)]


def test_a_subfolder_that_cannot_be_stated_is_reported_with_its_reason(tmp_path, monkeypatch):
    touch(str(tmp_path / "hidden" / "a.png"))
    touch(str(tmp_path / "open" / "b.png"))
    real_stat = os.stat

    def stat(path, *args, **kwargs):  # root may stat anything, so the failure is simulated
        if str(path).endswith("hidden"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    walk, errors = walk_with_errors([str(tmp_path)])
    assert list(walk) == [str(tmp_path / "open" / "b.png")]
    assert errors == [(str(tmp_path / "hidden"), FileError.UNREADABLE_DIRECTORY)]


def test_a_followed_symlink_loop_without_an_image_name_is_a_symlink_loop_record(tmp_path):
    touch(str(tmp_path / "a.png"))
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    walk, errors = walk_with_errors([str(tmp_path)], follow_symlinks=True)
    assert list(walk) == [str(tmp_path / "a.png")]
    assert errors == [(str(tmp_path / "loop"), FileError.SYMLINK_LOOP)]

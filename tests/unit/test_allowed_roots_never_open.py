"""Allowed roots: a refused path is never opened, not even to look, on the worker's own code path."""

import builtins
import os

from tasks.batch import hash_files
from tasks.errors import FileError
from tasks.inputs.readfile import read_image_bytes


def test_paths_outside_the_allowed_roots_reach_no_open_call_while_the_path_inside_does(tmp_path, monkeypatch):
    # Given a root with a file and an escaping symlink, and a file outside it
    root = tmp_path / "root"
    root.mkdir()
    (root / "inside.jpg").write_bytes(b"inside")
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"outside")
    os.symlink(outside, root / "link.jpg")
    depth = len(str(root).strip(os.sep).split(os.sep))
    refused = ["/etc/passwd", os.path.join(root, *[".."] * depth, "etc", "passwd"),
               str(root / ".." / "outside.jpg"), str(root / "link.jpg"), str(outside)]
    roots = (os.path.realpath(root),)
    # When every open the process makes is recorded while the worker's hashing code reads them all
    opened = []
    real_os_open, real_open = os.open, builtins.open

    def spy_os_open(path, *args, **kwargs):
        opened.append(os.fsdecode(path))
        return real_os_open(path, *args, **kwargs)

    def spy_open(file, *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)):
            opened.append(os.fsdecode(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy_os_open)
    monkeypatch.setattr(builtins, "open", spy_open)
    result = hash_files(refused + [str(root / "inside.jpg")], "dhash", 8, roots)
    assert read_image_bytes(str(root / "inside.jpg"), roots) == b"inside"
    monkeypatch.undo()
    # Then the refused paths get their code and none of them, nor what they resolve to, was opened
    assert [FileError(c) for c in result.codes] == [FileError.OUTSIDE_ALLOWED_ROOTS] * 5 + [FileError.NOT_AN_IMAGE]
    targets = {os.path.realpath(p) for p in refused} | set(refused)
    assert not targets & set(opened), opened
    # (while the file inside was opened, through its resolved path: the spy does see opens)
    assert os.path.realpath(root / "inside.jpg") in opened

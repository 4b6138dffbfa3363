"""Reading files: allowed roots enforced before opening, FIFOs never block, codes for every failure."""

import os
import threading

import pytest

from tasks.errors import FileError, FileUnreadable
from tasks.inputs.readfile import read_image_bytes


def code_of(path, roots=()):
    with pytest.raises(FileUnreadable) as caught:
        read_image_bytes(path, roots)
    return caught.value.code


def test_a_fifo_named_like_an_image_is_refused_without_blocking(tmp_path):
    fifo = str(tmp_path / "pipe.jpg")
    os.mkfifo(fifo)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(code_of(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert outcome == [FileError.NOT_A_FILE]


def test_missing_empty_looping_and_directory_paths_get_their_own_codes(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    os.symlink(tmp_path / "loop.jpg", tmp_path / "loop.jpg")
    os.symlink(tmp_path / "gone.jpg", tmp_path / "broken.jpg")
    os.mkdir(tmp_path / "dir.jpg")
    assert code_of(str(tmp_path / "empty.jpg")) == FileError.EMPTY_FILE
    assert code_of(str(tmp_path / "loop.jpg")) == FileError.SYMLINK_LOOP
    assert code_of(str(tmp_path / "broken.jpg")) == FileError.NOT_FOUND
    assert code_of(str(tmp_path / "dir.jpg")) == FileError.NOT_A_FILE


def test_paths_outside_the_allowed_roots_are_refused_including_dotdot_and_symlink_escapes(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    (root / "ok.jpg").write_bytes(b"data")
    os.symlink("/etc/passwd", root / "escape.jpg")
    roots = (os.path.realpath(root),)
    assert read_image_bytes(str(root / "ok.jpg"), roots) == b"data"
    assert code_of("/etc/passwd", roots) == FileError.OUTSIDE_ALLOWED_ROOTS
    assert code_of(str(root / ".." / ".." / "etc" / "passwd"), roots) == FileError.OUTSIDE_ALLOWED_ROOTS
    assert code_of(str(root / "escape.jpg"), roots) == FileError.OUTSIDE_ALLOWED_ROOTS
    assert code_of(str(tmp_path / "images-sibling" / "x.jpg"), roots) == FileError.OUTSIDE_ALLOWED_ROOTS

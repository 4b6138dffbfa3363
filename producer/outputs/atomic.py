"""Write a file so that a reader never sees half of it: to a temporary name beside it, renamed over it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """The temporary path to write `path`'s new content to. It is renamed over `path` when the block ends,
    and removed when the block raises (even on Ctrl-C), so `path` is the old file or the whole new one.
    Beside `path`, so the rename stays on one file system and is atomic; the process id in its name keeps
    two writers from writing into each other's temporary file."""
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)

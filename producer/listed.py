"""What the producer knows of a walked path without reading it: its size and mtime, for `--index` reuse
(producer/outputs/incremental.py) and size-aware chunking (producer/chunking.py).

A local file is stat'ed. An object under an `s3://` root is not asked anything: the listing already said
(ListObjectsV2 gives each key's Size and LastModified), so the walk yields it as a :class:`ListedObject`,
a URL string that carries them. It travels like any other path; the extra fields stay in the producer.
"""

from __future__ import annotations

import os
from datetime import datetime

from tasks.inputs.s3url import is_s3_url


class ListedObject(str):
    """An `s3://bucket/key` URL with the size (bytes) and LastModified (whole seconds, as the worker records
    the object's mtime) its listing gave."""

    size: int
    mtime: int

    def __new__(cls, url: str, size: int, mtime: int) -> ListedObject:
        listed = super().__new__(cls, url)
        listed.size = size
        listed.mtime = mtime
        return listed

    @classmethod
    def of(cls, url: str, size: int, last_modified: datetime) -> ListedObject:
        """From a listing's (or a HEAD's) Size and LastModified."""
        return cls(url, int(size), int(last_modified.timestamp()))

    def __getnewargs__(self) -> tuple[str, int, int]:  # copies and pickles keep what the listing said
        return str(self), self.size, self.mtime


def size_and_mtime(path: str) -> tuple[int, int] | None:
    """(size in bytes, mtime in whole seconds) of a walked path: a listed object's from its listing, a local
    file's from one stat; None when unknown (a file that cannot be stat'ed, an object URL not listed)."""
    if isinstance(path, ListedObject):
        return path.size, path.mtime
    if is_s3_url(path):
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, int(info.st_mtime)

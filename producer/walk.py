"""Enumerate image files under the given paths: deterministic order, absolute paths, loops never hang."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from tasks.errors import ConfigError, FileError

#: Extensions (lower-case) walked into the job; a file named explicitly on the command line is always
#: taken whatever its name.
IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".bmp", ".dib", ".tif", ".tiff",
    ".ppm", ".pgm", ".pbm", ".pnm", ".jp2", ".avif", ".hdr", ".pic", ".pfm",
})

OnError = Callable[[str, FileError], None]


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def iter_image_paths(roots: list[str], follow_symlinks: bool = False,
                     on_error: OnError | None = None) -> Iterator[str]:
    """Yield absolute paths of image files under `roots`, in the order given and, inside folders, in
    byte order of names, depth first.

    Symlinked *files* are listed like files (reading them follows the link, so a broken or looping
    link becomes an error record). Symlinked *folders* are entered only with `follow_symlinks`; every
    folder is entered at most once (by device and inode), so link loops cannot hang the walk.
    Folders that cannot be listed are reported through `on_error` and skipped.
    """
    seen: set[tuple[int, int]] = set()
    for root in roots:
        path = os.path.abspath(root)
        try:
            st = os.stat(path)
        except OSError as exc:
            raise ConfigError(f"cannot read {root}: {exc.strerror}") from None
        if not os.path.isdir(path):
            yield path
            continue
        if not os.access(path, os.R_OK | os.X_OK):
            raise ConfigError(f"cannot read {root}: permission denied")
        seen.add((st.st_dev, st.st_ino))
        yield from _walk(path, follow_symlinks, seen, on_error or _ignore)


def _ignore(_path: str, _code: FileError) -> None:
    pass


def _walk(top: str, follow: bool, seen: set[tuple[int, int]], on_error: OnError) -> Iterator[str]:
    try:
        with os.scandir(top) as it:
            entries = sorted(((os.fsencode(e.name), e) for e in it), key=lambda pair: pair[0])
    except OSError:
        on_error(top, FileError.UNREADABLE_DIRECTORY)
        return
    for _, entry in entries:
        if _is_folder(entry, follow):
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            yield from _walk(entry.path, follow, seen, on_error)
        elif is_image_name(entry.name):
            yield entry.path


def _is_folder(entry: os.DirEntry, follow: bool) -> bool:
    try:
        return entry.is_dir(follow_symlinks=follow)
    except OSError:
        return False

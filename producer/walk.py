"""Enumerate image and video files under the given paths: deterministic order, absolute paths, loops never hang,
and folders of any size streamed (see :data:`SORT_LIMIT`)."""

from __future__ import annotations

import errno
import itertools
import os
import stat
from collections.abc import Callable, Iterable, Iterator

from tasks.errors import ConfigError, FileError
from tasks.inputs.s3url import is_s3_url

#: Extensions (lower-case) walked into the job; a file named explicitly on the command line is always
#: taken whatever its name.
IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".bmp", ".dib", ".tif", ".tiff",
    ".ppm", ".pgm", ".pbm", ".pnm", ".jp2", ".avif", ".hdr", ".pic", ".pfm",
})
#: Photo formats OpenCV cannot decode, walked anyway so that they show up as `not-an-image` records
#: instead of silently missing from the index (an iPhone library is mostly HEIC).
UNDECODABLE_PHOTO_EXTENSIONS = frozenset({".heic", ".heif"})
_PHOTO_EXTENSIONS = IMAGE_EXTENSIONS | UNDECODABLE_PHOTO_EXTENSIONS
#: Video containers walked into the job (unless HASHFLEET_VIDEOS is off); the worker judges the content
#: (tasks/video/segment.py), so a misnamed file is still a record.
VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".m2v", ".ts", ".mts", ".m2ts",
    ".wmv", ".asf", ".3gp", ".3g2", ".flv", ".ogv", ".vob", ".mxf", ".dv",
})
_WALKED_EXTENSIONS = _PHOTO_EXTENSIONS | VIDEO_EXTENSIONS

#: A folder with at most this many image and sub-folder entries is listed in byte order of names; a
#: bigger one is streamed in the order the file system lists it (stable while the folder is unchanged),
#: so the walk's memory stays bounded (about 10 MB here) whatever the folder's size.
SORT_LIMIT = 100_000

OnError = Callable[[str, FileError], None]
#: The record of a folder (or an entry that may be one) that could not be listed, stat'ed or told apart
#: from a file, by errno; any other errno is `unreadable-directory`.
FOLDER_ERRORS = {
    errno.ENOENT: FileError.NOT_FOUND,  # removed between its parent's listing and its own
    errno.ENAMETOOLONG: FileError.NAME_TOO_LONG,
    errno.ELOOP: FileError.SYMLINK_LOOP,
}


def is_video_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def is_walked_name(name: str) -> bool:
    """Image or video: what a walk lists, in a folder or under an `s3://` prefix."""
    return os.path.splitext(name)[1].lower() in _WALKED_EXTENSIONS


def iter_image_paths(roots: list[str], follow_symlinks: bool = False,
                     on_error: OnError | None = None, s3_client=None) -> Iterator[str]:
    """Yield absolute paths of image and video files under `roots`, in the order given and, inside folders, in
    byte order of names (up to :data:`SORT_LIMIT` entries per folder), depth first.

    Symlinked *files* are listed like files (reading them follows the link, so a broken or looping
    link becomes an error record). Symlinked *folders* are entered only with `follow_symlinks`; every
    folder is entered at most once (by device and inode), so link loops cannot hang the walk and a
    folder named twice, or inside another named folder, is walked once. A file named on the command
    line is listed once, where it is named. Nothing is dropped silently: a folder that cannot be listed
    or stat'ed (removed mid-walk, path longer than PATH_MAX, an I/O error), and an entry whose type cannot
    be read and whose name is not an image's (it may be a folder), is reported through `on_error` with
    its reason (:data:`FOLDER_ERRORS`) and skipped.

    `s3://bucket/prefix` roots are listed by producer/walk_s3.py with `s3_client` (default: a new client
    from the AWS environment, made only when such a root is given); their objects are yielded as
    `s3://bucket/key` URLs where the root is named.
    """
    report = on_error or _ignore
    seen: set[tuple[int, int]] = set()
    named_files: set[str] = set()
    checked = []
    s3_roots = [root for root in roots if is_s3_url(root)]
    listings = _s3_listings(s3_roots, s3_client, report) if s3_roots else {}
    for root in roots:
        if is_s3_url(root):
            checked.append((root, None))
            continue
        path = os.path.abspath(root)
        try:
            st = os.stat(path)
        except OSError as exc:
            raise ConfigError(f"cannot read {root}: {exc.strerror}") from None
        if not stat.S_ISDIR(st.st_mode):
            named_files.add(path)
        elif not os.access(path, os.R_OK | os.X_OK):
            raise ConfigError(f"cannot read {root}: permission denied")
        checked.append((path, st))
    listed: set[str] = set()
    for path, st in checked:
        if st is None:  # an s3 root: listed once, where it is first named
            yield from listings.pop(path, ())
            continue
        if path in named_files:
            if path not in listed:
                listed.add(path)
                yield path
            continue
        key = (st.st_dev, st.st_ino)
        if key not in seen:
            seen.add(key)
            yield from _walk(path, follow_symlinks, seen, report, named_files)


def _s3_listings(urls: list[str], client, on_error: OnError) -> dict[str, Iterator[str]]:
    from producer.walk_s3 import open_s3_listings
    from tasks.inputs.s3client import new_s3_client

    return open_s3_listings(urls, client if client is not None else new_s3_client(), on_error, is_walked_name)


def _ignore(_path: str, _code: FileError) -> None:
    pass


def _failure(exc: OSError) -> FileError:
    return FOLDER_ERRORS.get(exc.errno, FileError.UNREADABLE_DIRECTORY)


def _walk(top: str, follow: bool, seen: set[tuple[int, int]], on_error: OnError,
          skip: set[str]) -> Iterator[str]:
    try:
        listing = os.scandir(top)
    except OSError as exc:
        on_error(top, _failure(exc))
        return
    with listing:
        entries = _entries(listing, follow, top, on_error)
        head = list(itertools.islice(entries, SORT_LIMIT + 1))
        if len(head) > SORT_LIMIT:  # a huge folder: stream it, in the file system's order
            yield from _visit(top, itertools.chain(head, entries), follow, seen, on_error, skip)
            return
    head.sort()
    yield from _visit(top, head, follow, seen, on_error, skip)


def _entries(listing, follow: bool, top: str, on_error: OnError) -> Iterator[tuple[bytes, bool]]:
    """(name as bytes, is a folder to enter) for the entries worth keeping: folders and image names.
    Bytes sort in file-system byte order and weigh less than a DirEntry."""
    try:
        for entry in listing:
            try:
                is_folder = entry.is_dir(follow_symlinks=follow)
            except OSError as exc:  # an image name goes to the workers, which record why it cannot be read
                if not is_walked_name(entry.name):
                    on_error(os.path.join(top, entry.name), _failure(exc))
                    continue
                is_folder = False
            if is_folder or is_walked_name(entry.name):
                yield os.fsencode(entry.name), is_folder
    except OSError as exc:  # the listing broke off (I/O error, folder removed): keep what was listed
        on_error(top, _failure(exc))


def _visit(top: str, entries: Iterable[tuple[bytes, bool]], follow: bool, seen: set[tuple[int, int]],
           on_error: OnError, skip: set[str]) -> Iterator[str]:
    for name, is_folder in entries:
        path = os.path.join(top, os.fsdecode(name))
        if not is_folder:
            if path not in skip:
                yield path
            continue
        try:
            st = os.stat(path)
        except OSError as exc:
            on_error(path, _failure(exc))
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue
        seen.add(key)
        yield from _walk(path, follow, seen, on_error, skip)

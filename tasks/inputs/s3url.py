"""`s3://bucket/key` URLs: split, and checked against the s3 entries of the allowed roots. Pure: no client.

A job's paths are plain strings; the ones starting with :data:`S3_SCHEME` name objects in an S3-compatible
store and travel as the URL itself (the credentials and endpoint stay with each worker's environment).
"""

from __future__ import annotations

#: Prefix of a path that names an object (or, on the command line, a bucket or folder-like prefix).
S3_SCHEME = "s3://"
#: Key segments a store or a proxy in front of it may resolve like a file system's (`a/../b` -> `b`):
#: a key holding one is refused when allowed roots are set, so it cannot step out of an allowed prefix.
DOT_SEGMENTS = frozenset({".", ".."})


def is_s3_url(path: str) -> bool:
    return path.startswith(S3_SCHEME)


def split_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key or prefix) of `s3://bucket/key`; the key is taken literally (`?` and `#` included).
    ValueError when the bucket is missing."""
    bucket, _, key = url[len(S3_SCHEME):].partition("/")
    if not bucket:
        raise ValueError(f"{url!r} names no bucket (expected s3://bucket/prefix)")
    return bucket, key


def folder_prefix(prefix: str) -> str:
    """A prefix as a folder: '' (the whole bucket) or ending in '/', so `s3://b/photos` never takes
    `photos2/...`."""
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def within_s3_roots(url: str, roots: tuple[str, ...]) -> bool:
    """True when the object `url` lies inside one of the `s3://bucket[/prefix]` entries of `roots` (local
    roots are ignored: an object is never inside a folder). A key with a `.` or `..` segment is outside."""
    try:
        bucket, key = split_s3_url(url)
    except ValueError:
        return False
    if DOT_SEGMENTS.intersection(key.split("/")):
        return False
    for root in roots:
        if not is_s3_url(root):
            continue
        root_bucket, root_prefix = split_s3_url(root)
        if bucket == root_bucket and key.startswith(folder_prefix(root_prefix)):
            return True
    return False

"""List image and video objects under `s3://bucket/prefix` inputs: keys in the store's (lexical) order, paged.

Each object is yielded as a :class:`producer.listed.ListedObject`: its URL, with the Size and LastModified
the listing gave (what `--index` reuse and chunking need, with no request per object). Pages are fetched
as they are consumed: the listing of a prefix of any size is never held.

A prefix is taken as a folder (`s3://b/photos` lists `photos/...`, never `photos2/...`); a URL that lists
nothing but names an object is that object, whatever its name (like a file named on the command line).
A bucket that does not exist or a prefix with no objects at all is a :class:`ConfigError`, as a missing
local folder is; a listing that breaks off after its first page is reported like an unreadable folder.
"""

from __future__ import annotations

import itertools
import posixpath
from collections.abc import Callable, Iterator

from producer.listed import ListedObject
from tasks.errors import ConfigError, FileError
from tasks.inputs.s3url import folder_prefix, split_s3_url

#: Keys per list_objects_v2 page (S3's own maximum; tests page by less).
PAGE_SIZE = 1000
#: What to say after an error listing a root, by S3 error code.
_LIST_ERRORS = {
    "NoSuchBucket": "no such bucket",
    "AccessDenied": "access denied (check the credentials: AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws/)",
    "InvalidAccessKeyId": "the access key is not known to this store (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL)",
    "SignatureDoesNotMatch": "the secret key does not match (AWS_SECRET_ACCESS_KEY)",
}

OnError = Callable[[str, FileError], None]


def open_s3_listings(urls: list[str], client, on_error: OnError, is_walked_name: Callable[[str], bool],
                     page_size: int | None = None) -> dict[str, Iterator[str]]:
    """url -> the object URLs to index under it (the keys `is_walked_name` takes), for each distinct root of
    `urls`. Every root's first page is fetched here, so a missing bucket or empty prefix fails before anything
    is hashed. A root inside another root of the same bucket, or named twice, is listed once, by the first."""
    folders: list[tuple[str, str]] = []
    named: set[str] = set()
    listings: dict[str, Iterator[str]] = {}
    for url in urls:
        bucket, prefix = _split(url)
        folder = folder_prefix(prefix)
        if url in listings or any(b == bucket and folder.startswith(f) for b, f in folders):
            continue
        inner = tuple(f for b, f in folders if b == bucket and f.startswith(folder))
        first, pages = _first_page(client, url, bucket, folder, page_size or PAGE_SIZE)
        if not first.get("Contents") and prefix and not prefix.endswith("/"):
            head = _head(client, url, bucket, prefix)
            if head is not None:
                named.add(url)
                listings[url] = iter([ListedObject.of(url, head["ContentLength"], head["LastModified"])])
                continue
        if not first.get("Contents"):
            raise ConfigError(f"cannot read {url}: no objects under this prefix")
        folders.append((bucket, folder))
        listings[url] = _keys(itertools.chain([first], pages), url, bucket, inner, named, on_error, is_walked_name)
    return listings


def _split(url: str) -> tuple[str, str]:
    try:
        return split_s3_url(url)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _first_page(client, url: str, bucket: str, folder: str, page_size: int):
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=folder, PaginationConfig={"PageSize": page_size})
    pages = iter(pages)
    try:
        return next(pages), pages
    except _errors() as exc:
        raise ConfigError(f"cannot read {url}: {_describe(exc)}") from None


def _head(client, url: str, bucket: str, key: str) -> dict | None:
    """The HEAD response of the object `key`, or None when there is none."""
    from botocore.exceptions import ClientError

    try:
        return client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            return None
        raise ConfigError(f"cannot read {url}: {_describe(exc)}") from None


def _keys(pages, url: str, bucket: str, inner: tuple[str, ...], named: set[str], on_error: OnError,
          is_walked_name: Callable[[str], bool]) -> Iterator[ListedObject]:
    """The objects of `pages` named like images or videos, page by page (a page is dropped once the next one
    is fetched)."""
    try:
        for page in pages:
            for item in page.get("Contents", ()):
                key = item["Key"]
                if key.endswith("/") or not is_walked_name(posixpath.basename(key)) or key.startswith(inner):
                    continue
                object_url = f"s3://{bucket}/{key}"
                if object_url not in named:
                    yield ListedObject.of(object_url, item["Size"], item["LastModified"])
    except _errors():  # a page failed after retries: keep what was listed, as for a folder
        on_error(url, FileError.UNREADABLE_DIRECTORY)


def _errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError


def _describe(exc: Exception) -> str:
    """One line for a listing error: what S3 said, with a hint for the usual causes."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code = error.get("Code", "")
        return _LIST_ERRORS.get(code, f"{code}: {error.get('Message', '')}".strip(": "))
    if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE / ~/.aws/credentials"
    return str(exc)

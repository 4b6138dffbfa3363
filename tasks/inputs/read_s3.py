"""Read one object's bytes (whole, or a byte range) and LastModified from an S3-compatible store, failures as
per-file codes."""

from __future__ import annotations

import logging
import random
import time

from tasks.errors import ConfigError, FileError, FileUnreadable
from tasks.inputs.s3client import MISSING_BOTO3, process_s3_client
from tasks.inputs.s3url import split_s3_url

log = logging.getLogger(__name__)

#: S3 error codes (and bare HTTP statuses, which is all a HEAD-less error may carry) per file outcome.
#: Anything else (throttling after retries, 5xx, a Glacier object) is a `read-error`.
_ERROR_CODES = {
    "NoSuchKey": FileError.NOT_FOUND,
    "NoSuchBucket": FileError.NOT_FOUND,
    "404": FileError.NOT_FOUND,
    "AccessDenied": FileError.PERMISSION_DENIED,
    "AllAccessDisabled": FileError.PERMISSION_DENIED,
    "InvalidAccessKeyId": FileError.PERMISSION_DENIED,
    "SignatureDoesNotMatch": FileError.PERMISSION_DENIED,
    "403": FileError.PERMISSION_DENIED,
}
#: Reads of one object whose body breaks off after its headers (a connection reset, fewer bytes than its
#: Content-Length, a stall past the read timeout). botocore retries a request until its headers arrive
#: (tasks/inputs/s3client.py), not the body read after them, so that is retried here: a new GET each time.
S3_BODY_ATTEMPTS = 3
#: Seconds of backoff before the second read of a body cut short, doubled before each further one; each
#: wait is drawn uniformly below that (full jitter, as botocore's own).
S3_BODY_BACKOFF = 0.5


def read_s3_object(url: str, client=None) -> tuple[bytes, int]:
    """(the object's bytes, its LastModified in whole seconds), or :class:`FileUnreadable` with the code to
    record. `client` defaults to this process's (made on first use). A body cut short is read again, up to
    S3_BODY_ATTEMPTS reads in all."""
    response, data = _read(url, client, {}, None)
    if not data:
        raise FileUnreadable(FileError.EMPTY_FILE)
    return data, int(response["LastModified"].timestamp())


def read_s3_range(url: str, start: int, length: int, client=None, etag: str | None = None) -> tuple[dict, bytes]:
    """(the GET response, at most `length` bytes of the object from byte `start`), or :class:`FileUnreadable`
    as :func:`read_s3_object`. Fewer bytes come back only at the object's end; a store that ignores the
    Range header still sends no more than `length` (the caller checks the response's ContentRange). With
    `etag`, a different version of the object is a `read-error` (HTTP 412), never bytes of another version.
    A range starting past the end is `empty-file` at 0 (an empty object), else a `read-error`."""
    args = {"Range": f"bytes={start}-{start + length - 1}"}
    if etag is not None:
        args["IfMatch"] = etag
    return _read(url, client, args, length, past_end=FileError.EMPTY_FILE if start == 0 else FileError.READ_ERROR)


def _read(
    url: str, client, get_args: dict, limit: int | None, past_end: FileError = FileError.READ_ERROR
) -> tuple[dict, bytes]:
    """(the GET response, its body, or its first `limit` bytes) with the failures mapped to codes."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
        from urllib3.exceptions import HTTPError  # a body cut short can reach us unwrapped by botocore
    except ImportError:
        log.error("%s", MISSING_BOTO3)
        raise FileUnreadable(FileError.READ_ERROR) from None
    try:
        bucket, key = split_s3_url(url)
    except ValueError:
        raise FileUnreadable(FileError.NOT_FOUND) from None
    try:
        client = client if client is not None else process_s3_client()
        return _get(client, bucket, key, url, (BotoCoreError, OSError, HTTPError), get_args, limit)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "InvalidRange":
            raise FileUnreadable(past_end) from None
        raise FileUnreadable(_ERROR_CODES.get(code, FileError.READ_ERROR)) from None
    except (BotoCoreError, OSError, HTTPError) as exc:  # no connection, timeouts after retries, a body cut short
        log.warning("reading %r: %s", url, exc)
        raise FileUnreadable(FileError.READ_ERROR) from None
    except ConfigError as exc:  # boto3 missing on this worker
        log.error("%s", exc)
        raise FileUnreadable(FileError.READ_ERROR) from None


def _get(
    client, bucket: str, key: str, url: str, cut_short: tuple[type[Exception], ...], get_args: dict, limit: int | None
) -> tuple[dict, bytes]:
    """(the GET response, the body or its first `limit` bytes). An error of `cut_short` while the body is read
    (after botocore's own retries have got its headers) starts a new GET after a backoff: at most
    S3_BODY_ATTEMPTS GETs, the last one's error is raised. An error of the GET itself is raised at once
    (botocore has retried it)."""
    attempt = 1
    while True:
        response = client.get_object(Bucket=bucket, Key=key, **get_args)
        try:
            with response["Body"]:
                return response, _body(response, limit)
        except cut_short as exc:
            if attempt >= S3_BODY_ATTEMPTS:
                raise
            log.info("reading %r broke off (%s); reading it again", url, exc)
            time.sleep(random.uniform(0, S3_BODY_BACKOFF * 2 ** (attempt - 1)))
            attempt += 1


def _body(response: dict, limit: int | None) -> bytes:
    """The whole body (botocore then checks it against its Content-Length) unless it is longer than `limit`
    (a store that ignored a Range header): then only its first `limit` bytes, so memory stays bounded."""
    length = response.get("ContentLength")
    if limit is None or (length is not None and length <= limit):
        return response["Body"].read()
    return response["Body"].read(limit)

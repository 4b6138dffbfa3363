"""Read one object's bytes and LastModified from an S3-compatible store, failures as per-file codes."""

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
        response, data = _get_whole(client, bucket, key, url, (BotoCoreError, OSError, HTTPError))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise FileUnreadable(_ERROR_CODES.get(code, FileError.READ_ERROR)) from None
    except (BotoCoreError, OSError, HTTPError) as exc:  # no connection, timeouts after retries, a body cut short
        log.warning("reading %r: %s", url, exc)
        raise FileUnreadable(FileError.READ_ERROR) from None
    except ConfigError as exc:  # boto3 missing on this worker
        log.error("%s", exc)
        raise FileUnreadable(FileError.READ_ERROR) from None
    if not data:
        raise FileUnreadable(FileError.EMPTY_FILE)
    return data, int(response["LastModified"].timestamp())


def _get_whole(client, bucket: str, key: str, url: str, cut_short: tuple[type[Exception], ...]) -> tuple[dict, bytes]:
    """(the GET response, the whole body). An error of `cut_short` while the body is read (after botocore's
    own retries have got its headers) starts a new GET after a backoff: at most S3_BODY_ATTEMPTS GETs, the
    last one's error is raised. An error of the GET itself is raised at once (botocore has retried it)."""
    attempt = 1
    while True:
        response = client.get_object(Bucket=bucket, Key=key)
        try:
            with response["Body"] as body:
                return response, body.read()
        except cut_short as exc:
            if attempt >= S3_BODY_ATTEMPTS:
                raise
            log.info("reading %r broke off (%s); reading it again", url, exc)
            time.sleep(random.uniform(0, S3_BODY_BACKOFF * 2 ** (attempt - 1)))
            attempt += 1

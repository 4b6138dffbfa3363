"""Read one object's bytes and LastModified from an S3-compatible store, failures as per-file codes."""

from __future__ import annotations

import logging

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


def read_s3_object(url: str, client=None) -> tuple[bytes, int]:
    """(the object's bytes, its LastModified in whole seconds), or :class:`FileUnreadable` with the code to
    record. `client` defaults to this process's (made on first use)."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        log.error("%s", MISSING_BOTO3)
        raise FileUnreadable(FileError.READ_ERROR) from None
    try:
        bucket, key = split_s3_url(url)
    except ValueError:
        raise FileUnreadable(FileError.NOT_FOUND) from None
    try:
        client = client if client is not None else process_s3_client()
        response = client.get_object(Bucket=bucket, Key=key)
        with response["Body"] as body:
            data = body.read()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise FileUnreadable(_ERROR_CODES.get(code, FileError.READ_ERROR)) from None
    except (BotoCoreError, OSError) as exc:  # no connection, timeouts after retries, a body cut short
        log.warning("reading %r: %s", url, exc)
        raise FileUnreadable(FileError.READ_ERROR) from None
    except ConfigError as exc:  # boto3 missing on this worker
        log.error("%s", exc)
        raise FileUnreadable(FileError.READ_ERROR) from None
    if not data:
        raise FileUnreadable(FileError.EMPTY_FILE)
    return data, int(response["LastModified"].timestamp())

"""The S3 client: made on first use, one per process, configured only from the standard AWS sources.

Credentials, region and endpoint come from what botocore itself reads (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL for MinIO/Ceph/moto, AWS_PROFILE, ~/.aws/config
and ~/.aws/credentials, an instance role): never from a task message. boto3 is an optional extra, imported
only when an s3:// path is met.
"""

from __future__ import annotations

import os

from tasks.errors import ConfigError

#: Seconds to open a connection to the store before the attempt counts as failed.
S3_CONNECT_TIMEOUT = 5.0
#: Seconds without a byte from the store before the attempt counts as failed (a store silent this long is
#: stalled, not slow: S3 answers in tens of milliseconds).
S3_READ_TIMEOUT = 15.0
#: Attempts per request, listing pages and GETs alike, in botocore's "standard" retry mode: throttling
#: (503 SlowDown), other 5xx and connection errors before the response's headers are retried with jittered
#: exponential backoff, up to 1, 2, 4 and 8 s (15 s in all, time for S3 to scale a prefix's request rate).
#: 5 attempts x (connect + read timeout) + 15 s = 115 s stay under HASHFLEET_FILE_TIMEOUT's default (120 s).
#: Not "adaptive" mode: botocore calls it experimental, and its rate limiter would only pace one process's
#: client, which already sends one request at a time and waits out each backoff.
S3_MAX_ATTEMPTS = 5
#: What to do when boto3 is missing (one line, for the producer's error and the worker's log).
MISSING_BOTO3 = "s3:// inputs need boto3: pip install 'hashfleet[s3]'"

_client = None
_client_pid: int | None = None


def new_s3_client():
    """A new boto3 S3 client with bounded timeouts and retries; ConfigError when boto3 is missing."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise ConfigError(MISSING_BOTO3) from None
    config = Config(connect_timeout=S3_CONNECT_TIMEOUT, read_timeout=S3_READ_TIMEOUT,
                    retries={"mode": "standard", "total_max_attempts": S3_MAX_ATTEMPTS})
    # A session of its own: boto3's default session is shared module state, not safe across threads.
    return boto3.session.Session().client("s3", config=config)


def process_s3_client():
    """This process's client, made on first use. Keyed by process id: a prefork pool process, or a child
    forked to hash one file in isolation, makes its own instead of sharing its parent's sockets."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        _client = new_s3_client()
        _client_pid = os.getpid()
    return _client


def forget_s3_client() -> None:
    """Drop this process's client (the next use makes a new one from the environment as it is then)."""
    global _client, _client_pid
    _client = _client_pid = None

"""A real S3-compatible server for tests: moto's S3 over HTTP on a free loopback port, in a thread of the
test process, logging every request it serves (so a test can show an object was never requested)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable

#: Seconds the server gets to answer its first request before the test fails.
START_TIMEOUT = 15.0
#: Dummy credentials: moto accepts any, and a real account's must never be used by tests.
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "hashfleet-test", "AWS_SECRET_ACCESS_KEY": "hashfleet-test-secret",
                    "AWS_DEFAULT_REGION": "us-east-1"}
#: AWS variables of the developer's own that would redirect or re-credential the tests' clients.
FOREIGN_AWS_VARS = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_SECURITY_TOKEN",
                    "AWS_CA_BUNDLE")


class S3Server:
    """moto's server app (the one ThreadedMotoServer runs) behind a request log, served by werkzeug."""

    def __init__(self):
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        self.requests: list[tuple[str, str, str]] = []  # (method, path, query string)
        self.reads: list[tuple[str, str, int]] = []  # per object GET: (path, its Range header, bytes sent)
        self._after_listing: dict[str, Callable[[], None]] = {}
        self._filler = None
        app = DomainDispatcherApplication(create_backend_app)

        def logged(environ, start_response):
            method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
            query = environ.get("QUERY_STRING", "")
            self.requests.append((method, path, query))
            body = app(environ, start_response)
            try:
                response = list(body)  # the listing is answered before any hook changes the store
            finally:
                getattr(body, "close", lambda: None)()
            if method == "GET" and path.count("/") > 1 and path.strip("/").count("/"):
                self.reads.append((path, environ.get("HTTP_RANGE", ""), sum(map(len, response))))
            bucket = path.strip("/").split("/")[0]
            if method == "GET" and "list-type=2" in query and bucket in self._after_listing:
                self._after_listing.pop(bucket)()
            return response

        self._server = make_server("127.0.0.1", 0, logged, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-s3", daemon=True)
        self._thread.start()
        self.client().list_buckets()  # answers, or the fixture fails here (bounded by the client's timeouts)

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """`base` (default os.environ) with the AWS variables that point botocore at this server."""
        env = {k: v for k, v in (os.environ if base is None else base).items() if k not in FOREIGN_AWS_VARS}
        env.update(TEST_CREDENTIALS, AWS_ENDPOINT_URL=self.url, AWS_CONFIG_FILE=os.devnull,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
        return env

    def client(self):
        """A client of the test itself (to fill and inspect buckets), configured explicitly."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3", endpoint_url=self.url, region_name=TEST_CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(connect_timeout=START_TIMEOUT, read_timeout=START_TIMEOUT, retries={"max_attempts": 1}))

    def new_bucket(self, objects: dict[str, bytes] | None = None, name: str = "") -> str:
        """A bucket of a unique name (prefixed by `name`) holding `objects` {key: bytes}."""
        bucket = f"{name or 'test'}-{uuid.uuid4().hex[:10]}"
        if self._filler is None:  # one client for every bucket filled: a client takes ~0.2 s to make
            self._filler = self.client()
        client = self._filler
        client.create_bucket(Bucket=bucket)
        for key, data in (objects or {}).items():
            client.put_object(Bucket=bucket, Key=key, Body=data)
        return bucket

    def after_next_listing(self, bucket: str, action: Callable[[], None]) -> None:
        """Run `action` just after the next ListObjectsV2 of `bucket` has been answered (to change the store
        between the producer's listing and the workers' reads)."""
        self._after_listing[bucket] = action

    def gets(self, bucket: str) -> list[str]:
        """Paths of the GET requests for objects of `bucket` (listings excluded)."""
        return [path for method, path, query in self.requests
                if method == "GET" and path.startswith(f"/{bucket}/") and path != f"/{bucket}/"]

    def bytes_read(self, bucket: str, key: str) -> list[tuple[str, int]]:
        """(Range header, bytes sent) of each GET of the object `key` of `bucket`, in the order served."""
        return [(header, sent) for path, header, sent in self.reads if path == f"/{bucket}/{key}"]

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=START_TIMEOUT)

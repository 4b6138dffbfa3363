import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

REFERENCE = os.environ.get(
    "HASHFLEET_REFERENCE",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "reference",
                 "pyimagesearch_multiprocessing"),
)


@pytest.fixture(scope="session")
def corpus_photos() -> list[str]:
    """Real photos from ../shared/data's corpus when built (HASHFLEET_TEST_CORPUS or ~/corpus)."""
    root = os.environ.get("HASHFLEET_TEST_CORPUS", os.path.expanduser("~/corpus"))
    photos = os.path.join(root, "photos")
    if not os.path.isdir(photos):
        pytest.skip(f"corpus not built at {root} (bash ../shared/data/build_corpus.sh {root})")
    paths = []
    for folder, _, names in sorted(os.walk(photos)):
        paths += [os.path.join(folder, n) for n in sorted(names)
                  if n.lower().endswith((".jpg", ".jpeg", ".png", ".webp", ".ppm", ".pgm"))]
    return paths


@pytest.fixture(scope="session")
def original_dhash():
    """The original script's dhash(), imported from ../shared/reference as the bit oracle."""
    if not os.path.isdir(REFERENCE):
        pytest.skip(f"reference script folder absent: {REFERENCE}")
    sys.path.insert(0, os.path.abspath(REFERENCE))
    try:
        from pyimagesearch.parallel_hashing import dhash
    finally:
        sys.path.pop(0)
    return dhash


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto over HTTP on loopback) for the session; each test makes its own
    buckets. Fails, never skips, when moto or boto3 is missing (they are in the `test` extra)."""
    from support.s3 import S3Server

    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """This process's AWS environment pointed at `s3_server`, and its S3 client made afresh from it."""
    from tasks.inputs.s3client import forget_s3_client

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in s3_server.env({}).items():
        monkeypatch.setenv(name, value)
    forget_s3_client()
    yield s3_server
    forget_s3_client()

"""Throttling and connections cut mid-object, injected by a proxy in front of a real S3-compatible server
(moto over HTTP on loopback): listings and reads are retried with backoff; what keeps failing is a record."""

import time

import pytest

from support.images import fixture_paths
from support.s3faults import CUT, SLOW_DOWN, FaultProxy, listings
from tasks.batch import hash_files
from tasks.errors import FileError
from tasks.inputs.readfile import read_image_file
from tasks.inputs.s3client import forget_s3_client

#: Seconds a read or listing retried a few times may take (botocore's backoff: up to 1 s, then 2 s).
RETRIED_WITHIN = 6.0


@pytest.fixture
def faults(s3_env, monkeypatch):
    """A fault proxy in front of the session's S3 server, this process's AWS endpoint pointed at it."""
    proxy = FaultProxy(s3_env.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    forget_s3_client()
    yield proxy
    proxy.stop()


def photo() -> bytes:
    with open(fixture_paths()[0], "rb") as handle:
        return handle.read()


def test_an_object_throttled_twice_with_slow_down_is_read_after_backoff(s3_env, faults):
    # Given an object whose first two GETs are answered 503 SlowDown
    data = photo()
    bucket = s3_env.new_bucket({"a.jpg": data})
    faults.inject(SLOW_DOWN, times=2)
    # When a worker reads it
    started = time.monotonic()
    got, _ = read_image_file(f"s3://{bucket}/a.jpg")
    # Then the third attempt read it whole, within the backoff's bound
    assert got == data
    assert faults.served[SLOW_DOWN] == 2
    assert time.monotonic() - started < RETRIED_WITHIN


def test_an_object_whose_connection_is_reset_mid_body_is_read_again_whole(s3_env, faults):
    # Given an object whose first two GETs send half the body, then reset the connection
    data = photo()
    bucket = s3_env.new_bucket({"a.jpg": data})
    faults.inject(CUT, times=2)
    # When a worker reads it
    got, _ = read_image_file(f"s3://{bucket}/a.jpg")
    # Then a third GET read it whole
    assert got == data
    assert faults.served[CUT] == 2
    assert len(s3_env.gets(bucket)) == 3


@pytest.mark.parametrize("fault", [SLOW_DOWN, CUT])
def test_a_listing_page_throttled_or_cut_is_retried_and_the_listing_is_complete(s3_env, faults, monkeypatch,
                                                                                 fault):
    from producer.walk import iter_image_paths

    # Given a prefix listed 2 keys a page, whose second page fails twice
    bucket = s3_env.new_bucket({f"p/{i}.jpg": b"x" for i in range(5)})
    monkeypatch.setattr("producer.walk_s3.PAGE_SIZE", 2)
    faults.inject(fault, times=2, match=lambda *request: listings(*request) and "continuation-token" in request[2])
    # When it is walked
    errors = []
    found = list(iter_image_paths([f"s3://{bucket}/p"], on_error=lambda p, c: errors.append((p, c))))
    # Then every key is listed and nothing is reported
    assert found == [f"s3://{bucket}/p/{i}.jpg" for i in range(5)]
    assert errors == [] and faults.served[fault] == 2


def test_objects_that_keep_failing_are_read_error_records_in_bounded_time_and_the_batch_goes_on(
        s3_env, faults, monkeypatch):
    # Given two attempts per request and per body, one object always throttled, one always cut mid-body
    monkeypatch.setattr("tasks.inputs.s3client.S3_MAX_ATTEMPTS", 2)
    monkeypatch.setattr("tasks.inputs.read_s3.S3_BODY_ATTEMPTS", 2)
    forget_s3_client()
    data = photo()
    bucket = s3_env.new_bucket({"throttled.jpg": data, "cut.jpg": data, "fine.jpg": data})
    faults.inject(SLOW_DOWN, match=lambda method, path, _: method == "GET" and path.endswith("/throttled.jpg"))
    faults.inject(CUT, match=lambda method, path, _: method == "GET" and path.endswith("/cut.jpg"))
    # When a worker hashes the three in one batch
    started = time.monotonic()
    result = hash_files([f"s3://{bucket}/{n}" for n in ("throttled.jpg", "cut.jpg", "fine.jpg")], "dhash", 8)
    # Then the failing ones are read-error records after their attempts, and the last one is hashed
    assert list(result.codes) == [FileError.READ_ERROR, FileError.READ_ERROR, FileError.OK]
    assert faults.served == {SLOW_DOWN: 2, CUT: 2}
    assert time.monotonic() - started < RETRIED_WITHIN

"""Reading objects from a real S3-compatible server (moto over HTTP): bytes, mtime, per-file codes."""

import os
import time

import pytest

from support.images import fixture_paths
from tasks.batch import hash_one
from tasks.errors import FileError, FileUnreadable
from tasks.inputs.read_s3 import read_s3_object
from tasks.inputs.readfile import read_image_file
from tasks.inputs.s3client import process_s3_client


def code_of(url, roots=(), client=None):
    with pytest.raises(FileUnreadable) as caught:
        if client is None:
            read_image_file(url, roots)
        else:
            read_s3_object(url, client)
    return caught.value.code


def test_an_object_is_read_whole_with_its_last_modified_time_as_mtime(s3_env):
    data = open(fixture_paths()[0], "rb").read()
    bucket = s3_env.new_bucket({"photos/a.jpg": data})
    before = int(time.time())
    got, mtime = read_image_file(f"s3://{bucket}/photos/a.jpg")
    head = s3_env.client().head_object(Bucket=bucket, Key="photos/a.jpg")
    assert got == data
    assert mtime == int(head["LastModified"].timestamp())
    assert abs(mtime - before) < 60


def test_an_object_hashes_exactly_like_the_same_file_on_disk(s3_env):
    path = fixture_paths()[0]
    bucket = s3_env.new_bucket({"x/photo.jpg": open(path, "rb").read()})
    remote = hash_one(f"s3://{bucket}/x/photo.jpg", "dhash,phash", 8)
    local = hash_one(path, "dhash,phash", 8)
    assert remote.code == FileError.OK
    assert (remote.packed, remote.size, remote.width, remote.height) == (local.packed, local.size, local.width,
                                                                          local.height)


def test_a_missing_object_a_missing_bucket_and_an_empty_object_get_their_own_codes(s3_env):
    bucket = s3_env.new_bucket({"empty.jpg": b""})
    assert code_of(f"s3://{bucket}/gone.jpg") == FileError.NOT_FOUND
    assert code_of(f"s3://no-such-bucket-{bucket}/a.jpg") == FileError.NOT_FOUND
    assert code_of(f"s3://{bucket}/empty.jpg") == FileError.EMPTY_FILE


def test_access_denied_is_permission_denied_and_other_store_errors_are_read_errors(s3_env):
    from botocore.stub import Stubber

    client = s3_env.client()
    with Stubber(client) as stub:
        stub.add_client_error("get_object", "AccessDenied", http_status_code=403)
        stub.add_client_error("get_object", "SlowDown", http_status_code=503)
        stub.add_client_error("get_object", "InvalidObjectState", http_status_code=403)
        assert code_of("s3://b/denied.jpg", client=client) == FileError.PERMISSION_DENIED
        assert code_of("s3://b/throttled.jpg", client=client) == FileError.READ_ERROR
        assert code_of("s3://b/archived.jpg", client=client) == FileError.READ_ERROR


def test_an_unreachable_store_is_a_read_error_after_bounded_retries(s3_env, monkeypatch):
    import socket

    from tasks.inputs.s3client import forget_s3_client

    with socket.socket() as closed:  # a loopback port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setattr("tasks.inputs.s3client.S3_MAX_ATTEMPTS", 2)  # one backoff, not four
    forget_s3_client()
    started = time.monotonic()
    assert code_of("s3://any/a.jpg") == FileError.READ_ERROR
    assert time.monotonic() - started < 30


def test_an_object_outside_the_allowed_roots_is_never_requested_while_one_inside_is(s3_env):
    # Given two buckets and allowed roots naming one prefix of the first
    inside = s3_env.new_bucket({"ok/a.jpg": b"inside", "other/b.jpg": b"other"})
    outside = s3_env.new_bucket({"a.jpg": b"outside"})
    roots = (f"s3://{inside}/ok",)
    # When every request this process's client sends is counted while the worker's reading code runs
    sent = []
    process_s3_client().meta.events.register("before-send.s3", lambda request, **_: sent.append(request.url))
    codes = [code_of(url, roots) for url in (f"s3://{outside}/a.jpg", f"s3://{inside}/other/b.jpg",
                                             f"s3://{inside}/ok/../other/b.jpg")]
    assert sent == []
    data, _ = read_image_file(f"s3://{inside}/ok/a.jpg", roots)
    # Then the refused objects get their code and only the one inside was requested (the hook does see it)
    assert codes == [FileError.OUTSIDE_ALLOWED_ROOTS] * 3
    assert data == b"inside"
    assert len(sent) == 1 and sent[0].endswith(f"/{inside}/ok/a.jpg")


def test_the_client_is_made_on_first_use_once_per_process_and_again_in_a_forked_child(s3_env):
    first = process_s3_client()
    assert process_s3_client() is first
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write_end, b"new" if process_s3_client() is not first else b"same")
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    assert os.read(read_end, 8) == b"new"
    os.close(read_end)

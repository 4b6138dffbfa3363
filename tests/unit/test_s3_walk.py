"""Listing s3://bucket/prefix inputs against a real S3-compatible server (moto over HTTP on loopback)."""

import os

import pytest

from producer.walk import iter_image_paths
from support.memory import traced_peak
from tasks.errors import ConfigError, FileError


def walk(roots, **kwargs):
    return list(iter_image_paths(roots, **kwargs))


def test_a_prefix_lists_its_image_and_video_keys_in_lexical_order_across_pages_as_urls(s3_env, monkeypatch):
    # Given a bucket whose keys are put out of order, with non-images, a folder marker and a sibling prefix
    keys = ["photos/b/2.JPG", "photos/a.png", "photos/notes.txt", "photos/b/", "photos/c/d/e.WebP",
            "photos/x.jpg.bak", "photos2/other.jpg", "photos/B.jpeg", "photos/c/clip.MOV"]
    bucket = s3_env.new_bucket(dict.fromkeys(keys, b"x"))
    monkeypatch.setattr("producer.walk_s3.PAGE_SIZE", 2)  # several pages from a handful of keys
    # When the folder-like prefix is walked
    before = len(s3_env.requests)
    found = walk([f"s3://{bucket}/photos"])
    # Then image and video keys come in byte order, paged, without the sibling prefix's keys
    assert sum("list-type=2" in query for _, _, query in s3_env.requests[before:]) == 4
    assert found == [f"s3://{bucket}/photos/{k}" for k in ["B.jpeg", "a.png", "b/2.JPG", "c/clip.MOV", "c/d/e.WebP"]]
    assert walk([f"s3://{bucket}"]) == found + [f"s3://{bucket}/photos2/other.jpg"]


def test_local_folders_and_s3_prefixes_are_walked_in_the_order_given(s3_env, tmp_path):
    (tmp_path / "local.jpg").write_bytes(b"x")
    bucket = s3_env.new_bucket({"p/remote.png": b"x"})
    found = walk([f"s3://{bucket}/p/", str(tmp_path), f"s3://{bucket}/p/remote.png"])
    assert found == [f"s3://{bucket}/p/remote.png", str(tmp_path / "local.jpg")]


def test_an_object_named_explicitly_is_taken_whatever_its_name(s3_env):
    bucket = s3_env.new_bucket({"scans/page.dat": b"x", "scans/page.dat.jpg": b"x"})
    assert walk([f"s3://{bucket}/scans/page.dat"]) == [f"s3://{bucket}/scans/page.dat"]


def test_a_prefix_inside_another_given_root_or_given_twice_is_listed_once(s3_env):
    bucket = s3_env.new_bucket({"a/1.jpg": b"x", "a/b/2.jpg": b"x", "c/3.jpg": b"x"})
    inner, outer = f"s3://{bucket}/a/b", f"s3://{bucket}"
    assert walk([inner, outer, inner]) == [f"{inner}/2.jpg", f"{outer}/a/1.jpg", f"{outer}/c/3.jpg"]
    assert walk([outer, inner]) == [f"{outer}/a/1.jpg", f"{inner}/2.jpg", f"{outer}/c/3.jpg"]


def test_a_missing_bucket_or_a_prefix_with_no_objects_fails_before_anything_is_listed(s3_env, tmp_path):
    bucket = s3_env.new_bucket({"a/1.jpg": b"x"})
    (tmp_path / "first.jpg").write_bytes(b"x")
    for url, reason in [(f"s3://missing-{bucket}/a", "no such bucket"),
                        (f"s3://{bucket}/nothing-here", "no objects under this prefix"),
                        (f"s3://{bucket}/a/1", "no objects under this prefix")]:
        walked = iter_image_paths([str(tmp_path), url])
        with pytest.raises(ConfigError, match=f"cannot read {url}: {reason}"):
            next(walked)


def test_a_prefix_holding_no_images_is_an_empty_walk_like_a_folder_of_text_files(s3_env):
    bucket = s3_env.new_bucket({"docs/readme.txt": b"x"})
    assert walk([f"s3://{bucket}/docs"]) == []


def test_an_unreachable_store_is_one_error_line_naming_the_url(s3_env, monkeypatch):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setattr("tasks.inputs.s3client.S3_MAX_ATTEMPTS", 2)  # one backoff, not four
    with pytest.raises(ConfigError) as caught:
        walk(["s3://any/prefix"])
    assert str(caught.value).startswith("cannot read s3://any/prefix: Could not connect")
    assert "\n" not in str(caught.value)


def test_a_listing_that_breaks_off_after_its_first_page_keeps_what_was_listed_and_reports_the_root(s3_env,
                                                                                                   monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    bucket = s3_env.new_bucket({f"p/{i}.jpg": b"x" for i in range(5)})
    monkeypatch.setattr("producer.walk_s3.PAGE_SIZE", 2)
    client = s3_env.client()
    pages = []

    def fail_third_page(params, **_):
        pages.append(params)
        if len(pages) == 3:
            raise EndpointConnectionError(endpoint_url=s3_env.url)

    client.meta.events.register("before-call.s3.ListObjectsV2", fail_third_page)
    errors = []
    found = walk([f"s3://{bucket}/p"], on_error=lambda p, c: errors.append((p, c)), s3_client=client)
    assert found == [f"s3://{bucket}/p/{i}.jpg" for i in range(4)]
    assert errors == [(f"s3://{bucket}/p", FileError.UNREADABLE_DIRECTORY)]


def test_missing_boto3_is_one_line_saying_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_boto3(name, *args, **kwargs):
        if name.split(".")[0] in ("boto3", "botocore"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_boto3)
    with pytest.raises(ConfigError, match=r"s3:// inputs need boto3: pip install 'hashfleet\[s3\]'"):
        walk(["s3://bucket/prefix"])
    assert os.path  # the local walk needs nothing of boto3


def _listing_peak(objects: int) -> tuple[int, int]:
    """(objects listed, peak traced memory in bytes) for a walk of a scripted bucket whose consumer keeps
    no URL."""
    from support.s3listing import scripted_client

    client = scripted_client(objects)
    return traced_peak(lambda: sum(1 for _ in iter_image_paths(["s3://scripted/p"], s3_client=client)))


def test_a_prefix_is_listed_page_by_page_in_memory_that_does_not_grow_with_its_object_count(monkeypatch):
    # Given listings of 50 keys a page (bench/s3_listing.py measures 100,000 objects on a moto server)
    monkeypatch.setattr("producer.walk_s3.PAGE_SIZE", 50)
    small, large = 200, 2_000
    # When a prefix of 200 objects is walked, then one of ten times as many
    seen_small, peak_small = _listing_peak(small)
    seen_large, peak_large = _listing_peak(large)
    # Then every object is listed, and the peak stays that of a page or two (holding 1,800 more listed
    # URLs would add about 0.5 MB)
    assert (seen_small, seen_large) == (small, large)
    assert peak_large < 1.2 * peak_small + 100_000, f"{peak_small / 1e6:.2f} -> {peak_large / 1e6:.2f} MB"

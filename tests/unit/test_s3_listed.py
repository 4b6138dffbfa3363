"""What the listing tells the producer about s3:// objects (Size, LastModified), used by `--index` reuse and
by chunking exactly as a local file's stat is, with no request per object (moto over HTTP on loopback)."""

import copy
import pickle
from datetime import datetime, timezone

from producer.chunking import mean_file_size
from producer.job import build_job
from producer.listed import ListedObject, size_and_mtime
from producer.outputs.formats import Record, write_records
from producer.outputs.incremental import Index
from producer.walk import iter_image_paths

#: A 2 kB icon: tiny files get bigger chunks than the policy gives files of unknown size.
TINY = 2_000


def requests_other_than_listings(server, since: int) -> list[tuple[str, str, str]]:
    return [r for r in server.requests[since:] if "list-type=2" not in r[2]]


def test_listed_objects_carry_the_size_and_last_modified_of_the_listing_with_no_request_per_object(s3_env):
    # Given a prefix of objects of different sizes
    bucket = s3_env.new_bucket({"p/a.jpg": b"a" * 10, "p/b.png": b"b" * 2_000, "p/c.webp": b"c"})
    # When it is walked
    before = len(s3_env.requests)
    found = list(iter_image_paths([f"s3://{bucket}/p"]))
    # Then each URL carries its object's size and LastModified (whole seconds), and only listings were sent
    assert requests_other_than_listings(s3_env, before) == []
    client = s3_env.client()
    for url in found:
        head = client.head_object(Bucket=bucket, Key=url.split("/", 3)[3])
        assert size_and_mtime(url) == (head["ContentLength"], int(head["LastModified"].timestamp()))
    assert [size_and_mtime(u)[0] for u in found] == [10, 2_000, 1]


def test_an_object_named_explicitly_carries_the_size_and_mtime_of_its_head(s3_env):
    bucket = s3_env.new_bucket({"scans/page.dat": b"x" * 7})
    (url,) = iter_image_paths([f"s3://{bucket}/scans/page.dat"])
    assert size_and_mtime(url)[0] == 7


def test_an_index_reuses_the_objects_whose_size_and_last_modified_match_without_requesting_them(s3_env, tmp_path):
    # Given an index of three objects: one unchanged, one whose recorded LastModified is older, one whose
    # recorded size differs; and a fourth object the index does not know
    bucket = s3_env.new_bucket({f"p/{n}.jpg": n.encode() * 100 for n in "abcd"})
    listed = {u.rsplit("/", 1)[1]: u for u in iter_image_paths([f"s3://{bucket}/p"])}
    a, b, c = listed["a.jpg"], listed["b.jpg"], listed["c.jpg"]
    index_path = str(tmp_path / "old.csv")
    write_records(index_path, [Record(a, "00" * 8, "", a.size, a.mtime), Record(b, "11" * 8, "", b.size, b.mtime - 5),
                               Record(c, "22" * 8, "", c.size + 1, c.mtime)], {"algo": "dhash", "hash_size": "8"})
    # When the prefix is walked into a job against that index
    before = len(s3_env.requests)
    index = Index(index_path, "dhash", 8)
    job = build_job(iter_image_paths([f"s3://{bucket}/p"]), "dhash", 8, chunk_size=10, index=index)
    # Then only the unchanged object is reused, the other three go to the workers, and no object was requested
    assert [job.counts[i] for i in job.reused] == [1]
    assert sum(job.counts[i] for i in job.remote) == 3
    assert requests_other_than_listings(s3_env, before) == []


def test_the_mean_size_of_listed_objects_comes_from_the_listing_not_from_the_file_system():
    modified = datetime(2026, 1, 1, tzinfo=timezone.utc)
    objects = [ListedObject.of(f"s3://b/{i}.jpg", 1_000 * i, modified) for i in range(1, 4)]
    assert mean_file_size(objects) == 2_000
    assert mean_file_size(["s3://b/not-listed.jpg"]) is None


def test_a_listed_object_is_its_url_and_keeps_its_size_and_mtime_when_copied_or_pickled():
    listed = ListedObject.of("s3://b/a.jpg", 7, datetime(2026, 1, 1, 0, 0, 1, 500_000, tzinfo=timezone.utc))
    assert listed == "s3://b/a.jpg" and size_and_mtime(listed) == (7, 1_767_225_601)
    for again in (copy.copy(listed), pickle.loads(pickle.dumps(listed))):
        assert again == listed and size_and_mtime(again) == (7, 1_767_225_601)


def test_an_s3_prefix_of_tiny_objects_is_chunked_like_a_folder_of_the_same_files(s3_env, tmp_path):
    # Given the same 100 tiny images in a local folder and under an s3 prefix
    count = 100
    bucket = s3_env.new_bucket({f"icons/{i:03d}.jpg": bytes(TINY) for i in range(count)})
    folder = tmp_path / "icons"
    folder.mkdir()
    for i in range(count):
        (folder / f"{i:03d}.jpg").write_bytes(bytes(TINY))
    # When each is cut into chunks with no explicit chunk size
    remote = build_job(iter_image_paths([f"s3://{bucket}/icons"]), "dhash", 8)
    local = build_job(iter_image_paths([str(folder)]), "dhash", 8)
    unknown = build_job([f"s3://{bucket}/icons/{i:03d}.jpg" for i in range(count)], "dhash", 8)
    # Then both get the same chunks (one, tiny files are cheap), bigger than sizes unknown would give
    assert remote.counts == local.counts == [count]
    assert len(unknown.counts) > 1

"""`hashfleet run` with s3:// inputs on the embedded default: the real CLI, its own redis-server and prefork
workers, and a real S3-compatible server (moto over HTTP on loopback) they reach through AWS_ENDPOINT_URL."""

import json
import os
import re

import pytest

from support.servers import clean_env, hashfleet

pytestmark = pytest.mark.integration

#: Seconds one embedded run may take before the test fails.
RUN_TIMEOUT = 180


def upload(s3_server, images, prefix: str, name: str = "") -> str:
    """A new bucket holding each file of `images` under `prefix`."""
    return s3_server.new_bucket({prefix + p.name: p.read_bytes() for p in sorted(images.iterdir())}, name)


def run(s3_server, tmp_path, inputs: list[str], **env: str) -> dict[str, dict]:
    """Run the CLI with no broker, AWS variables pointing at `s3_server`; path -> its JSONL record."""
    return run_to(s3_server, tmp_path / "out.jsonl", inputs, [], env)[0]


def run_to(s3_server, out, inputs: list[str], options: list[str], env: dict[str, str],
           endpoint: str | None = None) -> tuple[dict[str, dict], str]:
    """`run` writing `out`, with further CLI `options`, the store reached at `endpoint` (default: the
    server's own URL); (path -> its JSONL record, the CLI's stderr)."""
    aws_env = s3_server.env(clean_env(**env))  # the AWS variables pointing at the server
    if endpoint:
        aws_env["AWS_ENDPOINT_URL"] = endpoint
    done = hashfleet(["run", *inputs, "-o", str(out), "--workers", "2", "--chunk-size", "3", *options],
                     env=aws_env, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    records = {r["path"]: r for r in rows}
    assert len(records) == len(rows)
    return records, done.stderr


#: Seconds of 1080p30 video per task, made tiny so a 20 s test video is cut into several segments (as in
#: tests/integration/test_video_run.py).
TINY_SEGMENT = "0.03"


def noise(_second: int, width: int, height: int):
    """A new random picture every frame: footage that barely compresses, so a short video is several MB."""
    import numpy as np

    return np.random.default_rng().integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """On local disk: a 20 s video of several MB (many of the S3 reader's blocks) and a 6 s clip."""
    from support.videos import write_video

    folder = tmp_path_factory.mktemp("s3-videos")
    write_video(folder / "long.mkv", seconds=20, size=(320, 192), frame=noise, bit_rate=3_000_000)
    write_video(folder / "clip.mp4", seconds=6)
    return folder


def test_local_and_s3_inputs_give_one_record_per_file_with_the_hashes_and_frames_of_the_local_copies(
        s3_server, tmp_path, images, videos):
    from producer.outputs.videoframes import read_videos
    from tasks.inputs.s3file import S3_MAX_BLOCK
    from tasks.video.segment import index_segment

    # Given the same images in a local folder and under a prefix of a bucket (beside another prefix), and
    # under the prefix the videos too, one of them deleted just after the producer has listed it
    bucket = upload(s3_server, images, "photos/")
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key="elsewhere/skip.jpg", Body=b"not listed")
    for key, path in (("long.mkv", videos / "long.mkv"), ("clip.mp4", videos / "clip.mp4"),
                      ("gone.mp4", videos / "clip.mp4")):
        client.put_object(Bucket=bucket, Key=f"photos/{key}", Body=path.read_bytes())
    s3_server.after_next_listing(bucket, lambda: s3_server.client().delete_object(Bucket=bucket, Key="photos/gone.mp4"))
    names = sorted(p.name for p in images.iterdir())
    url = f"s3://{bucket}/photos/"
    # When hashfleet runs on both, with no broker, a segment length cutting the long video into several tasks
    out = tmp_path / "out.jsonl"
    records, stderr = run_to(s3_server, out, [str(images), url.rstrip("/")], [],
                             {"HASHFLEET_VIDEO_SEGMENT": TINY_SEGMENT})
    # Then every local file and every object has one record, and each image object hashes as its local copy
    video_names = ["clip.mp4", "gone.mp4", "long.mkv"]
    assert sorted(records) == sorted([str(images / n) for n in names] + [url + n for n in names + video_names])
    for name in names:
        local, remote = records[str(images / name)], records[url + name]
        assert local["error"] == "" and local["hash"], local
        assert {k: remote[k] for k in ("hash", "error", "size", "width", "height")} == \
               {k: local[k] for k in ("hash", "error", "size", "width", "height")}
        modified = client.head_object(Bucket=bucket, Key=f"photos/{name}")["LastModified"]
        assert remote["mtime"] == int(modified.timestamp())
    # And the video objects are videos, the deleted one `not-found`, the long one cut into 5 tasks or more
    assert {n: (records[url + n]["kind"], records[url + n]["error"]) for n in video_names} == {
        "clip.mp4": ("video", ""), "gone.mp4": ("video", "not-found"), "long.mkv": ("video", "")}
    count, tasks = map(int, re.search(r"(\d+) videos in (\d+) tasks", stderr).groups())
    assert count == 3 and tasks >= 6  # the clip and gone.mp4 share a task
    # And each video's record and frames are those of the same file sampled from local disk
    got = {v.path: v for v in read_videos(str(out))}
    for name, seconds in (("clip.mp4", 6), ("long.mkv", 20)):
        local, remote = index_segment(str(videos / name), 0.0, None, 1.0), got[url + name]
        assert remote.frames.times.tolist() == local.frames.times.tolist() == [float(s) for s in range(seconds)]
        for column in ("dhash", "phash", "band"):
            assert getattr(remote.frames, column).tolist() == getattr(local.frames, column).tolist(), (name, column)
        assert (remote.width, remote.height, remote.duration) == (local.width, local.height, local.duration)
        modified = client.head_object(Bucket=bucket, Key=f"photos/{name}")["LastModified"]
        assert (records[url + name]["size"], records[url + name]["mtime"]) == (local.size, int(modified.timestamp()))
    # And the long video was read in ranges, each task about its share: its segments and the producer's probe
    # read it about once in all, not once per segment
    size = (videos / "long.mkv").stat().st_size
    reads = s3_server.bytes_read(bucket, "photos/long.mkv")
    assert all(header.startswith("bytes=") for header, _ in reads) and max(sent for _, sent in reads) <= S3_MAX_BLOCK
    assert sum(sent for _, sent in reads) < 1.5 * size, (size, reads)


def test_search_takes_objects_as_queries_an_image_finding_its_local_copy_and_a_video_its_footage(
        s3_server, tmp_path, images, videos):
    import csv
    import shutil

    # Given an index of a local folder of photos and a video, and copies of one photo and of the video in a bucket
    shutil.copy(videos / "clip.mp4", images / "clip.mp4")
    photo = sorted(p.name for p in images.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[0]
    bucket = s3_server.new_bucket({"q/" + photo: (images / photo).read_bytes(),
                                   "q/clip.mp4": (images / "clip.mp4").read_bytes()})
    index = tmp_path / "index.jsonl"
    run_to(s3_server, index, [str(images)], [], {})
    # When both objects are searched for
    aws_env = s3_server.env(clean_env())
    queries = [f"s3://{bucket}/q/{photo}", f"s3://{bucket}/q/clip.mp4"]
    found = hashfleet(["search", str(index), *queries, "-o", str(tmp_path / "matches.csv")], env=aws_env, timeout=60)
    # Then the photo object finds its local copy at distance 0, the video object the local video's whole footage
    assert found.returncode == 0, found.stderr
    rows = list(csv.DictReader(open(tmp_path / "matches.csv", encoding="utf-8")))
    image = [r for r in rows if r["query"] == queries[0] and r["path"] == str(images / photo)]
    video = [r for r in rows if r["query"] == queries[1] and r["path"] == str(images / "clip.mp4")]
    assert image and image[0]["distance"] == "0", rows
    assert video and (float(video[0]["start"]), float(video[0]["end"])) == pytest.approx((0.0, 6.0), abs=0.5), rows
    # And a missing object is one clear line and a non-zero exit
    missing = hashfleet(["search", str(index), f"s3://{bucket}/q/gone.mp4"], env=aws_env, timeout=60)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr, missing.stderr
    assert missing.stderr.strip().splitlines() == [
        f"hashfleet: error: cannot read s3://{bucket}/q/gone.mp4: no such file (deleted, or a broken symlink)"]


def test_an_object_deleted_after_the_listing_is_a_not_found_record_and_the_rest_are_hashed(
        s3_server, tmp_path, images):
    # Given a bucket whose first object is deleted just after the producer has listed it
    bucket = upload(s3_server, images, "in/")
    gone = f"in/{sorted(p.name for p in images.iterdir())[0]}"
    s3_server.after_next_listing(bucket, lambda: s3_server.client().delete_object(Bucket=bucket, Key=gone))
    # When the prefix is hashed
    records = run(s3_server, tmp_path, [f"s3://{bucket}/in/"])
    # Then the deleted object is `not-found` and the others are hashed
    errors = {path: r["error"] for path, r in records.items()}
    assert len(errors) == len(os.listdir(images))
    assert errors.pop(f"s3://{bucket}/{gone}") == "not-found"
    assert set(errors.values()) == {""}


def test_an_incremental_run_over_a_prefix_reads_only_the_changed_and_the_new_object(s3_server, tmp_path, images):
    # Given a prefix hashed once into an index
    bucket = upload(s3_server, images, "p/")
    names = sorted(p.name for p in images.iterdir())
    old = tmp_path / "old.jsonl"
    first, _ = run_to(s3_server, old, [f"s3://{bucket}/p"], [], {})
    # And then one object rewritten with other bytes of another size, one added and one deleted
    changed, donor, gone = names[0], names[1], names[2]
    assert (images / changed).stat().st_size != (images / donor).stat().st_size
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key=f"p/{changed}", Body=(images / donor).read_bytes())
    client.put_object(Bucket=bucket, Key="p/added.jpg", Body=(images / donor).read_bytes())
    client.delete_object(Bucket=bucket, Key=f"p/{gone}")
    # When the prefix is hashed again with the first output as index
    gets_before = len(s3_server.gets(bucket))
    second, stderr = run_to(s3_server, tmp_path / "new.jsonl", [f"s3://{bucket}/p"], ["--index", str(old)], {})
    # Then only the changed and the added object were read, and the output is complete and right
    read = s3_server.gets(bucket)[gets_before:]
    assert sorted(read) == sorted([f"/{bucket}/p/{changed}", f"/{bucket}/p/added.jpg"])
    assert f"{len(names) - 2} unchanged" in stderr
    url = f"s3://{bucket}/p/"
    assert sorted(second) == sorted([url + n for n in names if n != gone] + [url + "added.jpg"])
    assert second[url + changed]["hash"] == second[url + "added.jpg"]["hash"] == first[url + donor]["hash"] != ""
    assert {second[url + n]["hash"] for n in names[3:]} == {first[url + n]["hash"] for n in names[3:]}


def test_throttled_and_cut_reads_are_retried_by_the_workers_and_an_object_always_cut_is_a_read_error_record(
        s3_server, tmp_path, images):
    from support.s3faults import CUT, SLOW_DOWN, FaultProxy

    # Given a prefix behind a proxy that throttles the first 3 object GETs, cuts the next 2 mid-body, and
    # cuts every read of one object
    bucket = upload(s3_server, images, "p/")
    names = sorted(p.name for p in images.iterdir())
    proxy = FaultProxy(s3_server.url)
    try:
        proxy.inject(CUT, match=lambda method, path, _: method == "GET" and path.endswith(f"/p/{names[0]}"))
        proxy.inject(SLOW_DOWN, times=3)
        proxy.inject(CUT, times=2)
        # When the workers hash it through the proxy
        records, _ = run_to(s3_server, tmp_path / "out.jsonl", [f"s3://{bucket}/p"], [], {}, endpoint=proxy.url)
    finally:
        proxy.stop()
    # Then the object always cut is a read-error record after 3 reads, and every other object is hashed
    errors = {path.rsplit("/", 1)[1]: r["error"] for path, r in records.items()}
    assert errors == {name: "read-error" if name == names[0] else "" for name in names}
    assert proxy.served == {SLOW_DOWN: 3, CUT: 3 + 2}


def test_a_bucket_outside_the_allowed_roots_gets_outside_allowed_roots_records_and_no_object_request(
        s3_server, tmp_path, images):
    # Given allowed roots naming a local folder and one prefix of one bucket, and a second bucket
    allowed = upload(s3_server, images, "ok/")
    forbidden = upload(s3_server, images, "", name="forbidden")
    roots = os.pathsep.join([str(images), f"s3://{allowed}/ok"])
    # When all three are hashed
    records = run(s3_server, tmp_path, [str(images), f"s3://{allowed}/ok", f"s3://{forbidden}"],
                  HASHFLEET_ALLOWED_ROOTS=roots)
    # Then the forbidden bucket's objects are refused and were never requested; the rest are hashed
    errors = {path: r["error"] for path, r in records.items()}
    refused = {p for p in errors if p.startswith(f"s3://{forbidden}/")}
    assert len(refused) == len(os.listdir(images))
    assert {errors[p] for p in refused} == {"outside-allowed-roots"}
    assert {e for p, e in errors.items() if p not in refused} == {""}
    assert s3_server.gets(forbidden) == []
    assert len(s3_server.gets(allowed)) == len(os.listdir(images))  # the log does see the workers' reads


def test_a_missing_bucket_stops_the_run_with_one_line_before_anything_is_hashed(s3_server, tmp_path, images):
    out = tmp_path / "out.csv"
    done = hashfleet(["run", str(images), "s3://no-such-bucket-hashfleet", "-o", str(out)],
                     env=s3_server.env(clean_env()), timeout=RUN_TIMEOUT)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["hashfleet: error: cannot read s3://no-such-bucket-hashfleet: "
                                                "no such bucket"]
    assert not out.exists()

"""An S3 object as a seekable file (tasks/inputs/s3file.py) and a video read from one (tasks/video/source.py),
against a real S3-compatible server (moto over HTTP): ranged GETs, seeks, reads past the end, failures as codes."""

import datetime
import io

import pytest

from tasks.errors import FileError, FileUnreadable
from tasks.inputs import s3file
from tasks.inputs.s3file import S3ObjectFile

#: An object of 300 distinct bytes a test reads in blocks of 16 to 64 (the constants, made small).
DATA = bytes(range(256)) + bytes(range(44))


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(s3file, "S3_FIRST_BLOCK", 16)
    monkeypatch.setattr(s3file, "S3_MAX_BLOCK", 64)


@pytest.fixture(scope="module")
def client(s3_server):
    """One client for the module's reads (a client takes a few hundred ms to make)."""
    return s3_server.client()


@pytest.fixture
def stored(s3_server, small_blocks):
    """The URL of DATA in a new bucket."""
    return f"s3://{s3_server.new_bucket({'v/data.bin': DATA})}/v/data.bin"


def test_reading_on_from_the_start_fetches_blocks_that_double_up_to_the_most_and_gives_every_byte(
    s3_server, client, stored
):
    before = len(s3_server.reads)
    media = S3ObjectFile.open(stored, client)
    assert (media.size, media.read(), media.read(10)) == (len(DATA), DATA, b"")
    assert [header for _, header, _ in s3_server.reads[before:]] == [
        "bytes=0-15",
        "bytes=16-47",
        "bytes=48-111",
        "bytes=112-175",
        "bytes=176-239",
        "bytes=240-299",
    ]


def test_a_read_may_return_fewer_bytes_than_asked_at_a_block_edge_and_a_buffered_reader_fills_them(client, stored):
    media = S3ObjectFile.open(stored, client)
    assert media.read(40) == DATA[:16]  # a short read: the rest of the first block, nothing fetched
    media.seek(0)
    assert io.BufferedReader(media, buffer_size=8).read(40) == DATA[:40]


def test_a_seek_reads_only_the_blocks_around_its_target_and_relative_and_end_seeks_land_where_asked(
    s3_server, client, stored
):
    media = S3ObjectFile.open(stored, client)
    before = len(s3_server.reads)
    assert media.seek(-10, io.SEEK_END) == 290 and media.read(4) == DATA[290:294]
    assert media.seek(2, io.SEEK_CUR) == 296 and media.read() == DATA[296:]
    assert media.seek(100) == 100 and media.read(3) == DATA[100:103]
    media.seek(5)  # before the block held (the one at 100): a new GET, of a first block's size
    assert media.read(8) == DATA[5:13]
    assert [header for _, header, _ in s3_server.reads[before:]] == ["bytes=290-299", "bytes=100-115", "bytes=5-20"]


def test_reads_at_or_past_the_end_give_nothing_and_fetch_nothing_and_a_negative_seek_is_refused(
    s3_server, client, stored
):
    media = S3ObjectFile.open(stored, client)
    before = len(s3_server.reads)
    media.seek(len(DATA) + 100)
    assert media.read(5) == b"" and media.tell() == len(DATA) + 100
    media.seek(len(DATA))
    assert media.read() == b""
    assert s3_server.reads[before:] == []
    with pytest.raises(ValueError):
        media.seek(-1)


def test_a_missing_object_an_empty_one_and_one_outside_the_allowed_roots_get_their_codes_the_last_unrequested(
    s3_server, client
):
    from tasks.video.source import checked_source

    bucket = s3_server.new_bucket({"v/empty.mp4": b"", "other/a.mp4": b"x"})
    codes = {}
    for key, roots in (("v/gone.mp4", ()), ("v/empty.mp4", ()), ("other/a.mp4", (f"s3://{bucket}/v",))):
        with pytest.raises(FileUnreadable) as caught:
            checked_source(f"s3://{bucket}/{key}", roots, client)
        codes[key] = caught.value.code
    assert codes == {
        "v/gone.mp4": FileError.NOT_FOUND,
        "v/empty.mp4": FileError.EMPTY_FILE,
        "other/a.mp4": FileError.OUTSIDE_ALLOWED_ROOTS,
    }
    assert s3_server.bytes_read(bucket, "other/a.mp4") == []


def test_access_denied_mid_read_ends_the_file_there_with_permission_denied_and_no_further_request(
        s3_server, stored):
    from botocore.stub import Stubber

    client = s3_server.client()  # its own: a stubbed client answers only what the test scripts
    media = S3ObjectFile.open(stored, client)
    with Stubber(client) as stub:
        stub.add_client_error("get_object", "AccessDenied", http_status_code=403)
        media.seek(200)
        assert media.read(5) == b"" and media.failure == FileError.PERMISSION_DENIED
        stub.assert_no_pending_responses()
        media.seek(0)  # even where a block was held: a stubbed client with nothing scripted would raise
        assert media.read(5) == b"" and media.failure == FileError.PERMISSION_DENIED


def test_an_object_rewritten_between_two_reads_is_a_read_error_never_bytes_of_two_versions(s3_server, client, stored):
    media = S3ObjectFile.open(stored, client)
    bucket, key = stored[len("s3://") :].split("/", 1)
    s3_server.client().put_object(Bucket=bucket, Key=key, Body=DATA[::-1])
    media.seek(100)
    assert media.read(5) == b"" and media.failure == FileError.READ_ERROR


def test_a_store_that_ignores_the_range_sends_no_more_than_a_block_into_memory_and_later_reads_fail(s3_server, stored):
    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    client = s3_server.client()
    whole = {
        "Body": StreamingBody(io.BytesIO(DATA), len(DATA)),
        "ContentLength": len(DATA),
        "LastModified": datetime.datetime(2026, 1, 1),
        "ETag": '"e"',
    }
    with Stubber(client) as stub:
        stub.add_response("get_object", whole)
        media = S3ObjectFile.open(stored, client)
        assert media.read(100) == DATA[:16] and media.size == len(DATA)
        stub.add_response("get_object", dict(whole, Body=StreamingBody(io.BytesIO(DATA), len(DATA))))
        assert media.read(1) == b""
    assert media.failure == FileError.READ_ERROR


def test_a_video_object_samples_as_its_local_copy_whole_and_in_a_segment(s3_env, tmp_path):
    from support.videos import write_video
    from tasks.video.segment import index_segment

    path = write_video(tmp_path / "clip.mkv", seconds=6)
    bucket = s3_env.new_bucket({"clip.mkv": open(path, "rb").read()})
    for start, end in ((0.0, None), (2.0, 4.0)):
        local, remote = index_segment(path, start, end, 1.0), index_segment(f"s3://{bucket}/clip.mkv", start, end, 1.0)
        assert remote.code == local.code == FileError.OK
        assert remote.frames.times.tolist() == local.frames.times.tolist() != []
        assert remote.frames.phash.tolist() == local.frames.phash.tolist()
        assert (remote.size, remote.duration) == (local.size, local.duration)


def test_a_video_object_whose_read_fails_part_way_is_a_record_with_that_code_whatever_ffmpeg_made_of_it(
        s3_env, tmp_path, monkeypatch):
    from support.videos import write_video
    from tasks.video.segment import index_segment

    # Given a video object read in blocks of 1 KiB, whose reads are refused once the first block is read (the
    # file then ends there for FFmpeg: tasks/inputs/s3file.py says why)
    path = write_video(tmp_path / "clip.mkv", seconds=6)
    url = f"s3://{s3_env.new_bucket({'clip.mkv': open(path, 'rb').read()})}/clip.mkv"
    monkeypatch.setattr(s3file, "S3_FIRST_BLOCK", 1024)
    reads = []

    def refused_after_the_first(*args, **kwargs):
        reads.append(args[1])
        if len(reads) > 1:
            raise FileUnreadable(FileError.PERMISSION_DENIED)
        return real(*args, **kwargs)

    real = s3file.read_s3_range
    monkeypatch.setattr(s3file, "read_s3_range", refused_after_the_first)
    # When it is sampled, then the record says what the store said, not what FFmpeg made of a short file
    assert index_segment(url, 0.0, None, 1.0).code == FileError.PERMISSION_DENIED
    assert reads[:2] == [0, 1024]

"""Videos and their sampled frames in every output format: written beside (or inside) the index and read
back by producer/outputs/videoframes.read_videos exactly as they were."""

from __future__ import annotations

import os

import numpy as np
import pytest

from producer.outputs.formats import Record, write_records
from producer.outputs.reader import read_records
from producer.outputs.videoframes import read_videos
from support.videos import random_frames
from tasks.video.frames import IndexedVideo, VideoFrames, no_frames

META = {"job": "j", "algo": "dhash,phash,phash-centre", "hash_size": "8"}
FORMATS = ("csv", "jsonl", "sqlite", "parquet")


def frames(n: int, seed: int) -> VideoFrames:
    return random_frames(n, seed, step=0.5)


VIDEOS = [
    IndexedVideo("/v/long film.mp4", 3600.5, 1920, 1080, 23.976, frames(7, 1), sample_fps=1.0),
    IndexedVideo("/v/broken.mp4", 0.0, 0, 0, 0.0, no_frames(), "corrupt"),
    IndexedVideo("/v/half.mkv", 12.0, 640, 360, 30.0, frames(3, 2), "corrupt"),
    IndexedVideo("/v/caf\udce9.webm", 2.0, 320, 240, 25.0, frames(1, 3)),
    IndexedVideo("/v/boxed.mp4", 8.0, 640, 480, 25.0, frames(4, 4), letterboxed=True, sample_fps=0.5),
]
RECORDS = [Record("/i/a.jpg", "0" * 16, "", 10, 1, ("1" * 16, "2" * 16), 50, 8, 8),
           *(Record(v.path, "", v.error, 5, 1, ("", ""), None, v.width or None, v.height or None, "video")
             for v in VIDEOS)]


def assert_same_video(got: IndexedVideo, want: IndexedVideo) -> None:
    assert (got.path, got.width, got.height, got.error, got.letterboxed, got.sample_fps) == (
        want.path, want.width, want.height, want.error, want.letterboxed, want.sample_fps)
    assert got.duration == pytest.approx(want.duration) and got.fps == pytest.approx(want.fps)
    for name in ("times", "dhash", "phash", "centre", "quality", "band"):
        assert getattr(got.frames, name).tolist() == getattr(want.frames, name).tolist(), name
    assert got.frames.dhash.dtype == np.uint64 and got.frames.quality.dtype == np.uint8


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_gives_back_each_video_with_its_frames_in_order(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    out = str(tmp_path / f"index.{fmt}")
    write_records(out, RECORDS, META, videos=iter(VIDEOS))
    got = list(read_videos(out))
    assert len(got) == len(VIDEOS)
    for g, w in zip(got, VIDEOS, strict=True):
        assert_same_video(g, w)


@pytest.mark.parametrize("fmt", FORMATS)
def test_video_rows_in_the_index_say_they_are_videos(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    out = str(tmp_path / f"index.{fmt}")
    write_records(out, RECORDS, META, videos=iter(VIDEOS))
    kinds = [(r.path, r.kind, r.hash) for r in read_records(out)]
    assert kinds == [("/i/a.jpg", "image", "0" * 16)] + [(v.path, "video", "") for v in VIDEOS]


def test_csv_keeps_videos_and_frames_in_two_sibling_files(tmp_path):
    out = str(tmp_path / "index.csv")
    write_records(out, RECORDS, META, videos=iter(VIDEOS))
    header = (tmp_path / "index.frames.csv").read_bytes().decode("utf-8", "replace").splitlines()[0]
    assert header == "path,time,dhash,phash,phash_centre,quality,phash_band"
    assert (tmp_path / "index.videos.csv").read_bytes().startswith(b"path,duration,width,height,fps,frames,error")


def test_an_index_written_without_videos_reads_as_none_and_drops_stale_sibling_files(tmp_path):
    out = str(tmp_path / "index.csv")
    write_records(out, RECORDS, META, videos=iter(VIDEOS))
    write_records(out, RECORDS[:1], META)
    assert list(read_videos(out)) == []
    assert sorted(os.listdir(tmp_path)) == ["index.csv"]
    sqlite_out = str(tmp_path / "index.sqlite")
    write_records(sqlite_out, RECORDS[:1], META)
    assert list(read_videos(sqlite_out)) == []


def test_parquet_frames_written_in_several_row_groups_read_back_in_order(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    from producer.outputs import parquet

    monkeypatch.setattr(parquet, "ROW_GROUP", 2)
    out = str(tmp_path / "index.parquet")
    write_records(out, RECORDS, META, videos=iter(VIDEOS))
    import pyarrow.parquet as pq

    assert pq.ParquetFile(str(tmp_path / "index.frames.parquet")).num_row_groups > 1
    for g, w in zip(read_videos(out), VIDEOS, strict=True):
        assert_same_video(g, w)


def sqlite_index_without(tmp_path, column: str) -> str:
    """A SQLite index of VIDEOS whose videos table lacks `column`, as one written before it was kept."""
    import sqlite3

    out = str(tmp_path / "index.sqlite")
    write_records(out, RECORDS, META, videos=iter(VIDEOS))
    db = sqlite3.connect(out)
    db.execute(f"ALTER TABLE videos DROP COLUMN {column}")
    db.commit()
    db.close()
    return out


def test_a_sqlite_index_written_before_videos_kept_their_letterbox_flag_reads_them_as_not_letterboxed(tmp_path):

    out = sqlite_index_without(tmp_path, "letterboxed")
    got = list(read_videos(out))
    assert [v.path for v in got] == [v.path for v in VIDEOS] and not any(v.letterboxed for v in got)


def test_a_sqlite_index_written_before_the_sampling_rate_was_kept_reads_its_videos_with_an_unknown_rate(tmp_path):

    out = sqlite_index_without(tmp_path, "sample_fps")
    assert [v.sample_fps for v in read_videos(out)] == [0.0] * len(VIDEOS)


@pytest.mark.parametrize("fmt", ("sqlite", "csv", "jsonl"))
def test_frames_of_an_index_written_before_the_band_hash_read_with_no_band(tmp_path, fmt):
    # Given an index whose frames carry no band hash column (written before frames had one)
    import csv
    import json
    import sqlite3

    out = str(tmp_path / f"index.{fmt}")
    write_records(out, RECORDS, META, videos=iter(VIDEOS))
    if fmt == "sqlite":
        db = sqlite3.connect(out)
        db.execute("ALTER TABLE frames DROP COLUMN phash_band")
        db.commit()
        db.close()
    elif fmt == "csv":
        path = tmp_path / "index.frames.csv"
        with open(path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
            rows = [row[:-1] for row in csv.reader(handle)]
        with open(path, "w", newline="", encoding="utf-8", errors="surrogateescape") as handle:
            csv.writer(handle).writerows(rows)
    else:
        path = tmp_path / "index.videos.jsonl"
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for line in lines:
            del line["samples"]["phash_band"]
        path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    # When it is read, Then every frame is there with its other hashes, and band hash 0 (none)
    for got, want in zip(read_videos(out), VIDEOS, strict=True):
        assert got.frames.phash.tolist() == want.frames.phash.tolist()
        assert got.frames.band.tolist() == [0] * len(want.frames)

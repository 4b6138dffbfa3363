"""A video named like an image is judged by its content: the worker records it `video-content`, the drained
results mark its chunk, and the producer finds it there (with no other chunk unpacked) to send it to a video
task."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from producer.drained import DrainedResults
from producer.job import build_job
from producer.video.bycontent import content_videos
from support.images import fixture_paths
from support.videos import write_audio_only, write_video
from tasks.batch import hash_one
from tasks.chunk import finish_chunk
from tasks.errors import FileError
from tasks.video.sniff import is_video_content
from tasks.wire import ChunkResult


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("content")
    for ext in ("mp4", "mkv", "avi"):
        os.rename(write_video(folder / f"clip.{ext}", seconds=2), folder / f"{ext}-clip.jpg")
    os.rename(write_audio_only(folder / "song.m4a"), folder / "song.jpg")
    (folder / "notes.jpg").write_text("not a picture\n" * 50)
    shutil.copy(next(p for p in fixture_paths() if p.endswith(".png")), folder / "photo.png")
    shutil.copy(os.path.join(os.path.dirname(__file__), "..", "data", "stills", "gradient.heic"), folder / "photo.heic")
    return folder


@pytest.mark.parametrize("name", ["mp4-clip.jpg", "mkv-clip.jpg", "avi-clip.jpg"])
def test_a_video_named_like_an_image_is_a_video_content_record(folder, name):
    assert is_video_content((folder / name).read_bytes())
    got = hash_one(str(folder / name), "dhash", 8)
    assert got.code == FileError.VIDEO_CONTENT and got.size == (folder / name).stat().st_size


@pytest.mark.parametrize(("name", "code"), [("song.jpg", FileError.NOT_AN_IMAGE), ("notes.jpg", FileError.NOT_AN_IMAGE),
                                            ("photo.png", FileError.OK),
                                            ("photo.heic", FileError.NOT_AN_IMAGE)])
def test_audio_text_and_pictures_are_not_taken_for_videos(folder, name, code):
    assert not is_video_content((folder / name).read_bytes())
    assert hash_one(str(folder / name), "dhash", 8).code == code


class _Task:
    """What finish_chunk needs of a bound task: a request id and a backend that keeps what is stored."""

    def __init__(self):
        self.request = type("Request", (), {"id": "chunk-1"})
        self.backend, self.stored = self, {}

    def store_result(self, key, payload, state):
        self.stored[key] = payload


def test_a_chunk_counts_its_videos_beside_its_data_and_not_among_its_errors():
    task = _Task()
    codes = np.array([0, FileError.VIDEO_CONTENT, FileError.CORRUPT, FileError.VIDEO_CONTENT], np.uint8)
    summary = finish_chunk(task, ChunkResult(np.zeros((4, 8), np.uint8), codes, np.ones(4, np.uint32)))
    (payload,) = task.stored.values()
    assert payload["videos"] == 2 and summary["errors"] == 1


def test_the_drained_results_mark_the_chunks_holding_videos_and_the_producer_reads_only_those(tmp_path):
    # Given a job of three chunks whose second holds a file the worker found to be a video
    paths = [f"/photos/{i}.jpg" for i in range(6)]
    job = build_job(paths, "dhash", 8, 2)
    drained = DrainedResults(str(tmp_path / "job.results"), len(job.blobs))
    for chunk in range(3):
        codes = np.array([0, FileError.VIDEO_CONTENT if chunk == 1 else 0], np.uint8)
        payload = ChunkResult(np.zeros((2, 8), np.uint8), codes, np.ones(2, np.uint32)).to_wire()
        if chunk == 1:
            payload["videos"] = 1  # what tasks/chunk.py finish_chunk adds
        drained.add(chunk, payload)
    drained.flush()
    reads = []
    payload = drained.payload
    drained.payload = lambda chunk: reads.append(chunk) or payload(chunk)
    # When the producer looks for videos, Then it finds that file, reading that chunk only
    assert list(content_videos(job, drained)) == ["/photos/3.jpg"] and reads == [1]
    # And a producer that opens the file again (`wait`, `resume`) finds the same mark
    drained.close()
    again = DrainedResults(str(tmp_path / "job.results"), len(job.blobs))
    assert again.video_chunks == {1}
    again.close()


def test_a_grown_job_counts_the_lines_an_earlier_producer_drained_for_its_new_tasks(tmp_path):
    # Given results of a 2-task job and a line for task 2, which an earlier producer added after growing it
    first = DrainedResults(str(tmp_path / "job.results"), 3)
    for chunk in range(3):
        first.add(chunk, {"n": chunk})
    first.close()
    drained = DrainedResults(str(tmp_path / "job.results"), 2)
    assert drained.count == 2 and len(drained) == 2
    # When the job grows by the same task, Then that line counts as drained
    drained.grow(3)
    assert drained.count == 3 and 2 in drained and drained.payload(2) == {"n": 2}
    drained.close()


def test_a_big_file_named_like_an_image_is_asked_first_so_a_film_is_never_read_whole(folder, monkeypatch):
    from tasks.errors import FileUnreadable
    from tasks.inputs import readfile

    monkeypatch.setattr(readfile, "VIDEO_SNIFF_BYTES", 100)  # both files below count as big
    with pytest.raises(FileUnreadable) as raised:
        readfile.read_image_file(str(folder / "mkv-clip.jpg"))
    assert raised.value.code == FileError.VIDEO_CONTENT
    assert hash_one(str(folder / "mp4-clip.jpg"), "dhash", 8).code == FileError.VIDEO_CONTENT
    assert hash_one(str(folder / "photo.png"), "dhash", 8).code == FileError.OK

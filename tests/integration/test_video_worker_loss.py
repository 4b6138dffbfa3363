"""A video that hangs its worker process (here: one that takes longer than the per-file limit) ends that
process through the watchdog; its task is retried, then indexed segment by segment in isolation, so that
video becomes a `timeout` record and the video batched with it is indexed."""

from __future__ import annotations

import os

import pytest

from producer.outputs.videoframes import read_videos
from support.servers import hashfleet
from support.videos import write_video

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Per-file (per-segment) limit for the test worker: the big video needs several times this at 25 fps (4 s of it
#: at 1080p once took under 0.5 s on an idle machine: it is 12 s long).
FILE_TIMEOUT = "0.5"


def test_a_video_slower_than_the_file_timeout_becomes_a_timeout_record_and_its_task_mate_is_indexed(
        tmp_path, worker_env, start_workers):
    # Given a 1080p video sampled at every frame (seconds of work) and a tiny one, batched in one task
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "big.mp4", seconds=12, rate=25, size=(1920, 1080))
    write_video(folder / "tiny.mp4", seconds=1, rate=10)
    workers = start_workers(count=1, concurrency=1, HASHFLEET_FILE_TIMEOUT=FILE_TIMEOUT)
    out = tmp_path / "index.sqlite"
    # When the job runs
    done = hashfleet(["run", str(folder), "-o", str(out), "--video-fps", "25", "--timeout", "120"],
                     env=worker_env, timeout=150)
    # Then it completes: the big video is a timeout record, the tiny one has its ten frames
    assert done.returncode == 0, done.stderr + workers[0].log_tail()
    assert "1 tasks" in done.stderr
    videos = {os.path.basename(v.path): v for v in read_videos(str(out))}
    assert videos["big.mp4"].error == "timeout" and len(videos["big.mp4"].frames) == 0
    assert videos["tiny.mp4"].error == "" and len(videos["tiny.mp4"].frames) == 10
    # the watchdog ended the process once: the attempt after the hang indexes in isolation
    assert workers[0].log_tail(20000).count(f"took over {float(FILE_TIMEOUT):g} s") == 1

"""A video task whose pool process is killed from outside goes on where its stored progress ends: the retried
attempt stores the frames of the segment under way, and the attempt after it samples only the rest, with
the frames a clean pass samples (tasks/video/checkpoint.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from producer.outputs.videoframes import read_videos
from support.servers import REPO, START_TIMEOUT, CeleryWorker, hashfleet
from support.videos import write_video
from tasks.video.segment import index_segment

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Bound on the job (seconds): two deaths, each re-sent at once, and a few seconds of sampling.
FINISH_BOUND = 90


def test_a_video_task_killed_twice_goes_on_after_its_stored_frames_with_the_frames_of_a_clean_pass(
        tmp_path, worker_env):
    # Given a 20 s video, and a worker whose pool process dies in the first attempt after 5 frames and in
    # the retried attempt just after storing frames of the segment under way
    folder = tmp_path / "videos"
    folder.mkdir()
    path = write_video(folder / "film.mp4", seconds=20, rate=10, size=(320, 192))
    marker = tmp_path / "died"
    env = dict(worker_env, PYTHONPATH=os.path.join(REPO, "tests"), HASHFLEET_TEST_DIE_FRAMES="5",
               HASHFLEET_TEST_DIE_MARKER=str(marker))
    worker = CeleryWorker(env, "dying-video@test", 1, str(tmp_path / "worker.log"), env["HASHFLEET_QUEUE"],
                          app="support.dying_video_worker")
    from tasks.app import create_app
    from tasks.settings import Settings

    app = create_app(Settings.from_env(env))
    out = tmp_path / "index.sqlite"
    try:
        worker.wait_ready(app, timeout=START_TIMEOUT * 2)
        # When it is indexed
        done = hashfleet(["run", str(folder), "-o", str(out), "--timeout", str(FINISH_BOUND)], env=worker_env,
                         timeout=FINISH_BOUND + 30)
        log = worker.log_tail(20000)
    finally:
        worker.stop()
        app.close()
    # Then both deaths happened and the third attempt went on inside the segment, not from its start
    assert done.returncode == 0, done.stderr + log
    assert marker.exists() and (tmp_path / "died.2").exists(), log
    assert "0 of 1 segments done, going on with the next at 1 s" in log, log
    # And the video's frames are those of one clean pass
    (video,) = read_videos(str(out))
    clean = index_segment(path, 0.0, None, 1.0)
    assert video.error == "" and len(video.frames) == len(clean.frames) == 20
    for name in ("times", "dhash", "phash", "centre", "quality", "band"):
        assert np.array_equal(getattr(video.frames, name), getattr(clean.frames, name)), name

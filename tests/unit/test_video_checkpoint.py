"""A retried video task keeps its progress (tasks/video/checkpoint.py): the segments indexed and the frames of
the segment under way; the next attempt goes on after the last stored frame, with the frames one pass samples."""

import uuid

import numpy as np
import pytest

from support.videos import write_video
from tasks.checkpoint import STUCK_LIMIT
from tasks.errors import FileError
from tasks.video import checkpoint
from tasks.video.checkpoint import VideoCheckpoint, joined, next_grid_time
from tasks.video.frames import frames_of
from tasks.video.segment import SegmentResult, index_segment


@pytest.fixture
def task():
    """A task id of this test's own (the in-memory cache backend is shared by the whole process)."""
    return f"{uuid.uuid4().hex[:12]}-chunk-3"


def segment(times, code=FileError.OK, lost=0, size=100) -> SegmentResult:
    rows = [(t, i, i + 1, i + 2, 50, False, i + 3) for i, t in enumerate(times)]
    return SegmentResult(code, size, 7, 30.0, 64, 48, 25.0, frames_of(rows), lost)


def test_a_segment_resumed_after_its_last_stored_frame_has_the_frames_of_one_pass(tmp_path):
    # Given a 20 s video whose shots start half a second off the whole seconds, sampled in one pass, and an
    # attempt that stored its frames up to the 8th, then died
    path = write_video(tmp_path / "film.mp4", seconds=20, rate=10, gop=25, shift=0.5)
    whole = index_segment(path, 0.0, None, 1.0)
    assert whole.frames.times[:3].tolist() == [0.0, 0.5, 1.5]
    progress = VideoCheckpoint()

    def stop_at_the_eighth(so_far):
        result = so_far()
        if len(result.frames) == 8:
            progress.keep_partial(result, 1.0)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        index_segment(path, 0.0, None, 1.0, interrupts=(KeyboardInterrupt,), on_progress=stop_at_the_eighth)
    # When the next attempt samples the rest from where the stored frames end
    assert progress.resume_at == 7.5
    rest = index_segment(path, progress.resume_at, None, 1.0, grid_from=progress.resume_at)
    resumed = joined(progress.partial, rest)
    # Then the segment is the one pass's: its record and every frame's time and hashes
    assert len(whole.frames) == 21 and resumed.code == whole.code == FileError.OK
    for name in ("times", "dhash", "phash", "centre", "quality", "band"):
        assert np.array_equal(getattr(resumed.frames, name), getattr(whole.frames, name)), name
    assert (resumed.size, resumed.duration, resumed.width, resumed.height) == (
        whole.size, whole.duration, whole.width, whole.height)


def test_the_next_grid_time_is_one_step_after_the_last_frame_sampled():
    assert next_grid_time(3.0, 1.0) == 4.0
    assert next_grid_time(3.5, 1.0) == 4.5  # a grid a cut started again
    assert next_grid_time(2.5, 2.0) == 3.0
    assert next_grid_time(120.0, 0.1) == 130.0


def test_frames_lost_before_or_after_the_resume_make_the_segment_damaged():
    assert joined(segment([0, 1], lost=2), segment([2, 3])).code == FileError.DAMAGED_VIDEO
    assert joined(segment([0, 1]), segment([2, 3])).code == FileError.OK
    assert joined(segment([0, 1]), segment([2], FileError.TRUNCATED_VIDEO)).code == FileError.TRUNCATED_VIDEO


def test_a_rest_that_cannot_be_read_keeps_the_earlier_frames_with_its_error():
    gone = SegmentResult(FileError.NOT_FOUND)
    both = joined(segment([0, 1, 2]), gone)
    assert both.code == FileError.NOT_FOUND
    assert both.frames.times.tolist() == [0, 1, 2] and (both.size, both.width) == (100, 64)


def test_the_progress_round_trips_through_the_backend_with_its_partial_segment(backend, task):
    # Given an attempt that indexed one segment and sampled three frames of the next, then died
    progress = checkpoint.begin(backend, task, 3)
    progress.finish(segment([0, 1]))
    progress.keep_partial(segment([10, 11, 12]), 1.0)
    progress.attempts = 0
    checkpoint.save(backend, task, progress)
    # When the next attempt begins
    again = checkpoint.begin(backend, task, 3)
    # Then it skips the first segment and goes on inside the second at 13 s
    assert (len(again.done), again.resume_at, again.attempts) == (1, 13.0, 1)
    assert again.done[0].frames.times.tolist() == [0, 1]
    assert again.partial.frames.times.tolist() == [10, 11, 12]


def test_a_segment_at_which_every_attempt_dies_is_passed_over_as_worker_crashed_with_its_stored_frames(
        backend, task):
    # Given attempts that all die in the first segment after its first two frames were stored
    progress = checkpoint.begin(backend, task, 2)
    progress.keep_partial(segment([0, 1]), 1.0)
    checkpoint.save(backend, task, progress)
    for _ in range(STUCK_LIMIT - 1):
        assert not checkpoint.begin(backend, task, 2).done
    # When one more begins, Then the segment is recorded as worker-crashed with those frames, and it goes on
    again = checkpoint.begin(backend, task, 2)
    assert [r.code for r in again.done] == [FileError.WORKER_CRASHED]
    assert again.done[0].frames.times.tolist() == [0, 1]
    assert (again.partial, again.resume_at, again.attempts) == (None, None, 1)

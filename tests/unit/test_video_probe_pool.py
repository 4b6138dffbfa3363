"""The producer probes videos in child processes under a time limit (producer/video/probepool.py): a probe that
hangs or crashes its process only leaves that video unplanned (one task, whole): the producer and the other
videos' probes go on."""

from __future__ import annotations

import os
import time

import pytest

from producer.video import probepool
from producer.video.plan import plan_videos
from producer.video.probe import UNKNOWN, VideoCost, probe_cost
from producer.video.probepool import ProbePool
from support.videos import write_video

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Seconds a probe may take in these tests: the fixture videos take ~20 ms.
LIMIT = 1.0
#: Seconds for the pool's children to start (an interpreter and PyAV each) on a busy machine.
STARTUP = 15.0


@pytest.fixture
def hostile(monkeypatch):
    """Probe children that hang or crash on files so named (tests/support/hostile_probe.py)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (TESTS, os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setattr(probepool, "CHILD_MODULE", "support.hostile_probe")


@pytest.fixture
def clips(tmp_path):
    """Two videos of different lengths: (path, cost) each."""
    made = [write_video(tmp_path / "short.mp4", seconds=2), write_video(tmp_path / "long.mkv", seconds=5)]
    return [(path, probe_cost(path)) for path in made]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_children_give_the_same_costs_as_probing_here_in_the_order_asked(clips, tmp_path, monkeypatch):
    # Given more paths than the window the pool hands out ahead, some not videos at all
    monkeypatch.setattr(probepool, "PROBE_WINDOW", 2)
    (tmp_path / "notes.mp4").write_text("not a video\n")
    paths = [clips[0][0], str(tmp_path / "missing.mp4"), clips[1][0], str(tmp_path / "notes.mp4")] * 3
    # When three children probe them
    with ProbePool(limit=30, processes=3) as pool:
        got = list(pool.costs(paths))
    # Then each has the cost probing in this process gives, in order, and no child was lost
    assert got == [clips[0][1], UNKNOWN, clips[1][1], UNKNOWN] * 3
    assert pool.lost == 0


def test_a_video_whose_probe_hangs_gets_the_unknown_cost_at_the_limit_and_the_others_are_probed(
        hostile, clips, tmp_path, capsys):
    # Given a video whose probe never ends, between two ordinary ones
    hang = write_video(tmp_path / "hang.mp4", seconds=2)
    started = time.monotonic()
    # When two children probe them, a second each at most
    with ProbePool(limit=LIMIT, processes=2) as pool:
        got = list(pool.costs([clips[0][0], hang, clips[1][0], clips[0][0]]))
    # Then the hung one has the unknown cost, within its limit, and its child was replaced
    assert got == [clips[0][1], UNKNOWN, clips[1][1], clips[0][1]]
    assert time.monotonic() - started < LIMIT + STARTUP
    assert pool.lost == 1
    assert f"{hang!r}: probing it took over 1 s" in capsys.readouterr().err


def test_a_probe_child_that_crashes_gives_the_unknown_cost_and_a_new_child_probes_the_rest(
        hostile, clips, tmp_path, capsys):
    # Given videos that crash their probe's process, first and among the others
    crash = write_video(tmp_path / "crash.mp4", seconds=2)
    # When a single child probes them
    with ProbePool(limit=30, processes=1) as pool:
        got = list(pool.costs([crash, clips[0][0], crash, crash, clips[1][0]]))
    # Then each crash costs its own video only
    assert got == [UNKNOWN, clips[0][1], UNKNOWN, UNKNOWN, clips[1][1]]
    assert pool.lost == 3 and pool.started == 4
    assert capsys.readouterr().err.count(f"{crash!r}: its probe's process died") == 3


def test_a_hung_probe_leaves_that_video_one_task_and_the_others_planned_as_usual(hostile, clips, tmp_path):
    # Given a video long enough to be cut into segments, and one whose probe hangs
    hang = write_video(tmp_path / "hang-long.mkv", seconds=5)
    plan = plan_videos([clips[1][0], hang], fps=1.0, segment_s=0.003, probe_timeout=LIMIT)
    # Then the probed video is cut into segments and the hung one is a task of its own, whole
    assert plan.tasks[-1] == [(1, 0.0, None)]
    assert len(plan.tasks) > 2 and all(segment[0] == 0 for task in plan.tasks[:-1] for segment in task)


def test_closing_the_pool_ends_its_children_even_those_still_probing(hostile, clips, tmp_path):
    # Given a pool whose reader stops after the first cost, while another child is stuck in a probe
    hang = write_video(tmp_path / "hang.mp4", seconds=2)
    pool = ProbePool(limit=60, processes=2)
    costs = pool.costs([clips[0][0], hang])
    assert next(costs) == clips[0][1]
    pids = [child.proc.pid for child in pool._idle + pool._busy]
    assert pool._busy  # the hung probe's child (the first one, or a second started while it probed)
    # When it is closed
    pool.close()
    # Then no child is left
    assert not any(_alive(pid) for pid in pids)


def test_a_child_reads_the_allowed_roots_and_refuses_paths_outside_them(clips, tmp_path):
    outside = write_video(tmp_path.parent / f"{tmp_path.name}-outside.mp4", seconds=2)
    with ProbePool((str(tmp_path),), limit=30, processes=1) as pool:
        assert list(pool.costs([clips[0][0], outside])) == [clips[0][1], UNKNOWN]


def test_no_child_is_started_without_videos():
    pool = ProbePool(limit=30)
    assert list(pool.costs([])) == [] and pool._idle == []
    assert VideoCost(0.0, 0.0) == UNKNOWN


def test_a_child_that_never_gets_ready_is_killed_after_the_start_timeout(hostile, clips, monkeypatch):
    monkeypatch.setattr(probepool, "START_TIMEOUT", 1.0)
    with ProbePool(limit=30, processes=1, child_module="support.stalled_probe") as pool:
        assert list(pool.costs([clips[0][0]])) == [UNKNOWN]
    assert pool.lost == 1


def test_a_few_videos_are_probed_by_a_child_or_two_since_children_start_one_at_a_time(clips):
    with ProbePool(limit=30, processes=8) as pool:
        assert list(pool.costs([path for path, _ in clips] * 2)) == [cost for _, cost in clips] * 2
    assert 1 <= pool.started <= 2


def test_a_child_stuck_in_a_probe_dies_with_the_producer(hostile, tmp_path):
    # Given a producer killed while its child is stuck probing a video
    import subprocess
    import sys

    from support.servers import wait_until

    hang = write_video(tmp_path / "hang.mp4", seconds=2)
    script = """if True:
        import os, sys, threading, time
        from producer.video import probepool
        probepool.CHILD_MODULE = "support.hostile_probe"
        pool = probepool.ProbePool(limit=600)
        threading.Thread(target=list, args=(pool.costs([sys.argv[1]]),), daemon=True).start()
        deadline = time.monotonic() + 30
        while not (pool._busy and pool._busy[0].ready) and time.monotonic() < deadline:
            time.sleep(0.05)
        print(pool._busy[0].proc.pid, flush=True)
        os.kill(os.getpid(), 9)"""
    done = subprocess.run([sys.executable, "-c", script, hang], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True, timeout=60)
    child = int(done.stdout)
    # Then the child is gone too
    try:
        wait_until(lambda: not _alive(child) or _zombie(child), timeout=10, what="the probe child's death")
    finally:
        if _alive(child):
            os.kill(child, 9)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True

"""The lock that keeps a submitted job fed by one process at a time (producer/feeder.py)."""

import os
import subprocess
import sys

from producer.feeder import FeedLock


def test_one_holder_at_a_time_and_its_pid_is_known_until_it_lets_go(tmp_path):
    path = str(tmp_path / "job.feeder")
    first, second = FeedLock(path), FeedLock(path)
    assert first.holder() is None and first.acquire()
    assert not second.acquire() and second.holder() == os.getpid()
    first.release()
    assert second.holder() is None and second.acquire()
    second.release()


def test_a_dead_holder_leaves_the_lock_free(tmp_path):
    path = str(tmp_path / "job.feeder")
    code = f"from producer.feeder import FeedLock; assert FeedLock({path!r}).acquire(); import os; os._exit(0)"
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, PYTHONPATH=os.getcwd()))
    lock = FeedLock(path)
    assert lock.holder() is None and lock.acquire()
    lock.release()

"""The 10-million-file benchmark's small version: a made-up job through the real producer, a real
redis-server and real prefork workers (tasks that skip decoding), with the chunk list spooled to disk, the
chord published one chunk at a time, the merge grouping on disk and the groups written from a scratch
table; its outputs checked path by path (`bench.synthetic --check`)."""

import subprocess
import sys

import pytest

from support.servers import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Files in the job: 118 chunks of 256, 599 exact-duplicate groups.
FILES = 30_000


def test_a_made_up_job_writes_every_path_once_with_its_hash_and_every_duplicate_group():
    done = subprocess.run([sys.executable, "-m", "bench.synthetic", "--files", str(FILES), "--check"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"write {FILES} csv rows" in done.stdout
    assert "check: every path once with its hash, groups right" in done.stdout

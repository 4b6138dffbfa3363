"""The soak in small (bench/soak.py runs it on 200,000 files): a job of generated images while a pool process
is SIGKILLed every second and Redis (AOF, appendfsync everysec) crashes and restarts once. Every file must
be in the output exactly once, hashed as the pure function hashes it. See docs/reliability.md."""

from __future__ import annotations

import pytest

from support.soak import hashes_of, output_problems, run_job
from support.soak_faults import FaultPlan
from support.soak_images import write_images
from tasks.batch import hash_one
from tasks.image.algos import DEFAULT_ALGOS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Files, in chunks of CHUNK_SIZE: enough chunks that the job outlasts several kills.
FILES = 2000
CHUNK_SIZE = 10
#: Seconds a delivered chunk may stay unacknowledged (a chunk held across the crash comes back after it,
#: plus a sweep of at most 1 s); a chunk of ten files takes well under a second, even in isolation.
VISIBILITY_TIMEOUT = 5
#: Producer's --timeout: far above the job (~10-30 s here), under pytest's own limit.
JOB_TIMEOUT = 200


def test_a_job_under_repeated_worker_kills_and_a_redis_crash_writes_every_file_once_hashed_right(tmp_path):
    # Given 2000 generated JPEGs and PNGs (one in twenty a byte copy of another)
    files = write_images(str(tmp_path / "images"), FILES, seed=7, processes=2)
    # When they are hashed by two prefork processes, one of them SIGKILLed every second, and Redis is
    # SIGKILLed once 40 % of the files are done and started again 1 s later on its AOF (the worker is
    # supervised as systemd or a container runtime would: started again should its main process exit)
    plan = FaultPlan(kill_every=1.0, restart_at=0.4, redis_down=1.0, redis_stop="kill", seed=7)
    run = run_job(str(tmp_path / "images"), str(tmp_path / "run"), plan, workers=2, chunk_size=CHUNK_SIZE,
                  visibility_timeout=VISIBILITY_TIMEOUT, timeout=JOB_TIMEOUT)
    print(f"\nsoak: {run.seconds:.1f} s, {len(run.faults.kills)} kills, {run.stats.redeliveries} redeliveries, "
          f"Redis down {run.faults.redis_downtime:.1f} s at {run.faults.done_at_stop}/{FILES} files, "
          f"{run.worker_restarts} worker restarts")
    # Then the faults really happened mid-job: pool processes died (whether a kill lands on a busy process
    # or between two chunks is chance: the count of chunks it cost is printed, not asserted), Redis went
    # down part-way
    assert run.stats.processes_lost >= 1 and run.faults.redis_stopped is not None
    assert 0 < run.faults.done_at_stop < FILES
    # And the output holds every file exactly once, without error records, each hashed as in-process
    assert output_problems(run.rows, files) == []
    wrong = [row["path"] for row in run.rows if hash_one(row["path"], DEFAULT_ALGOS, 8).packed.hex()
             != hashes_of(row)]
    assert wrong == []
    # And the exact-duplicate groups hold the copies, and no chunk failed
    assert len(run.groups) >= FILES // 40
    assert run.stats.failed == 0

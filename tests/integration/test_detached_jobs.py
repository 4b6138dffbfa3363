"""Detached jobs and incremental runs: submit/status/wait, a killed producer, resume, --index."""

import csv
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from producer.feeder import FeedLock
from support.servers import REPO, hashfleet

pytestmark = pytest.mark.integration


def read_rows(path) -> dict[str, dict]:
    with open(path, newline="") as handle:
        return {r["path"]: r for r in csv.DictReader(handle)}


@pytest.fixture
def job_env(worker_env, tmp_path):
    return dict(worker_env, HASHFLEET_JOBS_DIR=str(tmp_path / "jobs"), HASHFLEET_PROGRESS_INTERVAL="0.1")


@pytest.fixture
def shared_job_env(shared_env, tmp_path):
    """`job_env` for the session's shared worker."""
    return dict(shared_env, HASHFLEET_JOBS_DIR=str(tmp_path / "jobs"), HASHFLEET_PROGRESS_INTERVAL="0.1")


def test_submit_returns_a_job_id_that_status_and_wait_pick_up(tmp_path, images, job_env, start_workers):
    # Given a job submitted before any worker runs
    submitted = hashfleet(["submit", str(images), "--chunk-size", "2"], env=job_env, timeout=60)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{12}", job_id)
    pending = hashfleet(["status", job_id], env=job_env, timeout=60)
    assert pending.returncode == 0 and "0/5 chunks" in pending.stdout and "running" in pending.stdout
    # When a worker starts and we wait for the job
    start_workers(count=1, concurrency=2)
    waited = hashfleet(["wait", job_id, "-o", str(tmp_path / "out.csv"), "--timeout", "60"], env=job_env,
                       timeout=90)
    # Then every file is in the output and status says complete
    assert waited.returncode == 0, waited.stderr
    assert sorted(read_rows(tmp_path / "out.csv")) == sorted(str(images / n) for n in os.listdir(images))
    done = hashfleet(["status", job_id], env=job_env, timeout=60)
    assert "5/5 chunks, 9/9 files hashed; complete" in done.stdout


def test_a_submitted_job_runs_to_its_end_in_the_background_and_wait_then_only_merges_and_writes(
        tmp_path, images, job_env, start_workers):
    # Given workers and a job of 9 photos, one per chunk, submitted with a window of 2 (so it needs feeding)
    from tasks.batch import hash_one
    from tasks.image.algos import DEFAULT_ALGOS

    env = dict(job_env, HASHFLEET_WINDOW="2")
    (worker,) = start_workers(count=1, concurrency=2)
    submitted = hashfleet(["submit", str(images), "--chunk-size", "1"], env=env, timeout=60)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    # When nobody waits for it: the feeder submit started goes on alone
    deadline = time.monotonic() + 120
    while "complete" not in (status := hashfleet(["status", job_id], env=env, timeout=60)).stdout:
        assert time.monotonic() < deadline and "nobody feeds it" not in status.stdout, status.stdout
        time.sleep(0.5)
    # Then the job is complete, the feeder is gone and said so in its log
    assert "9/9 chunks, 9/9 files hashed; complete" in status.stdout
    jobs = tmp_path / "jobs"
    log = (jobs / f"{job_id}.log").read_text()
    wait_for_feeder = time.monotonic() + 30
    while FeedLock(str(jobs / f"{job_id}.feeder")).holder() is not None:
        assert time.monotonic() < wait_for_feeder, "the feeder did not exit"
        time.sleep(0.1)
    assert "every chunk is in" in (jobs / f"{job_id}.log").read_text(), log
    hashed = worker.tasks_succeeded(at_least=9)
    # And `wait` hashes nothing more: it merges the drained results and writes them, every file exactly
    waited = hashfleet(["wait", job_id, "-o", str(tmp_path / "out.csv"), "--timeout", "60"], env=env, timeout=90)
    assert waited.returncode == 0, waited.stderr
    assert worker.tasks_succeeded() == hashed == 9
    rows = read_rows(tmp_path / "out.csv")
    assert sorted(rows) == sorted(str(images / n) for n in os.listdir(images))
    for path, row in rows.items():
        got = hash_one(path, DEFAULT_ALGOS, 8)
        assert (row["hash"], row["phash"], row["error"]) == (got.packed[:8].hex(), got.packed[8:16].hex(), "")


def test_wait_takes_over_a_job_whose_feeder_died(tmp_path, images, job_env, start_workers):
    # Given a job submitted before any worker runs, its feeder killed
    env = dict(job_env, HASHFLEET_WINDOW="2")
    submitted = hashfleet(["submit", str(images), "--chunk-size", "1"], env=env, timeout=60)
    job_id = submitted.stdout.strip()
    lock = FeedLock(str(tmp_path / "jobs" / f"{job_id}.feeder"))
    deadline = time.monotonic() + 30
    while (feeder := lock.holder()) is None:
        assert time.monotonic() < deadline, "no feeder started"
        time.sleep(0.05)
    os.kill(feeder, signal.SIGKILL)
    while lock.holder() is not None:
        time.sleep(0.05)
    assert "nobody feeds it" in hashfleet(["status", job_id], env=env, timeout=60).stdout
    # When workers start and `wait` is run
    start_workers(count=1, concurrency=2)
    waited = hashfleet(["wait", job_id, "-o", str(tmp_path / "out.csv"), "--timeout", "60"], env=env, timeout=90)
    # Then it feeds the job itself to the end
    assert waited.returncode == 0, waited.stderr
    assert "fed in the background" not in waited.stderr
    assert sorted(read_rows(tmp_path / "out.csv")) == sorted(str(images / n) for n in os.listdir(images))


def test_killing_the_producer_loses_no_work_and_wait_finishes_the_job(tmp_path, images, shared_job_env):
    job_env = shared_job_env
    for i in range(150):
        os.link(images / "home.jpg", images / f"h{i:03d}.jpg")
    # Given a cluster run whose producer is killed once hashing is under way
    proc = subprocess.Popen([sys.executable, "-m", "producer", "run", str(images), "-o", str(tmp_path / "a.csv"),
                             "--chunk-size", "3"], env=job_env, cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        job_id = re.search(r"job ([0-9a-f]{12})", proc.stderr.readline()).group(1)
        assert "hashed" in proc.stderr.readline()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert not (tmp_path / "a.csv").exists()
    # When `wait` picks the job up from another process
    waited = hashfleet(["wait", job_id, "-o", str(tmp_path / "b.csv"), "--timeout", "120"], env=job_env,
                       timeout=150)
    # Then the job completes with every file exactly once
    assert waited.returncode == 0, waited.stderr
    rows = read_rows(tmp_path / "b.csv")
    assert sorted(rows) == sorted(str(images / n) for n in os.listdir(images))
    assert all(r["error"] == "" for r in rows.values())


def test_resume_enqueues_only_the_chunks_without_a_drained_result(tmp_path, images, shared_job_env, shared_worker):
    # Given a finished job whose drained results for two chunks were lost
    job_env, workers = shared_job_env, [shared_worker]
    earlier = shared_worker.tasks_succeeded()
    submitted = hashfleet(["submit", str(images), "--chunk-size", "2"], env=job_env, timeout=60)
    job_id = submitted.stdout.strip()
    assert hashfleet(["wait", job_id, "-o", str(tmp_path / "first.csv")], env=job_env, timeout=90).returncode == 0
    before = workers[0].tasks_succeeded(at_least=earlier + 5)
    results = os.path.join(job_env["HASHFLEET_JOBS_DIR"], f"{job_id}.results")
    with open(results, "rb") as handle:
        lines = handle.readlines()
    with open(results, "wb") as handle:
        handle.writelines(line for line in lines if line.split(b" ")[0] not in (b"1", b"3"))
    # When the job is resumed
    resumed = hashfleet(["resume", job_id, "-o", str(tmp_path / "second.csv"), "--timeout", "60"], env=job_env,
                        timeout=90)
    # Then exactly the two lost chunks ran again and the output is the same
    assert resumed.returncode == 0, resumed.stderr
    assert "re-enqueued 2 of 5 chunks" in resumed.stderr
    assert workers[0].tasks_succeeded(at_least=before + 2) - before == 2
    first, second = read_rows(tmp_path / "first.csv"), read_rows(tmp_path / "second.csv")
    assert {p: r["hash"] for p, r in first.items()} == {p: r["hash"] for p, r in second.items()}


def test_wait_sends_a_video_named_like_an_image_to_a_video_task_and_resume_finds_it_drained(
        tmp_path, images, shared_job_env):
    from support.videos import write_video

    # Given a submitted job whose folder holds a video named like an image
    os.rename(write_video(images / "clip.mp4", seconds=3), images / "clip.jpg")
    submitted = hashfleet(["submit", str(images), "--chunk-size", "4"], env=shared_job_env, timeout=60)
    job_id = submitted.stdout.strip()
    # When it is waited for, Then the video is indexed as one, found by its content
    waited = hashfleet(["wait", job_id, "-o", str(tmp_path / "first.csv"), "--timeout", "60"], env=shared_job_env,
                       timeout=90)
    assert waited.returncode == 0, waited.stderr  # (the submit's feeder or the wait sent it: whichever came first)
    first = read_rows(tmp_path / "first.csv")
    assert first[str(images / "clip.jpg")]["kind"] == "video" and first[str(images / "clip.jpg")]["error"] == ""
    # And `status` counts the video task the wait added, done
    status = hashfleet(["status", job_id], env=shared_job_env, timeout=30)
    assert "1/1 video tasks, 1/1 videos hashed; complete" in status.stdout, status.stdout + status.stderr
    # And a resume of the finished job knows the video task, finds its result drained and sends nothing again
    resumed = hashfleet(["resume", job_id, "-o", str(tmp_path / "second.csv"), "--timeout", "60"],
                        env=shared_job_env, timeout=90)
    assert resumed.returncode == 0, resumed.stderr
    assert re.findall(r"re-enqueued (\d+) of", resumed.stderr) == ["0"]
    assert "named like images are videos" not in resumed.stderr
    assert read_rows(tmp_path / "second.csv") == first


@pytest.mark.parametrize("index_ext", [".sqlite", ".csv"])
def test_an_incremental_run_hashes_only_new_or_changed_files(tmp_path, images, shared_env, shared_worker,
                                                             index_ext):
    worker_env, workers = shared_env, [shared_worker]
    before = shared_worker.tasks_succeeded()
    old = tmp_path / f"old{index_ext}"
    assert hashfleet(["run", str(images), "-o", str(old), "--chunk-size", "1"], env=worker_env,
                     timeout=90).returncode == 0
    first = workers[0].tasks_succeeded(at_least=before + 9)
    assert first - before == 9
    # Given one file changed, one added, one deleted
    os.utime(images / "home.jpg", (1_600_000_000, 1_600_000_000))
    os.link(images / "orange.jpg", images / "new.jpg")
    os.unlink(images / "aero3.jpg")
    new = tmp_path / "new.csv"
    # When the run is repeated with the old output as index
    done = hashfleet(["run", str(images), "-o", str(new), "--chunk-size", "1", "--index", str(old)],
                     env=worker_env, timeout=90)
    # Then only the changed and the new file were hashed, and the output is complete and right
    assert done.returncode == 0, done.stderr
    assert workers[0].tasks_succeeded(at_least=first + 2) - first == 2
    rows = read_rows(new)
    assert sorted(rows) == sorted(str(images / n) for n in os.listdir(images))
    assert rows[str(images / "new.jpg")]["hash"] == rows[str(images / "orange.jpg")]["hash"] != ""
    assert "7 unchanged" in done.stderr


def test_jobs_lists_finished_and_unfinished_jobs_and_prune_removes_only_the_finished(tmp_path, images,
                                                                                   shared_job_env):
    # Given a job waited for to the end, and one submitted to a queue no worker reads (so it never finishes)
    job_env = shared_job_env
    done_id = hashfleet(["submit", str(images)], env=job_env, timeout=60).stdout.strip()
    assert hashfleet(["wait", done_id, "-o", str(tmp_path / "out.csv"), "--timeout", "60"], env=job_env,
                     timeout=90).returncode == 0
    unread = dict(job_env, HASHFLEET_QUEUE=job_env["HASHFLEET_QUEUE"] + "-unread")
    open_id = hashfleet(["submit", str(images), "--no-feed"], env=unread, timeout=60).stdout.strip()
    # When the jobs are listed
    listed = hashfleet(["jobs"], env=job_env, timeout=60)
    # Then both are, the first as finished and the second as not
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "finished 0.0 days ago" in lines[done_id] and "9 files" in lines[done_id]
    assert "not finished" in lines[open_id]
    # When finished jobs are pruned with a keep time of (nearly) nothing
    pruned = hashfleet(["jobs", "--prune", "--older-than", "0.000001"], env=job_env, timeout=60)
    # Then only the finished job's files are gone, and the other can still be asked about
    assert pruned.returncode == 0 and "removed 1 jobs" in pruned.stderr, pruned.stderr
    kinds = ("json", "chunks", "reused", "results", "sent")
    assert sorted(os.listdir(tmp_path / "jobs")) == sorted(f"{open_id}.{kind}" for kind in kinds)
    status = hashfleet(["status", open_id], env=unread, timeout=60)
    assert status.returncode == 0 and "0/" in status.stdout and "running" in status.stdout, status.stdout

"""Host loss on a real network: Redis, two worker hosts and the producer each in a network namespace.

A worker host that dies (or is cut off) while it holds a chunk must cost the job one visibility timeout,
never a file: the chunk stays in Redis as unacknowledged and a surviving worker restores and hashes it.
See docs/reliability.md for the rule (the visibility timeout must exceed the longest chunk) and timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest

from support.netns import (
    Background,
    assert_exact_output,
    chunk_ids,
    in_flight,
    netns_unavailable_reason,
    network_lab,
    read_log,
    replicate_images,
    spawn_logged,
    wait_for_log,
)
from support.servers import REPO, clean_env
from tasks.app import unacked_sweep_interval
from worker.redis_server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Seconds a delivered chunk may stay unacknowledged before Redis gives it to another worker: short, since
#: a chunk here takes milliseconds and what is tested is that the timeout brings it back, not its length.
VISIBILITY_TIMEOUT = 4
#: Seconds between a worker's sweeps for expired unacknowledged messages (kombu's unacked_restore_interval,
#: as tasks/app.py sets it from the visibility timeout).
RESTORE_SWEEP = unacked_sweep_interval(VISIBILITY_TIMEOUT)
#: Room for start-up, the rest of the job and a noisy machine (other jobs run on CI hosts too).
SLACK = 25
#: A lost chunk's job must end at most this long after the loss.
COMPLETION_BOUND = VISIBILITY_TIMEOUT + RESTORE_SWEEP + SLACK
#: Seconds for redis-server and a worker to come up, and for the job's first progress line.
START_TIMEOUT = 60
#: Seconds a healed host gets to deliver its late chunk: under 1 s measured, but TCP's retransmission
#: back-off may make it wait up to about as long as the partition lasted.
HEAL_BOUND = 60
#: Seconds a worker's log may lag the result it stored (its main process logs after the pool process stores).
LOG_BOUND = 10
#: Enough chunks that the job is still running when a host is frozen (a chunk of 5 takes ~4 ms).
FILES = 1200
CHUNK_SIZE = 5


def job_with_host_b_frozen_holding_a_chunk(cluster, tmp_path):
    """FILES photos, a job over them in chunks of CHUNK_SIZE and, once progress shows, host B frozen at a
    moment it holds a chunk: (input paths, output path, the running job, the chunk B holds)."""
    inputs = replicate_images(str(tmp_path / "images"), FILES)
    out = tmp_path / "out.csv"
    job = cluster.run_producer(tmp_path / "images", out)
    job.wait_for_line(r"^hashed \d+/\d+ images", START_TIMEOUT)
    return inputs, out, job, cluster.freeze_holding_a_chunk("b")

def test_a_worker_host_lost_mid_job_costs_one_visibility_timeout_and_no_file(
        cluster, tmp_path, record_property):
    # Given Redis, two single-process worker hosts and a producer host on one switch, and 1200 photos
    # When a job runs in chunks of 5 and, once progress shows, host B dies holding a chunk: it hangs,
    # its cable is pulled and every process on it is killed (Redis never sees a connection close)
    inputs, out, job, lost = job_with_host_b_frozen_holding_a_chunk(cluster, tmp_path)
    cluster.lab.unplug(cluster.hosts["b"])
    cluster.hosts["b"].kill_all()
    cut = time.monotonic()
    # Then the job completes within the visibility timeout plus one restore sweep (and slack)
    code = job.wait(COMPLETION_BOUND)
    took = time.monotonic() - cut
    record_property("seconds_from_host_loss_to_job_done", round(took, 1))
    print(f"\nhost loss: job done {took:.1f} s after host B died holding {sorted(lost)}")
    assert code is not None, cluster.not_redelivered(lost, COMPLETION_BOUND)
    assert code == 0, job.stderr
    # And every file is in the output exactly once, hashed
    assert_exact_output(str(out), inputs)
    # And the chunk B held (nothing of it stored) was redelivered to A and hashed there (A's main process
    # logs the success after the pool process stored the result the producer may already have drained)
    for chunk in lost:
        wait_for_log(cluster.logs["a"], rf"hash_chunk\[{chunk}\] succeeded", LOG_BOUND, cluster.procs["a"])
    # And nothing of host B is left running
    assert cluster.hosts["b"].pids() == []


def test_a_partitioned_worker_host_that_comes_back_late_hashes_its_chunk_twice_harmlessly(
        cluster, tmp_path, record_property):
    # Given the same network, and 1200 photos
    # When host B is cut off the switch while it holds a chunk; its processes go on
    inputs, out, job, held = job_with_host_b_frozen_holding_a_chunk(cluster, tmp_path)
    cluster.lab.partition(cluster.hosts["b"])
    cluster.hosts["b"].thaw()
    cut = time.monotonic()
    # Then the job completes without B, exactly, within the same bound as a dead host
    code = job.wait(COMPLETION_BOUND)
    took = time.monotonic() - cut
    record_property("seconds_from_partition_to_job_done", round(took, 1))
    assert code is not None, cluster.not_redelivered(held, COMPLETION_BOUND)
    assert code == 0, job.stderr
    rows = assert_exact_output(str(out), inputs)
    for chunk in held:
        wait_for_log(cluster.logs["a"], rf"hash_chunk\[{chunk}\] succeeded", LOG_BOUND, cluster.procs["a"])
    assert not held & set(chunk_ids(cluster.logs["b"], "succeeded")), "B finished while partitioned"
    (chunk,) = held
    # (the producer drained the chunk's result and data out of Redis as the job went on)
    assert cluster.backend_meta(f"{chunk}-data") is None
    # When the partition heals, with B still holding the chunk it finished meanwhile
    cluster.lab.heal(cluster.hosts["b"])
    healed = time.monotonic()
    # Then B delivers that chunk late: a second run of it
    wait_for_log(cluster.logs["b"], rf"hash_chunk\[{chunk}\] succeeded", HEAL_BOUND, cluster.procs["b"])
    late = time.monotonic() - healed
    record_property("seconds_from_heal_to_late_duplicate", round(late, 1))
    # And it changes nothing: the output was written already, and what B stores late (left in Redis until
    # it expires) holds the very hashes the output has; nothing is left queued or unacknowledged to run again
    print(f"\npartition: job done {took:.1f} s after host B was cut off holding {chunk}; B finished it "
          f"again {late:.1f} s after the heal")
    index = int(chunk.rsplit("-", 1)[1])
    stored = cluster.backend_meta(f"{chunk}-data")["hashes"]
    written = rows[index * CHUNK_SIZE:(index + 1) * CHUNK_SIZE]
    assert stored == [r["hash"] + r["phash"] + r["phash_centre"] + r["phash_regions"] for r in written]
    cluster.wait_until_idle(timeout=15)


class LabCluster:
    """Redis (10.77.0.1), worker hosts a and b (one prefork process each) and a producer host."""

    def __init__(self, lab, tmp_path):
        self.lab = lab
        self.tmp_path = tmp_path
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, str] = {}
        self.jobs: list[Background] = []
        self.redis_host = lab.add_host("redis", 1)
        self.hosts = {"a": lab.add_host("hosta", 11), "b": lab.add_host("hostb", 12)}
        self.client = lab.add_host("producer", 20)
        # Any port is free in the redis host's fresh namespace; free_port() keeps the usual convention.
        self.port = free_port()
        self.url = f"redis://{self.redis_host.address}:{self.port}/0"
        self.queue = f"test-{uuid.uuid4().hex[:8]}"
        self.env = clean_env(HASHFLEET_BROKER_URL=self.url, HASHFLEET_QUEUE=self.queue,
                             HASHFLEET_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
                             HASHFLEET_PROGRESS_INTERVAL="0.2", HASHFLEET_CONNECT_TIMEOUT="3",
                             HASHFLEET_JOBS_DIR=str(tmp_path / "jobs"))

    def start(self) -> None:
        redis_dir = self.tmp_path / "redis"
        redis_dir.mkdir()
        self._spawn("redis", self.redis_host, [
            "redis-server", "--port", str(self.port), "--bind", self.redis_host.address,
            "--protected-mode", "no", "--save", "", "--appendonly", "no", "--dir", str(redis_dir),
            "--daemonize", "no"])
        wait_for_log(self.logs["redis"], "Ready to accept connections", START_TIMEOUT, self.procs["redis"])
        # every command Redis runs, in order: what a frozen host wrote before it froze (the producer deletes
        # a chunk's data and result as soon as it has read them)
        self._spawn("monitor", self.redis_host, ["redis-cli", "-h", self.redis_host.address, "-p", str(self.port),
                                                 "MONITOR"])
        for name, host in self.hosts.items():
            self._spawn(name, host, [
                sys.executable, "-m", "celery", "-A", "tasks", "worker", "--pool", "prefork",
                "--concurrency", "1", "--hostname", f"{name}@{host.role}", "--queues", self.queue,
                "--without-gossip", "--without-mingle", "--loglevel", "INFO"])
        # "ready" comes after the worker connected to Redis: through the switch, so the network works
        for name in self.hosts:
            wait_for_log(self.logs[name], r"@\S+ ready\.", START_TIMEOUT, self.procs[name])

    def _spawn(self, name, host, argv) -> None:
        self.logs[name] = str(self.tmp_path / f"{name}.log")
        self.procs[name] = spawn_logged(host.argv(argv), self.env, self.logs[name], cwd=REPO)

    def run_producer(self, folder, out) -> Background:
        """`hashfleet run` on the producer host (only enqueues: --broker), in the background."""
        job = Background(self.client.argv([
            sys.executable, "-m", "producer", "run", str(folder), "-o", str(out), "--broker", self.url,
            "--chunk-size", str(CHUNK_SIZE), "--timeout", "110"]), self.env, cwd=REPO)
        self.jobs.append(job)
        return job

    def freeze_holding_a_chunk(self, name: str, timeout: float = 30) -> set[str]:
        """Freeze a worker host at a moment it holds a chunk; return that chunk's id (in a set).

        Holding one is what makes the loss real. It is also the safe moment: with one process and a
        prefetch of one, the worker sends no BRPOP while it holds a chunk, so no message can be popped
        from the queue and die on the host before kombu recorded it as unacknowledged."""
        host, log = self.hosts[name], self.logs[name]
        deadline = time.monotonic() + timeout
        while True:
            pids = host.freeze()
            wait_stopped(pids)
            held = in_flight(log)
            # A chunk stores its data, then reports to the chord, then stores its result, and only then
            # logs "succeeded": a chunk that stored anything may have been counted by the chord (the job
            # could then end without it being run again), so only one that wrote nothing to Redis is held.
            if held and not any(self.touched(host, c) for c in held):
                assert len(held) == 1, f"a worker with prefetch 1 holds {held}"
                return held
            host.thaw()
            assert time.monotonic() < deadline, f"host {name} never held a chunk: {read_log(log)[-2000:]}"
            time.sleep(0.01)

    def touched(self, host, chunk: str) -> bool:
        """Whether `host` sent Redis any command naming `chunk`'s result or data keys, up to now: a marker
        echoed now comes after every command a frozen host sent before it froze."""
        marker = f"frozen-{uuid.uuid4().hex}"
        self.redis_cli("ECHO", marker)
        wait_for_log(self.logs["monitor"], marker, START_TIMEOUT, self.procs["monitor"])
        client, key = f" [0 {host.address}:", f'"celery-task-meta-{chunk}'
        return any(client in line and key in line for line in read_log(self.logs["monitor"]).splitlines())

    def not_redelivered(self, chunks: set[str], bound: float) -> str:
        (chunk,) = chunks
        seen = [line for line in read_log(self.logs["a"]).splitlines() if chunk in line]
        return (f"the job did not finish {bound} s after the host holding {chunk} was lost (visibility "
                f"timeout {VISIBILITY_TIMEOUT} s, sweep {RESTORE_SWEEP} s): the surviving worker's log "
                f"shows {seen or 'nothing'} for it; Redis has {self.redis_cli('HLEN', 'unacked')} "
                f"unacknowledged messages. kombu restores expired messages only every "
                f"unacked_restore_interval x unacked_restore_throttle s (10 x 10 by default): see "
                f"docs/reliability.md")

    def redis_cli(self, *args: str) -> str:
        done = subprocess.run(self.redis_host.argv([
            "redis-cli", "-h", self.redis_host.address, "-p", str(self.port), *args]),
            capture_output=True, text=True, timeout=15)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def backend_meta(self, task_id: str) -> dict | None:
        """A task's stored meta as the result backend holds it (read from the producer host); None if none."""
        script = (
            "import hashlib, json, sys, msgpack, redis\n"
            "from tasks.image.algos import DEFAULT_ALGOS, parse_algos, row_bytes\n"
            "from tasks.wire import ChunkResult\n"
            "raw = redis.Redis.from_url(sys.argv[1]).get('celery-task-meta-' + sys.argv[2])\n"
            "if raw is None:\n"
            "    sys.exit(print('null'))\n"
            "meta = msgpack.unpackb(raw, raw=False)\n"
            "result = meta['result']\n"
            "width = row_bytes(parse_algos(DEFAULT_ALGOS), 8)\n"
            "hashes = ([h.tobytes().hex() for h in ChunkResult.from_wire(result, width).hashes]\n"
            "          if 'packed' in result else None)\n"
            "print(json.dumps({'status': meta['status'], 'date_done': meta['date_done'], 'hashes': hashes,\n"
            "                  'result': hashlib.sha256(msgpack.packb(meta['result'])).hexdigest()}))\n")
        done = subprocess.run(self.client.argv([sys.executable, "-c", script, self.url, task_id]),
                              env=self.env, cwd=REPO, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        meta = json.loads(done.stdout)
        assert meta is None or meta["status"] == "SUCCESS", meta
        return meta

    def wait_until_idle(self, timeout: float) -> None:
        """Nothing queued and nothing unacknowledged (so nothing can be redelivered and run again)."""
        deadline = time.monotonic() + timeout
        while True:
            state = (self.redis_cli("LLEN", self.queue), self.redis_cli("HLEN", "unacked"))
            if state == ("0", "0"):
                return
            assert time.monotonic() < deadline, f"queued, unacknowledged: {state}"
            time.sleep(0.2)

    def close(self) -> None:
        for job in self.jobs:
            job.stop()
        for host in [*self.hosts.values(), self.client, self.redis_host]:
            host.kill_all()
        for proc in self.procs.values():
            proc.wait(timeout=10)


def wait_stopped(pids: list[int], timeout: float = 5) -> None:
    """Until every pid is in the stopped state (SIGSTOP is asynchronous)."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while True:
            try:
                with open(f"/proc/{pid}/stat") as handle:
                    state = handle.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                break
            if state in ("T", "t", "Z", "X"):
                break
            assert time.monotonic() < deadline, f"pid {pid} did not stop ({state})"
            time.sleep(0.002)


@pytest.fixture
def lab():
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(f"host-loss tests need network namespaces: {reason}")
    with network_lab() as lab:
        yield lab


@pytest.fixture
def cluster(lab, tmp_path):
    cluster = LabCluster(lab, tmp_path)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


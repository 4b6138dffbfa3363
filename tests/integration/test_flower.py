"""Flower for real: `celery -A tasks flower` with basic auth against the test Redis and a real worker.

A job run with the real CLI must show up in Flower's API and dashboard with readable task names and
arguments; the API and the pages must refuse requests without credentials, while /metrics and
/healthcheck stay open (Flower exempts them: docs/security.md says so, and this checks it).
The dashboard is opened in headless Chromium and its screenshot kept as a test artifact
(tests/artifacts/flower.png and flower-task.png, or in $HASHFLEET_TEST_ARTIFACTS).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest

from support.browser import ARTIFACTS, WINDOW, chromium, keep_artifact, png_size
from support.servers import REPO, hashfleet
from tasks.image.algos import DEFAULT_ALGOS
from worker.redis_server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USER = "fleet"
PASSWORD = f"pw-{uuid.uuid4().hex[:12]}"
#: Seconds for Flower to answer /healthcheck after it is started.
FLOWER_START_TIMEOUT = 30.0
#: Seconds for Flower to see the worker and for the worker to have task events enabled: heartbeats
#: come every 2 s, Flower broadcasts enable_events every 5 s.
SEES_WORKER_TIMEOUT = 30.0
#: Seconds for the job's task events to reach Flower once the job is done.
EVENTS_TIMEOUT = 20.0
#: Seconds one HTTP request to Flower may take.
HTTP_TIMEOUT = 10.0
#: What the worker logs when a monitor (here Flower) turns its task events on (celery.worker.control).
EVENTS_ENABLED = "Events of group {task} enabled by remote."
CHUNK_TASK = "hashfleet.hash_chunk"


class Flower:
    """`celery -A tasks flower` on a free loopback port, basic auth from FLOWER_BASIC_AUTH."""

    def __init__(self, env: dict[str, str], log_path: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        argv = [sys.executable, "-m", "celery", "-A", "tasks", "flower", f"--port={self.port}",
                "--address=127.0.0.1"]
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=dict(env, FLOWER_BASIC_AUTH=f"{USER}:{PASSWORD}"),
                                         stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                                         start_new_session=True)

    def get(self, path: str, credentials: tuple[str, str] | None = (USER, PASSWORD)) -> tuple[int, bytes]:
        """(status, body) of GET `path`, with basic auth unless `credentials` is None."""
        request = urllib.request.Request(self.url + path)
        if credentials:
            token = base64.b64encode(":".join(credentials).encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def json(self, path: str) -> dict:
        status, body = self.get(path)
        assert status == 200, (path, status, body[:500])
        return json.loads(body)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + FLOWER_START_TIMEOUT
        while True:
            assert self.proc.poll() is None, f"flower exited: {self.log_tail()}"
            try:
                if self.get("/healthcheck", credentials=None)[0] == 200:
                    return
            except OSError:
                pass
            assert time.monotonic() < deadline, f"flower did not answer within {FLOWER_START_TIMEOUT} s"
            time.sleep(0.1)

    def log_tail(self, chars: int = 3000) -> str:
        with open(self.log_path, errors="replace") as log:
            return log.read()[-chars:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def flower(worker_env, tmp_path):
    server = Flower(worker_env, str(tmp_path / "flower.log"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def wait_until(check, timeout: float, what: str):
    """check()'s first truthy value, polled until `timeout`; fails naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.2)


def log_has(path: str, text: str) -> bool:
    with open(path, errors="replace") as log:
        return text in log.read()


def test_flower_shows_the_worker_and_the_jobs_named_tasks_only_to_a_user_with_basic_auth(
        tmp_path, images, worker_env, start_workers, flower):
    # Given a real worker, and Flower with basic auth on the same Redis, that sees it and has turned its
    # task events on (the app sends none until a monitor asks)
    (worker,) = start_workers(count=1, concurrency=1)
    wait_until(lambda: flower.json("/api/workers?status=1").get(worker.name), SEES_WORKER_TIMEOUT,
               f"Flower did not see {worker.name} alive: {flower.log_tail()}")
    wait_until(lambda: log_has(worker.log_path, EVENTS_ENABLED), SEES_WORKER_TIMEOUT,
               f"the worker never had task events enabled: {worker.log_tail()}")
    # When a job runs with the real CLI, in chunks of 4 (9 photos: 3 chunks, then the merge)
    out = tmp_path / "out.csv"
    done = hashfleet(["run", str(images), "-o", str(out), "--broker", worker_env["HASHFLEET_BROKER_URL"],
                      "--chunk-size", "4", "--timeout", "60"], env=worker_env, timeout=90)
    assert done.returncode == 0, done.stderr
    # Then the API refuses requests without credentials, and wrong ones
    for path in ("/api/workers", "/api/tasks", "/api/queues/length", "/tasks", "/"):
        assert flower.get(path, credentials=None)[0] == 401, path
    assert flower.get("/api/tasks", credentials=(USER, "wrong"))[0] == 401
    # And with them, lists the worker (asked live) and every task of the job, succeeded on that worker,
    # by name and with the producer's readable arguments
    assert worker.name in flower.json("/api/workers?refresh=1")
    expected = 3
    tasks = wait_until(lambda: (found := flower.json("/api/tasks")) and len(found) >= expected and found,
                       EVENTS_TIMEOUT, f"Flower did not get the events of {expected} tasks")
    chunks = [t for t in tasks.values() if t["name"] == CHUNK_TASK]
    assert len(chunks) == 3 == len(tasks), tasks
    assert {t["state"] for t in tasks.values()} == {"SUCCESS"}
    assert {t["worker"] for t in tasks.values()} == {worker.name}
    folder = str(images)
    assert sorted(t["args"].split(":")[0] for t in chunks) == ["(chunk 0", "(chunk 1", "(chunk 2"]
    for task in chunks:
        assert " files from '" in task["args"] and folder in task["args"], task["args"]
        assert task["args"].endswith(f", {DEFAULT_ALGOS}/8)"), task["args"]
    # And the dashboard, opened in a browser with the credentials, shows the same tasks
    page = f"http://{USER}:{PASSWORD}@127.0.0.1:{flower.port}/tasks"
    dom = chromium("--dump-dom", page)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for task_id in tasks:
        assert task_id in dom.stdout, f"task {task_id} not on the dashboard: {dom.stdout[-2000:]}"
    assert CHUNK_TASK in dom.stdout
    # And its screenshot is kept as an artifact
    shot = tmp_path / "flower.png"
    taken = chromium(f"--screenshot={shot}", page)
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    assert png_size(shot) == WINDOW
    assert shot.stat().st_size > 20_000, "a blank page compresses to a few kB"
    # And a chunk's own page shows its readable arguments (the task list has no arguments column)
    (first,) = [task_id for task_id, t in tasks.items() if t["args"].startswith("(chunk 0:")]
    detail = chromium("--dump-dom", f"http://{USER}:{PASSWORD}@127.0.0.1:{flower.port}/task/{first}")
    assert "(chunk 0: 4 files from " in detail.stdout, detail.stdout[-2000:]
    detail_shot = tmp_path / "flower-task.png"
    chromium(f"--screenshot={detail_shot}", f"http://{USER}:{PASSWORD}@127.0.0.1:{flower.port}/task/{first}")
    assert png_size(detail_shot) == WINDOW
    for kept in (shot, detail_shot):
        keep_artifact(kept)
    print(f"\nFlower screenshots: {ARTIFACTS}/flower.png (tasks), {ARTIFACTS}/flower-task.png (chunk 0)")


def test_flower_serves_metrics_and_healthcheck_without_credentials_even_with_basic_auth(
        worker_env, start_workers, flower):
    # Given Flower with basic auth, seeing a worker
    (worker,) = start_workers(count=1, concurrency=1)
    wait_until(lambda: flower.json("/api/workers?status=1").get(worker.name), SEES_WORKER_TIMEOUT,
               f"Flower did not see {worker.name} alive")
    # When /healthcheck and /metrics are asked without credentials
    health = flower.get("/healthcheck", credentials=None)
    metrics = flower.get("/metrics", credentials=None)
    # Then both answer: whoever reaches the port reads the worker names and task counts
    assert health == (200, b"OK")
    assert metrics[0] == 200
    assert f'flower_worker_online{{worker="{worker.name}"}} 1.0' in metrics[1].decode(), metrics[1][:2000]
    # While everything else still asks for them
    assert flower.get("/api/workers", credentials=None)[0] == 401
    # And every metric docs/monitoring.md tells users to alert on is one this Flower exports
    with open(os.path.join(REPO, "docs", "monitoring.md"), encoding="utf-8") as handle:
        documented = {re.sub(r"_bucket$", "", name) for name in re.findall(r"\bflower_[a-z_]+", handle.read())}
    exported = set(re.findall(r"^# TYPE (flower_[a-z_]+) ", metrics[1].decode(), re.M))
    assert len(documented) >= 5 and documented <= exported, documented - exported

"""Integration fixtures: a real redis-server and RabbitMQ vhost (fail, never skip, when missing) and real prefork
workers."""

import fcntl
import os
import shutil
import uuid

import pytest

from support.rabbit import RabbitVhost
from support.servers import CeleryWorker, RedisServer, clean_env, stop_workers


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(str(tmp_path_factory.mktemp("redis")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rabbitmq():
    """A vhost of this session's own on the CI's RabbitMQ (fails when RabbitMQ is missing); deleted at the end."""
    vhost = RabbitVhost()
    yield vhost
    vhost.delete()


@pytest.fixture
def rabbit_env(rabbitmq, redis_server):
    """Like `worker_env`, with RabbitMQ as broker (a queue private to this test) and the Redis as result backend."""
    return clean_env(HASHFLEET_BROKER_URL=rabbitmq.url, HASHFLEET_RESULT_BACKEND=redis_server.url,
                     HASHFLEET_QUEUE=f"test-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server for one test (for tests that restart, stop or password-protect it)."""
    servers = []

    def start(**options) -> RedisServer:
        server = RedisServer(str(tmp_path), **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def queue_env(redis_server, prefix: str) -> dict[str, str]:
    """Environment of a worker and producer on `redis_server`, sharing a queue of their own."""
    return clean_env(HASHFLEET_BROKER_URL=redis_server.url, HASHFLEET_QUEUE=f"{prefix}-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def worker_env(redis_server):
    """Environment of a worker and producer sharing a queue private to this test."""
    return queue_env(redis_server, "test")


@pytest.fixture
def start_workers(worker_env, tmp_path):
    """Start named `celery -A tasks worker` processes on the test queue; all stopped after the test."""
    from tasks.app import create_app
    from tasks.settings import Settings

    workers = []
    app = create_app(Settings.from_env(worker_env))

    def start(count: int = 1, concurrency: int = 1, **extra_env: str) -> list[CeleryWorker]:
        started = []
        for _ in range(count):
            name = f"w{len(workers)}-{uuid.uuid4().hex[:6]}@test"
            worker = CeleryWorker(dict(worker_env, **extra_env), name, concurrency, str(tmp_path / f"{name}.log"),
                                  worker_env["HASHFLEET_QUEUE"])
            workers.append(worker)
            started.append(worker)
        for worker in started:
            worker.wait_ready(app)
        return started

    yield start
    stop_workers(workers)
    app.close()


@pytest.fixture(scope="session")
def shared_worker(redis_server, tmp_path_factory):
    """One prefork worker (two processes) on a queue of its own for the whole session, as Celery's own
    integration tests keep one: for tests that only need "a worker" and change nothing of its environment
    (a test that sets a variable, kills or pauses a worker starts its own with `start_workers`)."""
    from tasks.app import create_app
    from tasks.settings import Settings

    env = queue_env(redis_server, "shared")
    app = create_app(Settings.from_env(env))
    name = f"shared-{uuid.uuid4().hex[:6]}@test"
    worker = CeleryWorker(env, name, 2, str(tmp_path_factory.mktemp("shared") / "worker.log"),
                          env["HASHFLEET_QUEUE"])
    worker.wait_ready(app)
    worker.env, worker.app = env, app
    yield worker
    worker.stop()
    app.close()


@pytest.fixture
def shared_env(shared_worker):
    """The environment of a producer whose jobs the session's shared worker runs (checked alive first)."""
    shared_worker.wait_ready(shared_worker.app)
    return dict(shared_worker.env)


@pytest.fixture
def images(tmp_path):
    """A folder with copies of the committed real photos (copies: tests may touch their mtimes)."""
    from support.images import fixture_paths

    folder = tmp_path / "images"
    folder.mkdir()
    for path in fixture_paths():
        shutil.copy(path, folder / os.path.basename(path))
    return folder


#: Side of the slow PNG: 12000 x 12000 16-bit (3 MB on disk, 288 MB to inflate through libpng) takes about
#: 0.9 s to hash on an idle core here; the fixture photos take 10-30 ms.
SLOW_SIDE = 12000


@pytest.fixture(scope="session")
def slow_png(tmp_path_factory):
    """A PNG that takes about a second to hash, written once per run (tests link or copy it in; none writes
    to it). Writing it takes 2.5-3 s of a core, so the xdist processes share one: the first to need it writes
    it into the run's common temporary folder under a lock, the others wait for it and link the same file."""
    import cv2
    import numpy as np

    base = tmp_path_factory.getbasetemp()
    folder = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = folder / "slow.png"
    with open(folder / "slow.png.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not path.exists():
            side = np.arange(SLOW_SIDE, dtype=np.uint16)
            partial = folder / f"slow-{os.getpid()}.png"
            cv2.imwrite(str(partial), np.add.outer(side, side), [cv2.IMWRITE_PNG_COMPRESSION, 1])  # (x + y) mod 2^16
            os.replace(partial, path)
    return path

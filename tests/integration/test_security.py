"""Security end to end, with real redis-servers and real prefork workers: pickle refused unrun, allowed
roots enforced without opening outside files, password/ACL and TLS brokers, untrusted certificates."""

import csv
import ctypes
import os
import pickle
import shutil
import ssl
import struct
import subprocess
import sys
import time
import uuid

import pytest

from support.servers import CeleryWorker, clean_env, hashfleet
from support.tls import make_ca, make_server_cert, rediss_url, tls_redis_server
from tasks.chunk import CHUNK_TASK
from tasks.errors import FileError

pytestmark = pytest.mark.integration

#: Seconds a task or a whole job may take (generous: the machine may be busy with benchmarks).
WAIT = 90.0
#: Every connection failure must be reported within this many seconds.
FAST = 15.0
#: What Celery's worker logs for a message whose content type is not in accept_content.
REFUSED_PICKLE = "Refusing to deserialize untrusted content of type pickle"
PICKLE_CONTENT_TYPE = "application/x-python-serialize"
ADMIN_PASSWORD = "admin-secret"
ACL_USER, ACL_PASSWORD = "hf", "hf-secret"
#: The ACL rules deploy/redis/redis.conf.example recommends for hashfleet's user: no admin commands.
ACL_RULES = ("~*", "&*", "+@all", "-@admin")
TLS_PASSWORD = "tls-secret"
#: inotify(7) event bits: a file in the watched folder was opened / read.
IN_ACCESS, IN_OPEN = 0x1, 0x20
_EVENT_HEADER = struct.Struct("iIII")


class RunsShell:
    """Unpickling this runs a shell command: the payload a pickle-accepting worker would execute."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class OpenWatcher:
    """Every open or read of a file in `folder`, by any process, as the kernel reports it (inotify)."""

    def __init__(self, folder: str):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        assert libc.inotify_add_watch(self.fd, os.fsencode(folder), IN_OPEN | IN_ACCESS) >= 0, \
            os.strerror(ctypes.get_errno())

    def names(self) -> list[str]:
        """Names of the files touched since the last call."""
        names = []
        while True:
            try:
                buffer = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return names
            offset = 0
            while offset < len(buffer):
                _wd, _mask, _cookie, length = _EVENT_HEADER.unpack_from(buffer, offset)
                start = offset + _EVENT_HEADER.size
                names.append(os.fsdecode(buffer[start:start + length].rstrip(b"\0")) or ".")
                offset = start + length

    def close(self) -> None:
        os.close(self.fd)


def app_for(env: dict[str, str]):
    from tasks.app import create_app
    from tasks.settings import Settings

    return create_app(Settings.from_env(env))


def hash_directly(app, paths: list[str]) -> list[FileError]:
    """Send one chunk task as the producer would and return the per-file codes the worker stored."""
    from tasks.ids import data_id
    from tasks.pathblob import encode_paths
    from tasks.store import iter_stored_data
    from tasks.wire import ChunkResult

    task_id = f"security-{uuid.uuid4().hex}"
    summary = app.send_task(CHUNK_TASK, args=(encode_paths(paths), "dhash", 8), task_id=task_id).get(
        timeout=WAIT)
    assert summary["n"] == len(paths)
    [payload] = iter_stored_data(app.backend, [data_id(task_id)], timeout=WAIT)
    return [FileError(code) for code in ChunkResult.from_wire(payload, 8).codes]


def wait_for_log(worker: CeleryWorker, text: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while text not in worker.log_tail(chars=1 << 20):
        assert worker.proc.poll() is None, f"worker exited: {worker.log_tail()}"
        assert time.monotonic() < deadline, f"{text!r} not logged within {timeout} s: {worker.log_tail()}"
        time.sleep(0.1)


def one_line_error(done) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("hashfleet: error: ")
    return lines[0]


def assert_all_hashed(out, images) -> None:
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["path"] for r in rows) == sorted(str(images / n) for n in os.listdir(images))
    assert all(r["hash"] and not r["error"] for r in rows), rows


@pytest.fixture
def workers_for(tmp_path):
    """Start a prefork worker on `broker_url` with its own queue; returns the env a producer needs."""
    started = []

    def start(broker_url: str) -> dict[str, str]:
        queue = f"test-{uuid.uuid4().hex[:8]}"
        env = clean_env(HASHFLEET_BROKER_URL=broker_url, HASHFLEET_QUEUE=queue)
        name = f"sec-{uuid.uuid4().hex[:6]}@test"
        worker = CeleryWorker(env, name, 1, str(tmp_path / f"{name}.log"), queue)
        app = app_for(env)
        started.append((worker, app))
        worker.wait_ready(app)
        return env

    yield start
    for worker, app in started:
        worker.stop()
        app.close()


@pytest.fixture
def tls_redis(tmp_path):
    """A TLS-only redis-server with a password, its certificate signed by a CA made for this test."""
    folder = str(tmp_path / "tls")
    server = tls_redis_server(folder, make_server_cert(folder, make_ca(folder, "ca")), TLS_PASSWORD)
    yield server
    server.stop()


@pytest.mark.slow
def test_a_pickle_task_message_is_refused_unrun_and_the_worker_keeps_working(
        tmp_path, images, shared_env, shared_worker):
    # Given a worker, and a protocol-2 hash_chunk message serialized with pickle whose payload, once
    # unpickled, would create a marker file
    worker_env, worker = shared_env, shared_worker
    app = app_for(worker_env)
    marker = tmp_path / "PICKLE-PAYLOAD-RAN"
    pickle_id = f"pickle-{uuid.uuid4().hex}"
    message = app.amqp.as_task_v2(pickle_id, CHUNK_TASK,
                                  args=(RunsShell(f"touch {marker}"), "dhash", 8))
    body = pickle.dumps(message.body)
    # When it is published straight onto the worker's queue
    with app.connection_for_write() as connection:
        connection.Producer().publish(body, exchange="", routing_key=worker_env["HASHFLEET_QUEUE"],
                                      content_type=PICKLE_CONTENT_TYPE, content_encoding="binary",
                                      headers=message.headers, **message.properties)
    # Then the worker refuses its content type, never runs it, and still hashes the next chunk
    wait_for_log(worker, REFUSED_PICKLE)
    assert hash_directly(app, [str(images / "butterfly.jpg")]) == [FileError.OK]
    assert worker.proc.poll() is None
    assert not marker.exists()
    assert f"[{pickle_id}] received" not in worker.log_tail(chars=1 << 20)
    app.close()
    # And the payload was live: unpickling those very bytes does create the marker
    subprocess.run([sys.executable, "-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"],
                   input=body, check=True, timeout=FAST)
    assert marker.exists()


@pytest.mark.slow
def test_allowed_roots_refuse_outside_paths_dotdot_and_symlink_escapes_without_opening_them(
        tmp_path, images, worker_env, start_workers):
    # Given a worker allowed to read only the images folder, and a real photo just outside it
    root = os.path.realpath(images)
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = str(outside / "secret.jpg")
    shutil.copyfile(images / "orange.jpg", secret)
    os.symlink(secret, os.path.join(root, "link.jpg"))
    worker_env["HASHFLEET_ALLOWED_ROOTS"] = root
    start_workers()
    app = app_for(worker_env)
    depth = len(root.strip(os.sep).split(os.sep))
    paths = {
        os.path.join(root, "butterfly.jpg"): FileError.OK,
        "/etc/passwd": FileError.OUTSIDE_ALLOWED_ROOTS,
        os.path.join(root, *[".."] * depth, "etc", "passwd"): FileError.OUTSIDE_ALLOWED_ROOTS,
        os.path.join(root, "..", "outside", "secret.jpg"): FileError.OUTSIDE_ALLOWED_ROOTS,
        os.path.join(root, "link.jpg"): FileError.OUTSIDE_ALLOWED_ROOTS,
        secret: FileError.OUTSIDE_ALLOWED_ROOTS,
    }
    watcher = OpenWatcher(str(outside))
    try:
        # When the worker is sent all of them in one chunk
        codes = hash_directly(app, list(paths))
        # Then each escape is refused, the photo inside is hashed, and nothing outside was opened
        assert codes == list(paths.values())
        assert watcher.names() == []
        # (the watcher does see opens, and the photo outside would hash: the refusals are real)
        from tasks.batch import hash_one

        assert hash_one(secret, "dhash", 8)[1] == FileError.OK
        assert "secret.jpg" in watcher.names()
    finally:
        watcher.close()
        app.close()


@pytest.mark.slow
@pytest.mark.parametrize("auth", ["requirepass", "acl-user"])
def test_a_full_job_runs_against_a_redis_that_requires_a_password(
        tmp_path, images, private_redis, workers_for, auth):
    # Given a redis-server with a password, used through it or through an ACL user without admin rights
    server = private_redis(password=ADMIN_PASSWORD)
    user, password = "", ADMIN_PASSWORD
    if auth == "acl-user":
        server.client().execute_command("ACL", "SETUSER", ACL_USER, "on", f">{ACL_PASSWORD}", *ACL_RULES)
        user, password = ACL_USER, ACL_PASSWORD
    url = f"redis://{user}:{password}@127.0.0.1:{server.port}/0"
    env = workers_for(url)
    # When a job is run with that URL, it completes with every file hashed
    out = tmp_path / "out.csv"
    done = hashfleet(["run", str(images), "-o", str(out), "--broker", url, "--timeout", str(WAIT)],
                     env=env, timeout=WAIT * 2)
    assert done.returncode == 0, done.stderr
    assert_all_hashed(out, images)
    # And a wrong password for the same user is one line and exit 1, the password not echoed
    started = time.monotonic()
    done = hashfleet(["run", str(images), "-o", str(out), "--broker", url.replace(password, "wrong-pw")],
                     env=env, timeout=FAST * 2)
    assert done.returncode == 1
    line = one_line_error(done)
    assert "refused the credentials" in line and "wrong-pw" not in line
    assert time.monotonic() - started < FAST


def test_rediss_urls_give_broker_and_backend_the_same_certificate_checking_by_default(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("placeholder: nothing connects in this test\n")
    checked = app_for({"HASHFLEET_BROKER_URL": rediss_url(6380, "pw", str(ca), cert_reqs=None)})
    unchecked = app_for({"HASHFLEET_BROKER_URL": rediss_url(6380, "pw", None, cert_reqs="none")})
    plain = app_for({"HASHFLEET_BROKER_URL": "redis://127.0.0.1:6380/0"})
    try:
        expected = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": str(ca)}
        assert checked.conf.broker_use_ssl == checked.conf.redis_backend_use_ssl == expected
        assert checked.connection_for_write().ssl == expected  # what kombu will connect with
        assert checked.backend.connparams["ssl_cert_reqs"] == ssl.CERT_REQUIRED  # and the result backend
        assert checked.backend.connparams["ssl_ca_certs"] == str(ca)
        assert unchecked.backend.connparams["ssl_cert_reqs"] == ssl.CERT_NONE  # an explicit opt-out holds
        assert not plain.conf.broker_use_ssl and not plain.conf.redis_backend_use_ssl
    finally:
        for app in (checked, unchecked, plain):
            app.close()


@pytest.mark.slow
def test_a_full_job_runs_over_tls_with_the_certificate_checked_against_the_ca_in_the_url(
        tmp_path, images, tls_redis, workers_for):
    # Given a TLS-only redis-server, and a worker whose URL asks for the certificate to be checked
    env = workers_for(rediss_url(tls_redis.port, TLS_PASSWORD, tls_redis.tls.ca, cert_reqs="required"))
    # When the producer's URL names only the CA (checking is the default), the job completes
    url = rediss_url(tls_redis.port, TLS_PASSWORD, tls_redis.tls.ca, cert_reqs=None)
    out = tmp_path / "out.csv"
    done = hashfleet(["run", str(images), "-o", str(out), "--broker", url, "--timeout", str(WAIT)],
                     env=env, timeout=WAIT * 2)
    assert done.returncode == 0, done.stderr
    assert_all_hashed(out, images)


@pytest.mark.parametrize("trust", ["another CA", "the system CAs"])
def test_a_broker_certificate_the_url_does_not_trust_is_one_line_and_exit_one_within_seconds(
        tmp_path, images, tls_redis, trust):
    ca = make_ca(str(tmp_path / "other"), "other").cert if trust == "another CA" else None
    started = time.monotonic()
    done = hashfleet(["run", str(images), "-o", str(tmp_path / "o.csv"),
                      "--broker", rediss_url(tls_redis.port, TLS_PASSWORD, ca)], env=clean_env(),
                     timeout=FAST * 2)
    assert done.returncode == 1
    line = one_line_error(done)
    assert "TLS certificate of broker" in line and "not trusted" in line, line
    assert TLS_PASSWORD not in line
    assert time.monotonic() - started < FAST

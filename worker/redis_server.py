"""A private redis-server child process: free loopback port, pinged until it answers, stopped or killed.

One class serves embedded mode (worker/embedded.py), the tests' servers (plain, password, AOF, TLS-only,
restarted on the same port) and the benchmarks (bench/services.py, bench/synthetic.py).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import time
from urllib.parse import quote

import redis

from tasks.errors import EmbeddedStartError
from worker.procs import kill_group, spawn, stop_group

#: Seconds redis-server gets to answer PING after it is started.
START_TIMEOUT = 10.0
#: Seconds a stopped redis-server gets to write its AOF and exit before it is killed.
STOP_GRACE = 30.0
#: Pause between PINGs while it starts. It answers 10-20 ms after the spawn here, and embedded mode starts
#: its workers only then: 0.05 s made that 60 ms, 0.005 s makes it about 23 ms (a refused connect costs
#: next to nothing).
PING_INTERVAL = 0.005
INSTALL_HINT = (
    "redis-server not found on PATH; embedded mode needs it. Install it (Debian/Ubuntu: "
    "apt-get install redis-server; Fedora: dnf install redis; macOS: brew install redis) "
    "or point at a running broker with --broker / HASHFLEET_BROKER_URL"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_redis_server() -> str:
    """Path of redis-server, or EmbeddedStartError saying how to install it."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise EmbeddedStartError(INSTALL_HINT)
    return binary


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """Server certificate, its key, and the CA that signed it (clients are told to trust that CA)."""

    cert: str
    key: str
    ca: str


class RedisServer:
    """redis-server on 127.0.0.1 in `workdir`, started at once: `password` (requirepass), `persistent` (AOF,
    fsynced as `appendfsync` says: "always" or "everysec"), `tls` (TLS only: the plain port closed).
    :meth:`stop` (or :meth:`kill`) and :meth:`start` again keep the port and directory (a restart)."""

    def __init__(self, workdir: str, *, password: str | None = None, persistent: bool = False,
                 appendfsync: str = "always", tls: TlsFiles | None = None, start_timeout: float = START_TIMEOUT):
        self.workdir, self.password, self.tls = workdir, password, tls
        self.port = free_port()
        self.start_timeout = start_timeout
        self.log_path = os.path.join(workdir, "redis.log")
        ports = ["--port", str(self.port)]
        if tls:
            ports = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", tls.cert, "--tls-key-file",
                     tls.key, "--tls-ca-cert-file", tls.ca, "--tls-auth-clients", "no"]
        persistence = ["--appendonly", "yes", "--appendfsync", appendfsync] if persistent else ["--appendonly", "no"]
        self.argv = [require_redis_server(), *ports, "--bind", "127.0.0.1", "--dir", workdir, "--save", "",
                     *persistence, "--daemonize", "no", *(["--requirepass", password] if password else [])]
        self.proc = None
        self.start()

    @property
    def url(self) -> str:
        """redis:// (or rediss:// trusting the server's CA) with the password, database 0."""
        auth = f":{self.password}@" if self.password else ""
        if self.tls:
            return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={quote(self.tls.ca, safe='/')}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self, timeout: float = 5.0) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=timeout, socket_connect_timeout=timeout)

    def start(self) -> None:
        """Start the process and wait until it answers PING (EmbeddedStartError naming the log if not)."""
        self.proc = spawn(self.argv, dict(os.environ), self.log_path)
        client = self.client(timeout=1.0)
        deadline = time.monotonic() + self.start_timeout
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        kill_group(self.proc)
                        raise EmbeddedStartError(f"redis-server did not start: {self.log_tail(300)}") from None
                    time.sleep(PING_INTERVAL)
        finally:
            client.close()

    def stop(self) -> None:
        """SIGTERM (Redis writes its AOF and exits) and wait; SIGKILL what is left after STOP_GRACE."""
        if self.proc is not None:
            stop_group(self.proc, STOP_GRACE)

    def kill(self) -> None:
        """SIGKILL at once: a crash, or the end of a server whose data is thrown away anyway."""
        if self.proc is not None:
            kill_group(self.proc)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            with open(self.log_path, errors="replace") as log:
                return log.read()[-chars:].strip() or "(empty log)"
        except OSError:
            return f"(no log at {self.log_path})"

"""Support for fault tests: a private network of namespaces, background commands, and job checks.

A :class:`Lab` is a small network built from Linux network namespaces: every "host" is a namespace
wired by a veth pair to a bridge that lives in a namespace of its own (the "switch"). Nothing is added
to the root namespace, so a lab never touches the machine's network (nor the system Redis on
127.0.0.1:6379) and two test runs at the same time cannot clash even though both use 10.77.0.0/24.
A host can then be partitioned (its switch port down: processes alive, packets dropped), healed,
unplugged (the veth deleted) or killed (every process in its namespace). The lab always cleans up:
processes in its namespaces are killed and the namespaces deleted, and labs left behind by a test run
that was itself killed (its pid is part of every name) are removed by the next one.

Needs root and iproute2; :func:`netns_unavailable_reason` says why not when they are missing.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter

from worker.procs import die_with_parent

#: Prefix of every namespace a lab creates: ``hflab-<pytest pid>-<lab number>-<role>``.
NS_PREFIX = "hflab"
#: The lab's subnet (private to the lab's namespaces, so every lab can use the same one).
SUBNET = "10.77.0"
#: Seconds any `ip` command may take.
IP_TIMEOUT = 15.0
#: Seconds to wait for the processes of a namespace to be gone after SIGKILL.
KILL_TIMEOUT = 10.0
_labs = itertools.count(1)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `ip ARGS` (bounded); raise with its stderr when it fails and `check` is set."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def netns_unavailable_reason() -> str | None:
    """None when network namespaces, veth pairs and bridges can be made here; else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root (the fault tests run as root in CI)"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    probe = f"{NS_PREFIX}-{os.getpid()}-probe"
    try:
        ip("netns", "add", probe)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return f"`ip netns add` fails here: {exc}"
    try:
        ip("-n", probe, "link", "add", "br0", "type", "bridge")
        ip("-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        done = subprocess.run(["ip", "netns", "exec", probe, "true"], capture_output=True, text=True,
                              timeout=IP_TIMEOUT)
        if done.returncode != 0:
            return f"`ip netns exec` fails here: {done.stderr.strip()}"
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return f"bridges or veth pairs cannot be made in a namespace: {exc}"
    finally:
        ip("netns", "del", probe, check=False)
    return None


def namespace_pids(ns: str) -> list[int]:
    """Live processes whose network namespace is `ns` (zombies have none and are not listed)."""
    done = ip("netns", "pids", ns, check=False)
    return [int(p) for p in done.stdout.split()] if done.returncode == 0 else []


def signal_namespace(ns: str, sig: int) -> list[int]:
    """Send `sig` to every process in `ns`; returns the pids signalled."""
    pids = namespace_pids(ns)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    return pids


def kill_namespace(ns: str, timeout: float = KILL_TIMEOUT) -> None:
    """SIGKILL every process in `ns` until none is left (children forked meanwhile included)."""
    deadline = time.monotonic() + timeout
    while signal_namespace(ns, signal.SIGKILL):
        if time.monotonic() > deadline:
            raise AssertionError(f"processes in namespace {ns} survive SIGKILL: {namespace_pids(ns)}")
        time.sleep(0.05)


def delete_namespace(ns: str) -> None:
    kill_namespace(ns)
    ip("netns", "del", ns, check=False)


def lab_namespaces() -> list[str]:
    done = ip("netns", "list", check=False)
    names = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    return [n for n in names if n.startswith(NS_PREFIX + "-")]


def remove_stale_labs() -> None:
    """Delete namespaces of labs whose test process is gone (a run killed before its cleanup)."""
    for ns in lab_namespaces():
        match = re.match(rf"{NS_PREFIX}-(\d+)-", ns)
        if match and int(match.group(1)) != os.getpid() and not os.path.exists(f"/proc/{match.group(1)}"):
            delete_namespace(ns)


class Host:
    """One machine of the lab: a namespace with `eth0` at `address`, plugged into the switch."""

    def __init__(self, lab: Lab, role: str, address: str):
        self.lab = lab
        self.role = role
        self.ns = f"{lab.tag}-{role}"
        self.address = address
        self.port = f"p-{role}"[:15]  # its veth end in the switch namespace

    def argv(self, argv: list[str]) -> list[str]:
        """`argv` run inside this host (ip netns exec execs it: the process is `argv` itself)."""
        return ["ip", "netns", "exec", self.ns, *argv]

    def pids(self) -> list[int]:
        return namespace_pids(self.ns)

    def freeze(self) -> list[int]:
        """SIGSTOP every process of the host (a hung machine); returns the pids."""
        return signal_namespace(self.ns, signal.SIGSTOP)

    def thaw(self) -> list[int]:
        return signal_namespace(self.ns, signal.SIGCONT)

    def kill_all(self) -> None:
        """Power off: SIGKILL every process of the host."""
        kill_namespace(self.ns)

    def sysctl(self, name: str, value: str) -> bool:
        """Set a per-namespace sysctl in this host; False if this kernel does not have it."""
        done = subprocess.run(self.argv(["sysctl", "-q", "-w", f"{name}={value}"]), capture_output=True,
                              text=True, timeout=IP_TIMEOUT)
        return done.returncode == 0


class Lab:
    """A switch namespace with a bridge, and hosts added with :meth:`add_host`. Use :func:`network_lab`."""

    def __init__(self):
        self.tag = f"{NS_PREFIX}-{os.getpid()}-{next(_labs)}"
        self.switch = f"{self.tag}-sw"
        self.hosts: list[Host] = []
        self.created: list[str] = []
        ip("netns", "add", self.switch)
        self.created.append(self.switch)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")

    def add_host(self, role: str, octet: int) -> Host:
        host = Host(self, role, f"{SUBNET}.{octet}")
        ip("netns", "add", host.ns)
        self.created.append(host.ns)
        self.hosts.append(host)
        ip("-n", self.switch, "link", "add", host.port, "type", "veth", "peer", "name", "eth0",
           "netns", host.ns)
        ip("-n", self.switch, "link", "set", host.port, "master", "br0", "up")
        ip("-n", host.ns, "addr", "add", f"{host.address}/24", "dev", "eth0")
        ip("-n", host.ns, "link", "set", "eth0", "up")
        ip("-n", host.ns, "link", "set", "lo", "up")
        return host

    def partition(self, host: Host) -> None:
        """Cut the host off the switch: its packets are dropped, its processes go on (a cable pulled
        at the switch, a dead top-of-rack port)."""
        ip("-n", self.switch, "link", "set", host.port, "down")

    def heal(self, host: Host) -> None:
        ip("-n", self.switch, "link", "set", host.port, "up")

    def unplug(self, host: Host) -> None:
        """Delete the host's veth pair: it has no network at all any more."""
        ip("-n", self.switch, "link", "del", host.port)

    def close(self) -> None:
        """Kill every process in the lab, delete its namespaces (and with them every veth and the
        bridge), and check nothing of it is left."""
        errors = []
        for ns in reversed(self.created):
            try:
                delete_namespace(ns)
            except (AssertionError, RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                errors.append(str(exc))
        left = [ns for ns in lab_namespaces() if ns.startswith(self.tag + "-")]
        assert not errors and not left, f"lab {self.tag} not cleaned up: {errors} {left}"


@contextlib.contextmanager
def network_lab():
    """A :class:`Lab`, torn down whatever happens in the test (also when building it fails half-way)."""
    remove_stale_labs()
    lab = None
    try:
        lab = Lab()
        yield lab
    finally:
        if lab is not None:
            lab.close()


class Background:
    """A command running in the background with its output collected line by line (bounded waits).

    Started in its own session and killed with its parent (pytest) if that dies, like the product's own
    children. `argv` may be prefixed by :meth:`Host.argv` to run it inside a lab host.
    """

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str | None = None):
        self.argv = argv
        self.lines: list[tuple[float, str, str]] = []  # (monotonic time, "out"/"err", line)
        self._changed = threading.Condition()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     errors="replace", start_new_session=True, preexec_fn=die_with_parent)
        self.ended: float | None = None
        self._readers = [threading.Thread(target=self._read, args=(stream, name), daemon=True)
                         for stream, name in ((self.proc.stdout, "out"), (self.proc.stderr, "err"))]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, name: str) -> None:
        for line in stream:
            with self._changed:
                self.lines.append((time.monotonic(), name, line.rstrip("\n")))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def text(self, stream: str) -> str:
        with self._changed:
            return "\n".join(line for _, name, line in self.lines if name == stream)

    @property
    def stdout(self) -> str:
        return self.text("out")

    @property
    def stderr(self) -> str:
        return self.text("err")

    def wait_for_line(self, pattern: str, timeout: float, stream: str = "err") -> re.Match:
        """The first line of `stream` matching `pattern`; fails if the command exits or time runs out."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for _, name, line in self.lines[seen:]:
                    if name == stream and (match := regex.search(line)):
                        return match
                seen = len(self.lines)
                if self.proc.poll() is not None and not any(r.is_alive() for r in self._readers):
                    raise AssertionError(f"{self.argv[-8:]} exited ({self.proc.returncode}) before printing "
                                         f"{pattern!r}: {self.stderr[-3000:]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no line matching {pattern!r} within {timeout} s: {self.stderr[-3000:]}")
                self._changed.wait(min(left, 0.2))

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if it is still running after `timeout` seconds."""
        try:
            code = self.proc.wait(timeout=max(timeout, 0))
        except subprocess.TimeoutExpired:
            return None
        if self.ended is None:
            self.ended = time.monotonic()
        for reader in self._readers:
            reader.join(timeout=10)
        return code

    def stop(self) -> None:
        """SIGTERM its session, SIGKILL what is left; idempotent."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.wait(timeout=10)


def spawn_logged(argv: list[str], env: dict[str, str], log_path: str, cwd: str | None = None
                 ) -> subprocess.Popen:
    """Start `argv` in its own session with stdout+stderr appended to `log_path`."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)


def wait_for_log(log_path: str, pattern: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Wait until `log_path` has a line matching `pattern`; fail if `proc` exits or time runs out."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        if regex.search(read_log(log_path)):
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{log_path}: process exited ({proc.returncode}): {read_log(log_path)[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{log_path}: no {pattern!r} within {timeout} s: {read_log(log_path)[-3000:]}")
        time.sleep(0.05)


def read_log(log_path: str) -> str:
    # Task results are logged with their bytes (the merge's packed groups): never assume clean text.
    with open(log_path, "rb") as log:
        return log.read().decode("utf-8", errors="replace")


def chunk_ids(log_path: str, state: str) -> list[str]:
    """Ids of the chunk tasks a worker log shows in `state` ("received" or "succeeded"), in log order."""
    return re.findall(rf"hashfleet\.hash_chunk\[([^\]]+)\] {state}", read_log(log_path))


def in_flight(log_path: str) -> set[str]:
    """Chunks a worker has received but not finished. With one process and a prefetch of one (acks late)
    the worker holds exactly these unacknowledged and has no BRPOP outstanding while it holds one."""
    return set(chunk_ids(log_path, "received")) - set(chunk_ids(log_path, "succeeded"))


def replicate_images(folder: str, count: int) -> list[str]:
    """`count` hard links of the committed photos in `folder` (``<stem>-<n>.<ext>``); returns the paths."""
    from support.images import fixture_paths

    os.makedirs(folder, exist_ok=True)
    sources = fixture_paths()
    paths = []
    for i in range(count):
        source = sources[i % len(sources)]
        stem, ext = os.path.splitext(os.path.basename(source))
        path = os.path.join(folder, f"{stem}-{i:04d}{ext}")
        os.link(source, path)
        paths.append(path)
    return paths


def assert_exact_output(out_csv: str, inputs: list[str]) -> list[dict]:
    """The output has one record per input, each exactly once, every one hashed with the same hash the
    pure function gives its source photo. Returns the rows (in output order)."""
    from support.images import fixture_paths
    from tasks.batch import hash_one

    with open(out_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    paths = [row["path"] for row in rows]
    duplicated = sorted(p for p, n in Counter(paths).items() if n > 1)
    missing = sorted(set(inputs) - set(paths))
    extra = sorted(set(paths) - set(inputs))
    assert not (duplicated or missing or extra), (
        f"{len(rows)} records for {len(inputs)} files: {len(missing)} missing {missing[:5]}, "
        f"{len(duplicated)} duplicated {duplicated[:5]}, {len(extra)} unexpected {extra[:5]}")
    expected = {}
    for source in fixture_paths():
        outcome = hash_one(source, "dhash", 8)  # (packed hash, code, size, ...)
        expected[os.path.splitext(os.path.basename(source))[0]] = outcome[0].hex()
    wrong = [row for row in rows
             if row["error"] or row["hash"] != expected[os.path.basename(row["path"]).rsplit("-", 1)[0]]]
    assert not wrong, f"{len(wrong)} records not hashed as their photo: {wrong[:3]}"
    return rows

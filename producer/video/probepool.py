"""Probe videos' container headers in child processes, each probe under a time limit, so that a file which
makes FFmpeg spin or crash costs one child, never the producer (the workers have their own isolation:
tasks/video/isolate.py).

Each child is a fresh interpreter (`python -c`), not a fork: the producer holds threads and broker
connections a forked child would inherit. A child reads a path, probes it with
:func:`producer.video.probe.probe_cost` and writes its cost back, one video at a time. A child that takes
longer than the limit is killed, one that dies is reaped; either way that video gets the unknown cost
(VideoCost(0, 0): it becomes one task, and the worker records what is wrong with it) and a new child takes
the next path. Why the loop in :meth:`ProbePool.costs` always ends: every path handed out either answers,
hits EOF (its child died) or passes its deadline, and the wait never outlasts the nearest deadline.

The child's side, and the wire between them: producer/video/probechild.py.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator

from producer.video.probe import UNKNOWN, VideoCost
from producer.video.probechild import ANSWER, LENGTH, READY
from tasks.settings import DEFAULT_PROBE_TIMEOUT

#: Child processes probing at once: a probe takes 0.2-2 ms of a core here (producer/video/probe.py) and
#: mostly waits on reads on a network file system, so more children than cores keep the disks busy.
PROBE_PROCESSES = 8
#: Paths handed out ahead of the first unanswered one: results are yielded in order, so this bounds the
#: costs held while one probe runs towards its limit.
PROBE_WINDOW = 1024
#: The module whose `main()` a child runs (tests put a hostile probe here).
CHILD_MODULE = "producer.video.probechild"
#: Seconds a new child gets to start (an interpreter and PyAV: 0.3 s idle here, more on a loaded machine)
#: before the limit of its first probe starts: it says when it is ready.
START_TIMEOUT = 60.0
#: Seconds a closing pool waits for a child to exit after its stdin is closed, before killing it.
EXIT_GRACE = 2.0
#: Seconds to wait for a killed child to be reaped: one stuck in the kernel (a read from a dead network
#: mount) dies only when its read returns, and the producer must not wait for that.
REAP_TIMEOUT = 5.0
#: Bytes read from a child per read call (an answer is 16).
READ_SIZE = 4096



class _Child:
    """One probing process and the path it is probing: its index in the job and deadline."""

    def __init__(self, module: str, roots: tuple[str, ...]):
        import producer

        # `-c` puts the current directory first on sys.path; the child drops it (a folder named like one
        # of our packages there must not shadow them) and finds this very code through PYTHONPATH.
        root = os.path.dirname(os.path.dirname(os.path.abspath(producer.__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
        code = f"import sys; del sys.path[0]; from {module} import main; main()"
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, bufsize=0)
        self.index: int | None = None
        self.path = ""
        self.ready = False
        self.limit = self.deadline = 0.0
        self.answer = b""
        self.alive = self._send(b"\0".join(os.fsencode(root) for root in roots))

    def ask(self, index: int, path: str, limit: float) -> bool:
        """Hand it `path` (the job's `index`-th) to probe within `limit` seconds (from when it is ready);
        False when it is dead."""
        self.index, self.path, self.limit, self.answer = index, path, limit, b""
        self.deadline = time.monotonic() + (limit if self.ready else START_TIMEOUT)
        self.alive = self.alive and self._send(os.fsencode(path))
        return self.alive

    def read(self) -> VideoCost | None:
        """Its answer once complete, UNKNOWN when it died first, None while it is still probing."""
        data = os.read(self.proc.stdout.fileno(), READ_SIZE)
        if not data:
            self.alive = False
            return UNKNOWN
        if not self.ready:  # its first byte: started, the probe's limit starts now
            self.ready, data = True, data[len(READY):]
            self.deadline = time.monotonic() + self.limit
        self.answer += data
        if len(self.answer) < ANSWER.size:
            return None
        return VideoCost(*ANSWER.unpack(self.answer[:ANSWER.size]))

    def end(self, grace: float = 0.0) -> None:
        """Stop it: close its stdin (it exits at EOF), wait `grace` seconds, then kill it."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            try:
                self.proc.wait(REAP_TIMEOUT)
            except subprocess.TimeoutExpired:  # left to subprocess's own reaping of abandoned children
                pass
        self.alive = False

    def _send(self, payload: bytes) -> bool:
        view = memoryview(LENGTH.pack(len(payload)) + payload)
        try:  # the child has read all before (one path at a time), so this never waits for long
            while view:
                view = view[self.proc.stdin.write(view):]
            return True
        except OSError:  # BrokenPipeError: it died
            return False


class ProbePool:
    """Children probing videos (use as a context manager: closing ends them). `limit`: seconds per video."""

    def __init__(self, allowed_roots: tuple[str, ...] = (), *, limit: float, processes: int = PROBE_PROCESSES,
                 child_module: str | None = None):
        self.allowed_roots = allowed_roots
        self.limit = limit
        self.processes = processes
        self.child_module = child_module or CHILD_MODULE
        #: Children started, and children killed or found dead (each replaced when a path needed one).
        self.started = self.lost = 0
        self._idle: list[_Child] = []
        self._busy: list[_Child] = []

    def costs(self, paths: list[str]) -> Iterator[VideoCost]:
        """The cost of each path, in order; UNKNOWN for one whose child passed the limit or died."""
        done: dict[int, VideoCost] = {}
        busy = self._busy
        sent = given = 0
        with selectors.DefaultSelector() as selector:
            while given < len(paths):
                while sent < len(paths) and sent - given < PROBE_WINDOW and (self._idle or self._may_start()):
                    child = self._idle.pop() if self._idle else self._start()
                    if child.ask(sent, paths[sent], self.limit):
                        busy.append(child)
                        selector.register(child.proc.stdout, selectors.EVENT_READ, child)
                    else:
                        done[sent] = self._lose(child, "its probe's process died")
                    sent += 1
                while given in done:
                    yield done.pop(given)
                    given += 1
                if not busy:
                    continue
                wait = max(0.0, min(child.deadline for child in busy) - time.monotonic())
                answered = {key.data: key.data.read() for key, _ in selector.select(wait)}
                now = time.monotonic()
                for child in list(busy):
                    cost = answered.get(child)
                    if cost is None and now < child.deadline:
                        continue
                    busy.remove(child)
                    selector.unregister(child.proc.stdout)
                    if cost is not None and child.alive:
                        done[child.index] = cost
                        self._idle.append(child)
                    else:
                        done[child.index] = self._lose(child, "its probe's process died" if cost is not None else
                                                       f"probing it took over {self.limit:g} s")

    def _start(self) -> _Child:
        self.started += 1
        return _Child(self.child_module, self.allowed_roots)

    def _may_start(self) -> bool:
        # One child starting at a time: a short job is probed by the first one or two (a start costs 0.15 s
        # of a core, a cached header 1-3 ms), a long one has all `processes` within a second or so.
        return len(self._busy) < self.processes and all(child.ready for child in self._busy)

    def _lose(self, child: _Child, why: str) -> VideoCost:
        child.end()
        self.lost += 1
        print(f"hashfleet: {child.path!r}: {why}; it goes to a worker whole, as one task", file=sys.stderr,
              flush=True)
        return UNKNOWN

    def close(self) -> None:
        """End the children: idle ones get EXIT_GRACE to exit, busy ones (a caller that stopped reading
        :meth:`costs` early) are killed."""
        while self._busy:
            self._busy.pop().end()
        while self._idle:
            self._idle.pop().end(EXIT_GRACE)

    def __enter__(self) -> ProbePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def probe_costs(paths: list[str], allowed_roots: tuple[str, ...] = (),
                probe_timeout: float = DEFAULT_PROBE_TIMEOUT) -> Iterator[VideoCost]:
    """:func:`producer.video.probe.probe_cost` of every path, in order, in a ProbePool's children, each video
    under `probe_timeout` seconds: one that passes it or kills its child has the unknown cost."""
    if not paths:
        return
    with ProbePool(allowed_roots, limit=probe_timeout) as pool:
        yield from pool.costs(paths)

"""A probe child's side (producer/video/probepool.py starts it as `python -c`): say it is ready, then probe each
path it is sent and write back its cost, until its stdin closes.

Wire (pipes): the child first writes READY; the first message to it holds the allowed roots, each later one
a path, every message a 4-byte little-endian length and the bytes (os.fsencode: NUL-separated roots); each
answer is two little-endian doubles, duration and pixels.
"""

from __future__ import annotations

import os
import signal
import struct
from collections.abc import Callable

from producer.video.probe import VideoCost

#: A message's length prefix, an answer, and what a child writes once it has started.
LENGTH = struct.Struct("<I")
ANSWER = struct.Struct("<dd")
READY = b"R"
#: prctl option (linux/prctl.h): the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1


def serve(probe: Callable[[str, tuple[str, ...]], VideoCost]) -> None:
    """A child's loop: say it is ready, read the roots, then answer `probe(path, roots)` for each path until
    stdin closes."""
    import av  # noqa: F401  (loaded before the ready byte: the first probe's limit is not spent on it)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the producer's to handle; it ends its children
    _die_with_parent()
    answers = os.dup(1)
    os.dup2(2, 1)  # anything printed goes to stderr, never into the answers
    os.write(answers, READY)
    first = _message(0)
    if first is None:
        return
    roots = tuple(os.fsdecode(root) for root in first.split(b"\0") if root)
    while (path := _message(0)) is not None:
        cost = probe(os.fsdecode(path), roots)
        os.write(answers, ANSWER.pack(cost.duration, cost.pixels))


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this child when the producer dies (killed, even mid-probe): a probe
    spinning in FFmpeg would otherwise outlive it. Elsewhere a child still exits at the EOF of its stdin.
    The kernel's signal follows the thread that started the child: a pool is used by one thread from its
    first path to its close (the producer's main thread plans the videos)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux
        return
    if os.getppid() == 1:  # the producer died before the call above
        os._exit(0)


def _message(fd: int) -> bytes | None:
    head = _read_exactly(fd, LENGTH.size)
    return None if head is None else _read_exactly(fd, LENGTH.unpack(head)[0])


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def main() -> None:
    """What a child runs."""
    import tasks.video.source  # noqa: F401  (what probe_cost loads, before the child says it is ready)
    from producer.video.probe import probe_cost

    serve(probe_cost)


if __name__ == "__main__":
    main()

"""What /proc says of a process, for harnesses and benchmarks: its child processes and peak resident memory."""

from __future__ import annotations

import os


def children(pid: int) -> list[int]:
    """PIDs of `pid`'s child processes (every thread's), [] when it is gone."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(p) for p in handle.read().split()]
    except OSError:  # gone meanwhile
        pass
    return found


def peak_rss_kib(pid: int | str = "self") -> int:
    """VmHWM (peak resident set, KiB) of `pid`, 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

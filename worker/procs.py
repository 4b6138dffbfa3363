"""Child processes that cannot outlive us: own process group, SIGKILL when the parent dies (Linux)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

from tasks.pool import die_with_parent

#: Seconds a child process group gets to exit after SIGTERM before it is killed.
TERM_GRACE = 5.0
_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Adopt our descendants when their parent dies (Linux; no-op elsewhere), so that after a group kill
    :func:`kill_group` can reap them: no zombies, and their CPU time is counted as this process's
    children's (RUSAGE_CHILDREN), as it is after a graceful shutdown."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def spawn(argv: list[str], env: dict[str, str], log_path: str, cwd: str | None = None) -> subprocess.Popen:
    """Start `argv` in a new session (its own process group) in folder `cwd`, output appended to `log_path`."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent,
        )


def stop_group(proc: subprocess.Popen, grace: float = TERM_GRACE) -> None:
    """SIGTERM the child's whole process group, then SIGKILL what is left after `grace` seconds."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # Pool children may outlive their parent by a moment; kill whatever is left in the group.
    _signal_group(proc.pid, signal.SIGKILL)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass


def kill_group(proc: subprocess.Popen, timeout: float = TERM_GRACE) -> None:
    """SIGKILL the child's whole process group at once, reap the child, and reap the rest of its group
    that was handed to us (see :func:`become_subreaper`), each within `timeout` seconds."""
    _signal_group(proc.pid, signal.SIGKILL)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitid(os.P_PGID, proc.pid, os.WEXITED | os.WNOHANG) is None:
                time.sleep(0.005)  # killed members still exiting
        except ChildProcessError:
            return  # none of the group is (or will become) our child any more


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass

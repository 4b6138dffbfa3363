"""A probe child (producer/video/probepool.py) whose probe misbehaves on files named for it, as a file that makes
FFmpeg spin or crash would: `hang` in the name sleeps (HANG_S, far past any test's probe limit), `crash`
SIGKILLs its process; other files are probed normally.

`python -m support.hostile_probe ARGS...` is the `hashfleet` CLI with such probe children (tests/ must be on
PYTHONPATH: the children import this module)."""

from __future__ import annotations

import os
import signal
import time

from producer.video import probechild
from producer.video.probe import VideoCost, probe_cost

#: Seconds a `hang` probe sleeps: the pool kills it long before.
HANG_S = 3600.0


def probe(path: str, roots: tuple[str, ...]) -> VideoCost:
    name = os.path.basename(path)
    if "hang" in name:
        time.sleep(HANG_S)
    if "crash" in name:
        os.kill(os.getpid(), signal.SIGKILL)
    return probe_cost(path, roots)


def main() -> None:
    """What a child runs."""
    probechild.serve(probe)


if __name__ == "__main__":
    from producer.video import probepool

    probepool.CHILD_MODULE = __spec__.name
    from producer.cli.main import main as cli

    cli()

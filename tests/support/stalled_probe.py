"""A probe child (producer/video/probepool.py) that never gets ready: it sleeps (HANG_S) before serving, as an
interpreter stuck loading its modules from a dead network mount would."""

from __future__ import annotations

import time

#: Seconds it sleeps: the pool kills it long before.
HANG_S = 3600.0


def main() -> None:
    time.sleep(HANG_S)

"""Headless Chromium for tests that look at a page: a DOM dump or a screenshot, each run bounded in time.

Screenshots are kept as test artifacts in tests/artifacts/ (git-ignored) or in $HASHFLEET_TEST_ARTIFACTS.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile

from support.servers import REPO

#: Seconds one headless Chromium run may take.
CHROMIUM_TIMEOUT = 60.0
#: Virtual time (ms) a page's scripts get before the DOM dump or screenshot is taken: it lets a page's own
#: requests and rendering finish without a fixed sleep (virtual time runs ahead when nothing is pending).
CHROMIUM_SCRIPT_MS = 8000
#: Browser window (and screenshot) size in pixels.
WINDOW = (1400, 900)
#: Where screenshots are kept after the test.
ARTIFACTS = os.environ.get("HASHFLEET_TEST_ARTIFACTS") or os.path.join(REPO, "tests", "artifacts")


def chromium(*args: str, window: tuple[int, int] = WINDOW, script_ms: int = CHROMIUM_SCRIPT_MS,
             timeout: float = CHROMIUM_TIMEOUT) -> subprocess.CompletedProcess:
    """Run headless Chromium with `args` (e.g. `--dump-dom URL`); fails the test after `timeout` seconds."""
    binary = shutil.which("chromium")
    assert binary, "chromium is not on PATH: .ci/run installs it (apt-get install chromium)"
    # A profile of its own per run: two browsers at once (parallel tests) never share one, and the
    # background-networking flags keep it from trying to reach Google's hosts on a closed network.
    with tempfile.TemporaryDirectory(prefix="hashfleet-chromium-") as profile:
        return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                               f"--user-data-dir={profile}", "--no-first-run", "--disable-background-networking",
                               "--disable-component-update", "--disable-sync",
                               "--hide-scrollbars", f"--window-size={window[0]},{window[1]}",
                               f"--virtual-time-budget={script_ms}", *args],
                              capture_output=True, text=True, timeout=timeout, errors="replace")


def png_size(path) -> tuple[int, int]:
    """(width, height) of the PNG at `path`, read from its header."""
    with open(path, "rb") as handle:
        header = handle.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def keep_artifact(path) -> str:
    """Copy `path` into the artifacts folder; returns where it now is."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    kept = os.path.join(ARTIFACTS, os.path.basename(path))
    shutil.copy(path, kept)
    return kept

"""Freeze the code under test: copy the hashfleet packages to a folder and run everything from there.

The repository is edited while benchmarks run (and `pip install -e` makes every new process import the
live tree), so a warm worker started at the beginning and a producer started later could run different
code, or different halves of a changed protocol. A snapshot avoids that: `tasks/`, `producer/` and
`worker/` are taken from a git ref (`git archive`, default HEAD) or copied from the working tree, put first
on PYTHONPATH for every child process and first on sys.path here, and children run with the snapshot as
their working directory (`python -m celery` puts the working directory first on sys.path).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile

from bench.hygiene import SOURCE_DIRS, code_fingerprint, git_state
from bench.sets import DEFAULT_CACHE, DEFAULT_CORPUS

#: --code value that copies the working tree as it is (uncommitted changes included).
WORKTREE = "worktree"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Where the benchmarks write their reports and working folders.
OUT_DIR = os.path.join(REPO, "bench", "out")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark entry point takes: code under test, set cache, corpus, output folder."""
    parser.add_argument("--code", default="HEAD",
                        help="code under test: a git ref (default HEAD) or 'worktree' (uncommitted included)")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--out-dir", default=OUT_DIR)


def make_snapshot(dest: str, code: str = "HEAD", repo: str = REPO) -> str:
    """Fill `dest` with the packages at git ref `code` (or the working tree); return a description."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    if code == WORKTREE:
        for folder in SOURCE_DIRS:
            shutil.copytree(os.path.join(repo, folder), os.path.join(dest, folder),
                            ignore=shutil.ignore_patterns("__pycache__"))
        origin = f"working tree of {git_state(repo)}"
    else:
        archive = subprocess.run(["git", "-C", repo, "archive", code, *SOURCE_DIRS], capture_output=True,
                                 check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
        commit = subprocess.run(["git", "-C", repo, "log", "-1", "--format=%h %s", code], capture_output=True,
                                text=True, check=True).stdout.strip()
        origin = f"git {code} = {commit}"
    return f"{origin}; sources fingerprint {code_fingerprint(dest)}; run from snapshot {dest}"


def activate(dest: str) -> None:
    """Make this process and every child import the snapshot. Must run before anything imports tasks."""
    loaded = [name for name in ("tasks", "producer", "worker") if name in sys.modules]
    if loaded:
        raise RuntimeError(f"{', '.join(loaded)} already imported from the live tree")
    sys.path.insert(0, dest)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (dest, os.environ.get("PYTHONPATH")) if p)


def verify(dest: str) -> None:
    """Check that a child process started like the benchmark's children imports the snapshot."""
    probe = ("import tasks, producer.cli.main, worker.embedded as w; "
             "print(tasks.__file__, producer.cli.main.__file__, w.__file__)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=dest, capture_output=True, text=True, check=True)
    paths = out.stdout.split()
    if not paths or not all(p.startswith(os.path.join(dest, "")) for p in paths):
        raise RuntimeError(f"children would not import the snapshot: {out.stdout.strip()}")


def use_snapshot(dest: str, code: str) -> str:
    """Snapshot `code` into `dest` (:func:`make_snapshot`), import it here and in every child from now on
    (:func:`activate`) and check a child really does (:func:`verify`); return the description."""
    description = make_snapshot(dest, code)
    activate(dest)
    verify(dest)
    return description

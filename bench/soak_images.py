"""The soak's images (support/soak_images.py) cached, so that a rerun does not make them again:

    python -m bench.soak_images --files 200000 [--seed 1] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

from support.soak_images import write_images

#: Where generated sets are kept between runs (one folder per N and seed; bench/sets.py uses the same root).
DEFAULT_CACHE = os.environ.get("HASHFLEET_BENCH_CACHE", os.path.expanduser("~/.cache/hashfleet-bench"))
#: Bump when the recipe of support/soak_images.py changes: a cached set of another version is made again.
RECIPE_VERSION = 1
#: Marker written last: a folder without it (a run killed half-way) is made again.
DONE_MARKER = ".complete"


def cached_images(count: int, seed: int, cache_dir: str = DEFAULT_CACHE) -> tuple[str, list[str]]:
    """The folder holding the set for (count, seed) and its file paths, made first if not cached."""
    folder = os.path.join(cache_dir, f"soak-v{RECIPE_VERSION}-{count}-{seed}")
    marker = os.path.join(folder, DONE_MARKER)
    if os.path.exists(marker):
        with open(marker) as handle:
            return folder, [os.path.join(folder, line.rstrip("\n")) for line in handle]
    shutil.rmtree(folder, ignore_errors=True)
    paths = write_images(folder, count, seed, processes=os.cpu_count() or 1)
    with open(marker + ".tmp", "w") as handle:
        handle.writelines(os.path.relpath(p, folder) + "\n" for p in paths)
    os.replace(marker + ".tmp", marker)
    return folder, paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    started = time.monotonic()
    folder, paths = cached_images(args.files, args.seed, args.cache_dir)
    print(f"{len(paths)} files in {folder} ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()

"""hashfleet benchmark harness: file sets (`bench.sets`), side-by-side timings (`bench.run`),
hash-quality check (`bench.quality`) and the in-process profile (`bench.profile`).

Run from the repository root, e.g. `python -m bench.run` (see bench/RESULTS.md).
"""

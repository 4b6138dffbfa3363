"""hashfleet benchmark harness: file sets (`bench.sets`), side-by-side timings (`bench.run`), hash-quality
check (`bench.quality`), profiling (`bench.profiling`, `bench.pyspy`) and reports (`bench.report`).

Run from the repository root, e.g. `python -m bench.run --quick`; see bench/RESULTS.md.
"""

"""hashfleet benchmark harness: file sets (`bench.sets`), side-by-side timings (`bench.run`), hash-quality
check (`bench.quality`), per-stage cost of the decode and hashes (`bench.near_cost`, through
`bench.near_quality --cost`) and reports (`bench.report`).

Run from the repository root, e.g. `python -m bench.run --quick`; see bench/RESULTS.md.
"""

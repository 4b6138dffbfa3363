"""hashfleet benchmark harness: file sets (`bench.sets`), side-by-side timings (`bench.run`), hash-quality
check (`bench.quality`), per-stage cost of the decode and hashes (`bench.near_cost`, through
`bench.near_quality --cost`) and reports (`bench.report`).

Run from the repository root, e.g. `python -m bench.run --quick`; see bench/RESULTS.md.
"""

import os
import sys

# The harnesses the benchmarks share with the tests (warm workers, the fuzz, soak and synthetic-job
# generators and checks) live in tests/support, imported as `support` as tests/conftest.py makes it:
# appended, so it never shadows anything installed.
_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")
if _TESTS not in sys.path:
    sys.path.append(_TESTS)

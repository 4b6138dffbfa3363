"""Helpers shared by the tests: a private redis-server, local celery workers, process checks; and the
harnesses the benchmarks run too (warm workers, the fuzz, soak and synthetic-job generators and checks)."""

"""Helpers shared by the tests: a private redis-server, local celery workers, process checks."""

"""Fixtures shared by the unit tests."""

import pytest
from celery import Celery


@pytest.fixture
def backend():
    """An in-memory result backend (shared by every app in the process: give each test ids of its own)."""
    return Celery("t", backend="cache+memory://").backend

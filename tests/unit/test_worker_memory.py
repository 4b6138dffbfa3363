"""HASHFLEET_WORKER_MAX_MEMORY: derived from the pixel limit unless set, handed to Celery in KiB."""

import pytest

from tasks.app import create_app
from tasks.errors import ConfigError
from tasks.settings import DECODE_BYTES_PER_PIXEL, WORKER_BASE_MEMORY_MIB, Settings


def test_the_default_limit_fits_the_largest_8bit_image_the_pixel_limit_allows():
    # Given the default pixel limit and a lower one, When no memory limit is set
    # Then the limit is the base plus one 8-bit decode of the largest image allowed, rounded up to a MiB
    assert Settings().worker_memory_limit == WORKER_BASE_MEMORY_MIB + DECODE_BYTES_PER_PIXEL * 2**28 // 2**20
    assert Settings(max_pixels=2**22).worker_memory_limit == 256 + 32
    assert Settings(max_pixels=1).worker_memory_limit == 256 + 1


def test_an_explicit_limit_wins_and_reaches_celery_in_kib():
    # Given HASHFLEET_WORKER_MAX_MEMORY=500
    settings = Settings.from_env({"HASHFLEET_WORKER_MAX_MEMORY": "500", "HASHFLEET_MAX_PIXELS": "4194304"})
    # When the worker app is built from it, Then Celery replaces pool processes over 500 MiB
    assert settings.worker_memory_limit == 500
    assert create_app(settings).conf.worker_max_memory_per_child == 500 * 1024
    assert create_app(Settings()).conf.worker_max_memory_per_child == Settings().worker_memory_limit * 1024


@pytest.mark.parametrize("raw", ["0", "-5", "lots"])
def test_a_memory_limit_that_is_not_a_positive_number_is_refused_naming_the_variable(raw):
    with pytest.raises(ConfigError, match="HASHFLEET_WORKER_MAX_MEMORY"):
        Settings.from_env({"HASHFLEET_WORKER_MAX_MEMORY": raw})

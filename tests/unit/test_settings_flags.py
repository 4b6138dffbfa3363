"""Flags and env vars meet in Settings: one set of bounds, one error style, and the stall timeout built from
the sweep the workers really use."""

import pytest
from click.testing import CliRunner

from producer.cli.main import cli
from producer.pipeline import stall_timeout
from tasks.app import UNACKED_SWEEP_MAX, create_app, unacked_sweep_interval
from tasks.errors import ConfigError
from tasks.settings import CHUNK_SIZE_LIMIT, WORKERS_LIMIT, Settings


@pytest.mark.parametrize("env, message", [
    ({"HASHFLEET_CHUNK_SIZE": str(CHUNK_SIZE_LIMIT + 1)},
     f"--chunk-size / HASHFLEET_CHUNK_SIZE must be at most {CHUNK_SIZE_LIMIT}"),
    ({"HASHFLEET_WORKERS": "0"}, "--workers / HASHFLEET_WORKERS must be a positive number"),
    ({"HASHFLEET_WORKERS": str(WORKERS_LIMIT + 1)}, f"HASHFLEET_WORKERS must be at most {WORKERS_LIMIT}"),
])
def test_out_of_bounds_values_are_refused_naming_flag_and_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_a_flag_gets_the_same_bounds_as_its_variable():
    with pytest.raises(ConfigError, match="--chunk-size / HASHFLEET_CHUNK_SIZE must be a positive number, not 0"):
        Settings.from_env({}, chunk_size=0)
    with pytest.raises(ConfigError, match=f"must be at most {WORKERS_LIMIT}"):
        Settings.from_env({}, workers=WORKERS_LIMIT + 1)


def test_workers_is_a_setting_and_defaults_to_the_usable_cores():
    assert Settings.from_env({"HASHFLEET_WORKERS": "3"}).local_workers == 3
    assert Settings.from_env({"HASHFLEET_WORKERS": "3"}, workers=5).local_workers == 5
    assert Settings.from_env({}).local_workers >= 1


def test_a_bad_chunk_size_from_the_environment_fails_the_command_with_the_settings_message(tmp_path):
    # Given HASHFLEET_CHUNK_SIZE out of bounds; When `run` starts; Then it is refused as a ConfigError
    runner = CliRunner()
    done = runner.invoke(cli, ["run", str(tmp_path), "-o", str(tmp_path / "o.csv")],
                         env={"HASHFLEET_CHUNK_SIZE": str(CHUNK_SIZE_LIMIT + 1)})
    assert isinstance(done.exception, ConfigError)
    assert "HASHFLEET_CHUNK_SIZE must be at most" in str(done.exception)


@pytest.mark.parametrize("visibility_timeout", [1, 4, 10, 41, 3600])
def test_the_stall_timeout_adds_the_sweep_the_workers_are_configured_with(visibility_timeout):
    # Given settings with this visibility timeout (and the default stall margin, 10 s)
    settings = Settings.from_env({}, visibility_timeout=visibility_timeout)
    # When the worker app is built and the producer computes its stall timeout
    sweep = create_app(settings).conf.broker_transport_options["unacked_restore_interval"]
    # Then both use one sweep, a quarter of the timeout within [1, UNACKED_SWEEP_MAX]
    assert sweep == unacked_sweep_interval(visibility_timeout)
    assert 1 <= sweep <= UNACKED_SWEEP_MAX
    assert stall_timeout(settings) == visibility_timeout + sweep + 10


def test_the_stall_margin_is_read_from_its_variable_and_must_be_positive():
    assert stall_timeout(Settings.from_env({"HASHFLEET_STALL_MARGIN": "1.5"}, visibility_timeout=4)) == 4 + 1 + 1.5
    with pytest.raises(ConfigError, match="HASHFLEET_STALL_MARGIN must be a positive number"):
        Settings.from_env({"HASHFLEET_STALL_MARGIN": "0"})

"""Outputs round-trip every path; the export matches the original script; settings come from env."""

import os
import pickle

import pytest

from producer.outputs.formats import Record, export_pyimagesearch, write_groups, write_records
from producer.outputs.reader import read_records
from tasks.errors import ConfigError
from tasks.settings import POSITIVE, Settings

ODD_PATHS = ["/p/plain.jpg", "/p/new\nline, \"quoted\".png", "/p/caf\udce9.jpg", "/p/日本.webp"]


def records():
    return [Record(ODD_PATHS[0], "8000000000000000", "", 10, 1_700_000_000),
            Record(ODD_PATHS[1], "", "corrupt", 5, 12),
            Record(ODD_PATHS[2], "0000000000000003", "", 7, 3), Record(ODD_PATHS[3], "", "not-found", None)]


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".sqlite", ".parquet"])
def test_every_output_format_round_trips_odd_file_names_exactly(tmp_path, ext):
    out = str(tmp_path / f"out{ext}")
    assert write_records(out, records(), {"algo": "dhash"}) == 4
    assert list(read_records(out)) == records()


def several_hashes():
    return [Record(ODD_PATHS[0], "8000000000000000", "", 10, 1_700_000_000, ("00000000000000ff", "0f00000000000000"),
                   73, 640, 480),
            Record(ODD_PATHS[1], "", "corrupt", 5, 12, ("", "")),
            Record(ODD_PATHS[2], "0000000000000003", "", 7, 3, ("ffffffffffffffff", "0000000000000000"), None, 1, 1)]


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".sqlite", ".parquet"])
def test_every_output_format_keeps_one_column_per_algorithm_and_the_quality_and_size(tmp_path, ext):
    out = str(tmp_path / f"out{ext}")
    write_records(out, several_hashes(), {"algo": "dhash,phash,phash-centre", "hash_size": "8"})
    assert list(read_records(out)) == several_hashes()


def test_an_unknown_output_extension_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=".csv"):
        write_records(str(tmp_path / "out.txt"), records(), {})


def test_groups_json_is_valid_utf8_even_with_undecodable_names(tmp_path):
    out = tmp_path / "groups.json"
    write_groups(str(out), {"00": ODD_PATHS})
    out.read_bytes().decode("utf-8")  # must not raise


def test_pyimagesearch_export_uses_the_original_integer_bit_order_for_hashed_files_only(tmp_path):
    out = str(tmp_path / "hashes.pickle")
    assert export_pyimagesearch(records(), out) == 2
    with open(out, "rb") as handle:
        exported = pickle.load(handle)
    assert exported == {1: [ODD_PATHS[0]], 3 << 62: [ODD_PATHS[2]]}


def test_settings_read_hashfleet_env_vars_and_flags_override_them():
    env = {"HASHFLEET_BROKER_URL": "redis://h:6379/0", "HASHFLEET_CHUNK_SIZE": "99",
           "HASHFLEET_ALLOWED_ROOTS": os.pathsep.join(["/data", "/mnt/x"])}
    settings = Settings.from_env(env)
    assert settings.chunk_size == 99 and settings.allowed_roots == ("/data", "/mnt/x")
    assert settings.backend_url == "redis://h:6379/0"
    assert Settings.from_env(env, chunk_size=7).chunk_size == 7
    assert Settings.from_env({}).embedded


@pytest.mark.parametrize("env, message", [
    ({"HASHFLEET_SERIALIZER": "pickle"}, "serializer"),
    ({"HASHFLEET_CHUNK_SIZE": "ten"}, "number"),
    ({"HASHFLEET_CHUNK_SIZE": "0"}, "positive"),
    ({"HASHFLEET_BROKER_URL": "http://x"}, "scheme"),
    ({"HASHFLEET_BROKER_URL": "amqp://guest@x//"}, "RESULT_BACKEND"),
])
def test_bad_settings_raise_config_errors_that_say_what_to_fix(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize("field", POSITIVE)
def test_every_numeric_setting_at_zero_is_refused_by_name(field):
    with pytest.raises(ConfigError, match=f"HASHFLEET_{field.upper()} must be a positive number"):
        Settings.from_env({f"HASHFLEET_{field.upper()}": "0"})


def test_a_result_backend_other_than_redis_is_refused():
    with pytest.raises(ConfigError, match="result backend 'db\\+sqlite' is not supported"):
        Settings.from_env({"HASHFLEET_RESULT_BACKEND": "db+sqlite:///results.db"})


def test_an_empty_queue_name_is_refused():
    with pytest.raises(ConfigError, match="HASHFLEET_QUEUE must not be empty"):
        Settings.from_env({}, queue="")


def test_settings_survive_the_trip_to_a_worker_environment():
    settings = Settings.from_env({}, broker_url="redis://h/0", allowed_roots=("/a", "/b"), chunk_size=5)
    assert Settings.from_env(settings.to_env()) == settings


def test_the_celery_app_refuses_pickle_and_acks_late():
    from tasks.app import create_app

    conf = create_app(Settings.from_env({})).conf
    assert "pickle" not in conf.accept_content and "pickle" not in conf.result_accept_content
    assert conf.task_acks_late and conf.worker_prefetch_multiplier == 1 and conf.task_reject_on_worker_lost

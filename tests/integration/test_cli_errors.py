"""Bad options and unusable brokers: one clear line on stderr, a non-zero exit, within seconds."""

import os
import time

import pytest

from support.servers import clean_env, hashfleet

pytestmark = pytest.mark.integration

#: Every failure here must be reported within this many seconds.
FAST = 15.0


def one_line_error(done) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("hashfleet: error: ")
    return lines[0]


@pytest.mark.parametrize("args, fragment", [
    (["run", "{images}", "-o", "{out}.csv", "--algo", "md5"], "md5"),
    (["run", "{images}", "-o", "{out}.csv", "--hash-size", "7"], "multiple of 4"),
    (["run", "{images}", "-o", "{out}.csv", "--chunk-size", "0"], "--chunk-size / HASHFLEET_CHUNK_SIZE"),
    (["run", "{images}", "-o", "{out}.csv", "--workers", "2000"], "--workers / HASHFLEET_WORKERS must be at most"),
    (["run", "{images}", "-o", "{out}.txt"], ".csv"),
    (["run", "{images}/does-not-exist", "-o", "{out}.csv"], "does-not-exist"),
    (["run", "{images}", "-o", "/no/such/folder/out.csv"], "does not exist"),
    (["run", "{images}"], "-o"),
    (["run", "{images}", "-o", "{out}.csv", "--broker", "http://example.com"], "scheme"),
])
def test_bad_options_are_one_line_and_exit_two(tmp_path, images, args, fragment):
    args = [a.format(images=images, out=tmp_path / "out") for a in args]
    started = time.monotonic()
    done = hashfleet(args, env=clean_env(), timeout=FAST * 2)
    assert done.returncode == 2
    assert fragment in one_line_error(done)
    assert time.monotonic() - started < FAST


def test_an_unreachable_broker_is_one_line_and_exit_one_within_seconds(tmp_path, images):
    from worker.redis_server import free_port

    started = time.monotonic()
    done = hashfleet(["run", str(images), "-o", str(tmp_path / "o.csv"),
                      "--broker", f"redis://127.0.0.1:{free_port()}/0"], env=clean_env(), timeout=FAST * 2)
    assert done.returncode == 1
    assert "cannot reach broker" in one_line_error(done)
    assert time.monotonic() - started < FAST


def test_a_wrong_or_missing_redis_password_is_one_line_and_exit_one(tmp_path, images, private_redis):
    server = private_redis(password="right-password")
    for url, fragment in [(f"redis://:wrong@127.0.0.1:{server.port}/0", "refused the credentials"),
                          (f"redis://127.0.0.1:{server.port}/0", "needs a password")]:
        started = time.monotonic()
        done = hashfleet(["run", str(images), "-o", str(tmp_path / "o.csv"), "--broker", url],
                         env=clean_env(), timeout=FAST * 2)
        assert done.returncode == 1
        line = one_line_error(done)
        assert fragment in line and "wrong" not in line  # the password is never echoed
        assert time.monotonic() - started < FAST


def test_an_amqp_broker_without_a_result_backend_is_refused_with_advice(tmp_path, images):
    done = hashfleet(["run", str(images), "-o", str(tmp_path / "o.csv"), "--broker", "amqp://guest@127.0.0.1//"],
                     env=clean_env(), timeout=FAST * 2)
    assert done.returncode == 2
    assert "HASHFLEET_RESULT_BACKEND" in one_line_error(done)


def test_a_bad_hashfleet_environment_variable_is_one_line_and_exit_two(tmp_path, images):
    done = hashfleet(["run", str(images), "-o", str(tmp_path / "o.csv")],
                     env=clean_env(HASHFLEET_VISIBILITY_TIMEOUT="soon"), timeout=FAST * 2)
    assert done.returncode == 2
    assert "HASHFLEET_VISIBILITY_TIMEOUT" in one_line_error(done)


@pytest.mark.parametrize("env, fragment", [
    ({"HASHFLEET_CHUNK_SIZE": "0"}, "--chunk-size / HASHFLEET_CHUNK_SIZE must be a positive number"),
    ({"HASHFLEET_WORKERS": "0"}, "--workers / HASHFLEET_WORKERS must be a positive number"),
])
def test_a_variable_and_its_flag_are_refused_with_the_same_bounds_and_message(tmp_path, images, env, fragment):
    done = hashfleet(["run", str(images), "-o", str(tmp_path / "o.csv")], env=clean_env(**env), timeout=FAST * 2)
    assert done.returncode == 2
    assert fragment in one_line_error(done)


def test_dupes_runs_its_join_on_the_broker_hashfleet_broker_url_names(tmp_path):
    from worker.redis_server import free_port

    # Given HASHFLEET_BROKER_URL naming a broker that is down, and no --broker
    index = tmp_path / "index.sqlite"
    index.write_bytes(b"")
    env = clean_env(HASHFLEET_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    # When dupes runs; Then it goes to that broker, and says it cannot reach it
    done = hashfleet(["dupes", str(index)], env=env, timeout=FAST * 2)
    assert done.returncode == 1
    assert "cannot reach broker" in one_line_error(done)


def test_without_redis_server_on_path_the_embedded_run_says_how_to_install_it(tmp_path, images):
    import sys

    bin_dir = tmp_path / "bin"  # a PATH with python but no redis-server
    bin_dir.mkdir()
    os.symlink(sys.executable, bin_dir / "python")
    done = hashfleet(["run", str(images), "-o", str(tmp_path / "o.csv")], env=clean_env(PATH=str(bin_dir)),
                     timeout=FAST * 2)
    assert done.returncode == 1
    line = one_line_error(done)
    assert "redis-server not found" in line and "apt-get install redis-server" in line

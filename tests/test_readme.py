"""The README's two commands stay true: .ci/run runs the test command; the job command really works."""

import csv
import os
import re
import shlex
import subprocess

import pytest

from support.servers import REPO, clean_env


def readme_commands() -> list[str]:
    with open(os.path.join(REPO, "README.md")) as handle:
        text = handle.read()
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_the_readme_has_exactly_two_commands_and_ci_runs_the_test_one_verbatim():
    commands = readme_commands()
    assert len(commands) == 2
    with open(os.path.join(REPO, ".ci", "run")) as handle:
        assert commands[1] in handle.read().splitlines()


@pytest.mark.integration
def test_the_readme_job_command_hashes_the_sample_photos_on_the_embedded_default(tmp_path):
    # The install half was done by whoever runs the tests; run the hashfleet half as written, from a
    # scratch folder holding the same relative paths.
    job = readme_commands()[0].split("&&", 1)[1].strip()
    os.symlink(os.path.join(REPO, "tests"), tmp_path / "tests")
    done = subprocess.run(shlex.split(job), cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "hashes.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(os.listdir(os.path.join(REPO, "tests", "data", "images")))
    assert all(len(r["hash"]) == 16 and r["error"] == "" for r in rows)
    assert (tmp_path / "groups.json").exists()

"""The wheel the Dockerfile builds holds every module and data file of the project's packages."""

import pathlib
import shutil
import subprocess
import sys
import zipfile

REPO = pathlib.Path(__file__).resolve().parents[2]
#: The packages the wheel ships (pyproject.toml finds them and their sub-packages).
PACKAGES = ("tasks", "producer", "worker")


def test_the_built_wheel_holds_every_module_and_the_report_template(tmp_path):
    # Given the source tree's modules and templates
    expected = {str(p.relative_to(REPO)) for d in PACKAGES for p in (REPO / d).rglob("*")
                if p.suffix in (".py", ".html") and "__pycache__" not in p.parts}
    assert "tasks/image/decode.py" in expected and "producer/near/templates/report.html" in expected
    # When a wheel is built from a copy of it (setuptools builds in the source folder)
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", "tests", "bench", "build", "*.egg-info",
                                                                "__pycache__", "docs", "deploy"))
    # (with this environment's setuptools, which the test extra brings: no download, no fresh build venv)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(source)], check=True, timeout=180, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("hashfleet-*.whl")
    # Then it holds every one of them
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert sorted(expected - shipped) == []

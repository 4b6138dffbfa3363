"""docs/settings.md stays true: one row per setting the code reads, each with the code's default."""

from __future__ import annotations

import dataclasses
import os
import re

from producer.cli.main import cli
from tasks.settings import ENV_PREFIX, FLAGS, UPPER_BOUNDS, Settings

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def table_rows() -> dict[str, str]:
    """{variable: its whole table row} from docs/settings.md."""
    with open(os.path.join(ROOT, "docs", "settings.md"), encoding="utf-8") as handle:
        text = handle.read()
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `(HASHFLEET_\w+)` \|.*$", text, re.M)}


def cli_variables() -> set[str]:
    """HASHFLEET_* variables a command-line option reads itself, instead of leaving them to Settings."""
    from producer.cli import jobs, near  # noqa: F401  (register every command)

    return {p.envvar for c in cli.commands.values() for p in c.params if p.envvar}


def test_no_command_line_option_reads_an_environment_variable_itself():
    # Given every hashfleet command; Then none of its options reads HASHFLEET_* with bounds of its own
    assert cli_variables() == set()


def test_the_settings_table_has_one_row_per_settings_field_and_no_other():
    assert set(table_rows()) == {ENV_PREFIX + f.name.upper() for f in dataclasses.fields(Settings)}


def test_the_flag_column_names_the_flags_settings_knows():
    for field in dataclasses.fields(Settings):
        flag_cell = [cell.strip() for cell in table_rows()[ENV_PREFIX + field.name.upper()].strip("|").split("|")][1]
        assert flag_cell == (f"`{FLAGS[field.name]}`" if field.name in FLAGS else ""), field.name


def test_every_upper_bound_in_tasks_settings_is_in_the_table():
    rows = table_rows()
    for field, bound in UPPER_BOUNDS.items():
        assert f"at most {bound:,}" in rows[ENV_PREFIX + field.upper()], field


def test_every_flag_settings_knows_is_an_option_of_a_command():
    from producer.cli import jobs, near  # noqa: F401

    options = {o for c in cli.commands.values() for p in c.params for o in p.opts}
    assert set(FLAGS.values()) <= options


def test_every_numeric_or_named_default_in_the_table_is_the_one_in_tasks_settings():
    rows = table_rows()
    checked = 0
    for field in dataclasses.fields(Settings):
        default = field.default
        if default is None or isinstance(default, tuple) or field.name == "jobs_dir":
            continue  # "unset" defaults and a path that depends on the environment: said in words
        shown = f"{default:g}" if isinstance(default, float) else str(default)
        default_cell = [cell.strip() for cell in rows[ENV_PREFIX + field.name.upper()].strip("|").split("|")][2]
        assert f"`{shown}`" in default_cell, (field.name, default_cell)
        checked += 1
    assert checked >= 10


def test_the_readme_settings_section_links_the_table():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        section = handle.read().split("## Settings", 1)[1].split("\n## ", 1)[0]
    assert "docs/settings.md" in section

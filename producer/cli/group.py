"""The `hashfleet` command group: each command module (main.py, jobs.py, near.py) registers on it."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """hashfleet: hash, deduplicate and search millions of images with Celery workers."""

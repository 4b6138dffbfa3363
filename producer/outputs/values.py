"""How outputs store a path or a JSON value so that no file name is lost (see producer/outputs/formats.py)."""

from __future__ import annotations

import json
import os


def json_line(obj) -> str:
    """Compact UTF-8 JSON; falls back to ASCII escapes only when a string cannot be UTF-8 encoded."""
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True)
    return text


def sqlite_path_value(path: str) -> str | bytes:
    """How a path is stored in SQLite: TEXT when it is valid UTF-8, else a BLOB of its bytes."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path)

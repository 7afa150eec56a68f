"""Reading the service's documents (runs, log entries, definitions), whose fields may hold
anything: the object at a key, or an empty one."""

from __future__ import annotations

import typing as t


def object_at(document: t.Mapping, key: str) -> dict:
    """``document[key]`` when it is a JSON object (a dict), else ``{}``."""
    value = document.get(key)
    return value if isinstance(value, dict) else {}
